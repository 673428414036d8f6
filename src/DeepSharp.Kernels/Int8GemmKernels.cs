using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// Int8 GEMM micro-kernels: each computes a 4-row × 16-output tile of int32 sums over the packed layout
// [block][quad][16 outputs][4 k] (Int8Gemm.cs). A rows are read 4 bytes (one k-quad) at a time and broadcast.
public static unsafe partial class Int8Gemm
{
    internal const int RowsPerTile = 4;

    /// <summary>Runs a GEMM body on this thread or across the pool, choosing the task order: by 16-output block when A
    /// (M·K bytes) is small enough to stay in L2 and B is the larger operand, by row group otherwise.</summary>
    static void Run(ref RowBody body, bool parallel)
    {
        long aBytes = (long)body.M * body.KPadded, bBytes = (long)((body.N + 15) / 16) * body.Quads * 64;
        body.ByColumn = aBytes <= 192 * 1024 && bBytes > aBytes;
        int tasks = body.Tasks;
        if (!parallel || (long)body.M * body.N * body.KPadded < 1 << 18) for (int t = 0; t < tasks; t++) body.Invoke(t);
        else KernelThreadPool.ParallelFor(tasks, ref body);
    }

    struct RowBody : IParallelBody
    {
        public byte* A; public sbyte* B; public int* C;
        public int M, N, KPadded, Quads;
        public Int8GemmPath Path;
        // Auto on a CPU without VNNI, when some rows of A exceed the vpmaddubsw bound: one flag per 4-row group, 1 where
        // the group's bytes keep Path (a vpmaddubsw path) exact, 0 where the group takes Avx2Widening; null = Path everywhere
        public byte* GroupExact;
        // requantizing epilogue (MultiplyRequantize): Out is non-null, C is unused
        public byte* Out; public int* Sums; public float* Scale; public float* Bias; public float Inv; public int Zx, Zp, Lo;
        // dequantizing epilogue (MultiplyDequantize): OutF is non-null, Scale holds weight scales, Inv the activation scale,
        // AddF an optional M×N float addend
        public float* OutF; public float* AddF;

        // task order: false = a task is a group of 4 rows against every 16-output block (B streamed once per row group);
        // true = a task is one 16-output block against every row group (the block, K×16 bytes, stays in L1 while A, small,
        // is re-read from L2: the better order when M is small and B large, e.g. a batch-64 Linear or a recurrent step)
        public bool ByColumn;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int task)
        {
            int* tile = stackalloc int[RowsPerTile * 16];
            if (ByColumn)
            {
                int groups = (M + RowsPerTile - 1) / RowsPerTile;
                for (int g = 0; g < groups; g++) TileAt(g, task, tile);
            }
            else
            {
                int blocks = (N + 15) / 16;
                for (int jb = 0; jb < blocks; jb++) TileAt(task, jb, tile);
            }
        }

        /// <summary>Number of tasks for <see cref="Invoke"/> in the chosen order.</summary>
        public readonly int Tasks => ByColumn ? (N + 15) / 16 : (M + RowsPerTile - 1) / RowsPerTile;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        void TileAt(int group, int jb, int* tile)
        {
            int r0 = group * RowsPerTile, rows = Math.Min(RowsPerTile, M - r0);
            // missing rows of the last tile reuse row r0; their sums are computed and dropped
            byte* a0 = A + (long)r0 * KPadded;
            byte* a1 = rows > 1 ? a0 + KPadded : a0, a2 = rows > 2 ? a0 + 2L * KPadded : a0, a3 = rows > 3 ? a0 + 3L * KPadded : a0;
            {
                sbyte* b = B + (long)jb * Quads * 64;
                TileSums(GroupExact == null || GroupExact[group] != 0 ? Path : Int8GemmPath.Avx2Widening, a0, a1, a2, a3, b, Quads, tile);
                int cols = Math.Min(16, N - jb * 16);
                if (OutF != null)
                {
                    for (int r = 0; r < rows; r++)
                    {
                        long at = (long)(r0 + r) * N + jb * 16;
                        DequantizeRow(tile + r * 16, OutF + at, AddF == null ? null : AddF + at, cols, Sums + jb * 16, Scale + jb * 16,
                            Bias == null ? null : Bias + jb * 16, Inv, Zx);
                    }
                    return;
                }
                if (Out != null)
                {
                    RequantizeTile(tile, rows, Out + (long)r0 * N + jb * 16, N, cols, Sums + jb * 16, Scale + jb * 16, Bias + jb * 16, Inv, Zx, Zp, Lo);
                    return;
                }
                for (int r = 0; r < rows; r++)
                    new ReadOnlySpan<int>(tile + r * 16, cols).CopyTo(new Span<int>(C + (long)(r0 + r) * N + jb * 16, cols));
            }
        }
    }

    /// <summary>The int32 sums of one 4-row × 16-output tile on <paramref name="path"/> (rows a0..a3, block b).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TileSums(Int8GemmPath path, byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile)
    {
        switch (path)
        {
            case Int8GemmPath.AvxVnni: TileVnni(a0, a1, a2, a3, b, quads, tile); break;
            case Int8GemmPath.Avx512BW: TileAvx512(a0, a1, a2, a3, b, quads, tile); break;
            case Int8GemmPath.Avx2: TileAvx2(a0, a1, a2, a3, b, quads, tile); break;
            case Int8GemmPath.Avx2Widening:
                RowWidening(a0, b, quads, tile); RowWidening(a1, b, quads, tile + 16);
                RowWidening(a2, b, quads, tile + 32); RowWidening(a3, b, quads, tile + 48); break;
            default: TileScalar(a0, a1, a2, a3, b, quads, tile); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileScalar(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile)
    {
        byte** rows = stackalloc byte*[] { a0, a1, a2, a3 };
        for (int r = 0; r < RowsPerTile; r++)
            for (int j = 0; j < 16; j++)
            {
                int sum = 0;
                for (int q = 0; q < quads; q++)
                    for (int t = 0; t < 4; t++) sum += rows[r][q * 4 + t] * b[q * 64 + j * 4 + t];
                tile[r * 16 + j] = sum;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<byte> Quad256(byte* row, int q) => Vector256.Create(*(int*)(row + q * 4)).AsByte();

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileVnni(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int q = 0; q < quads; q++, b += 64)
        {
            var b0 = Avx.LoadVector256(b); var b1 = Avx.LoadVector256(b + 32);
            var x = Quad256(a0, q); c00 = AvxVnni.MultiplyWideningAndAdd(c00, x, b0); c01 = AvxVnni.MultiplyWideningAndAdd(c01, x, b1);
            x = Quad256(a1, q); c10 = AvxVnni.MultiplyWideningAndAdd(c10, x, b0); c11 = AvxVnni.MultiplyWideningAndAdd(c11, x, b1);
            x = Quad256(a2, q); c20 = AvxVnni.MultiplyWideningAndAdd(c20, x, b0); c21 = AvxVnni.MultiplyWideningAndAdd(c21, x, b1);
            x = Quad256(a3, q); c30 = AvxVnni.MultiplyWideningAndAdd(c30, x, b0); c31 = AvxVnni.MultiplyWideningAndAdd(c31, x, b1);
        }
        Store8(tile, c00, c01, c10, c11, c20, c21, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Madd(Vector256<byte> a, Vector256<sbyte> b) =>
        Avx2.MultiplyAddAdjacent(Avx2.MultiplyAddAdjacent(a, b), Vector256.Create((short)1));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileAvx2(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile)
    {
        Vector256<int> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        for (int q = 0; q < quads; q++, b += 64)
        {
            var b0 = Avx.LoadVector256(b); var b1 = Avx.LoadVector256(b + 32);
            var x = Quad256(a0, q); c00 = Avx2.Add(c00, Madd(x, b0)); c01 = Avx2.Add(c01, Madd(x, b1));
            x = Quad256(a1, q); c10 = Avx2.Add(c10, Madd(x, b0)); c11 = Avx2.Add(c11, Madd(x, b1));
            x = Quad256(a2, q); c20 = Avx2.Add(c20, Madd(x, b0)); c21 = Avx2.Add(c21, Madd(x, b1));
            x = Quad256(a3, q); c30 = Avx2.Add(c30, Madd(x, b0)); c31 = Avx2.Add(c31, Madd(x, b1));
        }
        Store8(tile, c00, c01, c10, c11, c20, c21, c30, c31);
    }

    /// <summary>The tile sums of <paramref name="path"/> added to <paramref name="tile"/> (<c>tile += A·Bᵀ</c> over these quads):
    /// the AVX-512BW kernel starts from the tile's values, the other paths sum into <paramref name="scratch"/> and add.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void TileSumsAdd(Int8GemmPath path, byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile, int* scratch)
    {
        if (path == Int8GemmPath.Avx512BW) { TileAvx512(a0, a1, a2, a3, b, quads, tile, true); return; }
        TileSums(path, a0, a1, a2, a3, b, quads, scratch);
        for (int t = 0; t < RowsPerTile * 16; t += 8)
            (Vector256.Load(tile + t) + Vector256.Load(scratch + t)).Store(tile + t);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileAvx512(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads, int* tile, bool accumulate = false)
    {
        Vector512<int> c0 = default, c1 = default, c2 = default, c3 = default;
        if (accumulate) { c0 = Vector512.Load(tile); c1 = Vector512.Load(tile + 16); c2 = Vector512.Load(tile + 32); c3 = Vector512.Load(tile + 48); }
        var ones = Vector512.Create((short)1);
        for (int q = 0; q < quads; q++, b += 64)
        {
            var bv = Avx512F.LoadVector512(b);
            c0 = Avx512F.Add(c0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a0 + q * 4)).AsByte(), bv), ones));
            c1 = Avx512F.Add(c1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a1 + q * 4)).AsByte(), bv), ones));
            c2 = Avx512F.Add(c2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a2 + q * 4)).AsByte(), bv), ones));
            c3 = Avx512F.Add(c3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a3 + q * 4)).AsByte(), bv), ones));
        }
        c0.Store(tile); c1.Store(tile + 16); c2.Store(tile + 32); c3.Store(tile + 48);
    }

    /// <summary>
    /// One row against a 16-output block with both operands widened to s16 (vpmovzxbw / vpmovsxbw) and multiplied by
    /// vpmaddwd, which sums s16·s16 pairs into s32 exactly. Each product vector holds 4 outputs × (k01, k23) partial sums;
    /// a final vphaddd + permute folds the pairs into 8 outputs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RowWidening(byte* a, sbyte* b, int quads, int* outRow)
    {
        Vector256<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int q = 0; q < quads; q++, b += 64)
        {
            var aw = Avx2.ConvertToVector256Int16(Vector128.Create(*(int*)(a + q * 4)).AsByte());   // a0..a3 repeated, as s16
            s0 = Avx2.Add(s0, Avx2.MultiplyAddAdjacent(aw, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b))));
            s1 = Avx2.Add(s1, Avx2.MultiplyAddAdjacent(aw, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b + 16))));
            s2 = Avx2.Add(s2, Avx2.MultiplyAddAdjacent(aw, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b + 32))));
            s3 = Avx2.Add(s3, Avx2.MultiplyAddAdjacent(aw, Avx2.ConvertToVector256Int16(Sse2.LoadVector128(b + 48))));
        }
        var order = Vector256.Create(0, 1, 4, 5, 2, 3, 6, 7);
        Avx2.PermuteVar8x32(Avx2.HorizontalAdd(s0, s1), order).Store(outRow);
        Avx2.PermuteVar8x32(Avx2.HorizontalAdd(s2, s3), order).Store(outRow + 8);
    }

    static void Store8(int* tile, Vector256<int> c00, Vector256<int> c01, Vector256<int> c10, Vector256<int> c11,
        Vector256<int> c20, Vector256<int> c21, Vector256<int> c30, Vector256<int> c31)
    {
        c00.Store(tile); c01.Store(tile + 8); c10.Store(tile + 16); c11.Store(tile + 24);
        c20.Store(tile + 32); c21.Store(tile + 40); c30.Store(tile + 48); c31.Store(tile + 56);
    }
}
