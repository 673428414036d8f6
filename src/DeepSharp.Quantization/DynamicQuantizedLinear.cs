using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Linear with int8 weights and activations quantized per batch (torch.ao.nn.quantized.dynamic.Linear): each forward
/// takes the batch's min/max, chooses quint8 parameters (reduce_range on by default, as PyTorch's x86 engines call
/// quantized::linear_dynamic with reduce_range=True, which also keeps vpmaddubsw exact), runs the int8 GEMM and returns float32.
/// </summary>
public sealed class DynamicQuantizedLinear : Module<Tensor, Tensor>
{
    /// <summary>Wraps quantized weights.</summary>
    public DynamicQuantizedLinear(QuantizedLinearWeights weights, bool reduceRange = true)
    {
        Weights = weights; ReduceRange = reduceRange;
    }

    /// <summary>Quantizes a float Linear (torch.ao.quantization.quantize_dynamic on one layer); per-channel weights by default
    /// (per_channel_dynamic_qconfig), per-tensor with <paramref name="perChannel"/> false (default_dynamic_qconfig).</summary>
    public static DynamicQuantizedLinear FromFloat(Linear linear, bool perChannel = true, bool reduceRange = true) =>
        new(QuantizedLinearWeights.FromFloat(linear.Weight, linear.Bias, perChannel), reduceRange);

    /// <summary>The quantized weight, scales and bias.</summary>
    public QuantizedLinearWeights Weights { get; }
    /// <summary>Whether activations use [0, 127] instead of [0, 255] (reduce_range).</summary>
    public bool ReduceRange { get; }

    /// <summary>x (..., in) float → y (..., out) float through int8 arithmetic (forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        int k = Weights.InFeatures;
        if (input.Rank == 0 || input.Shape[^1] != k)
            throw new ArgumentException($"DynamicQuantizedLinear: input shape ({string.Join(", ", input.Shape)}) does not end in {k} features", nameof(input));
        // read the input in place when it is a contiguous float32 tensor; the quantized copy comes from the shared pool
        var x = input.DType == DType.Float32 && input.IsContiguous ? input.AsReadOnlySpan<float>() : input.Contiguous().To(DType.Float32).AsReadOnlySpan<float>();
        int m = x.Length / k;
        var (min, max) = Int8Quantize.MinMax(x);
        var (scale, zeroPoint) = DynamicQParams.Choose(min, max, 0, ReduceRange ? 127 : 255);
        var xq = System.Buffers.ArrayPool<byte>.Shared.Rent(x.Length);
        var y = new float[m * Weights.OutFeatures];
        try
        {
            DynamicQParams.QuantizeU8(x, scale, zeroPoint, xq);
            Weights.Apply(xq.AsSpan(0, x.Length), m, scale, zeroPoint, y);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(xq); }
        var shape = input.Shape.ToArray(); shape[^1] = Weights.OutFeatures;
        return Tensor.FromArray(y, shape);
    }
}
