using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// Strided im2col/col2im through phase planes. With stride (sH, sW) the input splits into sH·sW phase planes
// P[a][b][i][j] = x[i·sH + a][j·sW + b] (zero past the image), each ceil(H/sH) × ceil(W/sW). A kernel position reads input
// row oh·sH + d (d = ki·dilation − pad) = (oh + q)·sH + a with q = floor(d / sH), a = d mod sH: phase plane a, shifted by q
// rows, and likewise for columns. When the output is as wide as a phase plane (outW = ceil(W/sW): a "same"-padded stride-2
// convolution, 3×3 pad 1 or 4×4 pad 1 on an even width) each kernel position is one shifted run of its phase plane, the
// stride-1 "same width" copy, instead of an element-by-element strided gather. The split (and, for col2im, the merge back)
// costs one pass over the input rows the panel needs.
public static unsafe partial class Im2Col
{
    /// <summary>Whether strided im2col/col2im may use phase planes; tests and benchmarks turn it off to compare with the element-by-element path.</summary>
    internal static bool PhasePlanes = true;

    static int FloorDiv(int a, int b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>Whether a strided im2col/col2im can go through phase planes (stride above 1, output as wide as a phase plane, every column shift inside it).</summary>
    internal static bool PhasesFit(int height, int width, int kernelH, int kernelW, int padH, int padW, int strideH, int strideW,
        int dilationH, int dilationW, int outW)
    {
        if (!PhasePlanes || strideH == 1 && strideW == 1 || height <= 0 || width <= 0) return false;
        int wp = (width + strideW - 1) / strideW;
        if (outW != wp) return false;
        int qMin = FloorDiv(-padW, strideW), qMax = FloorDiv((kernelW - 1) * dilationW - padW, strideW);
        return -qMin < wp && qMax < wp;
    }

    /// <summary>The phase rows [i0, i1) that output rows [outRowStart, outRowEnd) read, clamped to the phase planes.</summary>
    static (int I0, int I1) PhaseRows(int height, int kernelH, int padH, int strideH, int dilationH, int outRowStart, int outRowEnd)
    {
        int hp = (height + strideH - 1) / strideH;
        int i0 = outRowStart + FloorDiv(-padH, strideH), i1 = outRowEnd - 1 + FloorDiv((kernelH - 1) * dilationH - padH, strideH) + 1;
        i0 = Math.Clamp(i0, 0, hp); i1 = Math.Clamp(i1, i0, hp);
        return (i0, i1);
    }

    static void UnfoldPhases<T>(T* image, int channels, int height, int width, int kernelH, int kernelW, int padH, int padW,
        int strideH, int strideW, int dilationH, int dilationW, int outRowStart, int outRowEnd, T* cols, long ldCols) where T : unmanaged, INumber<T>
    {
        int wp = (width + strideW - 1) / strideW, rows = outRowEnd - outRowStart;
        var (i0, i1) = PhaseRows(height, kernelH, padH, strideH, dilationH, outRowStart, outRowEnd);
        int phaseRows = i1 - i0;
        long phasePlane = (long)phaseRows * wp, perChannel = phasePlane * strideH * strideW;
        T[] buffer = ArrayPool<T>.Shared.Rent((int)Math.Max(1, perChannel * channels));
        try
        {
            fixed (T* phases = buffer)
            {
                SplitPhases(image, channels, height, width, strideH, strideW, i0, i1, wp, phases);
                T* colRow = cols;
                for (int c = 0; c < channels; c++)
                    for (int ki = 0; ki < kernelH; ki++)
                    {
                        int dh = ki * dilationH - padH, qi = FloorDiv(dh, strideH), a = dh - qi * strideH;
                        for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                        {
                            int dw = kj * dilationW - padW, qj = FloorDiv(dw, strideW), b = dw - qj * strideW;
                            // phase row i sits at (i - i0)·wp: the plane pointer is moved back by i0 rows and rows from i1 on read as zero
                            T* plane = phases + c * perChannel + (a * strideW + b) * phasePlane - (long)i0 * wp;
                            if (phaseRows == 0) { Fill(colRow, rows * wp); continue; }
                            UnfoldShifted(plane, i1, wp, outRowStart + qi, rows, qj, colRow);
                        }
                    }
            }
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }

    static void FoldAddPhases<T>(T* cols, int channels, int height, int width, int kernelH, int kernelW, int padH, int padW,
        int strideH, int strideW, int dilationH, int dilationW, int outRowStart, int outRowEnd, T* image, long ldCols) where T : unmanaged, INumber<T>
    {
        int wp = (width + strideW - 1) / strideW, rows = outRowEnd - outRowStart;
        var (i0, i1) = PhaseRows(height, kernelH, padH, strideH, dilationH, outRowStart, outRowEnd);
        int phaseRows = i1 - i0;
        if (phaseRows == 0) return;
        long phasePlane = (long)phaseRows * wp, perChannel = phasePlane * strideH * strideW;
        T[] buffer = ArrayPool<T>.Shared.Rent((int)(perChannel * channels));
        try
        {
            fixed (T* phases = buffer)
            {
                new Span<T>(phases, (int)(perChannel * channels)).Clear();
                T* colRow = cols;
                for (int c = 0; c < channels; c++)
                    for (int ki = 0; ki < kernelH; ki++)
                    {
                        int dh = ki * dilationH - padH, qi = FloorDiv(dh, strideH), a = dh - qi * strideH;
                        for (int kj = 0; kj < kernelW; kj++, colRow += ldCols)
                        {
                            int dw = kj * dilationW - padW, qj = FloorDiv(dw, strideW), b = dw - qj * strideW;
                            T* plane = phases + c * perChannel + (a * strideW + b) * phasePlane - (long)i0 * wp;
                            FoldAddShifted(colRow, plane, i1, wp, outRowStart + qi, rows, qj);
                        }
                    }
                MergePhases(phases, channels, height, width, strideH, strideW, i0, i1, wp, image);
            }
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }

    /// <summary>Phase rows [i0, i1) of every channel into phases [c][a][b][i1 − i0][wp]; positions past the image are zero.</summary>
    internal static void SplitPhases<T>(T* image, int channels, int height, int width, int strideH, int strideW, int i0, int i1, int wp, T* phases)
        where T : unmanaged, INumber<T>
    {
        int phaseRows = i1 - i0;
        long phasePlane = (long)phaseRows * wp;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            T* dstChannel = phases + c * phasePlane * strideH * strideW;
            for (int a = 0; a < strideH; a++)
                for (int i = i0; i < i1; i++)
                {
                    int ih = i * strideH + a;
                    for (int b = 0; b < strideW; b++)
                    {
                        T* dst = dstChannel + (a * strideW + b) * phasePlane + (long)(i - i0) * wp;
                        if (ih >= height) { Fill(dst, wp); continue; }
                        T* src = plane + (long)ih * width + b;
                        int valid = (width - b + strideW - 1) / strideW;   // j with j·sW + b < width
                        if (strideW == 2 && typeof(T) == typeof(float)) DeinterleaveFloat((float*)src - b, b, valid, width, (float*)dst);
                        else for (int j = 0; j < valid; j++) dst[j] = src[(long)j * strideW];
                        Fill(dst + valid, wp - valid);
                    }
                }
        }
    }

    /// <summary>image[c][i·sH + a][j·sW + b] += phases[c][a][b][i − i0][j] over the positions inside the image.</summary>
    internal static void MergePhases<T>(T* phases, int channels, int height, int width, int strideH, int strideW, int i0, int i1, int wp, T* image)
        where T : unmanaged, INumber<T>
    {
        int phaseRows = i1 - i0;
        long phasePlane = (long)phaseRows * wp;
        for (int c = 0; c < channels; c++)
        {
            T* plane = image + (long)c * height * width;
            T* srcChannel = phases + c * phasePlane * strideH * strideW;
            for (int a = 0; a < strideH; a++)
                for (int i = i0; i < i1; i++)
                {
                    int ih = i * strideH + a;
                    if (ih >= height) continue;
                    T* row = plane + (long)ih * width;
                    if (strideW == 2 && typeof(T) == typeof(float))
                    {
                        InterleaveAddFloat((float*)(srcChannel + a * 2 * phasePlane + (long)(i - i0) * wp),
                            (float*)(srcChannel + (a * 2 + 1) * phasePlane + (long)(i - i0) * wp), width, (float*)row);
                        continue;
                    }
                    for (int b = 0; b < strideW; b++)
                    {
                        T* src = srcChannel + (a * strideW + b) * phasePlane + (long)(i - i0) * wp;
                        int valid = (width - b + strideW - 1) / strideW;
                        for (int j = 0; j < valid; j++) row[(long)j * strideW + b] += src[j];
                    }
                }
        }
    }

    /// <summary>dst[j] = row[2j + b] for j &lt; count (16 at a time with AVX-512 where the 32 elements read stay inside the row of width elements).</summary>
    static void DeinterleaveFloat(float* row, int b, int count, int width, float* dst)
    {
        int j = 0;
        if (Avx512F.IsSupported)
        {
            var pick = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30) + Vector512.Create(b);
            // reads row[2j .. 2j + 31] and uses row[2j + b .. 2(j + 15) + b]
            for (; 2 * j + 32 <= width; j += 16)
            {
                var lo = Avx512F.LoadVector512(row + 2 * j);
                var hi = Avx512F.LoadVector512(row + 2 * j + 16);
                Avx512F.Store(dst + j, Avx512F.PermuteVar16x32x2(lo, pick.AsInt32(), hi));
            }
        }
        for (; j < count; j++) dst[j] = row[2 * j + b];
    }

    /// <summary>row[2j] += even[j], row[2j + 1] += odd[j] for the positions inside the row (width elements).</summary>
    static void InterleaveAddFloat(float* even, float* odd, int width, float* row)
    {
        int p = 0;
        if (Avx512F.IsSupported)
        {
            var first = Vector512.Create(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
            var second = Vector512.Create(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
            for (; p + 32 <= width; p += 32)
            {
                var e = Avx512F.LoadVector512(even + p / 2);
                var o = Avx512F.LoadVector512(odd + p / 2);
                Avx512F.Store(row + p, Avx512F.Add(Avx512F.LoadVector512(row + p), Avx512F.PermuteVar16x32x2(e, first, o)));
                Avx512F.Store(row + p + 16, Avx512F.Add(Avx512F.LoadVector512(row + p + 16), Avx512F.PermuteVar16x32x2(e, second, o)));
            }
        }
        for (; p < width; p++) row[p] += (p & 1) == 0 ? even[p >> 1] : odd[p >> 1];
    }
}
