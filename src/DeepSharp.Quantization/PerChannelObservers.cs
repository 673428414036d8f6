namespace DeepSharp.Quantization;

/// <summary>
/// Running minimum and maximum of each channel along <see cref="Axis"/> (torch.ao.quantization.PerChannelMinMaxObserver);
/// defaults: axis 0, quint8, per-channel affine. Weights use qint8 with per-channel symmetric.
/// </summary>
public class PerChannelMinMaxObserver : Observer
{
    /// <summary>Creates the observer (PerChannelMinMaxObserver(ch_axis, dtype, qscheme, reduce_range, quant_min, quant_max, eps)).</summary>
    public PerChannelMinMaxObserver(int axis = 0, QuantDType dtype = QuantDType.QUInt8, QScheme qscheme = QScheme.PerChannelAffine,
        bool reduceRange = false, int? quantMin = null, int? quantMax = null, float eps = QParamsCalculator.DefaultEps)
        : base(dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        if (qscheme is not (QScheme.PerChannelAffine or QScheme.PerChannelSymmetric))
            throw new ArgumentException($"{GetType().Name}: qscheme must be per-channel affine or symmetric, got {qscheme}", nameof(qscheme));
        if (axis < 0) throw new ArgumentException($"{GetType().Name}: axis must be non-negative, got {axis}", nameof(axis));
        Axis = axis;
    }

    /// <summary>The channel axis (ch_axis).</summary>
    public int Axis { get; }
    /// <summary>Per-channel minima (min_val; empty before the first batch).</summary>
    public float[] MinVal { get; protected set; } = [];
    /// <summary>Per-channel maxima (max_val).</summary>
    public float[] MaxVal { get; protected set; } = [];

    /// <summary>Each channel's minimum and maximum in one batch.</summary>
    protected (float[] Min, float[] Max) BatchMinMax(Tensor input)
    {
        if (Axis >= input.Rank) throw new ArgumentException($"{GetType().Name}: axis {Axis} is out of range for input of shape ({string.Join(", ", input.Shape)})", nameof(input));
        int channels = input.Shape[Axis], inner = QuantizedTensor.Inner(input.Shape, Axis);
        if (MinVal.Length != 0 && MinVal.Length != channels)
            throw new ArgumentException($"{GetType().Name}: input has {channels} channels along axis {Axis}, earlier batches had {MinVal.Length}", nameof(input));
        var x = Values(input);
        var lo = new float[channels]; var hi = new float[channels];
        Array.Fill(lo, float.PositiveInfinity); Array.Fill(hi, float.NegativeInfinity);
        for (int start = 0; start < x.Length; start += inner)
        {
            int c = start / inner % channels;
            var block = x.AsSpan(start, inner);
            lo[c] = Math.Min(lo[c], System.Numerics.Tensors.TensorPrimitives.Min(block));
            hi[c] = Math.Max(hi[c], System.Numerics.Tensors.TensorPrimitives.Max(block));
        }
        return (lo, hi);
    }

    /// <inheritdoc/>
    protected override void Observe(Tensor input)
    {
        var (lo, hi) = BatchMinMax(input);
        if (MinVal.Length == 0) { MinVal = lo; MaxVal = hi; return; }
        for (int c = 0; c < lo.Length; c++) { MinVal[c] = Math.Min(MinVal[c], lo[c]); MaxVal[c] = Math.Max(MaxVal[c], hi[c]); }
    }

    /// <inheritdoc/>
    public override QParams CalculateQParams()
    {
        if (MinVal.Length == 0) return new QParams([1f], [0], Axis);
        return QParamsCalculator.Calculate(MinVal, MaxVal, QScheme, DType, Range, CustomRange, Eps, Axis);
    }
}

/// <summary>
/// Per-channel exponential moving average of minima and maxima (torch.ao.quantization.MovingAveragePerChannelMinMaxObserver).
/// </summary>
public sealed class MovingAveragePerChannelMinMaxObserver : PerChannelMinMaxObserver
{
    /// <summary>Creates the observer (MovingAveragePerChannelMinMaxObserver(averaging_constant=0.01, ch_axis=0, ...)).</summary>
    public MovingAveragePerChannelMinMaxObserver(float averagingConstant = 0.01f, int axis = 0, QuantDType dtype = QuantDType.QUInt8,
        QScheme qscheme = QScheme.PerChannelAffine, bool reduceRange = false, int? quantMin = null, int? quantMax = null,
        float eps = QParamsCalculator.DefaultEps) : base(axis, dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        if (!(averagingConstant > 0 && averagingConstant <= 1))
            throw new ArgumentException($"MovingAveragePerChannelMinMaxObserver: averagingConstant must be in (0, 1], got {averagingConstant}", nameof(averagingConstant));
        AveragingConstant = averagingConstant;
    }

    /// <summary>The weight of the newest batch (averaging_constant).</summary>
    public float AveragingConstant { get; }

    /// <inheritdoc/>
    protected override void Observe(Tensor input)
    {
        var (lo, hi) = BatchMinMax(input);
        if (MinVal.Length == 0) { MinVal = lo; MaxVal = hi; return; }
        for (int c = 0; c < lo.Length; c++)
        {
            MinVal[c] += AveragingConstant * (lo[c] - MinVal[c]);
            MaxVal[c] += AveragingConstant * (hi[c] - MaxVal[c]);
        }
    }
}
