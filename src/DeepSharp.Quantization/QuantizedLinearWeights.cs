using DeepSharp.Kernels;

namespace DeepSharp.Quantization;

/// <summary>
/// A Linear layer's weight quantized to symmetric qint8 (zero point 0), per tensor or per output channel, packed for
/// <see cref="Int8Gemm"/>, with the float bias (PyTorch's LinearPackedParams). Conv layers reuse it with the weight
/// flattened to (out, in·kh·kw).
/// </summary>
public sealed class QuantizedLinearWeights
{
    /// <summary>Quantizes a float weight (out, in) with the weight observer PyTorch uses: MinMaxObserver(qint8,
    /// per_tensor_symmetric), or PerChannelMinMaxObserver(qint8, per_channel_symmetric) along axis 0.</summary>
    public static QuantizedLinearWeights FromFloat(Tensor weight, Tensor? bias, bool perChannel = true)
    {
        if (weight.Rank != 2) throw new ArgumentException($"QuantizedLinearWeights: weight must be 2-D (out, in), got shape ({string.Join(", ", weight.Shape)})", nameof(weight));
        if (bias != null && (bias.Rank != 1 || bias.Shape[0] != weight.Shape[0]))
            throw new ArgumentException($"QuantizedLinearWeights: bias shape ({string.Join(", ", bias.Shape)}) does not match {weight.Shape[0]} outputs", nameof(bias));
        Observer observer = perChannel ? new PerChannelMinMaxObserver(0, QuantDType.QInt8, QScheme.PerChannelSymmetric)
                                       : new MinMaxObserver(QuantDType.QInt8, QScheme.PerTensorSymmetric);
        observer.Call(weight.Detach());
        var q = QuantizedTensor.Quantize(weight.Detach(), observer.CalculateQParams(), QuantDType.QInt8);
        return new QuantizedLinearWeights(q, bias?.Detach().ToArray<float>());
    }

    /// <summary>Wraps an already quantized qint8 weight (out, in) with zero points 0 (as loaded from a file).</summary>
    public QuantizedLinearWeights(QuantizedTensor weight, float[]? bias)
    {
        if (weight.DType != QuantDType.QInt8 || weight.Shape.Count != 2)
            throw new ArgumentException($"QuantizedLinearWeights: the weight must be a 2-D qint8 tensor, got {weight.DType} of shape ({string.Join(", ", weight.Shape)})", nameof(weight));
        if (weight.ZeroPoints.Any(z => z != 0)) throw new ArgumentException("QuantizedLinearWeights: weight zero points must be 0 (symmetric quantization)", nameof(weight));
        if (weight.Axis > 0) throw new ArgumentException($"QuantizedLinearWeights: per-channel weights must use axis 0, got {weight.Axis}", nameof(weight));
        Weight = weight; Bias = bias;
        OutFeatures = weight.Shape[0]; InFeatures = weight.Shape[1];
        if (bias != null && bias.Length != OutFeatures) throw new ArgumentException($"QuantizedLinearWeights: {bias.Length} biases for {OutFeatures} outputs", nameof(bias));
        Scales = new float[OutFeatures];
        for (int n = 0; n < OutFeatures; n++) Scales[n] = (float)weight.Scales[weight.Axis < 0 ? 0 : n];
    }

    /// <summary>The quantized weight (torch's weight()).</summary>
    public QuantizedTensor Weight { get; }
    /// <summary>The float bias, or null.</summary>
    public float[]? Bias { get; }
    /// <summary>Input features (K).</summary>
    public int InFeatures { get; }
    /// <summary>Output features (N).</summary>
    public int OutFeatures { get; }
    /// <summary>The weight packed for the int8 GEMM (packed on first use: a convolution packs its own channels-last
    /// copy instead and never builds this one).</summary>
    public PackedInt8Weights Packed => packed ??= Int8Gemm.Pack(Weight.Int8Data, OutFeatures, InFeatures);
    PackedInt8Weights? packed;
    /// <summary>The weight scale of each output.</summary>
    public float[] Scales { get; }

    /// <summary>
    /// y[m, n] = sx·sw[n]·(Σ_k qx[m, k]·qw[n, k] − zx·Σ_k qw[n, k]) + bias[n]: the int8 GEMM with int32 accumulation and
    /// the zero-point correction, rescale and bias fused into its epilogue (<see cref="Int8Gemm.MultiplyDequantize"/>).
    /// <paramref name="accumulator"/> is no longer needed (kept for callers); <paramref name="parallel"/> false stays on the
    /// calling thread.
    /// </summary>
    public void Apply(ReadOnlySpan<byte> xq, int m, float inputScale, int inputZeroPoint, Span<float> y, int[]? accumulator = null, bool parallel = true) =>
        Int8Gemm.MultiplyDequantize(xq, InFeatures, Packed, y, m, inputScale, inputZeroPoint, Scales, Bias, default, parallel);

    /// <summary>Like <see cref="Apply"/> with <paramref name="addend"/> (M×N) added after the bias, in the same epilogue.</summary>
    internal void ApplyAdd(ReadOnlySpan<byte> xq, int m, float inputScale, int inputZeroPoint, Span<float> y, ReadOnlySpan<float> addend, bool parallel) =>
        Int8Gemm.MultiplyDequantize(xq, InFeatures, Packed, y, m, inputScale, inputZeroPoint, Scales, Bias, addend, parallel);
}
