using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>
/// A Trainer step for mixed-precision training (PyTorch's AMP recipe: forward under torch.autocast, the 16-bit output cast
/// to float32 for the loss and the metrics,
/// scaler.scale(loss).backward(), scaler.step(opt), scaler.update()): <c>var amp = new MixedPrecisionStep(model, opt,
/// Precision.Float16); new Trainer(model, opt, amp.Step) { AutomaticOptimization = false }</c>. Float16 uses a
/// <see cref="GradScaler"/> (the 16-bit activation gradients overflow to ±∞ beyond 65504, and the scaler also counts a
/// master gradient beyond that as an overflow); bfloat16 has float32's range and needs none.
/// The autocast region stays open while this object lives (evaluation runs in it too); Dispose closes it.
/// </summary>
public sealed class MixedPrecisionStep : IDisposable
{
    readonly Module<Tensor, Tensor> model;
    readonly Optimizer optimizer;
    readonly Func<Tensor, Tensor, Tensor> loss;
    readonly Autocast autocast;
    bool gradientsExist;

    /// <summary>Wraps <paramref name="model"/> and <paramref name="optimizer"/>; the loss defaults to cross-entropy.</summary>
    public MixedPrecisionStep(Module<Tensor, Tensor> model, Optimizer optimizer, Precision precision, Func<Tensor, Tensor, Tensor>? loss = null, GradScaler? scaler = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(optimizer);
        this.model = model; this.optimizer = optimizer; this.loss = loss ?? F.CrossEntropy;
        Precision = precision;
        Scaler = scaler ?? (precision == Precision.Float16 ? new GradScaler(gradientLimit: 65504) : null);
        autocast = Autocast.Enable(model, precision);
    }

    /// <summary>The precision of the forward.</summary>
    public Precision Precision { get; }

    /// <summary>The loss scaler (float16 runs), or null.</summary>
    public GradScaler? Scaler { get; }

    /// <summary>Warnings raised during training (a collapsed loss scale), each once.</summary>
    public List<string> Warnings { get; } = new();

    /// <summary>The step: forward under autocast, float32 loss, scaled backward, scaler step and update.</summary>
    public Tensor? Step(StepContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var output = model.Call(context.Input);
        if (output.DType.IsReducedPrecision()) output = output.To(DType.Float32);   // the loss is on autocast's float32 list
        context.UpdateMetrics(output, context.Target);
        var value = loss(output, context.Target);
        if (!context.IsTraining) return value;
        // the first step creates the gradients; later ones zero them in place, so a step inside the trainer's
        // TensorScope allocates no new gradient arrays (the automatic trainer does the same)
        optimizer.ZeroGrad(setToNone: !gradientsExist);
        gradientsExist = true;
        if (Scaler == null)
        {
            value.Backward();
            optimizer.Step();
            return value;
        }
        Scaler.Scale(value).Backward();
        Scaler.Step(optimizer);
        if (Scaler.Update() is { } warning && Warnings.Count == 0) Warnings.Add(warning);
        context.Log("loss_scale", Scaler.ScaleValue);
        return value;
    }

    /// <summary>Closes the autocast region.</summary>
    public void Dispose() => autocast.Dispose();
}
