using System.Buffers;
using System.Runtime.CompilerServices;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Static quantized 2-D convolution, optionally with a fused ReLU (torch.ao.nn.quantized.Conv2d /
/// torch.ao.nn.intrinsic.quantized.ConvReLU2d), groups = 1: im2col of the quint8 input (padding with the input zero
/// point, i.e. real 0) into a (batch·OH·OW, C·kh·kw) byte matrix, the int8 GEMM against the (out, C·kh·kw) weight with
/// int32 accumulation, then rescale, bias and requantization to quint8 NCHW.
/// </summary>
public sealed class QuantizedConv2d : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Creates the layer from quantized weights flattened to (out, in·kh·kw).</summary>
    public QuantizedConv2d(QuantizedLinearWeights weights, int inChannels, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation,
        OutputQParams output, bool relu = false)
    {
        if (weights.InFeatures != inChannels * kernel.H * kernel.W)
            throw new ArgumentException($"QuantizedConv2d: weight has {weights.InFeatures} columns, in·kh·kw = {inChannels}·{kernel.H}·{kernel.W}", nameof(weights));
        if (kernel.H < 1 || kernel.W < 1 || stride.H < 1 || stride.W < 1 || dilation.H < 1 || dilation.W < 1 || padding.H < 0 || padding.W < 0)
            throw new ArgumentException($"QuantizedConv2d: kernel {kernel}, stride {stride} and dilation {dilation} must be at least 1 and padding {padding} not negative", nameof(kernel));
        Weights = weights; InChannels = inChannels; Kernel = kernel; Stride = stride; Padding = padding; Dilation = dilation; Output = output; Relu = relu;
    }

    /// <summary>Weights (out, in·kh·kw) and bias.</summary>
    public QuantizedLinearWeights Weights { get; }
    /// <summary>Input channels.</summary>
    public int InChannels { get; }
    /// <summary>Kernel size.</summary>
    public Size2 Kernel { get; }
    /// <summary>Stride.</summary>
    public Size2 Stride { get; }
    /// <summary>Zero padding (in real values).</summary>
    public Size2 Padding { get; }
    /// <summary>Dilation.</summary>
    public Size2 Dilation { get; }
    /// <summary>Output scale and zero point.</summary>
    public OutputQParams Output { get; }
    /// <summary>Whether a ReLU is fused (ConvReLU2d).</summary>
    public bool Relu { get; }

    /// <summary>The weight reordered to (out, kh, kw, in) and packed: the column order of the channels-last im2col.</summary>
    PackedInt8Weights ChannelsLastWeights => channelsLast ??= PackChannelsLast();
    PackedInt8Weights? channelsLast;

    PackedInt8Weights PackChannelsLast()
    {
        var w = Weights.Weight.Int8Data;
        int n = Weights.OutFeatures, c = InChannels, kh = Kernel.H, kw = Kernel.W, k = c * kh * kw;
        var permuted = new sbyte[n * k];
        for (int o = 0; o < n; o++)
            for (int ch = 0; ch < c; ch++)
                for (int u = 0; u < kh; u++)
                    for (int v = 0; v < kw; v++)
                        permuted[o * k + (u * kw + v) * c + ch] = w[o * k + (ch * kh + u) * kw + v];
        return Int8Gemm.Pack(permuted, n, k);
    }

    /// <summary>Runs the convolution (forward): NCHW → channels-last bytes, im2col in (kh, kw, in) order into a pooled
    /// buffer (contiguous kw·C runs copied as blocks), the int8 GEMM with the requantization fused into its epilogue, and
    /// the (batch·OH·OW, out) result transposed back to NCHW.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedConv2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        if (c != InChannels) throw new ArgumentException($"QuantizedConv2d: input shape ({b}, {c}, {h}, {w}) has {c} channels, expected {InChannels}", nameof(input));
        int oh = (h + 2 * Padding.H - Dilation.H * (Kernel.H - 1) - 1) / Stride.H + 1;
        int ow = (w + 2 * Padding.W - Dilation.W * (Kernel.W - 1) - 1) / Stride.W + 1;
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"QuantizedConv2d: kernel {Kernel} does not fit the padded input ({h}, {w})", nameof(input));
        var packed = ChannelsLastWeights;
        int k = Weights.InFeatures, lda = packed.KQuads * 4, n = Weights.OutFeatures, m = b * oh * ow, zx = (int)input.ZeroPoints[0];
        byte[]? nhwc = c == 1 ? null : ArrayPool<byte>.Shared.Rent(input.NumEl);
        var columns = ArrayPool<byte>.Shared.Rent(m * lda);
        var rowMajor = ArrayPool<byte>.Shared.Rent(m * n);
        try
        {
            var x = input.RawData;
            if (nhwc != null) { Layout.ToChannelsLast(x, nhwc, b, c, h * w); x = nhwc; }
            Im2ColChannelsLast(x, columns, b, c, h, w, oh, ow, lda, (byte)zx);
            var scale = new float[n];
            float sx = (float)input.Scales[0];
            for (int j = 0; j < n; j++) scale[j] = sx * Weights.Scales[j];
            Int8Gemm.MultiplyRequantize(columns.AsSpan(0, m * lda), lda, packed, rowMajor, m,
                new Int8Requantization(zx, scale, Weights.Bias, 1f / Output.Scale, Output.ZeroPoint, Relu ? Output.ZeroPoint : 0));
            var q = new byte[(long)m * n];
            Layout.ToChannelsFirst(rowMajor, q, b, n, oh * ow);
            return Requantize.Wrap(q, [b, n, oh, ow], Output);
        }
        finally
        {
            if (nhwc != null) ArrayPool<byte>.Shared.Return(nhwc);
            ArrayPool<byte>.Shared.Return(columns);
            ArrayPool<byte>.Shared.Return(rowMajor);
        }
    }

    // row p = (batch, oh, ow), column = (u, v, channel) as ChannelsLastWeights flattens; x is (B, H, W, C); columns K..lda are 0
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Im2ColChannelsLast(byte[] x, byte[] columns, int b, int c, int h, int w, int oh, int ow, int lda, byte pad) =>
        KernelThreadPool.ParallelFor(b, batch => Im2ColImage(x, columns, batch, c, h, w, oh, ow, lda, pad));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Im2ColImage(ReadOnlySpan<byte> x, Span<byte> columns, int batch, int c, int h, int w, int oh, int ow, int lda, byte pad)
    {
        int kh = Kernel.H, kw = Kernel.W, k = c * kh * kw, run = kw * c, row = batch * oh * ow;
        bool dense = Dilation.W == 1;
        for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++, row++)
                {
                    var dst = columns.Slice(row * lda, lda);
                    if (lda > k) dst[k..].Clear();
                    int s0 = j * Stride.W - Padding.W;
                    for (int u = 0; u < kh; u++)
                    {
                        int r = i * Stride.H - Padding.H + u * Dilation.H;
                        var part = dst.Slice(u * run, run);
                        if ((uint)r >= (uint)h) { part.Fill(pad); continue; }
                        int rowBase = ((batch * h + r) * w) * c;
                        if (dense && s0 >= 0 && s0 + kw <= w)
                        {
                            if (run <= 16) for (int t = 0; t < run; t++) part[t] = x[rowBase + s0 * c + t];
                            else x.Slice(rowBase + s0 * c, run).CopyTo(part);
                            continue;
                        }
                        for (int v = 0; v < kw; v++)
                        {
                            int s = s0 + v * Dilation.W;
                            var cell = part.Slice(v * c, c);
                            if ((uint)s < (uint)w) x.Slice(rowBase + s * c, c).CopyTo(cell); else cell.Fill(pad);
                        }
                    }
                }
    }
}
