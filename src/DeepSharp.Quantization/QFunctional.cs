using System.Runtime.CompilerServices;

namespace DeepSharp.Quantization;

/// <summary>
/// Quantized element-wise add and concatenation with an output scale and zero point (torch.ao.nn.quantized.QFunctional,
/// what a FloatFunctional becomes after convert): the pieces a residual or multi-branch model needs between quantized
/// layers. Inputs are per-tensor quint8 activations with their own parameters; each value is dequantized in float32
/// (as ATen's vectorised dequantize does: q·s + (−z·s) with one fused multiply-add), combined and requantized with
/// round-half-to-even.
/// </summary>
public sealed class QFunctional(OutputQParams output)
{
    /// <summary>Output scale and zero point (QFunctional.scale / zero_point, found by calibration).</summary>
    public OutputQParams Output { get; } = output;

    /// <summary>a + b (QFunctional.add).</summary>
    public QuantizedTensor Add(QuantizedTensor a, QuantizedTensor b) => AddCore(a, b, relu: false);

    /// <summary>relu(a + b) (QFunctional.add_relu).</summary>
    public QuantizedTensor AddRelu(QuantizedTensor a, QuantizedTensor b) => AddCore(a, b, relu: true);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    QuantizedTensor AddCore(QuantizedTensor a, QuantizedTensor b, bool relu)
    {
        Requantize.CheckActivation(a, "QFunctional.Add", 0);
        Requantize.CheckActivation(b, "QFunctional.Add", 0);
        if (!a.Shape.SequenceEqual(b.Shape))
            throw new ArgumentException($"QFunctional.Add: shapes ({string.Join(", ", a.Shape)}) and ({string.Join(", ", b.Shape)}) differ", nameof(b));
        var (sa, na) = Dequantizer(a); var (sb, nb) = Dequantizer(b);
        var x = a.Data; var y = b.Data; var q = new byte[x.Length];
        float inv = 1f / Output.Scale; int lo = relu ? Output.ZeroPoint : 0;
        for (int i = 0; i < q.Length; i++)
        {
            float v = MathF.FusedMultiplyAdd(x[i], sa, na) + MathF.FusedMultiplyAdd(y[i], sb, nb);
            q[i] = Quantize(v, inv, Output.ZeroPoint, lo);
        }
        return Requantize.Wrap(q, a.Shape.ToArray(), Output);
    }

    /// <summary>Concatenates along <paramref name="dim"/> and requantizes to the output parameters (QFunctional.cat).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public QuantizedTensor Cat(IReadOnlyList<QuantizedTensor> inputs, int dim)
    {
        if (inputs.Count == 0) throw new ArgumentException("QFunctional.Cat: no input", nameof(inputs));
        var first = inputs[0];
        int rank = first.Shape.Count;
        if (dim < 0) dim += rank;
        if (dim < 0 || dim >= rank) throw new ArgumentException($"QFunctional.Cat: dim out of range for rank {rank}", nameof(dim));
        foreach (var t in inputs)
        {
            Requantize.CheckActivation(t, "QFunctional.Cat", rank);
            for (int d = 0; d < rank; d++)
                if (d != dim && t.Shape[d] != first.Shape[d])
                    throw new ArgumentException($"QFunctional.Cat: shapes ({string.Join(", ", first.Shape)}) and ({string.Join(", ", t.Shape)}) differ outside dim {dim}", nameof(inputs));
        }
        int outer = 1, inner = 1, total = 0;
        for (int d = 0; d < dim; d++) outer *= first.Shape[d];
        for (int d = dim + 1; d < rank; d++) inner *= first.Shape[d];
        foreach (var t in inputs) total += t.Shape[dim];
        var q = new byte[outer * total * inner];
        float inv = 1f / Output.Scale;
        int offset = 0;
        foreach (var t in inputs)
        {
            int block = t.Shape[dim] * inner;
            bool same = (float)t.Scales[0] == Output.Scale && t.ZeroPoints[0] == Output.ZeroPoint;
            var (s, n) = Dequantizer(t);
            var x = t.Data;
            for (int o = 0; o < outer; o++)
            {
                var src = x.Slice(o * block, block); var dst = q.AsSpan(o * total * inner + offset, block);
                if (same) src.CopyTo(dst);
                else for (int i = 0; i < block; i++) dst[i] = Quantize(MathF.FusedMultiplyAdd(src[i], s, n), inv, Output.ZeroPoint, 0);
            }
            offset += block;
        }
        var shape = first.Shape.ToArray(); shape[dim] = total;
        return Requantize.Wrap(q, shape, Output);
    }

    static (float Scale, float NegZeroPointScale) Dequantizer(QuantizedTensor t)
    {
        float s = (float)t.Scales[0];
        return (s, -(float)t.ZeroPoints[0] * s);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static byte Quantize(float v, float inv, int zeroPoint, int lo)
    {
        float r = zeroPoint + MathF.Round(v * inv);
        return (byte)(r < lo ? lo : r > 255 ? 255 : (int)r);
    }
}
