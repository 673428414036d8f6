using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp.Kernels;

/// <summary>
/// The geometry of a 2-D pooling over <see cref="Planes"/> independent (H, W) planes (N*C of them).
/// </summary>
public readonly record struct PoolShape(int Planes, int InHeight, int InWidth, int OutHeight, int OutWidth,
    int KernelH, int KernelW, int StrideH, int StrideW, int PadH = 0, int PadW = 0, int DilationH = 1, int DilationW = 1)
{
    /// <summary>Elements of one input plane.</summary>
    public int InPlane => InHeight * InWidth;
    /// <summary>Elements of one output plane.</summary>
    public int OutPlane => OutHeight * OutWidth;

    /// <summary>
    /// PyTorch's pooling_output_shape: floor or ceil of (in + 2*pad - dilation*(k-1) - 1) / stride, plus one, where in ceil mode
    /// the last window must start inside the input or the left padding.
    /// </summary>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation, bool ceilMode)
    {
        long span = (long)input + 2 * pad - (long)dilation * (kernel - 1) - 1;
        long size = (ceilMode ? FloorDiv(span + stride - 1, stride) : FloorDiv(span, stride)) + 1;
        if (ceilMode && (size - 1) * stride >= input + pad) size--;
        return (int)Math.Max(size, 0);
    }

    static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);
}

/// <summary>
/// Pooling kernels over (planes, H, W) data: max (with PyTorch's flat h*W+w indices), average, adaptive average and
/// adaptive max, each with the scatter/gather that forms its backward. All loops are fused (one pass per output).
/// </summary>
public static partial class Pool
{
    /// <summary>
    /// The plain definition of max pooling that <see cref="MaxPool2d{T}"/> is tested against (same contract, one plane
    /// after another, no special cases).
    /// </summary>
    public static void ReferenceMaxPool2d<T>(in PoolShape s, ReadOnlySpan<T> input, Span<T> output, Span<long> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(s, input.Length, output.Length, "MaxPool2d");
        if (indices.Length < (long)s.Planes * s.OutPlane) throw new ArgumentException($"MaxPool2d: indices span of length {indices.Length} is too small for {s}");
        for (int p = 0; p < s.Planes; p++)
        {
            var x = input.Slice(p * s.InPlane, s.InPlane);
            var y = output.Slice(p * s.OutPlane, s.OutPlane);
            var ind = indices.Slice(p * s.OutPlane, s.OutPlane);
            MaxPoolPlane(s, x, y, ind);
        }
    }

    /// <summary>Max pooling of one (H, W) plane: the window walk shared by the reference and the general fast path.</summary>
    internal static void MaxPoolPlane<T>(in PoolShape s, ReadOnlySpan<T> x, Span<T> y, Span<long> ind)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int oh = 0; oh < s.OutHeight; oh++)
        {
            int h0 = oh * s.StrideH - s.PadH, h1 = Math.Min(h0 + (s.KernelH - 1) * s.DilationH + 1, s.InHeight);
            while (h0 < 0) h0 += s.DilationH;
            for (int ow = 0; ow < s.OutWidth; ow++)
            {
                int w0 = ow * s.StrideW - s.PadW, w1 = Math.Min(w0 + (s.KernelW - 1) * s.DilationW + 1, s.InWidth);
                while (w0 < 0) w0 += s.DilationW;
                long best = (long)h0 * s.InWidth + w0;
                T max = T.NegativeInfinity;
                for (int ih = h0; ih < h1; ih += s.DilationH)
                {
                    int rowBase = ih * s.InWidth;
                    for (int iw = w0; iw < w1; iw += s.DilationW)
                    {
                        T v = x[rowBase + iw];
                        if (v > max || T.IsNaN(v)) { max = v; best = rowBase + iw; }
                    }
                }
                y[oh * s.OutWidth + ow] = max;
                ind[oh * s.OutWidth + ow] = best;
            }
        }
    }

    /// <summary>
    /// gradInput[plane, indices[plane, j]] += gradOutput[plane, j] (the backward of max pooling; torch.max_pool2d_with_indices_backward).
    /// <paramref name="gradInput"/> is overwritten.
    /// </summary>
    public static void ScatterAddByIndex<T>(int planes, int inPlane, int outPlane, ReadOnlySpan<T> gradOutput, ReadOnlySpan<long> indices, Span<T> gradInput)
        where T : unmanaged, INumber<T>
    {
        gradInput.Slice(0, planes * inPlane).Clear();
        for (int p = 0; p < planes; p++)
        {
            var gx = gradInput.Slice(p * inPlane, inPlane);
            var gy = gradOutput.Slice(p * outPlane, outPlane);
            var ind = indices.Slice(p * outPlane, outPlane);
            for (int j = 0; j < outPlane; j++) gx[(int)ind[j]] += gy[j];
        }
    }

    /// <summary>output[plane, j] = source[plane, indices[plane, j]] (the adjoint of <see cref="ScatterAddByIndex{T}"/>).</summary>
    public static void GatherByIndex<T>(int planes, int inPlane, int outPlane, ReadOnlySpan<T> source, ReadOnlySpan<long> indices, Span<T> output)
        where T : unmanaged, INumber<T>
    {
        for (int p = 0; p < planes; p++)
        {
            var src = source.Slice(p * inPlane, inPlane);
            var y = output.Slice(p * outPlane, outPlane);
            var ind = indices.Slice(p * outPlane, outPlane);
            for (int j = 0; j < outPlane; j++) y[j] = src[(int)ind[j]];
        }
    }

    /// <summary>
    /// Average pooling (torch.nn.functional.avg_pool2d). The divisor is <paramref name="divisorOverride"/> when positive, else
    /// the window size clipped to the padded input (countIncludePad) or to the input (not countIncludePad).
    /// </summary>
    public static void AvgPool2d<T>(in PoolShape s, bool countIncludePad, int divisorOverride, ReadOnlySpan<T> input, Span<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(s, input.Length, output.Length, "AvgPool2d");
        for (int p = 0; p < s.Planes; p++)
        {
            var x = input.Slice(p * s.InPlane, s.InPlane);
            var y = output.Slice(p * s.OutPlane, s.OutPlane);
            for (int oh = 0; oh < s.OutHeight; oh++)
                for (int ow = 0; ow < s.OutWidth; ow++)
                {
                    var (h0, h1, w0, w1, divisor) = AvgWindow(s, oh, ow, countIncludePad, divisorOverride);
                    T sum = T.Zero;
                    for (int ih = h0; ih < h1; ih++) sum += TensorPrimitives.Sum(x.Slice(ih * s.InWidth + w0, Math.Max(0, w1 - w0)));
                    y[oh * s.OutWidth + ow] = h0 >= h1 || w0 >= w1 ? T.Zero : sum / T.CreateTruncating(divisor);
                }
        }
    }

    /// <summary>The adjoint of <see cref="AvgPool2d{T}"/> (its input gradient). <paramref name="gradInput"/> is overwritten.</summary>
    public static void AvgPool2dBackward<T>(in PoolShape s, bool countIncludePad, int divisorOverride, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(s, gradInput.Length, gradOutput.Length, "AvgPool2dBackward");
        gradInput.Slice(0, s.Planes * s.InPlane).Clear();
        for (int p = 0; p < s.Planes; p++)
        {
            var gx = gradInput.Slice(p * s.InPlane, s.InPlane);
            var gy = gradOutput.Slice(p * s.OutPlane, s.OutPlane);
            for (int oh = 0; oh < s.OutHeight; oh++)
                for (int ow = 0; ow < s.OutWidth; ow++)
                {
                    var (h0, h1, w0, w1, divisor) = AvgWindow(s, oh, ow, countIncludePad, divisorOverride);
                    if (h0 >= h1 || w0 >= w1) continue;
                    T share = gy[oh * s.OutWidth + ow] / T.CreateTruncating(divisor);
                    for (int ih = h0; ih < h1; ih++)
                    {
                        var row = gx.Slice(ih * s.InWidth + w0, w1 - w0);
                        TensorPrimitives.Add(row, share, row);
                    }
                }
        }
    }

    static (int H0, int H1, int W0, int W1, int Divisor) AvgWindow(in PoolShape s, int oh, int ow, bool countIncludePad, int divisorOverride)
    {
        int h0 = oh * s.StrideH - s.PadH, w0 = ow * s.StrideW - s.PadW;
        int h1 = Math.Min(h0 + s.KernelH, s.InHeight + s.PadH), w1 = Math.Min(w0 + s.KernelW, s.InWidth + s.PadW);
        int poolSize = (h1 - h0) * (w1 - w0);
        h0 = Math.Max(h0, 0); w0 = Math.Max(w0, 0);
        h1 = Math.Min(h1, s.InHeight); w1 = Math.Min(w1, s.InWidth);
        int divisor = divisorOverride > 0 ? divisorOverride : countIncludePad ? poolSize : (h1 - h0) * (w1 - w0);
        return (h0, h1, w0, w1, divisor);
    }

    /// <summary>PyTorch's adaptive-pooling bin for output i of n over an input of length len: [floor(i*len/n), ceil((i+1)*len/n)).</summary>
    public static (int Start, int End) AdaptiveBin(int i, int len, int n) =>
        ((int)((long)i * len / n), (int)(((long)(i + 1) * len + n - 1) / n));

    /// <summary>Adaptive average pooling of (planes, inH, inW) to (planes, outH, outW) (torch.nn.functional.adaptive_avg_pool2d).</summary>
    public static void AdaptiveAvgPool2d<T>(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<T> input, Span<T> output)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p = 0; p < planes; p++)
        {
            var x = input.Slice(p * inH * inW, inH * inW);
            var y = output.Slice(p * outH * outW, outH * outW);
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, h1) = AdaptiveBin(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++)
                {
                    var (w0, w1) = AdaptiveBin(ow, inW, outW);
                    T sum = T.Zero;
                    for (int ih = h0; ih < h1; ih++) sum += TensorPrimitives.Sum(x.Slice(ih * inW + w0, w1 - w0));
                    y[oh * outW + ow] = sum / T.CreateTruncating((h1 - h0) * (w1 - w0));
                }
            }
        }
    }

    /// <summary>The adjoint of <see cref="AdaptiveAvgPool2d{T}"/>. <paramref name="gradInput"/> is overwritten.</summary>
    public static void AdaptiveAvgPool2dBackward<T>(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<T> gradOutput, Span<T> gradInput)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        gradInput.Slice(0, planes * inH * inW).Clear();
        for (int p = 0; p < planes; p++)
        {
            var gx = gradInput.Slice(p * inH * inW, inH * inW);
            var gy = gradOutput.Slice(p * outH * outW, outH * outW);
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, h1) = AdaptiveBin(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++)
                {
                    var (w0, w1) = AdaptiveBin(ow, inW, outW);
                    T share = gy[oh * outW + ow] / T.CreateTruncating((h1 - h0) * (w1 - w0));
                    for (int ih = h0; ih < h1; ih++)
                    {
                        var row = gx.Slice(ih * inW + w0, w1 - w0);
                        TensorPrimitives.Add(row, share, row);
                    }
                }
            }
        }
    }

    /// <summary>Adaptive max pooling with flat h*W+w indices (torch.nn.functional.adaptive_max_pool2d(return_indices=True)).</summary>
    public static void AdaptiveMaxPool2d<T>(int planes, int inH, int inW, int outH, int outW, ReadOnlySpan<T> input, Span<T> output, Span<long> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int p = 0; p < planes; p++)
        {
            var x = input.Slice(p * inH * inW, inH * inW);
            var y = output.Slice(p * outH * outW, outH * outW);
            var ind = indices.Slice(p * outH * outW, outH * outW);
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, h1) = AdaptiveBin(oh, inH, outH);
                for (int ow = 0; ow < outW; ow++)
                {
                    var (w0, w1) = AdaptiveBin(ow, inW, outW);
                    long best = (long)h0 * inW + w0;
                    T max = T.NegativeInfinity;
                    for (int ih = h0; ih < h1; ih++)
                        for (int iw = w0; iw < w1; iw++)
                        {
                            T v = x[ih * inW + iw];
                            if (v > max || T.IsNaN(v)) { max = v; best = ih * inW + iw; }
                        }
                    y[oh * outW + ow] = max;
                    ind[oh * outW + ow] = best;
                }
            }
        }
    }

    static void Check(in PoolShape s, int input, int output, string op)
    {
        if (input < (long)s.Planes * s.InPlane) throw new ArgumentException($"{op}: input span of length {input} is too small for {s}");
        if (output < (long)s.Planes * s.OutPlane) throw new ArgumentException($"{op}: output span of length {output} is too small for {s}");
    }
}
