using System.Numerics.Tensors;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Base of the observers (torch.ao.quantization.observer.UniformQuantizationObserverBase): a module that passes its input
/// through unchanged while recording statistics, and turns them into scales and zero points with
/// <see cref="CalculateQParams"/>.
/// </summary>
public abstract class Observer : Module<Tensor, Tensor>
{
    /// <summary>Sets the dtype, scheme and range (quant_min/quant_max, halved by reduce_range as PyTorch does).</summary>
    protected Observer(QuantDType dtype, QScheme qscheme, bool reduceRange, int? quantMin, int? quantMax, float eps)
    {
        if (!(eps > 0)) throw new ArgumentException($"{GetType().Name}: eps must be positive, got {eps}", nameof(eps));
        DType = dtype; QScheme = qscheme; ReduceRange = reduceRange; Eps = eps;
        CustomRange = quantMin != null || quantMax != null;
        Range = QuantRange.For(dtype, reduceRange, quantMin, quantMax);
    }

    /// <summary>Target dtype (dtype).</summary>
    public QuantDType DType { get; }
    /// <summary>Quantization scheme (qscheme).</summary>
    public QScheme QScheme { get; }
    /// <summary>Whether the range was reduced by one bit (reduce_range).</summary>
    public bool ReduceRange { get; }
    /// <summary>The integer range (quant_min, quant_max).</summary>
    public QuantRange Range { get; }
    /// <summary>Whether quant_min/quant_max were given (has_customized_qrange).</summary>
    public bool CustomRange { get; }
    /// <summary>Smallest scale returned (eps, default torch.finfo(torch.float32).eps).</summary>
    public float Eps { get; }

    /// <summary>Records <paramref name="input"/> and returns it unchanged (forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        if (input.NumEl > 0) Observe(input);
        return input;
    }

    /// <summary>Updates the statistics with a batch.</summary>
    protected abstract void Observe(Tensor input);

    /// <summary>Scales and zero points for what was observed so far (calculate_qparams).</summary>
    public abstract QParams CalculateQParams();

    internal static float[] Values(Tensor input) => input.ToArray<float>();
}

/// <summary>
/// Running minimum and maximum (torch.ao.quantization.MinMaxObserver); defaults: quint8, per-tensor affine, full range.
/// </summary>
public class MinMaxObserver : Observer
{
    /// <summary>Creates the observer (MinMaxObserver(dtype, qscheme, reduce_range, quant_min, quant_max, eps)).</summary>
    public MinMaxObserver(QuantDType dtype = QuantDType.QUInt8, QScheme qscheme = QScheme.PerTensorAffine, bool reduceRange = false,
        int? quantMin = null, int? quantMax = null, float eps = QParamsCalculator.DefaultEps)
        : base(dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        if (qscheme is not (QScheme.PerTensorAffine or QScheme.PerTensorSymmetric))
            throw new ArgumentException($"{GetType().Name}: qscheme must be per-tensor affine or symmetric, got {qscheme}", nameof(qscheme));
        if (qscheme == QScheme.PerTensorSymmetric && reduceRange && dtype == QuantDType.QUInt8)
            throw new ArgumentException($"{GetType().Name}: cannot reduce range for symmetric quantization for quint8 (as PyTorch)", nameof(reduceRange));
    }

    /// <summary>Smallest value seen (min_val; +inf before the first batch).</summary>
    public float MinVal { get; protected set; } = float.PositiveInfinity;
    /// <summary>Largest value seen (max_val; -inf before the first batch).</summary>
    public float MaxVal { get; protected set; } = float.NegativeInfinity;

    /// <inheritdoc/>
    protected override void Observe(Tensor input)
    {
        var x = Values(input);
        MinVal = Math.Min(MinVal, TensorPrimitives.Min(x));
        MaxVal = Math.Max(MaxVal, TensorPrimitives.Max(x));
    }

    /// <inheritdoc/>
    public override QParams CalculateQParams() =>
        QParamsCalculator.Calculate([MinVal], [MaxVal], QScheme, DType, Range, CustomRange, Eps);

    /// <summary>Forgets what was observed (reset_min_max_vals).</summary>
    public void Reset() { MinVal = float.PositiveInfinity; MaxVal = float.NegativeInfinity; }
}

/// <summary>
/// Exponential moving average of each batch's minimum and maximum (torch.ao.quantization.MovingAverageMinMaxObserver):
/// min ← min + c·(batch_min − min), c = averaging_constant (default 0.01); the first batch sets them directly.
/// </summary>
public sealed class MovingAverageMinMaxObserver : MinMaxObserver
{
    /// <summary>Creates the observer (MovingAverageMinMaxObserver(averaging_constant=0.01, ...)).</summary>
    public MovingAverageMinMaxObserver(float averagingConstant = 0.01f, QuantDType dtype = QuantDType.QUInt8,
        QScheme qscheme = QScheme.PerTensorAffine, bool reduceRange = false, int? quantMin = null, int? quantMax = null,
        float eps = QParamsCalculator.DefaultEps) : base(dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        if (!(averagingConstant > 0 && averagingConstant <= 1))
            throw new ArgumentException($"MovingAverageMinMaxObserver: averagingConstant must be in (0, 1], got {averagingConstant}", nameof(averagingConstant));
        AveragingConstant = averagingConstant;
    }

    /// <summary>The weight of the newest batch (averaging_constant).</summary>
    public float AveragingConstant { get; }

    /// <inheritdoc/>
    protected override void Observe(Tensor input)
    {
        var x = Values(input);
        float lo = TensorPrimitives.Min(x), hi = TensorPrimitives.Max(x);
        if (float.IsPositiveInfinity(MinVal) && float.IsNegativeInfinity(MaxVal)) { MinVal = lo; MaxVal = hi; return; }
        MinVal += AveragingConstant * (lo - MinVal);
        MaxVal += AveragingConstant * (hi - MaxVal);
    }
}
