using System.Runtime.CompilerServices;
namespace DeepSharp.Quantization;

/// <summary>
/// Activation parameters chosen at run time from a batch's range (ATen's quant_utils::ChooseQuantizationParams, used by
/// PyTorch's dynamic quantized Linear/LSTM and torch._choose_qparams_per_tensor).
/// </summary>
public static class DynamicQParams
{
    /// <summary>
    /// Scale = (max − min) / (qmax − qmin) over the range widened to include 0 (0.1 when that is 0), and the zero point from
    /// whichever end loses less precision, rounded half to even and clamped to [qmin, qmax].
    /// </summary>
    public static (float Scale, int ZeroPoint) Choose(float min, float max, int qmin, int qmax)
    {
        if (qmin >= qmax) throw new ArgumentException($"DynamicQParams.Choose: qmin ({qmin}) must be below qmax ({qmax})", nameof(qmin));
        if (float.IsNaN(min) || float.IsNaN(max) || float.IsInfinity(min) || float.IsInfinity(max))
            throw new ArgumentException($"DynamicQParams.Choose: the range [{min}, {max}] is not finite (NaN or infinite activations)", nameof(min));
        min = Math.Min(min, 0f); max = Math.Max(max, 0f);
        double scale = ((double)max - min) / (qmax - qmin);
        if ((float)scale == 0f || float.IsInfinity(1f / (float)scale)) scale = 0.1;
        double fromMin = qmin - min / scale, fromMax = qmax - max / scale;
        double errorMin = Math.Abs(qmin) - Math.Abs(min / scale), errorMax = Math.Abs(qmax) - Math.Abs(max / scale);
        double initial = errorMin < errorMax ? fromMin : fromMax;
        int zeroPoint = initial < qmin ? qmin : initial > qmax ? qmax : (int)Math.Round(initial);
        return ((float)scale, zeroPoint);
    }

    /// <summary>
    /// Quantizes float activations to u8 with the given parameters (ATen's quantize_val), writing into
    /// <paramref name="destination"/>; returns nothing so callers reuse buffers.
    /// </summary>
    public static void QuantizeU8(ReadOnlySpan<float> x, float scale, int zeroPoint, Span<byte> destination, int qmin = 0, int qmax = 255) =>
        DeepSharp.Kernels.Int8Quantize.QuantizeU8(x, 1f / scale, zeroPoint, destination, qmin, qmax);
}
