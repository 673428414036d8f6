using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>Which instruction sequence an int8 GEMM runs (all give the same int32 results where they apply).</summary>
public enum Int8GemmPath
{
    /// <summary>The fastest exact path this CPU and these operands allow.</summary>
    Auto,
    /// <summary>Plain loops (the reference).</summary>
    Scalar,
    /// <summary>AVX2, u8 and s8 widened to s16, then vpmaddwd: exact for every input.</summary>
    Avx2Widening,
    /// <summary>AVX2 vpmaddubsw + vpmaddwd: exact only while no u8·s8 pair sum exceeds 32767 (see <see cref="Int8Gemm"/>).</summary>
    Avx2,
    /// <summary>AVX-512BW vpmaddubsw + vpmaddwd on 512-bit registers: same saturation caveat as <see cref="Avx2"/>.</summary>
    Avx512BW,
    /// <summary>AVX-VNNI vpdpbusd (u8·s8 sums of four into int32, no intermediate saturation).</summary>
    AvxVnni,
}

/// <summary>
/// Weights of an int8 GEMM packed for the kernels: B (N×K, s8, row n = output n, like a Linear weight) is stored in
/// blocks of 16 outputs × 4 consecutive k: [ceil(N/16)][ceil(K/4)][16][4], zero padded, so one 64-byte load feeds a
/// u8·s8 four-way dot product for 16 outputs (vpdpbusd) or a vpmaddubsw/vpmaddwd pair.
/// </summary>
public sealed class PackedInt8Weights
{
    internal PackedInt8Weights(sbyte[] data, int n, int k, int[] columnSums, int maxPairAbsSum)
    {
        Data = data; N = n; K = k; ColumnSums = columnSums; MaxPairAbsSum = maxPairAbsSum;
    }

    internal sbyte[] Data { get; }
    /// <summary>Number of outputs (rows of B).</summary>
    public int N { get; }
    /// <summary>Reduction length.</summary>
    public int K { get; }
    /// <summary>Quads of k per output after padding: ceil(K / 4).</summary>
    public int KQuads => (K + 3) / 4;
    /// <summary>Σ_k B[n, k] for each n, used to remove an activation zero point: Σ(a − z)·b = Σ a·b − z·Σ b.</summary>
    public int[] ColumnSums { get; }
    /// <summary>The largest |b[2i]| + |b[2i+1]| over adjacent k pairs: vpmaddubsw is exact when max(a)·this ≤ 32767.</summary>
    public int MaxPairAbsSum { get; }

    /// <summary>w[n, k] of the (N × K) weight these were packed from.</summary>
    internal sbyte At(int n, int k) => Data[n / 16 * KQuads * 64 + k / 4 * 64 + n % 16 * 4 + k % 4];

    /// <summary>A convolution weight (N, kh, kw, C) repacked as (N, kh, kw', C) with zero taps for v ≥ kw (Int8Conv's
    /// few-channel path), cached per kw·C → kw'·C; built once on first use.</summary>
    internal PackedInt8Weights WindowPadded(int kh, int kw, int c, int kwPadded)
    {
        var key = (kh, kw, c, kwPadded);
        var entry = windowPadded;
        if (entry != null && entry.Key == key) return entry.Weights;
        int k2 = kh * kwPadded * c;
        var b = new sbyte[N * k2];
        for (int n = 0; n < N; n++)
            for (int u = 0; u < kh; u++)
                for (int v = 0; v < kw; v++)
                    for (int ch = 0; ch < c; ch++)
                        b[n * k2 + (u * kwPadded + v) * c + ch] = At(n, (u * kw + v) * c + ch);
        var packed = Int8Gemm.Pack(b, N, k2);
        windowPadded = new WindowEntry(key, packed);   // a reference write: a racing reader sees the old entry or this one
        return packed;
    }

    sealed record WindowEntry((int, int, int, int) Key, PackedInt8Weights Weights);
    WindowEntry? windowPadded;
}

/// <summary>
/// u8 × s8 → s32 matrix multiply for quantized inference (the role of FBGEMM / oneDNN int8 GEMM behind PyTorch's quantized
/// Linear and Conv): C[m, n] = Σ_k A[m, k]·B[n, k], A row-major M×K bytes (activations), B packed weights.
/// <para>
/// Paths: AVX-VNNI <c>vpdpbusd</c> when <see cref="AvxVnni"/> is supported (.NET 10 exposes no 512-bit VNNI class, so this
/// is the 256-bit form); otherwise the classic <c>vpmaddubsw</c> (u8·s8 → s16 pair sums) + <c>vpmaddwd</c> (by ones → s32)
/// on AVX-512BW or AVX2. <c>vpmaddubsw</c> saturates the pair sum a₀b₀ + a₁b₁ to s16: 255·(128 + 128) overflows. It is
/// exact when activations use 7 bits (reduce_range, max a = 127: 127·256 = 32512) or weights are small enough; the
/// dispatcher checks max(a)·<see cref="PackedInt8Weights.MaxPairAbsSum"/> ≤ 32767 and otherwise takes the s16-widening
/// AVX2 path (both operands widened to s16, then <c>vpmaddwd</c>, which cannot overflow), so Auto is always exact.
/// </para>
/// </summary>
public static unsafe partial class Int8Gemm
{
    /// <summary>The path <see cref="Int8GemmPath.Auto"/> takes for activations whose largest value is <paramref name="maxA"/>.</summary>
    public static Int8GemmPath Select(PackedInt8Weights b, int maxA)
    {
        if (AvxVnni.IsSupported) return Int8GemmPath.AvxVnni;
        bool maddubsExact = (long)maxA * b.MaxPairAbsSum <= short.MaxValue;
        if (maddubsExact && Avx512BW.IsSupported) return Int8GemmPath.Avx512BW;
        if (maddubsExact && Avx2.IsSupported) return Int8GemmPath.Avx2;
        return Avx2.IsSupported ? Int8GemmPath.Avx2Widening : Int8GemmPath.Scalar;
    }

    /// <summary>Whether <paramref name="path"/> can run on this CPU.</summary>
    public static bool IsSupported(Int8GemmPath path) => path switch
    {
        Int8GemmPath.Auto or Int8GemmPath.Scalar => true,
        Int8GemmPath.Avx2 or Int8GemmPath.Avx2Widening => Avx2.IsSupported,
        Int8GemmPath.Avx512BW => Avx512BW.IsSupported,
        Int8GemmPath.AvxVnni => AvxVnni.IsSupported,
        _ => false,
    };

    /// <summary>Packs B (N×K row-major s8) into the kernels' layout, with its column sums and pair bound.</summary>
    public static PackedInt8Weights Pack(ReadOnlySpan<sbyte> b, int n, int k)
    {
        if (n <= 0 || k <= 0) throw new ArgumentException($"Int8Gemm.Pack: N ({n}) and K ({k}) must be positive");
        if (b.Length < (long)n * k) throw new ArgumentException($"Int8Gemm.Pack: B has {b.Length} elements, N×K = {n}×{k} needs {(long)n * k}", nameof(b));
        int blocks = (n + 15) / 16, quads = (k + 3) / 4;
        var data = new sbyte[blocks * quads * 64];
        var sums = new int[n];
        int maxPair = 0;
        for (int j = 0; j < n; j++)
        {
            var row = b.Slice(j * k, k);
            int blockBase = j / 16 * quads * 64 + j % 16 * 4;
            for (int kk = 0; kk < k; kk++)
            {
                data[blockBase + kk / 4 * 64 + kk % 4] = row[kk];
                sums[j] += row[kk];
            }
            for (int kk = 0; kk < k; kk += 2)
                maxPair = Math.Max(maxPair, Math.Abs((int)row[kk]) + (kk + 1 < k ? Math.Abs((int)row[kk + 1]) : 0));
        }
        return new PackedInt8Weights(data, n, k, sums, maxPair);
    }

    /// <summary>Reference: C[m, n] = Σ_k A[m, k]·B[n, k] with B unpacked (N×K row-major).</summary>
    public static void Reference(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> b, Span<int> c, int m, int n, int k)
    {
        CheckSizes(a.Length, c.Length, m, n, k);
        if (b.Length < (long)n * k) throw new ArgumentException($"Int8Gemm.Reference: B has {b.Length} elements, N×K = {n}×{k} needs {(long)n * k}", nameof(b));
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int sum = 0;
                for (int kk = 0; kk < k; kk++) sum += a[i * k + kk] * b[j * k + kk];
                c[i * n + j] = sum;
            }
    }

    /// <summary>
    /// C (M×N int32, row-major) = A (M×K u8, row-major) · Bᵀ with packed B, on <paramref name="path"/> (Auto picks by CPU
    /// and by max(A), see <see cref="Select"/>). Rows are split across <see cref="KernelThreadPool"/>.
    /// </summary>
    public static void Multiply(ReadOnlySpan<byte> a, PackedInt8Weights b, Span<int> c, int m, Int8GemmPath path = Int8GemmPath.Auto)
    {
        CheckSizes(a.Length, c.Length, m, b.N, b.K);
        if (m == 0) return;
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Int8Gemm.Multiply: the {path} path is not supported on this CPU");
        int kPadded = b.KQuads * 4;
        // rows padded to whole quads so a kernel can read 4 bytes at a time
        byte[]? padded = null, groupExact = null;
        if (kPadded != b.K)
        {
            padded = new byte[m * kPadded];
            for (int i = 0; i < m; i++) a.Slice(i * b.K, b.K).CopyTo(padded.AsSpan(i * kPadded));
        }
        try
        {
            if (path == Int8GemmPath.Auto) path = SelectRows(padded ?? a, m, kPadded, b, out groupExact);
            fixed (byte* pa = padded ?? a) fixed (sbyte* pb = b.Data) fixed (int* pc = c) fixed (byte* flags = groupExact)
            {
                var body = new RowBody { A = pa, B = pb, C = pc, M = m, N = b.N, KPadded = kPadded, Quads = b.KQuads, Path = path, GroupExact = flags };
                Run(ref body, true);
            }
        }
        finally
        {
            if (groupExact != null) System.Buffers.ArrayPool<byte>.Shared.Return(groupExact);
        }
    }

    /// <summary>
    /// Auto's choice for A (<paramref name="m"/> rows <paramref name="lda"/> bytes apart, contiguous): the path
    /// <see cref="Select"/> gives for max(A) when that is exact everywhere; otherwise, on a CPU with a vpmaddubsw path,
    /// that path with per-4-row-group flags (<paramref name="groupExact"/>, pooled, the caller returns it) sending only the
    /// groups whose bytes break the bound to Avx2Widening. So a 7-bit activation tensor (reduce_range) with a few outliers
    /// above 127 (the requantized output clamps at 255, not at the observer's 127) stays on the fast path but for the
    /// tiles that hold them, and every tile is exact.
    /// </summary>
    internal static Int8GemmPath SelectRows(ReadOnlySpan<byte> a, int m, int lda, PackedInt8Weights b, out byte[]? groupExact)
    {
        groupExact = null;
        if (AvxVnni.IsSupported) return Int8GemmPath.AvxVnni;
        var whole = Select(b, MaxOf(a[..(m * lda)]));
        var fast = Select(b, 0);
        if (whole != Int8GemmPath.Avx2Widening || fast == Int8GemmPath.Avx2Widening) return whole;
        int groups = (m + RowsPerTile - 1) / RowsPerTile, exact = 0;
        var flags = System.Buffers.ArrayPool<byte>.Shared.Rent(groups);
        for (int g = 0; g < groups; g++)
        {
            int rows = Math.Min(RowsPerTile, m - g * RowsPerTile);
            bool ok = (long)MaxOf(a.Slice(g * RowsPerTile * lda, rows * lda)) * b.MaxPairAbsSum <= short.MaxValue;
            flags[g] = ok ? (byte)1 : (byte)0;
            if (ok) exact++;
        }
        if (exact == 0) { System.Buffers.ArrayPool<byte>.Shared.Return(flags); return whole; }
        groupExact = flags;
        return fast;
    }

    /// <summary>The largest byte of <paramref name="a"/> (0 when empty), vectorised: the activation bound <see cref="Select"/> needs.</summary>
    internal static int MaxOf(ReadOnlySpan<byte> a) => a.IsEmpty ? 0 : System.Numerics.Tensors.TensorPrimitives.Max(a);

    static void CheckSizes(int aLength, int cLength, int m, int n, int k)
    {
        if (m < 0) throw new ArgumentException($"Int8Gemm: M ({m}) must not be negative");
        if (aLength < (long)m * k) throw new ArgumentException($"Int8Gemm: A has {aLength} elements, M×K = {m}×{k} needs {(long)m * k}", "a");
        if (cLength < (long)m * n) throw new ArgumentException($"Int8Gemm: C has {cLength} elements, M×N = {m}×{n} needs {(long)m * n}", "c");
    }
}
