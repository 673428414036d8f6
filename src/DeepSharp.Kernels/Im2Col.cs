using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp.Kernels;

/// <summary>
/// im2col and col2im for 2-D convolution over one image (C, H, W). The column matrix has one row per
/// (channel, kernel row, kernel column) triple, <c>C * kH * kW</c> rows, and one column per output position;
/// a panel of output rows <c>[outRowStart, outRowEnd)</c> can be produced at a time to bound memory, in which case the
/// matrix has <c>(outRowEnd - outRowStart) * outW</c> columns. Padding positions read as zero.
/// </summary>
public static class Im2Col
{
    /// <summary>
    /// Unfolds the receptive fields of output rows [<paramref name="outRowStart"/>, <paramref name="outRowEnd"/>) of
    /// <paramref name="image"/> (C, H, W) into <paramref name="cols"/> (C*kH*kW, rows*outW), row-major (torch.nn.functional.unfold for one image).
    /// </summary>
    public static void Unfold<T>(ReadOnlySpan<T> image, int channels, int height, int width,
        int kernelH, int kernelW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
        int outW, int outRowStart, int outRowEnd, Span<T> cols) where T : unmanaged, INumber<T>
    {
        int rows = outRowEnd - outRowStart, panel = rows * outW;
        if (cols.Length < (long)channels * kernelH * kernelW * panel)
            throw new ArgumentException($"Im2Col: column buffer of length {cols.Length} is too small for {channels * kernelH * kernelW}x{panel}", nameof(cols));
        if (image.Length < (long)channels * height * width)
            throw new ArgumentException($"Im2Col: image span of length {image.Length} is too small for ({channels}, {height}, {width})", nameof(image));
        int row = 0;
        for (int c = 0; c < channels; c++)
        {
            var plane = image.Slice(c * height * width, height * width);
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, row++)
                {
                    var dst = cols.Slice(row * panel, panel);
                    int colOffset = kj * dilationW - padW;
                    // output columns whose input column lies inside [0, width)
                    ValidRange(colOffset, strideW, width, outW, out int owStart, out int owEnd);
                    for (int r = 0; r < rows; r++)
                    {
                        var d = dst.Slice(r * outW, outW);
                        int ih = (outRowStart + r) * strideH - padH + ki * dilationH;
                        if ((uint)ih >= (uint)height || owStart >= owEnd) { d.Clear(); continue; }
                        var src = plane.Slice(ih * width, width);
                        d.Slice(0, owStart).Clear();
                        d.Slice(owEnd).Clear();
                        if (strideW == 1)
                            src.Slice(owStart + colOffset, owEnd - owStart).CopyTo(d.Slice(owStart, owEnd - owStart));
                        else
                            for (int ow = owStart, iw = owStart * strideW + colOffset; ow < owEnd; ow++, iw += strideW) d[ow] = src[iw];
                    }
                }
        }
    }

    /// <summary>
    /// The adjoint of <see cref="Unfold{T}"/>: adds every entry of <paramref name="cols"/> (C*kH*kW, rows*outW) into the image
    /// position it was read from (torch.nn.functional.fold for one image). <paramref name="image"/> is accumulated into, not cleared.
    /// </summary>
    public static void FoldAdd<T>(ReadOnlySpan<T> cols, int channels, int height, int width,
        int kernelH, int kernelW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
        int outW, int outRowStart, int outRowEnd, Span<T> image) where T : unmanaged, INumber<T>
    {
        int rows = outRowEnd - outRowStart, panel = rows * outW;
        if (cols.Length < (long)channels * kernelH * kernelW * panel)
            throw new ArgumentException($"Col2Im: column buffer of length {cols.Length} is too small for {channels * kernelH * kernelW}x{panel}", nameof(cols));
        if (image.Length < (long)channels * height * width)
            throw new ArgumentException($"Col2Im: image span of length {image.Length} is too small for ({channels}, {height}, {width})", nameof(image));
        int row = 0;
        for (int c = 0; c < channels; c++)
        {
            var plane = image.Slice(c * height * width, height * width);
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, row++)
                {
                    var src = cols.Slice(row * panel, panel);
                    int colOffset = kj * dilationW - padW;
                    ValidRange(colOffset, strideW, width, outW, out int owStart, out int owEnd);
                    if (owStart >= owEnd) continue;
                    for (int r = 0; r < rows; r++)
                    {
                        int ih = (outRowStart + r) * strideH - padH + ki * dilationH;
                        if ((uint)ih >= (uint)height) continue;
                        var s = src.Slice(r * outW, outW);
                        var dst = plane.Slice(ih * width, width);
                        if (strideW == 1)
                        {
                            var d = dst.Slice(owStart + colOffset, owEnd - owStart);
                            TensorPrimitives.Add(d, s.Slice(owStart, owEnd - owStart), d);
                        }
                        else
                            for (int ow = owStart, iw = owStart * strideW + colOffset; ow < owEnd; ow++, iw += strideW) dst[iw] += s[ow];
                    }
                }
        }
    }

    /// <summary>The output columns [start, end) whose input column ow*stride + offset lies in [0, width).</summary>
    static void ValidRange(int offset, int stride, int width, int outW, out int start, out int end)
    {
        // ow*stride + offset >= 0  <=>  ow >= ceil(-offset / stride)
        start = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
        // ow*stride + offset <= width - 1  <=>  ow <= floor((width - 1 - offset) / stride)
        int last = width - 1 - offset;
        end = last < 0 ? 0 : Math.Min(outW, last / stride + 1);
        if (start > end) start = end;
    }
}
