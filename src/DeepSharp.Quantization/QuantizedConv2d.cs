using System.Buffers;
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

    /// <summary>Runs the convolution (forward): NCHW → channels-last bytes (one blocked transpose, none for one channel),
    /// the channels-last int8 convolution (<see cref="Int8Conv.Conv2dNhwc"/>: receptive fields gathered one output row at a
    /// time into a cache-resident buffer, the requantization and ReLU fused into the GEMM epilogue), and the NHWC result
    /// transposed back to NCHW. Inside a <see cref="QuantizedModel"/> consecutive convolutions and poolings stay
    /// channels-last and skip both transposes.</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedConv2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        var shape = Geometry(b, c, h, w);
        int n = Weights.OutFeatures, oh = shape.OutH, ow = shape.OutW;
        byte[]? nhwc = c == 1 ? null : ArrayPool<byte>.Shared.Rent(input.NumEl);
        var rowMajor = ArrayPool<byte>.Shared.Rent(b * oh * ow * n);
        try
        {
            var x = input.RawData;
            if (nhwc != null) { Layout.ToChannelsLast(x, nhwc, b, c, h * w); x = nhwc; }
            ForwardChannelsLast(x, shape, (float)input.Scales[0], (int)input.ZeroPoints[0], rowMajor);
            var q = new byte[(long)b * oh * ow * n];
            Layout.ToChannelsFirst(rowMajor, q, b, n, oh * ow);
            return Requantize.Wrap(q, [b, n, oh, ow], Output);
        }
        finally
        {
            if (nhwc != null) ArrayPool<byte>.Shared.Return(nhwc);
            ArrayPool<byte>.Shared.Return(rowMajor);
        }
    }

    /// <summary>The NHWC geometry for an input (B, C, H, W), with the argument checks of <see cref="Forward"/>.</summary>
    internal Int8ConvShape Geometry(int b, int c, int h, int w)
    {
        if (c != InChannels) throw new ArgumentException($"QuantizedConv2d: input shape ({b}, {c}, {h}, {w}) has {c} channels, expected {InChannels}", "input");
        var shape = new Int8ConvShape(b, h, w, c, Kernel.H, Kernel.W, Stride.H, Stride.W, Padding.H, Padding.W, Dilation.H, Dilation.W);
        if (shape.OutH <= 0 || shape.OutW <= 0) throw new ArgumentException($"QuantizedConv2d: kernel {Kernel} does not fit the padded input ({h}, {w})", "input");
        return shape;
    }

    /// <summary>Channels-last forward on raw bytes: x (B, H, W, C) with the input's scale and zero point → y (B, OH, OW, out)
    /// at <see cref="Output"/>'s parameters; with <paramref name="maxPool2x2"/>, y (B, OH/2, OW/2, out) is that output after
    /// a 2 × 2, stride-2 max pooling, fused into the convolution (<see cref="Int8Conv.Conv2dMaxPool2x2Nhwc"/>).</summary>
    internal void ForwardChannelsLast(ReadOnlySpan<byte> x, Int8ConvShape shape, float inputScale, int inputZeroPoint, Span<byte> y, bool maxPool2x2 = false)
    {
        int n = Weights.OutFeatures;
        var scale = new float[n];
        for (int j = 0; j < n; j++) scale[j] = inputScale * Weights.Scales[j];
        var r = new Int8Requantization(inputZeroPoint, scale, Weights.Bias, 1f / Output.Scale, Output.ZeroPoint, Relu ? Output.ZeroPoint : 0);
        if (maxPool2x2) Int8Conv.Conv2dMaxPool2x2Nhwc(x, ChannelsLastWeights, shape, r, y);
        else Int8Conv.Conv2dNhwc(x, ChannelsLastWeights, shape, r, y);
    }
}
