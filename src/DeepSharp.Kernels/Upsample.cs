using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp.Kernels;

/// <summary>
/// 2-D resampling kernels over (planes, H, W): nearest and bilinear (torch.nn.functional.interpolate), each with its
/// adjoint (the input gradient). Source positions follow PyTorch's formulas exactly, including its single-precision
/// arithmetic for float32, so results match element for element.
/// </summary>
public static class Upsample
{
    /// <summary>
    /// PyTorch's nearest source index (nearest_idx): identity when sizes match, i/2 for exact doubling, else
    /// min(floor(i * s), in - 1) with s = 1/scale when a positive <paramref name="scale"/> factor is given, else in/out, in float.
    /// </summary>
    public static int NearestIndex(int outIndex, int inSize, int outSize, double scale)
    {
        if (outSize == inSize) return outIndex;
        if (outSize == 2 * inSize) return outIndex >> 1;
        float s = scale > 0 ? (float)(1.0 / scale) : (float)inSize / outSize;
        return Math.Min((int)MathF.Floor(outIndex * s), inSize - 1);
    }

    /// <summary>
    /// PyTorch's linear-interpolation source for output <paramref name="outIndex"/>: the lower input index, whether an upper
    /// neighbour exists (offset 0 or 1), and the weight of the upper neighbour (lambda1), computed in <typeparamref name="T"/>.
    /// </summary>
    public static (int Index, int Offset, T Lambda1) LinearSource<T>(int outIndex, int inSize, int outSize, bool alignCorners, double scale)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T ratio = alignCorners
            ? (outSize > 1 ? T.CreateTruncating(inSize - 1) / T.CreateTruncating(outSize - 1) : T.Zero)
            : (scale > 0 ? T.CreateTruncating(1.0 / scale) : T.CreateTruncating(inSize) / T.CreateTruncating(outSize));
        T src = alignCorners ? ratio * T.CreateTruncating(outIndex)
            : ratio * (T.CreateTruncating(outIndex) + T.CreateTruncating(0.5)) - T.CreateTruncating(0.5);
        if (src < T.Zero) src = T.Zero;
        int index = Math.Min(int.CreateTruncating(src), inSize - 1);
        T lambda = T.Clamp(src - T.CreateTruncating(index), T.Zero, T.One);
        return (index, index < inSize - 1 ? 1 : 0, lambda);
    }

    /// <summary>Resizes of at least this many output elements split their planes over the kernel thread pool.</summary>
    const int ParallelElements = 1 << 15;

    /// <summary>
    /// Nearest-neighbour resize of (planes, inH, inW) to (planes, outH, outW) (upsample_nearest2d). Exact doubling in
    /// both dimensions (a U-Net's upsampling) takes a direct path, split over the kernel thread pool by planes when large.
    /// </summary>
    public static unsafe void Nearest2d<T>(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW,
        ReadOnlySpan<T> input, Span<T> output) where T : unmanaged, INumber<T>
    {
        if (outH == 2 * inH && outW == 2 * inW && inW > 0)
        {
            fixed (T* x = input, y = output)
                Doubling(planes, inH, inW, x, input.Length, y, output.Length, backward: false);
            return;
        }
        var cols = ArrayPool<int>.Shared.Rent(outW);
        try
        {
            for (int ow = 0; ow < outW; ow++) cols[ow] = NearestIndex(ow, inW, outW, scaleW);
            for (int p = 0; p < planes; p++)
            {
                var x = input.Slice(p * inH * inW, inH * inW);
                var y = output.Slice(p * outH * outW, outH * outW);
                for (int oh = 0; oh < outH; oh++)
                {
                    var src = x.Slice(NearestIndex(oh, inH, outH, scaleH) * inW, inW);
                    var dst = y.Slice(oh * outW, outW);
                    for (int ow = 0; ow < outW; ow++) dst[ow] = src[cols[ow]];
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(cols); }
    }

    /// <summary>
    /// The adjoint of <see cref="Nearest2d{T}"/>. <paramref name="gradInput"/> is overwritten. Exact doubling sums each
    /// input's four outputs in the order the general loop adds them (row 2i then 2i + 1, left then right, onto zero), so
    /// both paths agree bit for bit.
    /// </summary>
    public static unsafe void Nearest2dBackward<T>(int planes, int inH, int inW, int outH, int outW, double scaleH, double scaleW,
        ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, INumber<T>
    {
        if (outH == 2 * inH && outW == 2 * inW && inW > 0)
        {
            fixed (T* gx = gradInput, gy = gradOutput)
                Doubling(planes, inH, inW, gx, gradInput.Length, gy, gradOutput.Length, backward: true);
            return;
        }
        gradInput.Slice(0, planes * inH * inW).Clear();
        var cols = ArrayPool<int>.Shared.Rent(outW);
        try
        {
            for (int ow = 0; ow < outW; ow++) cols[ow] = NearestIndex(ow, inW, outW, scaleW);
            for (int p = 0; p < planes; p++)
            {
                var gx = gradInput.Slice(p * inH * inW, inH * inW);
                var gy = gradOutput.Slice(p * outH * outW, outH * outW);
                for (int oh = 0; oh < outH; oh++)
                {
                    var dst = gx.Slice(NearestIndex(oh, inH, outH, scaleH) * inW, inW);
                    var src = gy.Slice(oh * outW, outW);
                    for (int ow = 0; ow < outW; ow++) dst[cols[ow]] += src[ow];
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(cols); }
    }

    // Exact 2x nearest, forward (small -> large) or adjoint (large -> small), over (planes, h, w) and (planes, 2h, 2w).
    static unsafe void Doubling<T>(int planes, int h, int w, T* small, int smallLength, T* large, int largeLength, bool backward)
        where T : unmanaged, INumber<T>
    {
        if (smallLength < planes * h * w || largeLength < planes * 4 * h * w)
            throw new ArgumentException($"{(backward ? "Nearest2dBackward" : "Nearest2d")}: the {h}x{w} side ({smallLength} elements) or the " +
                                        $"{2 * h}x{2 * w} side ({largeLength}) is shorter than {planes} planes");
        var body = new Doubled<T>(small, large, h, w, backward);
        if ((long)planes * 4 * h * w < ParallelElements) body.Invoke(0, planes);
        else ParallelChunks.Shares(planes, ref body);
    }

    // Exact 2x nearest: forward writes each input element into a 2x2 output block; backward sums that block back.
    // `small` is the (planes, h, w) side, `large` the (planes, 2h, 2w) side.
    readonly unsafe struct Doubled<T>(T* small, T* large, int h, int w, bool backward) : IChunkBody where T : unmanaged, INumber<T>
    {
        public void Invoke(int first, int count)
        {
            int w2 = 2 * w;
            for (int p = first; p < first + count; p++)
                for (int i = 0; i < h; i++)
                {
                    T* s = small + ((long)p * h + i) * w;
                    T* top = large + ((long)p * 2 * h + 2 * i) * w2, bottom = top + w2;
                    if (backward)
                    {
                        for (int j = 0; j < w; j++)
                            s[j] = T.Zero + top[2 * j] + top[2 * j + 1] + bottom[2 * j] + bottom[2 * j + 1];
                    }
                    else
                    {
                        for (int j = 0; j < w; j++) { T v = s[j]; top[2 * j] = v; top[2 * j + 1] = v; }
                        new ReadOnlySpan<T>(top, w2).CopyTo(new Span<T>(bottom, w2));
                    }
                }
        }
    }

    /// <summary>Bilinear resize of (planes, inH, inW) to (planes, outH, outW) (upsample_bilinear2d).</summary>
    public static void Bilinear2d<T>(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<T> input, Span<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var idx = ArrayPool<int>.Shared.Rent(2 * outW);
        var lam = ArrayPool<T>.Shared.Rent(outW);
        try
        {
            for (int ow = 0; ow < outW; ow++) (idx[ow], idx[outW + ow], lam[ow]) = LinearSource<T>(ow, inW, outW, alignCorners, scaleW);
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, hOff, hl1) = LinearSource<T>(oh, inH, outH, alignCorners, scaleH);
                T hl0 = T.One - hl1;
                for (int p = 0; p < planes; p++)
                {
                    var r0 = input.Slice(p * inH * inW + h0 * inW, inW);
                    var r1 = input.Slice(p * inH * inW + (h0 + hOff) * inW, inW);
                    var dst = output.Slice(p * outH * outW + oh * outW, outW);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w0 = idx[ow], w1 = w0 + idx[outW + ow];
                        T wl1 = lam[ow], wl0 = T.One - wl1;
                        dst[ow] = hl0 * (wl0 * r0[w0] + wl1 * r0[w1]) + hl1 * (wl0 * r1[w0] + wl1 * r1[w1]);
                    }
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(idx); ArrayPool<T>.Shared.Return(lam); }
    }

    /// <summary>The adjoint of <see cref="Bilinear2d{T}"/>. <paramref name="gradInput"/> is overwritten.</summary>
    public static void Bilinear2dBackward<T>(int planes, int inH, int inW, int outH, int outW, bool alignCorners, double scaleH, double scaleW,
        ReadOnlySpan<T> gradOutput, Span<T> gradInput) where T : unmanaged, IFloatingPointIeee754<T>
    {
        gradInput.Slice(0, planes * inH * inW).Clear();
        var idx = ArrayPool<int>.Shared.Rent(2 * outW);
        var lam = ArrayPool<T>.Shared.Rent(outW);
        try
        {
            for (int ow = 0; ow < outW; ow++) (idx[ow], idx[outW + ow], lam[ow]) = LinearSource<T>(ow, inW, outW, alignCorners, scaleW);
            for (int oh = 0; oh < outH; oh++)
            {
                var (h0, hOff, hl1) = LinearSource<T>(oh, inH, outH, alignCorners, scaleH);
                T hl0 = T.One - hl1;
                for (int p = 0; p < planes; p++)
                {
                    var r0 = gradInput.Slice(p * inH * inW + h0 * inW, inW);
                    var r1 = gradInput.Slice(p * inH * inW + (h0 + hOff) * inW, inW);
                    var src = gradOutput.Slice(p * outH * outW + oh * outW, outW);
                    for (int ow = 0; ow < outW; ow++)
                    {
                        int w0 = idx[ow], w1 = w0 + idx[outW + ow];
                        T wl1 = lam[ow], wl0 = T.One - wl1, g = src[ow];
                        r0[w0] += hl0 * wl0 * g; r0[w1] += hl0 * wl1 * g;
                        r1[w0] += hl1 * wl0 * g; r1[w1] += hl1 * wl1 * g;
                    }
                }
            }
        }
        finally { ArrayPool<int>.Shared.Return(idx); ArrayPool<T>.Shared.Return(lam); }
    }
}
