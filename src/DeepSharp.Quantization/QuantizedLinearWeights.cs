using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
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
        Packed = Int8Gemm.Pack(weight.Int8Data, OutFeatures, InFeatures);
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
    /// <summary>The weight packed for the int8 GEMM.</summary>
    public PackedInt8Weights Packed { get; }
    /// <summary>The weight scale of each output.</summary>
    public float[] Scales { get; }

    /// <summary>
    /// y[m, n] = sx·sw[n]·(Σ_k qx[m, k]·qw[n, k] − zx·Σ_k qw[n, k]) + bias[n]: the int8 GEMM with int32 accumulation, then
    /// the zero-point correction and the rescale to float.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Apply(ReadOnlySpan<byte> xq, int m, float inputScale, int inputZeroPoint, Span<float> y, int[]? accumulator = null)
    {
        int n = OutFeatures;
        var acc = accumulator ?? new int[m * n];
        Int8Gemm.Multiply(xq, Packed, acc, m);
        var sums = Packed.ColumnSums;
        // per output: the zero-point correction and the combined scale, then each row with vector ops in the same
        // order as the scalar form (int subtraction, conversion, one multiply, one add)
        var offset = new int[n];
        var scale = new float[n];
        for (int j = 0; j < n; j++) { offset[j] = inputZeroPoint * sums[j]; scale[j] = inputScale * Scales[j]; }
        var row = new int[n];
        for (int i = 0; i < m; i++)
        {
            var yi = y.Slice(i * n, n);
            TensorPrimitives.Subtract(acc.AsSpan(i * n, n), offset, row);
            TensorPrimitives.ConvertTruncating<int, float>(row, yi);
            TensorPrimitives.Multiply(yi, scale, yi);
            if (Bias != null) TensorPrimitives.Add(yi, Bias, yi);
        }
    }
}
