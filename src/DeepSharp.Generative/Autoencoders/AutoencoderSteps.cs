using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Generative.Autoencoders;

/// <summary>Custom training steps for <see cref="Trainer"/> (Lightning's training_step) that train autoencoders.</summary>
public static class AutoencoderSteps
{
    /// <summary>
    /// The (denoising) autoencoder step: the model reconstructs the batch's images, corrupted by
    /// <paramref name="corruption"/> when one is given, and the loss is the mean squared error against the clean images
    /// (summed over pixels, averaged over the batch, so it reads per image). Logs "mse" (the per-pixel mean). Use it as
    /// <c>new Trainer(ae, optimizer, step: AutoencoderSteps.Reconstruction(ae))</c>.
    /// </summary>
    public static Func<StepContext, Tensor?> Reconstruction(Module<Tensor, Tensor> autoencoder, Corruption? corruption = null)
    {
        ArgumentNullException.ThrowIfNull(autoencoder);
        return ctx =>
        {
            var clean = ctx.Input;
            var input = corruption != null && ctx.IsTraining ? corruption.Apply(clean) : clean;
            var reconstruction = autoencoder.Call(input);
            var loss = F.MseLoss(reconstruction, clean, Reduction.Sum) / ctx.BatchSize;
            ctx.Log("mse", loss.Item() / (clean.NumEl / Math.Max(ctx.BatchSize, 1)));
            return loss;
        };
    }
}
