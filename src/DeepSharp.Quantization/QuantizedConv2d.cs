using System.Runtime.CompilerServices;
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

    /// <summary>Runs the convolution (forward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedConv2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        if (c != InChannels) throw new ArgumentException($"QuantizedConv2d: input shape ({b}, {c}, {h}, {w}) has {c} channels, expected {InChannels}", nameof(input));
        int oh = (h + 2 * Padding.H - Dilation.H * (Kernel.H - 1) - 1) / Stride.H + 1;
        int ow = (w + 2 * Padding.W - Dilation.W * (Kernel.W - 1) - 1) / Stride.W + 1;
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"QuantizedConv2d: kernel {Kernel} does not fit the padded input ({h}, {w})", nameof(input));
        int k = Weights.InFeatures, n = Weights.OutFeatures, m = b * oh * ow, zx = (int)input.ZeroPoints[0];
        var columns = new byte[(long)m * k];
        Im2Col(input.Data, columns, b, c, h, w, oh, ow, (byte)zx);
        var y = new float[(long)m * n];
        Weights.Apply(columns, m, (float)input.Scales[0], zx, y);
        var q = new byte[(long)m * n];
        float inv = 1f / Output.Scale; int lo = Relu ? Output.ZeroPoint : 0, plane = oh * ow;
        for (int p = 0; p < m; p++)
        {
            int batch = p / plane, pos = p % plane;
            for (int j = 0; j < n; j++) q[((long)batch * n + j) * plane + pos] = Requantize.One(y[(long)p * n + j], inv, Output.ZeroPoint, lo);
        }
        return Requantize.Wrap(q, [b, n, oh, ow], Output);
    }

    // row p = (batch, oh, ow), column = (channel, u, v) as the weight (out, C, kh, kw) flattens
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    void Im2Col(ReadOnlySpan<byte> x, byte[] columns, int b, int c, int h, int w, int oh, int ow, byte pad)
    {
        int k = c * Kernel.H * Kernel.W, row = 0;
        for (int batch = 0; batch < b; batch++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++, row++)
                {
                    int col = row * k;
                    for (int ch = 0; ch < c; ch++)
                    {
                        int planeBase = (batch * c + ch) * h;
                        for (int u = 0; u < Kernel.H; u++)
                        {
                            int r = i * Stride.H - Padding.H + u * Dilation.H;
                            for (int v = 0; v < Kernel.W; v++, col++)
                            {
                                int s = j * Stride.W - Padding.W + v * Dilation.W;
                                columns[col] = (uint)r < (uint)h && (uint)s < (uint)w ? x[(planeBase + r) * w + s] : pad;
                            }
                        }
                    }
                }
    }
}
