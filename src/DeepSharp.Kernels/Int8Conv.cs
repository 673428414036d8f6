using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>Geometry of a channels-last (NHWC) 2-D convolution or pooling: batch, input size, channels, window, stride,
/// zero padding and dilation; output size derived as PyTorch does.</summary>
public readonly record struct Int8ConvShape(int Batch, int Height, int Width, int Channels, int KernelH, int KernelW,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0, int DilationH = 1, int DilationW = 1)
{
    /// <summary>Output height.</summary>
    public int OutH => (Height + 2 * PadH - DilationH * (KernelH - 1) - 1) / StrideH + 1;
    /// <summary>Output width.</summary>
    public int OutW => (Width + 2 * PadW - DilationW * (KernelW - 1) - 1) / StrideW + 1;
    /// <summary>Reduction length of the convolution: KernelH·KernelW·Channels.</summary>
    public int K => KernelH * KernelW * Channels;

    internal void Check(string who)
    {
        if (Batch < 0 || Height < 1 || Width < 1 || Channels < 1 || KernelH < 1 || KernelW < 1 || StrideH < 1 || StrideW < 1
            || DilationH < 1 || DilationW < 1 || PadH < 0 || PadW < 0)
            throw new ArgumentException($"{who}: bad geometry {this}", "shape");
        if (OutH < 1 || OutW < 1) throw new ArgumentException($"{who}: the window ({KernelH}, {KernelW}) does not fit the padded input ({Height}, {Width})", "shape");
    }
}

/// <summary>
/// Channels-last (NHWC) int8 convolution and max pooling for static quantized CNNs (the role of oneDNN's int8 convolution
/// behind PyTorch's quantized Conv2d). The convolution works on tiles of output rows: each task gathers the receptive
/// fields of one output row (OW positions × K bytes, (kh, kw, C) order, padding with the input zero point, rows padded to
/// a multiple of 4 with zeros) into a small thread-local buffer that stays in cache, then runs the int8 GEMM micro-kernel
/// with the requantizing epilogue (zero-point correction, rescale, bias, round-half-even, clamp; fused ReLU by the lower
/// clamp) straight into the NHWC output. No full im2col matrix, no transposes, weights packed once
/// (<see cref="Int8Gemm.Pack"/> of the (out, kh, kw, C) weight).
/// </summary>
public static unsafe class Int8Conv
{
    [ThreadStatic] static byte[]? rowBuffer;
    [ThreadStatic] static byte[]? poolBuffer;

    /// <summary>Scalar reference of <see cref="Conv2dNhwc"/>: plain loops over (b, oh, ow, n, kh, kw, c) with the weight
    /// unpacked as (N, kh, kw, C) row-major.</summary>
    public static void Conv2dNhwcReference(ReadOnlySpan<byte> x, ReadOnlySpan<sbyte> w, int n, Int8ConvShape s, Int8Requantization r, Span<byte> y)
    {
        s.Check("Int8Conv.Conv2dNhwcReference");
        int oh = s.OutH, ow = s.OutW, k = s.K;
        for (int b = 0; b < s.Batch; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int o = 0; o < n; o++)
                    {
                        long acc = 0;
                        for (int u = 0; u < s.KernelH; u++)
                            for (int v = 0; v < s.KernelW; v++)
                            {
                                int hh = i * s.StrideH - s.PadH + u * s.DilationH, ww = j * s.StrideW - s.PadW + v * s.DilationW;
                                bool inside = (uint)hh < (uint)s.Height && (uint)ww < (uint)s.Width;
                                for (int c = 0; c < s.Channels; c++)
                                {
                                    int q = inside ? x[((b * s.Height + hh) * s.Width + ww) * s.Channels + c] : r.AZeroPoint;
                                    acc += (q - r.AZeroPoint) * w[o * k + (u * s.KernelW + v) * s.Channels + c];
                                }
                            }
                        float yv = (int)acc * r.Scale[o] + (r.Bias?[o] ?? 0f);
                        float qv = r.OutputZeroPoint + MathF.Round(yv * r.OutputScaleInverse);
                        y[((b * oh + i) * ow + j) * n + o] = (byte)(qv < r.Lo ? r.Lo : qv > 255 ? 255 : (int)qv);
                    }
    }

    /// <summary>
    /// The path <see cref="Int8GemmPath.Auto"/> takes for this convolution: <see cref="Int8Gemm.Select"/> with the bound on the
    /// receptive-field bytes, i.e. the largest input byte (one vectorised pass over x) and, when the window reads padding,
    /// the input zero point. 7-bit activations (reduce_range, the x86/fbgemm qconfig) thus run the exact vpmaddubsw path
    /// on CPUs without VNNI; full-range ones the s16-widening path.
    /// </summary>
    public static Int8GemmPath Select(ReadOnlySpan<byte> x, PackedInt8Weights w, Int8ConvShape s, int aZeroPoint)
    {
        if (AvxVnni.IsSupported) return Int8GemmPath.AvxVnni;
        int maxA = Int8Gemm.MaxOf(x);
        if (s.PadH > 0 || s.PadW > 0) maxA = Math.Max(maxA, aZeroPoint);
        return Int8Gemm.Select(w, maxA);
    }

    /// <summary>
    /// y (B, OH, OW, N) u8 = requantize(conv(x (B, H, W, C) u8, w)) with <paramref name="w"/> packed from the (N, kh, kw, C)
    /// weight (K = kh·kw·C). Output rows are split across <see cref="KernelThreadPool"/>.
    /// </summary>
    public static void Conv2dNhwc(ReadOnlySpan<byte> x, PackedInt8Weights w, Int8ConvShape s, Int8Requantization r, Span<byte> y,
        Int8GemmPath path = Int8GemmPath.Auto) => Convolve(x, w, s, r, y, path, false);

    /// <summary>
    /// y (B, OH/2, OW/2, N) u8 = 2 × 2, stride-2 max pooling (floor: an odd last row or column is dropped, as
    /// MaxPool2d(2) does) of <see cref="Conv2dNhwc"/>'s output, without writing that output: each task computes an even
    /// number of output rows into a thread-local buffer and pools them from there. The bytes are those of
    /// <see cref="Conv2dNhwc"/> followed by <see cref="MaxPool2dNhwc"/> (the maximum of the requantized bytes).
    /// </summary>
    public static void Conv2dMaxPool2x2Nhwc(ReadOnlySpan<byte> x, PackedInt8Weights w, Int8ConvShape s, Int8Requantization r, Span<byte> y,
        Int8GemmPath path = Int8GemmPath.Auto) => Convolve(x, w, s, r, y, path, true);

    static void Convolve(ReadOnlySpan<byte> x, PackedInt8Weights w, Int8ConvShape s, Int8Requantization r, Span<byte> y, Int8GemmPath path, bool pool)
    {
        s.Check("Int8Conv.Conv2dNhwc");
        if (pool && (s.OutH < 2 || s.OutW < 2))
            throw new ArgumentException($"Int8Conv.Conv2dMaxPool2x2Nhwc: the 2 × 2 pooling window does not fit the ({s.OutH}, {s.OutW}) convolution output", nameof(s));
        if (w.K != s.K) throw new ArgumentException($"Int8Conv.Conv2dNhwc: the packed weight has K = {w.K}, the window needs kh·kw·C = {s.KernelH}·{s.KernelW}·{s.Channels} = {s.K}", nameof(w));
        long inBytes = (long)s.Batch * s.Height * s.Width * s.Channels, outBytes = (long)s.Batch * s.OutH * s.OutW * w.N;
        int yh = pool ? s.OutH / 2 : s.OutH, yw = pool ? s.OutW / 2 : s.OutW;
        long yBytes = (long)s.Batch * yh * yw * w.N;
        if (x.Length < inBytes) throw new ArgumentException($"Int8Conv.Conv2dNhwc: x has {x.Length} bytes, ({s.Batch}, {s.Height}, {s.Width}, {s.Channels}) needs {inBytes}", nameof(x));
        if (y.Length < yBytes) throw new ArgumentException($"Int8Conv.Conv2dNhwc: y has {y.Length} bytes, ({s.Batch}, {yh}, {yw}, {w.N}) needs {yBytes}", nameof(y));
        if (r.Scale.Length != w.N || (r.Bias != null && r.Bias.Length != w.N))
            throw new ArgumentException($"Int8Conv.Conv2dNhwc: {r.Scale.Length} scales / {r.Bias?.Length} biases for N = {w.N} outputs", nameof(r));
        if (s.Batch == 0) return;
        if (Implicit && FewChannels && s.DilationW == 1 && s.Channels <= 4 && s.KernelW * s.Channels % 4 != 0)
        {
            ConvFewChannels(x, w, s, r, y, path, pool);
            return;
        }
        bool adaptive = false;
        if (path == Int8GemmPath.Auto)
        {
            path = Select(x[..(int)inBytes], w, s, r.AZeroPoint);
            // some bytes break the vpmaddubsw bound (7-bit activations with outliers): the fast path per 4-row tile, the
            // widening one for the tiles whose receptive fields hold such bytes
            var fast = Int8Gemm.Select(w, 0);
            if (path == Int8GemmPath.Avx2Widening && fast != Int8GemmPath.Avx2Widening) { path = fast; adaptive = true; }
        }
        if (!Int8Gemm.IsSupported(path)) throw new PlatformNotSupportedException($"Int8Conv.Conv2dNhwc: the {path} path is not supported on this CPU");
        var bias = r.Bias ?? new float[w.N];
        // the receptive field read in place (no gather) where its kh runs of kw·C bytes are whole k-quads (rows of at most
        // 4096 pixels: a task keeps a pointer and a stride per pixel on its stack)
        bool implicitRows = Implicit && s.DilationW == 1 && s.KernelW * s.Channels % 4 == 0 && s.OutW <= 4096;
        // a task covers enough output rows that their pixels fill whole 4-pixel tiles where the rows are read in place
        // (a 14-wide row is 3.5 tiles: half a tile of multiplies wasted per row, 12.5 % of a 14 × 14 layer)
        int rowsPerTask = implicitRows && s.OutW <= 256 ? Int8Gemm.RowsPerTile / (int)System.Numerics.BigInteger.GreatestCommonDivisor(s.OutW, Int8Gemm.RowsPerTile) : 1;
        if (pool && rowsPerTask % 2 != 0) rowsPerTask *= 2;   // pooled row pairs never straddle two tasks
        int tasks = s.Batch * ((s.OutH + rowsPerTask - 1) / rowsPerTask);
        byte[]? rowExact = adaptive && implicitRows ? RowBounds(x, s, w, r.AZeroPoint) : null;
        try
        {
            fixed (byte* px = x) fixed (byte* py = y) fixed (float* scale = r.Scale) fixed (float* pbias = bias) fixed (byte* pexact = rowExact)
            {
                var body = new ConvBody
                {
                    X = px, Y = py, W = w, S = s, Path = path, Adaptive = adaptive, Scale = scale, Bias = pbias, R = r,
                    ImplicitRows = implicitRows, RowExact = pexact, RowsPerTask = rowsPerTask, Pool = pool,
                };
                long work = outBytes * s.K;
                if (work < 1 << 18) for (int t = 0; t < tasks; t++) body.Invoke(t);
                else KernelThreadPool.ParallelFor(tasks, ref body);
            }
        }
        finally
        {
            if (rowExact != null) System.Buffers.ArrayPool<byte>.Shared.Return(rowExact);
        }
    }

    /// <summary>Whether <see cref="Conv2dNhwc"/> may read receptive fields in place (tests turn it off to hold the gathering
    /// form against the reference too; both give the same bytes).</summary>
    internal static bool Implicit = true;

    /// <summary>Whether a convolution of at most 4 channels whose kw·C is not a multiple of 4 (the one-channel first layer
    /// of a CNN: K = 9) takes <see cref="ConvFewChannels"/> (tests turn it off; both give the same bytes).</summary>
    internal static bool FewChannels = true;

    /// <summary>
    /// A few-channel convolution (kw·C not a multiple of 4) as one whose receptive fields are read in place: the input is
    /// copied once into a buffer with the padding made real (filled with the input zero point, as the reference pads) and
    /// kw' − kw more columns on the right, the weight is repacked (once, cached) as (N, kh, kw', C) with zero taps at
    /// v ≥ kw, where kw' is the smallest width with kw'·C a multiple of 4. Then each window row is kw'·C contiguous bytes,
    /// whole k-quads, so no receptive field is gathered per pixel (the gather was most of the one-channel layer's time);
    /// the extra taps multiply real bytes by zero weights, so the sums, and the bytes, are the reference's.
    /// </summary>
    static void ConvFewChannels(ReadOnlySpan<byte> x, PackedInt8Weights w, Int8ConvShape s, Int8Requantization r, Span<byte> y, Int8GemmPath path, bool pool)
    {
        int c = s.Channels, kwPadded = s.KernelW;
        while (kwPadded * c % 4 != 0) kwPadded++;
        int ph = s.Height + 2 * s.PadH, pw = s.Width + 2 * s.PadW + (kwPadded - s.KernelW);
        var padded = new Int8ConvShape(s.Batch, ph, pw, c, s.KernelH, kwPadded, s.StrideH, s.StrideW, 0, 0, s.DilationH, 1);
        // the extra columns never change the output width: (pw − kw')/stride + 1 = (W + 2·padW − kw)/stride + 1
        long bytes = (long)s.Batch * ph * pw * c;
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((int)bytes);
        try
        {
            var dst = buffer.AsSpan(0, (int)bytes);
            byte zero = (byte)r.AZeroPoint;
            int rowIn = s.Width * c, rowOut = pw * c, left = s.PadW * c;
            for (int b = 0; b < s.Batch; b++)
                for (int i = 0; i < ph; i++)
                {
                    var row = dst.Slice((b * ph + i) * rowOut, rowOut);
                    int src = i - s.PadH;
                    if ((uint)src >= (uint)s.Height) { row.Fill(zero); continue; }
                    row[..left].Fill(zero);
                    x.Slice((b * s.Height + src) * rowIn, rowIn).CopyTo(row[left..]);
                    row[(left + rowIn)..].Fill(zero);
                }
            Convolve(dst, w.WindowPadded(s.KernelH, s.KernelW, c, kwPadded), padded, r, y, path, pool);
        }
        finally { System.Buffers.ArrayPool<byte>.Shared.Return(buffer); }
    }

    /// <summary>Per output row (b, i): 1 where every byte its receptive fields read (its kh input rows, and the zero point
    /// where the window reaches into padding) keeps the vpmaddubsw path exact, from one vectorised max per input row.</summary>
    static byte[] RowBounds(ReadOnlySpan<byte> x, Int8ConvShape s, PackedInt8Weights w, int zeroPoint)
    {
        int rowBytes = s.Width * s.Channels;
        var inputMax = System.Buffers.ArrayPool<int>.Shared.Rent(s.Batch * s.Height);
        var exact = System.Buffers.ArrayPool<byte>.Shared.Rent(s.Batch * s.OutH);
        try
        {
            for (int t = 0; t < s.Batch * s.Height; t++) inputMax[t] = Int8Gemm.MaxOf(x.Slice(t * rowBytes, rowBytes));
            for (int b = 0; b < s.Batch; b++)
                for (int i = 0; i < s.OutH; i++)
                {
                    int max = s.PadH > 0 || s.PadW > 0 ? zeroPoint : 0;
                    for (int u = 0; u < s.KernelH; u++)
                    {
                        int rr = i * s.StrideH - s.PadH + u * s.DilationH;
                        if ((uint)rr < (uint)s.Height) max = Math.Max(max, inputMax[b * s.Height + rr]);
                    }
                    exact[b * s.OutH + i] = (long)max * w.MaxPairAbsSum <= short.MaxValue ? (byte)1 : (byte)0;
                }
        }
        finally
        {
            System.Buffers.ArrayPool<int>.Shared.Return(inputMax);
        }
        return exact;
    }

    /// <summary>dst[t] = max of the cells at p, p + c, p + rowBytes, p + rowBytes + c (t &lt; c).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Max4(byte* p, long rowBytes, int c, byte* dst)
    {
        byte* q = p + rowBytes;
        int t = 0;
        if (Avx2.IsSupported)
            for (; t + 32 <= c; t += 32)
                Avx2.Max(Avx2.Max(Avx.LoadVector256(p + t), Avx.LoadVector256(p + c + t)), Avx2.Max(Avx.LoadVector256(q + t), Avx.LoadVector256(q + c + t))).Store(dst + t);
        if (Sse2.IsSupported)
            for (; t + 16 <= c; t += 16)
                Sse2.Max(Sse2.Max(Sse2.LoadVector128(p + t), Sse2.LoadVector128(p + c + t)), Sse2.Max(Sse2.LoadVector128(q + t), Sse2.LoadVector128(q + c + t))).Store(dst + t);
        for (; t < c; t++) dst[t] = Math.Max(Math.Max(p[t], p[c + t]), Math.Max(q[t], q[c + t]));
    }

    struct ConvBody : IParallelBody
    {
        public byte* X; public byte* Y; public PackedInt8Weights W; public Int8ConvShape S; public Int8GemmPath Path;
        // Path is a vpmaddubsw path that is not exact for every byte of X: each 4-row tile checks its gathered bytes
        public bool Adaptive;
        public float* Scale; public float* Bias; public Int8Requantization R;
        // rows through the segment kernel (RequantizeSegmentRows: windows inside the image read in place, the rest gathered);
        // RowExact (adaptive only): per output row, whether its bytes keep Path exact (else the gathering form with tile flags)
        public bool ImplicitRows; public byte* RowExact;
        // output rows per task (consecutive rows of one image; more than 1 where rows are read in place or pooled)
        public int RowsPerTask;
        // Y is the 2 × 2-pooled output: a task's (even number of) rows go to a thread-local buffer, then pooled into Y
        public bool Pool;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int task)
        {
            int groups = (S.OutH + RowsPerTask - 1) / RowsPerTask;
            int b = task / groups, i0 = task % groups * RowsPerTask, i1 = Math.Min(i0 + RowsPerTask, S.OutH);
            int ow = S.OutW, lda = W.KQuads * 4, n = W.N;
            var buffer = rowBuffer;
            if (buffer == null || buffer.Length < RowsPerTask * ow * lda) rowBuffer = buffer = new byte[Math.Max(RowsPerTask * ow * lda, 4096)];
            var rows = Pool ? poolBuffer : null;
            if (Pool && (rows == null || rows.Length < RowsPerTask * ow * n)) poolBuffer = rows = new byte[Math.Max(RowsPerTask * ow * n, 4096)];
            fixed (byte* cols = buffer) fixed (byte* scratch = rows)
            {
                // output row i0 and the rows after it, consecutive: in Y, or in the scratch rows when pooling
                byte* rowsOut = Pool ? scratch : Y + (long)(b * S.OutH + i0) * ow * n;
                for (int i = i0; i < i1;)
                {
                    byte* dst = rowsOut + (long)(i - i0) * ow * n;
                    if (!InPlace(b, i)) { InvokeRow(b, i, cols, lda, dst); i++; continue; }
                    int end = i + 1;
                    while (end < i1 && InPlace(b, end)) end++;
                    InvokeInPlace(b, i, end - i, cols, lda, dst);   // the run's pixels in one pass of 4-pixel tiles
                    i = end;
                }
                if (!Pool) return;
                // i0 is even (RowsPerTask is): rows i0 + 2p and i0 + 2p + 1 make pooled row i0/2 + p; a lone last row is dropped
                int ph = S.OutH / 2, pw = ow / 2;
                long rowBytes = (long)ow * n;
                for (int i = i0; i + 1 < i1; i += 2)
                {
                    byte* top = scratch + (i - i0) * rowBytes;
                    byte* outRow = Y + ((long)(b * ph + i / 2) * pw) * n;
                    for (int j = 0; j < pw; j++) Max4(top + 2L * j * n, rowBytes, n, outRow + (long)j * n);
                }
            }
        }

        /// <summary>Whether output row (b, i) goes through the segment kernel (<see cref="InvokeInPlace"/>): receptive fields
        /// read in place where the window lies inside the image, gathered where it reaches into the padding (a whole top or
        /// bottom border row is gathered), when rows are read in place at all (and, adaptive, its bytes keep Path exact).</summary>
        readonly bool InPlace(int b, int i) => ImplicitRows && (RowExact == null || RowExact[b * S.OutH + i] != 0);

        /// <summary>Whether the kh input rows of output row i all lie inside the image.</summary>
        readonly bool RowsInside(int i)
        {
            int top = i * S.StrideH - S.PadH;
            return top >= 0 && top + (S.KernelH - 1) * S.DilationH < S.Height;
        }

        /// <summary>Output row (b, i) from gathered receptive fields.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void InvokeRow(int b, int i, byte* cols, int lda, byte* dst)
        {
            int ow = S.OutW;
            {
                GatherRow(cols, b, i, lda);
                byte* groupExact = null;
                if (Adaptive)
                {
                    int groups = (ow + Int8Gemm.RowsPerTile - 1) / Int8Gemm.RowsPerTile;
                    byte* flags = stackalloc byte[groups];
                    for (int g = 0; g < groups; g++)
                    {
                        int rows = Math.Min(Int8Gemm.RowsPerTile, ow - g * Int8Gemm.RowsPerTile);
                        int max = Int8Gemm.MaxOf(new ReadOnlySpan<byte>(cols + (long)g * Int8Gemm.RowsPerTile * lda, rows * lda));
                        flags[g] = (long)max * W.MaxPairAbsSum <= short.MaxValue ? (byte)1 : (byte)0;
                    }
                    groupExact = flags;
                }
                Int8Gemm.RequantizeRows(cols, lda, W, dst, ow, Scale, Bias, R, Path, groupExact);
            }
        }

        /// <summary>Output rows (b, i) … (b, i + count − 1) with their receptive fields read in place, as one run of
        /// count·OW pixels (consecutive in the NHWC output): pixels whose window lies inside the image point into the input
        /// (run u at + u·dilation·W·C), those that reach into the padding (the few at the sides, every pixel of a top or
        /// bottom border row) are gathered into <paramref name="cols"/>, so border rows run the same whole-tile kernel.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void InvokeInPlace(int b, int i, int count, byte* cols, int lda, byte* dst)
        {
            int ow = S.OutW, c = S.Channels, kw = S.KernelW, run = kw * c, pixels = count * ow;
            byte** rowBase = stackalloc byte*[pixels];
            long* rowStride = stackalloc long[pixels];
            long inPlaceStride = (long)S.DilationH * S.Width * c;
            int gathered = 0;
            for (int row = 0; row < count; row++)
            {
                int top = (i + row) * S.StrideH - S.PadH;
                bool inside = RowsInside(i + row);
                byte* image = inside ? X + (long)(b * S.Height + top) * S.Width * c : null;
                for (int j = 0; j < ow; j++)
                {
                    int p = row * ow + j, s0 = j * S.StrideW - S.PadW;
                    if (inside && s0 >= 0 && s0 + kw <= S.Width) { rowBase[p] = image + (long)s0 * c; rowStride[p] = inPlaceStride; }
                    else
                    {
                        byte* field = cols + (long)gathered++ * lda;
                        GatherPixel(field, b, i + row, j, lda);
                        rowBase[p] = field; rowStride[p] = run;
                    }
                }
            }
            Int8Gemm.RequantizeSegmentRows(rowBase, rowStride, pixels, S.KernelH, run / 4, W, dst, Scale, Bias, R, Path);
        }

        // a few bytes (the 3-byte runs of a one-channel input) by a loop: Buffer.MemoryCopy's call costs more than the copy
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void Copy(byte* src, byte* dst, int count)
        {
            if (count >= 16) { Buffer.MemoryCopy(src, dst, count, count); return; }
            for (int t = 0; t < count; t++) dst[t] = src[t];
        }

        // receptive fields of output row (b, i): ow rows of lda bytes in (u, v, c) order
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void GatherRow(byte* cols, int b, int i, int lda)
        {
            for (int j = 0; j < S.OutW; j++) GatherPixel(cols + (long)j * lda, b, i, j, lda);
        }

        // the receptive field of output pixel (b, i, j): lda bytes in (u, v, c) order, zero after K
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        void GatherPixel(byte* dst, int b, int i, int j, int lda)
        {
            int c = S.Channels, kh = S.KernelH, kw = S.KernelW, k = S.K, run = kw * c, w = S.Width;
            byte pad = (byte)R.AZeroPoint;
            bool dense = S.DilationW == 1;
            for (int t = k; t < lda; t++) dst[t] = 0;
            int s0 = j * S.StrideW - S.PadW;
            for (int u = 0; u < kh; u++)
            {
                int rr = i * S.StrideH - S.PadH + u * S.DilationH;
                byte* part = dst + u * run;
                if ((uint)rr >= (uint)S.Height) { new Span<byte>(part, run).Fill(pad); continue; }
                byte* src = X + ((long)(b * S.Height + rr) * w) * c;
                if (dense && s0 >= 0 && s0 + kw <= w)
                {
                    Copy(src + (long)s0 * c, part, run);
                    continue;
                }
                for (int v = 0; v < kw; v++)
                {
                    int ss = s0 + v * S.DilationW;
                    if ((uint)ss < (uint)w) Copy(src + (long)ss * c, part + v * c, c);
                    else new Span<byte>(part + v * c, c).Fill(pad);
                }
            }
        }
    }

    /// <summary>Scalar reference of <see cref="MaxPool2dNhwc"/> (padded positions never win; C = channels).</summary>
    public static void MaxPool2dNhwcReference(ReadOnlySpan<byte> x, Int8ConvShape s, Span<byte> y)
    {
        s.Check("Int8Conv.MaxPool2dNhwcReference");
        int oh = s.OutH, ow = s.OutW, c = s.Channels;
        for (int b = 0; b < s.Batch; b++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                    for (int ch = 0; ch < c; ch++)
                    {
                        int best = 0;
                        for (int u = 0; u < s.KernelH; u++)
                            for (int v = 0; v < s.KernelW; v++)
                            {
                                int hh = i * s.StrideH - s.PadH + u * s.DilationH, ww = j * s.StrideW - s.PadW + v * s.DilationW;
                                if ((uint)hh < (uint)s.Height && (uint)ww < (uint)s.Width) best = Math.Max(best, x[((b * s.Height + hh) * s.Width + ww) * c + ch]);
                            }
                        y[((b * oh + i) * ow + j) * c + ch] = (byte)best;
                    }
    }

    /// <summary>Max pooling of u8 NHWC values: each window's C-byte cells combined with vector byte maxima
    /// (vpmaxub, 32 channels at a time), one output row per task.</summary>
    public static void MaxPool2dNhwc(ReadOnlySpan<byte> x, Int8ConvShape s, Span<byte> y)
    {
        s.Check("Int8Conv.MaxPool2dNhwc");
        long inBytes = (long)s.Batch * s.Height * s.Width * s.Channels, outBytes = (long)s.Batch * s.OutH * s.OutW * s.Channels;
        if (x.Length < inBytes) throw new ArgumentException($"Int8Conv.MaxPool2dNhwc: x has {x.Length} bytes, needs {inBytes}", nameof(x));
        if (y.Length < outBytes) throw new ArgumentException($"Int8Conv.MaxPool2dNhwc: y has {y.Length} bytes, needs {outBytes}", nameof(y));
        if (s.Batch == 0) return;
        fixed (byte* px = x) fixed (byte* py = y)
        {
            var body = new PoolBody { X = px, Y = py, S = s };
            int tasks = s.Batch * s.OutH;
            if (outBytes < 1 << 16) for (int t = 0; t < tasks; t++) body.Invoke(t);
            else KernelThreadPool.ParallelFor(tasks, ref body);
        }
    }

    struct PoolBody : IParallelBody
    {
        public byte* X; public byte* Y; public Int8ConvShape S;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int task)
        {
            int b = task / S.OutH, i = task % S.OutH, c = S.Channels;
            byte* outRow = Y + (long)task * S.OutW * c;
            if (S.KernelH == 2 && S.KernelW == 2 && S.StrideH == 2 && S.StrideW == 2 && S.PadH == 0 && S.PadW == 0 && S.DilationH == 1 && S.DilationW == 1)
            {
                // the 2 × 2, stride-2 window of a CNN: every window lies inside the image, four cells per output pixel
                long rowBytes = (long)S.Width * c;
                byte* top = X + (b * S.Height + 2L * i) * rowBytes;
                for (int j = 0; j < S.OutW; j++) Max4(top + 2L * j * c, rowBytes, c, outRow + (long)j * c);
                return;
            }
            for (int j = 0; j < S.OutW; j++)
            {
                byte* dst = outRow + (long)j * c;
                bool first = true;
                for (int u = 0; u < S.KernelH; u++)
                {
                    int hh = i * S.StrideH - S.PadH + u * S.DilationH;
                    if ((uint)hh >= (uint)S.Height) continue;
                    for (int v = 0; v < S.KernelW; v++)
                    {
                        int ww = j * S.StrideW - S.PadW + v * S.DilationW;
                        if ((uint)ww >= (uint)S.Width) continue;
                        byte* src = X + ((long)(b * S.Height + hh) * S.Width + ww) * c;
                        if (first) { Buffer.MemoryCopy(src, dst, c, c); first = false; }
                        else MaxInto(dst, src, c);
                    }
                }
                if (first) new Span<byte>(dst, c).Clear();
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void MaxInto(byte* dst, byte* src, int c)
        {
            int t = 0;
            if (Avx2.IsSupported)
                for (; t + 32 <= c; t += 32) Avx2.Max(Avx.LoadVector256(dst + t), Avx.LoadVector256(src + t)).Store(dst + t);
            if (Sse2.IsSupported)
                for (; t + 16 <= c; t += 16) Sse2.Max(Sse2.LoadVector128(dst + t), Sse2.LoadVector128(src + t)).Store(dst + t);
            for (; t < c; t++) if (src[t] > dst[t]) dst[t] = src[t];
        }
    }
}
