namespace DeepSharp.Quantization;

/// <summary>
/// Histogram of the values seen, and min/max chosen by an approximate L2-error search over it
/// (torch.ao.quantization.HistogramObserver, PyTorch 1.13 semantics, float32 arithmetic as there). Defaults: 2048 bins,
/// upsample rate 128, quint8, per-tensor affine. Like PyTorch 1.13, each batch is binned with torch.histc over
/// [int(min), int(max)] (the bounds truncated toward zero; both 0 means the batch's own extrema), so values beyond the
/// truncated bounds are left out of that batch's histogram; min/max themselves are exact.
/// </summary>
public sealed partial class HistogramObserver : Observer
{
    readonly int bins, upsampleRate, dstBins;

    /// <summary>Creates the observer (HistogramObserver(bins=2048, upsample_rate=128, dtype, qscheme, reduce_range, ...)).</summary>
    public HistogramObserver(int bins = 2048, int upsampleRate = 128, QuantDType dtype = QuantDType.QUInt8,
        QScheme qscheme = QScheme.PerTensorAffine, bool reduceRange = false, int? quantMin = null, int? quantMax = null,
        float eps = QParamsCalculator.DefaultEps) : base(dtype, qscheme, reduceRange, quantMin, quantMax, eps)
    {
        if (qscheme is not (QScheme.PerTensorAffine or QScheme.PerTensorSymmetric))
            throw new ArgumentException($"HistogramObserver: qscheme must be per-tensor affine or symmetric, got {qscheme}", nameof(qscheme));
        if (bins < 1 || upsampleRate < 1) throw new ArgumentException($"HistogramObserver: bins ({bins}) and upsampleRate ({upsampleRate}) must be positive", nameof(bins));
        this.bins = bins; this.upsampleRate = upsampleRate; dstBins = 256;
        Histogram = new float[bins];
    }

    /// <summary>Bin counts (histogram).</summary>
    public float[] Histogram { get; private set; }
    /// <summary>Smallest value seen (min_val).</summary>
    public float MinVal { get; private set; } = float.PositiveInfinity;
    /// <summary>Largest value seen, possibly widened to a whole number of bins (max_val).</summary>
    public float MaxVal { get; private set; } = float.NegativeInfinity;

    /// <inheritdoc/>
    protected override void Observe(Tensor input)
    {
        var x = Values(input);
        float lo = System.Numerics.Tensors.TensorPrimitives.Min(x), hi = System.Numerics.Tensors.TensorPrimitives.Max(x);
        bool uninitialized = float.IsPositiveInfinity(MinVal) && float.IsNegativeInfinity(MaxVal);
        if (uninitialized || MinVal == MaxVal)
        {
            MinVal = lo; MaxVal = hi;
            Histogram = Histc(x, bins, (int)lo, (int)hi);
            return;
        }
        float combinedMin = Math.Min(lo, MinVal), combinedMax = Math.Max(hi, MaxVal);
        // _adjust_min_max: widen the combined range to a whole multiple of the old histogram's upsampled width
        float histBinWidth = (MaxVal - MinVal) / (bins * upsampleRate);
        int downsampleRate = (int)MathF.Ceiling((combinedMax - combinedMin) / (bins * histBinWidth));
        float e = downsampleRate * (bins * histBinWidth) - (combinedMax - combinedMin);
        combinedMax += e;
        int startIdx = (int)MathF.Round((MinVal - combinedMin) / histBinWidth);
        var combined = Histc(x, bins, (int)combinedMin, (int)combinedMax);
        if (combinedMin == MinVal && combinedMax == MaxVal)
            for (int i = 0; i < bins; i++) combined[i] += Histogram[i];
        else
            CombineHistograms(combined, Histogram, downsampleRate, startIdx);
        Histogram = combined; MinVal = combinedMin; MaxVal = combinedMax;
    }

    // _combine_histograms: spread the old histogram over upsampled bins placed at startIdx, then sum every
    // downsampleRate of them into the new bins (cumulative sums in float64, as PyTorch).
    void CombineHistograms(float[] target, float[] old, int downsampleRate, int startIdx)
    {
        long length = (long)bins * downsampleRate;
        if (startIdx < 0 || startIdx + (long)bins * upsampleRate > length)
            throw new InvalidOperationException($"HistogramObserver: the old histogram does not fit the combined range (start {startIdx}, downsample {downsampleRate})");
        double cumulative = 0, previous = 0;
        long next = downsampleRate - 1;
        int outIndex = 0;
        for (long i = 0; i < length && outIndex < bins; i++)
        {
            long j = i - startIdx;
            float v = j >= 0 && j < (long)bins * upsampleRate ? old[j / upsampleRate] : 0f;
            cumulative += v;
            if (i != next) continue;
            float shifted = (float)previous;   // shifted_integral_histogram is float32 in PyTorch
            target[outIndex++] += (float)((cumulative - shifted) / upsampleRate);
            previous = cumulative; next += downsampleRate;
        }
    }

    /// <summary>torch.histc(x, bins, min, max) on float32: both bounds equal means the data's extrema; values outside are dropped.</summary>
    internal static float[] Histc(float[] x, int bins, double min, double max)
    {
        if (min == max && x.Length > 0)
        {
            min = System.Numerics.Tensors.TensorPrimitives.Min(x); max = System.Numerics.Tensors.TensorPrimitives.Max(x);
        }
        if (min == max) { min -= 1; max += 1; }
        float left = (float)min, right = (float)max;
        var hist = new float[bins];
        foreach (var v in x)
        {
            if (!(v >= left && v <= right)) continue;
            long pos = (long)((v - left) * bins / (right - left));
            if (pos >= bins) pos = bins - 1;
            hist[pos] += 1;
        }
        return hist;
    }
}
