using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Generative.Vae;

/// <summary>
/// The evidence lower bound of a VAE and the numbers reported for one, all per example and in nats:
/// −ELBO = E_q[−log p(x | z)] + KL(q(z | x) ‖ N(0, I)); the β-VAE weighs the KL term by β (Higgins et al. 2017);
/// the importance-weighted bound (Burda et al. 2016) log p(x) ≥ E[log (1/k) Σ p(x, z_i) / q(z_i | x)] tightens it as k grows.
/// </summary>
public static class Elbo
{
    const double HalfLog2Pi = 0.91893853320467274178;   // ½·log(2π)

    /// <summary>
    /// −log p(x | z) per example (N,): binary cross-entropy with logits summed over pixels (Bernoulli), or the Gaussian
    /// negative log-density with standard deviation <paramref name="gaussianStd"/> summed over pixels (Gaussian).
    /// </summary>
    public static Tensor ReconstructionNll(Tensor raw, Tensor images, VaeLikelihood likelihood, double gaussianStd = 0.1)
    {
        ArgumentNullException.ThrowIfNull(raw); ArgumentNullException.ThrowIfNull(images);
        if (!raw.Shape.SequenceEqual(images.Shape))
            throw new ArgumentException($"Elbo: decoder output ({string.Join(", ", raw.Shape)}) and images ({string.Join(", ", images.Shape)}) differ", nameof(raw));
        if (likelihood == VaeLikelihood.Bernoulli)
            return F.BinaryCrossEntropyWithLogits(raw, images, reduction: Reduction.None).Flatten(1).Sum(1);
        if (gaussianStd <= 0) throw new ArgumentOutOfRangeException(nameof(gaussianStd), $"Elbo: the Gaussian std must be positive, got {gaussianStd}");
        int pixels = images.NumEl / images.Shape[0];
        var squared = ((raw - images) / gaussianStd).Square().Flatten(1).Sum(1) * 0.5;
        return squared + pixels * (Math.Log(gaussianStd) + HalfLog2Pi);
    }

    /// <summary>KL(N(μ, σ²) ‖ N(0, 1)) summed over latent dimensions, per example (N,): −½ Σ (1 + logσ² − μ² − σ²).</summary>
    public static Tensor KlDivergence(Tensor mean, Tensor logVar)
    {
        ArgumentNullException.ThrowIfNull(mean); ArgumentNullException.ThrowIfNull(logVar);
        if (!mean.Shape.SequenceEqual(logVar.Shape))
            throw new ArgumentException($"Elbo: mean ({string.Join(", ", mean.Shape)}) and logVar ({string.Join(", ", logVar.Shape)}) differ", nameof(logVar));
        return (1 + logVar - mean.Square() - logVar.Exp()).Sum(1) * -0.5;
    }

    /// <summary>
    /// The β-VAE training loss: mean over the batch of −log p(x | z) + β·KL (β = 1 is the negative ELBO), and its two terms' batch means.
    /// </summary>
    public static (Tensor Loss, Tensor Reconstruction, Tensor Kl) Loss((Tensor Reconstruction, Tensor Mean, Tensor LogVar) output, Tensor images,
        VaeLikelihood likelihood, double beta = 1.0, double gaussianStd = 0.1)
    {
        if (beta < 0) throw new ArgumentOutOfRangeException(nameof(beta), $"Elbo: β must be ≥ 0, got {beta}");
        var reconstruction = ReconstructionNll(output.Reconstruction, images, likelihood, gaussianStd).Mean();
        var kl = KlDivergence(output.Mean, output.LogVar).Mean();
        return (reconstruction + kl * beta, reconstruction, kl);
    }

    /// <summary>
    /// The trainer step of a (β-)VAE: forward, <see cref="Loss"/>, logs "recon" and "kl" (nats per image). Use it as
    /// <c>new Trainer(vae, optimizer, step: Elbo.Step(vae, beta))</c>; in evaluation it reports the same terms.
    /// </summary>
    public static Func<StepContext, Tensor?> Step(ConvVae vae, double beta = 1.0, double gaussianStd = 0.1)
    {
        ArgumentNullException.ThrowIfNull(vae);
        return ctx =>
        {
            var (loss, reconstruction, kl) = Loss(vae.Call(ctx.Input), ctx.Input, vae.Likelihood, beta, gaussianStd);
            ctx.Log("recon", reconstruction); ctx.Log("kl", kl);
            return loss;
        };
    }

    /// <summary>
    /// The test negative ELBO in nats per image (β = 1, one z sample per image, as reported in papers), averaged over
    /// <paramref name="images"/> in batches, without gradients. The VAE is put in evaluation mode (batch norm uses its running statistics) and restored; z is
    /// still sampled, explicitly, by the reparameterisation.
    /// </summary>
    public static double NegativeElbo(ConvVae vae, Tensor images, int batchSize = 500, double gaussianStd = 0.1, Generator? generator = null)
        => AverageOverBatches(vae, images, batchSize, batch =>
        {
            var (mean, logVar) = vae.Encode(batch);
            var raw = vae.DecodeRaw(ConvVae.Reparameterize(mean, logVar, generator));
            return ReconstructionNll(raw, batch, vae.Likelihood, gaussianStd) + KlDivergence(mean, logVar);
        });

    /// <summary>
    /// The importance-weighted bound −log p(x) ≤ −log (1/k) Σᵢ p(x | zᵢ) p(zᵢ) / q(zᵢ | x), zᵢ ~ q(z | x) (IWAE, Burda et
    /// al. 2016), in nats per image averaged over <paramref name="images"/>; k = 1 is the negative ELBO, larger k is tighter.
    /// </summary>
    public static double ImportanceWeightedBound(ConvVae vae, Tensor images, int k, int batchSize = 100, double gaussianStd = 0.1, Generator? generator = null)
    {
        if (k < 1) throw new ArgumentOutOfRangeException(nameof(k), $"ImportanceWeightedBound: k must be at least 1, got {k}");
        return AverageOverBatches(vae, images, batchSize, batch =>
        {
            var (mean, logVar) = vae.Encode(batch);
            var logWeights = new List<Tensor>(k);
            for (int i = 0; i < k; i++)
            {
                var z = ConvVae.Reparameterize(mean, logVar, generator);
                var logPxGivenZ = -ReconstructionNll(vae.DecodeRaw(z), batch, vae.Likelihood, gaussianStd);
                var logPz = (z.Square() * -0.5 - HalfLog2Pi).Sum(1);
                var logQz = ((z - mean).Square() / logVar.Exp() + logVar + 2 * HalfLog2Pi).Sum(1) * -0.5;
                logWeights.Add(logPxGivenZ + logPz - logQz);               // (N,)
            }
            return -(Tensor.Stack(logWeights, 1).LogSumExp(1) - Math.Log(k)); // (N,)
        });
    }

    static double AverageOverBatches(ConvVae vae, Tensor images, int batchSize, Func<Tensor, Tensor> perExample)
    {
        ArgumentNullException.ThrowIfNull(vae);
        vae.Shape.Check(images, nameof(Elbo));
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"Elbo: batch size must be positive, got {batchSize}");
        bool wasTraining = vae.IsTraining;
        vae.Eval();
        double total = 0;
        using (Autograd.NoGrad())
            for (int start = 0; start < images.Shape[0]; start += batchSize)
            {
                var batch = images.Narrow(0, start, Math.Min(batchSize, images.Shape[0] - start));
                total += perExample(batch).To(DType.Float64).Sum().Item();
            }
        vae.Train(wasTraining);
        return total / images.Shape[0];
    }
}
