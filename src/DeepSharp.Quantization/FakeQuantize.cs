using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Simulated quantization for quantization-aware training (torch.ao.quantization.FakeQuantize): each forward feeds the
/// observer (when enabled), refreshes the scale and zero point from it, and returns
/// fake_quantize(x) = (clamp(round(x/s) + z, qmin, qmax) − z)·s, whose gradient is the straight-through estimator.
/// Buffers "scale" and "zero_point" follow PyTorch's state-dict names.
/// </summary>
public sealed class FakeQuantize : Module<Tensor, Tensor>
{
    readonly Observer activation_post_process;

    /// <summary>Wraps <paramref name="observer"/> (FakeQuantize(observer=...)); the default is
    /// <see cref="MovingAverageMinMaxObserver"/> with quint8 per-tensor affine, as in PyTorch.</summary>
    public FakeQuantize(Observer? observer = null)
    {
        activation_post_process = observer ?? new MovingAverageMinMaxObserver();
        RegisterBuffer("scale", Tensor.FromArray(new[] { 1f }));
        RegisterBuffer("zero_point", Tensor.FromArray(new[] { 0 }));
    }

    /// <summary>The observer (activation_post_process).</summary>
    public Observer Observer => activation_post_process;
    /// <summary>Whether forward updates the statistics (observer_enabled; enable_observer / disable_observer).</summary>
    public bool ObserverEnabled { get; set; } = true;
    /// <summary>Whether forward fake-quantizes (fake_quant_enabled; enable_fake_quant / disable_fake_quant).</summary>
    public bool FakeQuantEnabled { get; set; } = true;
    /// <summary>The scales and zero points in use (scale / zero_point buffers).</summary>
    public QParams QParams { get; private set; } = new([1f], [0]);

    bool PerChannel => activation_post_process.QScheme is QScheme.PerChannelAffine or QScheme.PerChannelSymmetric;

    /// <summary>Observes (when enabled) and fake-quantizes (when enabled) (forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        if (ObserverEnabled)
        {
            using (Autograd.NoGrad()) activation_post_process.Call(input.Detach());
            QParams = activation_post_process.CalculateQParams();
            RegisterBuffer("scale", Tensor.FromArray(QParams.Scale));
            RegisterBuffer("zero_point", Tensor.FromArray(Array.ConvertAll(QParams.ZeroPoint, z => (int)z)));
        }
        if (!FakeQuantEnabled) return input;
        var range = activation_post_process.Range;
        if (!PerChannel) return input.FakeQuantizePerTensorAffine(QParams.Scale[0], QParams.ZeroPoint[0], range.Min, range.Max);
        if (QParams.Scale.Length == 1 && input.Shape[QParams.Axis] != 1)
            throw new InvalidOperationException("FakeQuantize: per-channel fake quantization needs the observer to have seen data first (ObserverEnabled)");
        return input.FakeQuantizePerChannelAffine(Tensor.FromArray(QParams.Scale), Tensor.FromArray(QParams.ZeroPoint), QParams.Axis, range.Min, range.Max);
    }

    /// <summary>The observer's current parameters (calculate_qparams).</summary>
    public QParams CalculateQParams() => activation_post_process.CalculateQParams();
}
