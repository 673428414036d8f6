using System.Numerics;
using System.Runtime.CompilerServices;

namespace DeepSharp.Kernels;

/// <summary>
/// im2col and col2im for 2-D convolution over one image (C, H, W). The column matrix has one row per
/// (channel, kernel row, kernel column) triple, <c>C * kH * kW</c> rows, and one column per output position;
/// a panel of output rows <c>[outRowStart, outRowEnd)</c> can be produced at a time to bound memory, in which case the
/// matrix has <c>(outRowEnd - outRowStart) * outW</c> columns. Padding positions read as zero.
/// </summary>
public static unsafe partial class Im2Col
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
        fixed (T* src = image, dst = cols)
            UnfoldCore(src, channels, height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outW, outRowStart, outRowEnd, dst, panel);
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
        fixed (T* src = cols, dst = image)
            FoldAddCore(src, channels, height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outW, outRowStart, outRowEnd, dst, panel);
    }

    // The cores run on pointers: a convolution over small images copies many short rows (outW of 10 or 28 elements), where
    // the per-row cost of span slicing, Clear and CopyTo calls outweighed the copying itself. `ldCols` is the row stride of
    // the column matrix, larger than rows*outW when several images share one matrix side by side.
    internal static void UnfoldCore<T>(T* image, int channels, int height, int width,
        int kernelH, int kernelW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
        int outW, int outRowStart, int outRowEnd, T* cols, long ldCols) where T : unmanaged, INumber<T>
    {
        if (strideH == 1 && strideW == 1 && outW == width && (kernelW - 1) * dilationW - padW < width && padW < width)
        {
            UnfoldSameWidth(image, channels, height, width, kernelH, kernelW, padH, padW, dilationH, dilationW, outRowStart, outRowEnd, cols, ldCols);
            return;
        }
        if (PhasesFit(height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outW))
        {
            UnfoldPhases(image, channels, height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outRowStart, outRowEnd, cols, ldCols);
            return;
        }
        int rows = outRowEnd - outRowStart;
        T* colRow = cols;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                {
                    T* dst = colRow;
                    int colOffset = kj * dilationW - padW;
                    // output columns whose input column lies inside [0, width)
                    ValidRange(colOffset, strideW, width, outW, out int owStart, out int owEnd);
                    for (int r = 0; r < rows; r++, dst += outW)
                    {
                        int ih = (outRowStart + r) * strideH - padH + ki * dilationH;
                        if ((uint)ih >= (uint)height || owStart >= owEnd) { Fill(dst, outW); continue; }
                        T* src = plane + (long)ih * width + colOffset;
                        Fill(dst, owStart);
                        if (strideW == 1) Copy(src + owStart, dst + owStart, owEnd - owStart);
                        else for (int ow = owStart; ow < owEnd; ow++) dst[ow] = src[(long)ow * strideW];
                        Fill(dst + owEnd, outW - owEnd);
                    }
                }
        }
    }

    /// <summary>
    /// col2im accumulation. With <paramref name="colsAreScratch"/> the caller gives up the column matrix (the convolution's
    /// own GEMM output), so stride-1 "same width" rows can be added as one run per kernel position after zeroing the
    /// entries that fall in the padding.
    /// </summary>
    internal static void FoldAddCore<T>(T* cols, int channels, int height, int width,
        int kernelH, int kernelW, int padH, int padW, int strideH, int strideW, int dilationH, int dilationW,
        int outW, int outRowStart, int outRowEnd, T* image, long ldCols, bool colsAreScratch = false) where T : unmanaged, INumber<T>
    {
        if (colsAreScratch && strideH == 1 && strideW == 1 && outW == width && (kernelW - 1) * dilationW - padW < width && padW < width)
        {
            FoldAddSameWidth(cols, channels, height, width, kernelH, kernelW, padH, padW, dilationH, dilationW, outRowStart, outRowEnd, image, ldCols);
            return;
        }
        if (colsAreScratch && PhasesFit(height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outW))
        {
            FoldAddPhases(cols, channels, height, width, kernelH, kernelW, padH, padW, strideH, strideW, dilationH, dilationW, outRowStart, outRowEnd, image, ldCols);
            return;
        }
        int rows = outRowEnd - outRowStart;
        T* colRow = cols;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                {
                    T* src = colRow;
                    int colOffset = kj * dilationW - padW;
                    ValidRange(colOffset, strideW, width, outW, out int owStart, out int owEnd);
                    for (int r = 0; r < rows; r++, src += outW)
                    {
                        int ih = (outRowStart + r) * strideH - padH + ki * dilationH;
                        if ((uint)ih >= (uint)height || owStart >= owEnd) continue;
                        T* dst = plane + (long)ih * width + colOffset;
                        if (strideW == 1) AddTo(src + owStart, dst + owStart, owEnd - owStart);
                        else for (int ow = owStart; ow < owEnd; ow++) dst[(long)ow * strideW] += src[ow];
                    }
                }
        }
    }

    // Stride 1 with outW == width (a "same" padded convolution's columns): output row r of one kernel position reads input
    // row firstRow + r shifted by colOffset columns, so the valid rows form one contiguous run of the plane, offset by
    // (firstRow·width + colOffset). One long copy (or add) replaces a short one per row; the |colOffset| columns of each row
    // that fall in the padding are fixed up afterwards (copy) or zeroed beforehand (add), and the run is trimmed so it never
    // reads or writes outside the plane's valid rows.
    static void UnfoldSameWidth<T>(T* image, int channels, int height, int width, int kernelH, int kernelW, int padH, int padW,
        int dilationH, int dilationW, int outRowStart, int outRowEnd, T* cols, long ldCols) where T : unmanaged, INumber<T>
    {
        int rows = outRowEnd - outRowStart;
        T* colRow = cols;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                    UnfoldShifted(plane, height, width, outRowStart - padH + ki * dilationH, rows, kj * dilationW - padW, colRow);
        }
    }

    static void FoldAddSameWidth<T>(T* cols, int channels, int height, int width, int kernelH, int kernelW, int padH, int padW,
        int dilationH, int dilationW, int outRowStart, int outRowEnd, T* image, long ldCols) where T : unmanaged, INumber<T>
    {
        int rows = outRowEnd - outRowStart;
        T* colRow = cols;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            for (int ki = 0; ki < kernelH; ki++)
                for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                    FoldAddShifted(colRow, plane, height, width, outRowStart - padH + ki * dilationH, rows, kj * dilationW - padW);
        }
    }

    static void UnfoldShifted<T>(T* plane, int height, int width, int firstRow, int rows, int colOffset, T* dst) where T : unmanaged, INumber<T>
    {
        int rStart = Math.Clamp(-firstRow, 0, rows), rEnd = Math.Clamp(height - firstRow, rStart, rows);
        Fill(dst, rStart * width);
        Fill(dst + (long)rEnd * width, (rows - rEnd) * width);
        if (rStart == rEnd) return;
        long run = (long)(rEnd - rStart) * width;
        T* d = dst + (long)rStart * width;
        T* s = plane + (long)(firstRow + rStart) * width + colOffset;
        int skip = Math.Max(0, -colOffset), tail = Math.Max(0, colOffset);
        long bytes = (run - skip - tail) * sizeof(T);
        Buffer.MemoryCopy(s + skip, d + skip, bytes, bytes);
        // the padding columns: the first -colOffset or the last colOffset of every row
        int padStart = colOffset < 0 ? 0 : width - colOffset, padCount = Math.Abs(colOffset);
        if (padCount > 0)
            for (int r = rStart; r < rEnd; r++) Fill(dst + (long)r * width + padStart, padCount);
    }

    static void FoldAddShifted<T>(T* cols, T* plane, int height, int width, int firstRow, int rows, int colOffset) where T : unmanaged, INumber<T>
    {
        int rStart = Math.Clamp(-firstRow, 0, rows), rEnd = Math.Clamp(height - firstRow, rStart, rows);
        if (rStart == rEnd) return;
        int padStart = colOffset < 0 ? 0 : width - colOffset, padCount = Math.Abs(colOffset);
        if (padCount > 0)
            for (int r = rStart; r < rEnd; r++) Fill(cols + (long)r * width + padStart, padCount);
        long run = (long)(rEnd - rStart) * width;
        T* s = cols + (long)rStart * width;
        T* d = plane + (long)(firstRow + rStart) * width + colOffset;
        int skip = Math.Max(0, -colOffset), tail = Math.Max(0, colOffset);
        AddRun(s + skip, d + skip, run - skip - tail);
    }

    static void AddRun<T>(T* src, T* dst, long count) where T : unmanaged, INumber<T>
    {
        while (count > 0)
        {
            int chunk = (int)Math.Min(count, int.MaxValue);
            if (typeof(T) == typeof(float))
                System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<float>(dst, chunk), new ReadOnlySpan<float>(src, chunk), new Span<float>(dst, chunk));
            else if (typeof(T) == typeof(double))
                System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<double>(dst, chunk), new ReadOnlySpan<double>(src, chunk), new Span<double>(dst, chunk));
            else AddTo(src, dst, chunk);
            src += chunk; dst += chunk; count -= chunk;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Fill<T>(T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= count - Vector<T>.Count; i += Vector<T>.Count) Unsafe.WriteUnaligned(dst + i, Vector<T>.Zero);
        for (; i < count; i++) dst[i] = T.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= count - Vector<T>.Count; i += Vector<T>.Count) Unsafe.WriteUnaligned(dst + i, Unsafe.ReadUnaligned<Vector<T>>(src + i));
        for (; i < count; i++) dst[i] = src[i];
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddTo<T>(T* src, T* dst, int count) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= count - Vector<T>.Count; i += Vector<T>.Count)
                Unsafe.WriteUnaligned(dst + i, Unsafe.ReadUnaligned<Vector<T>>(dst + i) + Unsafe.ReadUnaligned<Vector<T>>(src + i));
        for (; i < count; i++) dst[i] += src[i];
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
