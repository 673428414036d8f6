using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>Float → quint8 at the model's entry (torch.ao.nn.quantized.Quantize, what a QuantStub becomes).</summary>
public sealed class QuantizeStub(OutputQParams qparams) : Module<Tensor, QuantizedTensor>
{
    /// <summary>Scale and zero point.</summary>
    public OutputQParams QParams { get; } = qparams;

    /// <summary>Quantizes per tensor to quint8 (forward).</summary>
    public override QuantizedTensor Forward(Tensor input) => QuantizedTensor.QuantizePerTensor(input, QParams.Scale, QParams.ZeroPoint, QuantDType.QUInt8);
}

/// <summary>quint8 → float at the model's exit (torch.ao.nn.quantized.DeQuantize).</summary>
public sealed class DeQuantizeStub : Module<QuantizedTensor, Tensor>
{
    /// <summary>Dequantizes (forward).</summary>
    public override Tensor Forward(QuantizedTensor input) => input.Dequantize();
}

/// <summary>
/// Static quantized Linear, optionally with a fused ReLU (torch.ao.nn.quantized.Linear / torch.ao.nn.intrinsic.quantized.LinearReLU):
/// quint8 (batch, in) → int8 GEMM with int32 accumulation → float rescale plus bias → quint8 (batch, out) with the output
/// scale and zero point found in calibration.
/// </summary>
public sealed class QuantizedLinear(QuantizedLinearWeights weights, OutputQParams output, bool relu = false) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Weights and bias.</summary>
    public QuantizedLinearWeights Weights { get; } = weights;
    /// <summary>Output scale and zero point (scale / zero_point).</summary>
    public OutputQParams Output { get; } = output;
    /// <summary>Whether a ReLU is fused (LinearReLU).</summary>
    public bool Relu { get; } = relu;

    /// <summary>Runs the layer (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedLinear", 2);
        int m = input.Shape[0], k = input.Shape[1], n = Weights.OutFeatures;
        if (k != Weights.InFeatures) throw new ArgumentException($"QuantizedLinear: input shape ({m}, {k}) does not match {Weights.InFeatures} input features", nameof(input));
        var q = new byte[m * n];
        var scale = new float[n];
        float sx = (float)input.Scales[0];
        for (int j = 0; j < n; j++) scale[j] = sx * Weights.Scales[j];
        Int8Gemm.MultiplyRequantize(input.Data, k, Weights.Packed, q, m,
            new Int8Requantization((int)input.ZeroPoints[0], scale, Weights.Bias, 1f / Output.Scale, Output.ZeroPoint, Relu ? Output.ZeroPoint : 0));
        return Requantize.Wrap(q, [m, n], Output);
    }
}

/// <summary>2-D max pooling on quint8 values (torch.nn.MaxPool2d on a quantized tensor): max commutes with the monotone
/// dequantization, so it runs on the bytes and keeps the input's scale and zero point.</summary>
public sealed class QuantizedMaxPool2d(Size2 kernel, Size2 stride, Size2 padding) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Window size (kernel_size).</summary>
    public Size2 Kernel { get; } = kernel;
    /// <summary>Window step (stride).</summary>
    public Size2 Stride { get; } = stride;
    /// <summary>Padding (never selected: padded positions are skipped).</summary>
    public Size2 Padding { get; } = padding;

    /// <summary>Pools (forward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedMaxPool2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        int oh = (h + 2 * Padding.H - Kernel.H) / Stride.H + 1, ow = (w + 2 * Padding.W - Kernel.W) / Stride.W + 1;
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"QuantizedMaxPool2d: kernel {Kernel} is larger than the padded input ({h}, {w})", nameof(input));
        var x = input.RawData; var y = new byte[b * c * oh * ow];
        KernelThreadPool.ParallelFor(b, batch => PoolImage(x, y, batch * c, c, h, w, oh, ow));
        return QuantizedTensor.FromRaw(y, [b, c, oh, ow], input.DType, input.Scales, input.ZeroPoints);
    }

    // planes p0..p0+count of one image; windows wholly inside the input take a branch-free path
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void PoolImage(byte[] input, byte[] output, int p0, int count, int h, int w, int oh, int ow)
    {
        ReadOnlySpan<byte> x = input; Span<byte> y = output;
        int kh = Kernel.H, kw = Kernel.W, sh = Stride.H, sw = Stride.W, ph = Padding.H, pw = Padding.W;
        if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && ph == 0 && pw == 0 && 2 * oh <= h && 2 * ow <= w)
        {
            // the common 2×2/2 pool: two input rows per output row, no bounds tests in the inner loop
            ref byte xs = ref MemoryMarshal.GetArrayDataReference(input);
            ref byte ys = ref MemoryMarshal.GetArrayDataReference(output);
            if ((long)(p0 + count) * h * w > input.Length || (long)(p0 + count) * oh * ow > output.Length) throw new ArgumentException("QuantizedMaxPool2d: buffer too small");
            for (int plane = p0; plane < p0 + count; plane++)
                for (int i = 0; i < oh; i++)
                {
                    ref byte top = ref Unsafe.Add(ref xs, (plane * h + 2 * i) * w);
                    ref byte bottom = ref Unsafe.Add(ref top, w);
                    ref byte dst = ref Unsafe.Add(ref ys, (plane * oh + i) * ow);
                    for (int j = 0; j < ow; j++)
                    {
                        int a = Math.Max(Unsafe.Add(ref top, 2 * j), Unsafe.Add(ref top, 2 * j + 1));
                        int b = Math.Max(Unsafe.Add(ref bottom, 2 * j), Unsafe.Add(ref bottom, 2 * j + 1));
                        Unsafe.Add(ref dst, j) = (byte)Math.Max(a, b);
                    }
                }
            return;
        }
        for (int plane = p0; plane < p0 + count; plane++)
        {
            var src = x.Slice(plane * h * w, h * w); var dst = y.Slice(plane * oh * ow, oh * ow);
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int r0 = i * sh - ph, s0 = j * sw - pw, best = 0;
                    if (r0 >= 0 && s0 >= 0 && r0 + kh <= h && s0 + kw <= w)
                    {
                        for (int u = 0; u < kh; u++)
                        {
                            var line = src.Slice((r0 + u) * w + s0, kw);
                            for (int v = 0; v < line.Length; v++) if (line[v] > best) best = line[v];
                        }
                    }
                    else
                    {
                        best = -1;
                        for (int u = 0; u < kh; u++)
                        {
                            int r = r0 + u;
                            if ((uint)r >= (uint)h) continue;
                            for (int v = 0; v < kw; v++)
                            {
                                int s = s0 + v;
                                if ((uint)s < (uint)w) best = Math.Max(best, src[r * w + s]);
                            }
                        }
                    }
                    dst[i * ow + j] = (byte)best;
                }
        }
    }
}

/// <summary>Flattens all but the batch dimension (torch.nn.Flatten on a quantized tensor; values and parameters unchanged).</summary>
public sealed class QuantizedFlatten : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Reshapes to (batch, rest) (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        int b = input.Shape[0];
        return QuantizedTensor.FromRaw(input.Data.ToArray(), [b, b == 0 ? 0 : input.NumEl / b], input.DType, input.Scales, input.ZeroPoints, input.Axis);
    }
}

/// <summary>ReLU on quint8 values (torch.nn.ReLU on a quantized tensor): max(q, zero_point), parameters unchanged.</summary>
public sealed class QuantizedReLU : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Clamps below at the zero point (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedReLU", 0);
        var y = input.Data.ToArray(); byte z = (byte)input.ZeroPoints[0];
        for (int i = 0; i < y.Length; i++) if (y[i] < z) y[i] = z;
        return QuantizedTensor.FromRaw(y, input.Shape.ToArray(), input.DType, input.Scales, input.ZeroPoints);
    }
}
