namespace DeepSharp.Quantization;

/// <summary>
/// Turns observed minima and maxima into scales and zero points exactly as
/// torch.ao.quantization.observer.UniformQuantizationObserverBase._calculate_qparams does (float32 arithmetic).
/// </summary>
public static class QParamsCalculator
{
    /// <summary>torch.finfo(torch.float32).eps, the observers' default lower bound on a scale.</summary>
    public const float DefaultEps = 1.1920929e-07f;

    /// <summary>
    /// Scales and zero points for each (min, max) pair (_calculate_qparams). The range is first widened to include 0;
    /// symmetric schemes use max(-min, max) / ((qmax - qmin) / 2) and a zero point of 0, or 128 for quint8
    /// ((qmin + qmax) / 2 with a custom range); affine schemes use (max - min) / (qmax - qmin) and
    /// zero point = clamp(qmin - round(min / scale), qmin, qmax). Scales are at least <paramref name="eps"/>.
    /// With no observation yet (min = +inf, max = -inf) the result is scale 1, zero point 0, as in PyTorch.
    /// </summary>
    public static QParams Calculate(ReadOnlySpan<float> minVal, ReadOnlySpan<float> maxVal, QScheme scheme, QuantDType dtype,
        QuantRange range, bool customRange = false, float eps = DefaultEps, int axis = -1)
    {
        if (minVal.Length != maxVal.Length) throw new ArgumentException($"Calculate: {minVal.Length} minima but {maxVal.Length} maxima", nameof(maxVal));
        int n = minVal.Length;
        if (!Valid(minVal, maxVal)) return new QParams([1f], [0], axis);
        var scale = new float[n];
        var zeroPoint = new long[n];
        bool symmetric = scheme is QScheme.PerTensorSymmetric or QScheme.PerChannelSymmetric;
        for (int c = 0; c < n; c++)
        {
            float minNeg = Math.Min(minVal[c], 0f), maxPos = Math.Max(maxVal[c], 0f);
            if (symmetric)
            {
                maxPos = Math.Max(-minNeg, maxPos);
                scale[c] = Math.Max(maxPos / ((float)(range.Max - range.Min) / 2), eps);
                zeroPoint[c] = dtype == QuantDType.QUInt8 ? (customRange ? FloorDiv(range.Min + range.Max, 2) : 128) : 0;
            }
            else
            {
                scale[c] = Math.Max((maxPos - minNeg) / (float)(range.Max - range.Min), eps);
                long zp = range.Min - (int)MathF.Round(minNeg / scale[c]);
                zeroPoint[c] = Math.Clamp(zp, range.Min, range.Max);
            }
        }
        return new QParams(scale, zeroPoint, axis);
    }

    static long FloorDiv(long a, long b) => (long)Math.Floor((double)a / b);

    // check_min_max_valid: an observer that saw nothing still holds +inf / -inf
    static bool Valid(ReadOnlySpan<float> minVal, ReadOnlySpan<float> maxVal)
    {
        for (int c = 0; c < minVal.Length; c++)
        {
            if (float.IsPositiveInfinity(minVal[c]) && float.IsNegativeInfinity(maxVal[c])) return false;
            if (minVal[c] > maxVal[c]) throw new ArgumentException($"Calculate: min ({minVal[c]}) is greater than max ({maxVal[c]}) at {c}", nameof(minVal));
        }
        return true;
    }
}
