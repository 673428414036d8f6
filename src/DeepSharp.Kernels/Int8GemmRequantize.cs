using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// Parameters of the requantizing epilogue of <see cref="Int8Gemm.MultiplyRequantize"/> (what FBGEMM's ReQuantizeOutput does):
/// y[m, n] = (acc[m, n] − aZeroPoint·Σ_k B[n, k])·Scale[n] + Bias[n] in float32, then
/// q = clamp(OutputZeroPoint + round_half_even(y·OutputScaleInverse), Lo, 255).
/// </summary>
/// <param name="AZeroPoint">Zero point of the u8 activations A.</param>
/// <param name="Scale">Per output: input scale × weight scale (float32).</param>
/// <param name="Bias">Per output float bias, or null.</param>
/// <param name="OutputScaleInverse">1 / output scale (float32, as ATen's quantize_val).</param>
/// <param name="OutputZeroPoint">Output zero point.</param>
/// <param name="Lo">Lower clamp: 0, or the output zero point for a fused ReLU.</param>
public sealed record Int8Requantization(int AZeroPoint, float[] Scale, float[]? Bias, float OutputScaleInverse, int OutputZeroPoint, int Lo);

public static unsafe partial class Int8Gemm
{
    /// <summary>Scalar reference of <see cref="MultiplyRequantize"/> (B unpacked N×K row-major, A M×K).</summary>
    public static void RequantizeReference(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> b, Span<byte> c, int m, int n, int k, Int8Requantization r)
    {
        var acc = new int[m * n];
        Reference(a, b, acc, m, n, k);
        for (int j = 0; j < n; j++)
        {
            int sum = 0;
            for (int kk = 0; kk < k; kk++) sum += b[j * k + kk];
            for (int i = 0; i < m; i++)
            {
                float y = (acc[i * n + j] - r.AZeroPoint * sum) * r.Scale[j] + (r.Bias?[j] ?? 0f);
                float v = r.OutputZeroPoint + MathF.Round(y * r.OutputScaleInverse);
                c[i * n + j] = (byte)(v < r.Lo ? r.Lo : v > 255 ? 255 : (int)v);
            }
        }
    }

    /// <summary>
    /// C (M×N u8, row-major) = requantize(A · Bᵀ): the int8 GEMM with the zero-point correction, rescale, bias and
    /// requantization fused into the tile epilogue, so no int32 or float M×N buffer exists. A rows are
    /// <paramref name="lda"/> bytes apart (lda ≥ K; when lda is K rounded up to a multiple of 4 and the pad bytes are 0, A
    /// is used in place, otherwise it is copied once).
    /// </summary>
    public static void MultiplyRequantize(ReadOnlySpan<byte> a, int lda, PackedInt8Weights b, Span<byte> c, int m, Int8Requantization r,
        Int8GemmPath path = Int8GemmPath.Auto)
    {
        if (lda < b.K) throw new ArgumentException($"Int8Gemm.MultiplyRequantize: lda ({lda}) is smaller than K ({b.K})", nameof(lda));
        if (m < 0) throw new ArgumentException($"Int8Gemm.MultiplyRequantize: M ({m}) must not be negative", nameof(m));
        if (m > 0 && a.Length < (long)(m - 1) * lda + b.K) throw new ArgumentException($"Int8Gemm.MultiplyRequantize: A has {a.Length} bytes, M = {m} rows of lda {lda} need {(long)(m - 1) * lda + b.K}", nameof(a));
        if (c.Length < (long)m * b.N) throw new ArgumentException($"Int8Gemm.MultiplyRequantize: C has {c.Length} bytes, M×N = {m}×{b.N} needs {(long)m * b.N}", nameof(c));
        if (r.Scale.Length != b.N || (r.Bias != null && r.Bias.Length != b.N))
            throw new ArgumentException($"Int8Gemm.MultiplyRequantize: {r.Scale.Length} scales / {r.Bias?.Length} biases for N = {b.N} outputs", nameof(r));
        if (m == 0) return;
        int kPadded = b.KQuads * 4;
        a = PadRows(a, m, lda, b.K, kPadded, out var copy);
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Int8Gemm.MultiplyRequantize: the {path} path is not supported on this CPU");
        byte[]? groupExact = null;
        var bias = r.Bias ?? new float[b.N];
        try
        {
            if (path == Int8GemmPath.Auto) path = SelectRows(a, m, kPadded, b, out groupExact);
            fixed (byte* pa = a) fixed (sbyte* pb = b.Data) fixed (byte* pc = c) fixed (int* sums = b.ColumnSums) fixed (float* scale = r.Scale) fixed (float* pbias = bias)
            fixed (byte* flags = groupExact)
            {
                var body = new RowBody
                {
                    A = pa, B = pb, Out = pc, M = m, N = b.N, KPadded = kPadded, Quads = b.KQuads, Path = path, GroupExact = flags,
                    Sums = sums, Scale = scale, Bias = pbias, Inv = r.OutputScaleInverse, Zx = r.AZeroPoint, Zp = r.OutputZeroPoint, Lo = r.Lo,
                };
                Run(ref body, true);
            }
        }
        finally
        {
            if (copy != null) ArrayPool<byte>.Shared.Return(copy);
            if (groupExact != null) ArrayPool<byte>.Shared.Return(groupExact);
        }
    }

    /// <summary>Serial requantizing GEMM on raw rows (A padded to whole quads with zero pad bytes, lda = KQuads·4), for callers
    /// that already split the work across threads (<see cref="Int8Conv"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RequantizeRows(byte* a, int lda, PackedInt8Weights b, byte* c, int m, float* scale, float* bias, Int8Requantization r, Int8GemmPath path,
        byte* groupExact = null)
    {
        fixed (sbyte* pb = b.Data) fixed (int* sums = b.ColumnSums)
        {
            var body = new RowBody
            {
                A = a, B = pb, Out = c, M = m, N = b.N, KPadded = lda, Quads = b.KQuads, Path = path, GroupExact = groupExact,
                Sums = sums, Scale = scale, Bias = bias, Inv = r.OutputScaleInverse, Zx = r.AZeroPoint, Zp = r.OutputZeroPoint, Lo = r.Lo,
            };
            int tasks = body.Tasks;
            for (int t = 0; t < tasks; t++) body.Invoke(t);
        }
    }

    /// <summary>
    /// Serial requantizing GEMM over rows whose K bytes lie in <paramref name="segments"/> runs of
    /// <paramref name="segmentQuads"/>·4 bytes: row r's run u starts at rowBase[r] + u·rowStride[r]. This is an implicit
    /// im2col for <see cref="Int8Conv"/>: a receptive field read in place as its kh runs of kw·C input bytes, no copy. Each
    /// tile's int32 sums are the sum over the runs of the ordinary tile sums (integer, so the same as one pass over the
    /// gathered row), then the same epilogue as <see cref="RequantizeRows"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void RequantizeSegmentRows(byte** rowBase, long* rowStride, int m, int segments, int segmentQuads, PackedInt8Weights b, byte* c,
        float* scale, float* bias, Int8Requantization r, Int8GemmPath path)
    {
        int* tile = stackalloc int[RowsPerTile * 16];
        int* part = stackalloc int[RowsPerTile * 16];
        int n = b.N, blocks = (n + 15) / 16, quads = b.KQuads;
        fixed (sbyte* pb = b.Data) fixed (int* sums = b.ColumnSums)
        {
            for (int r0 = 0; r0 < m; r0 += RowsPerTile)
            {
                int rows = Math.Min(RowsPerTile, m - r0);
                // missing rows of the last tile reuse row r0; their sums are computed and dropped
                byte* a0 = rowBase[r0]; long s0 = rowStride[r0];
                byte* a1 = rows > 1 ? rowBase[r0 + 1] : a0; long s1 = rows > 1 ? rowStride[r0 + 1] : s0;
                byte* a2 = rows > 2 ? rowBase[r0 + 2] : a0; long s2 = rows > 2 ? rowStride[r0 + 2] : s0;
                byte* a3 = rows > 3 ? rowBase[r0 + 3] : a0; long s3 = rows > 3 ? rowStride[r0 + 3] : s0;
                for (int jb = 0; jb < blocks; jb++)
                {
                    sbyte* block = pb + (long)jb * quads * 64;
                    if (path == Int8GemmPath.Avx512BW && Avx512Epilogue && n - jb * 16 >= 16)
                    {
                        SegmentTileAvx512Requantize(a0, a1, a2, a3, s0, s1, s2, s3, segments, segmentQuads, block, rows, c + (long)r0 * n + jb * 16, n,
                            sums + jb * 16, scale + jb * 16, bias + jb * 16, r.OutputScaleInverse, r.AZeroPoint, r.OutputZeroPoint, r.Lo);
                        continue;
                    }
                    TileSums(path, a0, a1, a2, a3, block, segmentQuads, tile);
                    for (int u = 1; u < segments; u++)
                        TileSumsAdd(path, a0 + u * s0, a1 + u * s1, a2 + u * s2, a3 + u * s3, block + (long)u * segmentQuads * 64, segmentQuads, tile, part);
                    RequantizeTile(tile, rows, c + (long)r0 * n + jb * 16, n, Math.Min(16, n - jb * 16), sums + jb * 16, scale + jb * 16, bias + jb * 16,
                        r.OutputScaleInverse, r.AZeroPoint, r.OutputZeroPoint, r.Lo);
                }
            }
        }
    }

    /// <summary>
    /// One 4 × 16 tile of <see cref="RequantizeSegmentRows"/> on AVX-512BW with the sums kept in registers over every run
    /// and through the requantization (the operations of <see cref="TileAvx512"/> then <see cref="RequantizeTile"/>): for
    /// short runs (a one-channel 3 × 3 window is three runs of one quad) the tile store and reload around each run cost
    /// more than the multiplies.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void SegmentTileAvx512Requantize(byte* a0, byte* a1, byte* a2, byte* a3, long s0, long s1, long s2, long s3, int segments, int segmentQuads,
        sbyte* b, int rows, byte* output, long outStride, int* sums, float* scale, float* bias, float inv, int zx, int zp, int lo)
    {
        var ones = Vector512.Create((short)1);
        Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int u = 0; u < segments; u++)
        {
            byte* p0 = a0 + u * s0, p1 = a1 + u * s1, p2 = a2 + u * s2, p3 = a3 + u * s3;
            for (int q = 0; q < segmentQuads; q++, b += 64)
            {
                var bv = Avx512F.LoadVector512(b);
                c0 = Avx512F.Add(c0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(p0 + q * 4)).AsByte(), bv), ones));
                c1 = Avx512F.Add(c1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(p1 + q * 4)).AsByte(), bv), ones));
                c2 = Avx512F.Add(c2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(p2 + q * 4)).AsByte(), bv), ones));
                c3 = Avx512F.Add(c3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(p3 + q * 4)).AsByte(), bv), ones));
            }
        }
        var correction = Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(sums));
        var vscale = Avx512F.LoadVector512(scale); var vbias = Avx512F.LoadVector512(bias);
        var vinv = Vector512.Create(inv); var vzp = Vector512.Create((float)zp);
        var vlo = Vector512.Create((float)lo); var vhi = Vector512.Create(255f);
        RequantizeRegisterRow(c0, output, correction, vscale, vbias, vinv, vzp, vlo, vhi);
        if (rows > 1) RequantizeRegisterRow(c1, output + outStride, correction, vscale, vbias, vinv, vzp, vlo, vhi);
        if (rows > 2) RequantizeRegisterRow(c2, output + 2 * outStride, correction, vscale, vbias, vinv, vzp, vlo, vhi);
        if (rows > 3) RequantizeRegisterRow(c3, output + 3 * outStride, correction, vscale, vbias, vinv, vzp, vlo, vhi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void RequantizeRegisterRow(Vector512<int> acc, byte* output, Vector512<int> correction, Vector512<float> vscale, Vector512<float> vbias,
        Vector512<float> vinv, Vector512<float> vzp, Vector512<float> vlo, Vector512<float> vhi)
    {
        var y = Avx512F.Add(Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(acc, correction)), vscale), vbias);
        var v = Avx512F.Min(Avx512F.Max(Avx512F.Add(vzp, Avx512F.RoundScale(Avx512F.Multiply(y, vinv), 0)), vlo), vhi);
        Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(v)).Store(output);
    }

    /// <summary>Whether the epilogues use their 16-lane AVX-512 form for a full 16-output tile row (tests turn it off to hold
    /// the 8-lane AVX2 form against the references on an AVX-512 machine; both give the same bits).</summary>
    internal static bool Avx512Epilogue = Avx512F.IsSupported;

    /// <summary>Requantizes the first <paramref name="rows"/> rows of a 4×16 tile into rows <paramref name="outStride"/> bytes
    /// apart: with AVX-512 and a full 16-column block the per-column terms (zero-point correction, scale, bias, constants)
    /// are loaded once for the tile, otherwise row by row through <see cref="RequantizeRow"/>. Same bits either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RequantizeTile(int* tile, int rows, byte* output, long outStride, int cols, int* sums, float* scale, float* bias,
        float inv, int zx, int zp, int lo)
    {
        if (Avx512Epilogue && cols == 16)
        {
            var correction = Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(sums));
            var vscale = Avx512F.LoadVector512(scale); var vbias = Avx512F.LoadVector512(bias);
            var vinv = Vector512.Create(inv); var vzp = Vector512.Create((float)zp);
            var vlo = Vector512.Create((float)lo); var vhi = Vector512.Create(255f);
            for (int r = 0; r < rows; r++)
            {
                var y = Avx512F.Add(Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(Avx512F.LoadVector512(tile + r * 16), correction)), vscale), vbias);
                var v = Avx512F.Min(Avx512F.Max(Avx512F.Add(vzp, Avx512F.RoundScale(Avx512F.Multiply(y, vinv), 0)), vlo), vhi);
                Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(v)).Store(output + r * outStride);
            }
            return;
        }
        for (int r = 0; r < rows; r++) RequantizeRow(tile + r * 16, output + r * outStride, cols, sums, scale, bias, inv, zx, zp, lo);
    }

    /// <summary>Requantizes one tile row of ≤ 16 int32 sums (columns j0..j0+cols) into bytes (AVX2 8 at a time, scalar rest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RequantizeRow(int* acc, byte* output, int cols, int* sums, float* scale, float* bias, float inv, int zx, int zp, int lo)
    {
        int j = 0;
        if (Avx512Epilogue && cols == 16)
        {
            // the same float32 operations as the 8-lane form below (multiply, then add: no fused multiply-add), 16 lanes at once;
            // vrndscaleps with control 0 rounds half to even like vroundps, vpmovdb narrows the clamped integers to bytes
            var a = Avx512F.Subtract(Avx512F.LoadVector512(acc), Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(sums)));
            var y = Avx512F.Add(Avx512F.Multiply(Avx512F.ConvertToVector512Single(a), Avx512F.LoadVector512(scale)), Avx512F.LoadVector512(bias));
            var v = Avx512F.Add(Vector512.Create((float)zp), Avx512F.RoundScale(Avx512F.Multiply(y, Vector512.Create(inv)), 0));
            v = Avx512F.Min(Avx512F.Max(v, Vector512.Create((float)lo)), Vector512.Create(255f));
            Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(v)).Store(output);
            return;
        }
        if (Avx2.IsSupported && cols == 16)
        {
            var vzx = Vector256.Create(zx); var vinv = Vector256.Create(inv);
            var vzp = Vector256.Create((float)zp); var vlo = Vector256.Create((float)lo); var vhi = Vector256.Create(255f);
            var lo8 = Epilogue8(acc, sums, scale, bias, vzx, vinv, vzp, vlo, vhi);
            var hi8 = Epilogue8(acc + 8, sums + 8, scale + 8, bias + 8, vzx, vinv, vzp, vlo, vhi);
            // int32 → int16 → uint8 (values are already in [lo, 255]); the packs work per 128-bit lane, the permutes restore order
            var words = Avx2.Permute4x64(Avx2.PackSignedSaturate(lo8, hi8).AsInt64(), 0b11_01_10_00).AsInt16();
            var bytes = Avx2.Permute4x64(Avx2.PackUnsignedSaturate(words, words).AsInt64(), 0b11_01_10_00).AsByte();
            bytes.GetLower().Store(output);
            return;
        }
        for (; j < cols; j++)
        {
            float y = (acc[j] - zx * sums[j]) * scale[j] + bias[j];
            float v = zp + MathF.Round(y * inv);
            output[j] = (byte)(v < lo ? lo : v > 255 ? 255 : (int)v);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Epilogue8(int* acc, int* sums, float* scale, float* bias, Vector256<int> vzx, Vector256<float> vinv,
        Vector256<float> vzp, Vector256<float> vlo, Vector256<float> vhi)
    {
        var a = Avx2.Subtract(Avx.LoadVector256(acc), Avx2.MultiplyLow(vzx, Avx.LoadVector256(sums)));
        var y = Avx.Add(Avx.Multiply(Avx.ConvertToVector256Single(a), Avx.LoadVector256(scale)), Avx.LoadVector256(bias));
        var v = Avx.Add(vzp, Avx.RoundToNearestInteger(Avx.Multiply(y, vinv)));
        return Avx.ConvertToVector256Int32(Avx.Min(Avx.Max(v, vlo), vhi));
    }

    /// <summary>
    /// A with each row padded from K to the packed K (a multiple of 4, zeros after K), copied into a pooled buffer that
    /// the caller returns (<paramref name="copy"/>), or A itself when its rows are already <c>lda</c> = padded K apart.
    /// </summary>
    static ReadOnlySpan<byte> PadRows(ReadOnlySpan<byte> a, int m, int lda, int k, int kPadded, out byte[]? copy)
    {
        copy = null;
        if (lda == kPadded) return a;
        copy = ArrayPool<byte>.Shared.Rent(m * kPadded);
        for (int i = 0; i < m; i++)
        {
            a.Slice(i * lda, k).CopyTo(copy.AsSpan(i * kPadded));
            copy.AsSpan(i * kPadded + k, kPadded - k).Clear();
        }
        return copy.AsSpan(0, m * kPadded);
    }
}
