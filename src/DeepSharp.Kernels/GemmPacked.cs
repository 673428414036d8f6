using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// One register-blocked micro-kernel and the cache blocking that goes with it.
/// Mr×Nr is the register tile; Kc rows of a packed B panel (Kc×Nr) stay in L1, an Mc×Kc packed A block in L2,
/// and the Kc×Nc packed B block in L3.
/// </summary>
internal readonly unsafe struct GemmKernel<T> where T : unmanaged
{
    public readonly delegate*<T*, T*, T*, nint, int, T, T, void> Run;
    public readonly int Mr, Nr, Mc, Kc, Nc;

    public GemmKernel(delegate*<T*, T*, T*, nint, int, T, T, void> run, int mr, int nr, int mc, int kc, int nc)
    {
        Run = run; Mr = mr; Nr = nr; Mc = mc; Kc = kc; Nc = nc;
    }
}

/// <summary>
/// The blocked GEMM driver (Goto/BLIS loop order): for each Nc-wide column block of C and each Kc-deep slice of k,
/// B is packed once into Nr-wide panels shared by all threads; then tasks (a block of Mc rows × a range of B panels)
/// each pack their rows of A into Mr-tall panels in a thread-local buffer and sweep the micro-kernel over the tile.
/// Transposed operands are absorbed by the packing routines. Every element of C is written by one task, and its
/// k-order (Kc slices in order, then p in order inside the micro-kernel) does not depend on the thread count, so
/// results are bitwise identical for any number of threads.
/// </summary>
internal static unsafe partial class GemmPacked
{
    /// <summary>Runs the blocked GEMM on pinned pointers. Sizes are already checked; m, n, k are positive.</summary>
    public static void Run<T>(in GemmKernel<T> kernel, bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc)
        where T : unmanaged, INumber<T>
    {
        // Below ~128³ multiply-adds the fork/joins cost more than a second thread saves.
        int threads = (long)m * n * k < ParallelThreshold ? 1 : KernelThreadPool.ThreadCount;
        int kcMax = Math.Min(kernel.Kc, k);
        int ncMax = Math.Min(kernel.Nc, RoundUp(n, kernel.Nr));
        T* bPacked = GemmBuffers<T>.B(kcMax * ncMax);

        // Rows per A block: at most Mc, a multiple of Mr (so tile edges do not depend on the thread count),
        // and an even share of m across the blocks.
        int mBlocks = CeilDiv(m, kernel.Mc);
        int mc = RoundUp(CeilDiv(m, mBlocks), kernel.Mr);
        mBlocks = CeilDiv(m, mc);

        var job = new Job<T>
        {
            Kernel = kernel, TransA = transA, TransB = transB, M = m, Alpha = alpha, Beta = beta,
            A = a, Lda = lda, B = b, Ldb = ldb, C = c, Ldc = ldc, BPacked = bPacked, Mc = mc, MBlocks = mBlocks,
            APanelStride = (nint)RoundUp(mc, kernel.Mr) * kcMax,
        };
        for (int jc = 0; jc < n; jc += kernel.Nc)
        {
            int nc = Math.Min(kernel.Nc, n - jc);
            int nPanels = CeilDiv(nc, kernel.Nr);
            // About 8 tasks per thread, so the dynamic schedule absorbs a thread slowed down by other processes;
            // the B panels are split only when there are too few row blocks (A is then packed once per split).
            int nSplits = threads == 1 ? 1 : Math.Clamp(CeilDiv(8 * threads, mBlocks), 1, nPanels);
            for (int pc = 0; pc < k; pc += kernel.Kc)
            {
                int kc = Math.Min(kernel.Kc, k - pc);
                job.Jc = jc; job.Nc = nc; job.Pc = pc; job.Kc = kc; job.NPanels = nPanels; job.NSplits = nSplits;
                job.BetaNow = pc == 0 ? beta : T.One;

                var pack = new PackBBody<T> { Job = &job, Chunks = Math.Min(nPanels, 4 * threads) };
                For(pack.Chunks, ref pack, threads);
                // When the B panels are split, several tasks read the same rows of A: pack them once, shared, instead of
                // once per task (with few row blocks and a long k, repacking cost as much as the multiply-adds).
                job.APacked = null;
                if (nSplits > 1)
                {
                    job.APacked = GemmBuffers<T>.AShared(checked((int)(job.APanelStride * mBlocks)));
                    var packA = new PackABody<T> { Job = &job };
                    For(mBlocks, ref packA, threads);
                }
                var compute = new ComputeBody<T> { Job = &job };
                For(mBlocks * nSplits, ref compute, threads);
            }
        }
    }

    struct Job<T> where T : unmanaged
    {
        public GemmKernel<T> Kernel;
        public bool TransA, TransB;
        public int M, Mc, MBlocks, Jc, Nc, Pc, Kc, NPanels, NSplits;
        public T Alpha, Beta, BetaNow;
        public T* A, B, C, BPacked;
        public T* APacked;          // all row blocks of op(A) packed for this k-slice (null: each task packs its own)
        public nint APanelStride;   // elements between consecutive row blocks in APacked
        public nint Lda, Ldb, Ldc;
    }

    struct PackABody<T> : IParallelBody where T : unmanaged
    {
        public Job<T>* Job;

        public void Invoke(int block)
        {
            ref var j = ref *Job;
            int i0 = block * j.Mc;
            PackA(ref j, i0, Math.Min(j.Mc, j.M - i0), j.APacked + block * j.APanelStride);
        }
    }

    struct PackBBody<T> : IParallelBody where T : unmanaged
    {
        public Job<T>* Job;
        public int Chunks;

        public void Invoke(int index)
        {
            ref var j = ref *Job;
            int p0 = (int)((long)j.NPanels * index / Chunks), p1 = (int)((long)j.NPanels * (index + 1) / Chunks);
            int nr = j.Kernel.Nr;
            for (int panel = p0; panel < p1; panel++)
            {
                int col = panel * nr;
                T* dst = j.BPacked + (nint)panel * nr * j.Kc;
                int width = Math.Min(nr, j.Nc - col);
                if (j.TransB) GemmPacking.PackRowsAsPanel(j.B + (nint)(j.Jc + col) * j.Ldb + j.Pc, j.Ldb, width, j.Kc, nr, dst);
                else GemmPacking.PackColumnsAsPanel(j.B + (nint)j.Pc * j.Ldb + j.Jc + col, j.Ldb, width, j.Kc, nr, dst);
            }
        }
    }

    struct ComputeBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public Job<T>* Job;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int index)
        {
            ref var j = ref *Job;
            int mr = j.Kernel.Mr, kc = j.Kc;
            int block = index / j.NSplits, split = index % j.NSplits;
            int i0 = block * j.Mc;
            int mc = Math.Min(j.Mc, j.M - i0);
            int panel0 = (int)((long)j.NPanels * split / j.NSplits), panel1 = (int)((long)j.NPanels * (split + 1) / j.NSplits);

            // Rows [i0, i0+mc) × k-slice [Pc, Pc+kc) of op(A) in Mr-tall panels: shared, or packed here.
            T* aPacked;
            if (j.APacked != null) aPacked = j.APacked + block * j.APanelStride;
            else
            {
                aPacked = GemmBuffers<T>.A(RoundUp(mc, mr) * kc);
                PackA(ref j, i0, mc, aPacked);
            }

            Sweep(ref j, aPacked, i0, mc, panel0, panel1);
        }
    }

    /// <summary>
    /// The micro-kernel over rows [i0, i0+rows) of C (packed in <paramref name="aPacked"/>) × B panels [panel0, panel1)
    /// of the current k-slice. Edge tiles are computed in full into a stack tile and the valid part merged, so the
    /// micro-kernels have no edge logic.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Sweep<T>(ref Job<T> j, T* aPacked, int i0, int rows, int panel0, int panel1) where T : unmanaged, INumber<T>
    {
        int mr = j.Kernel.Mr, nr = j.Kernel.Nr, kc = j.Kc;
        var run = j.Kernel.Run;
        T alpha = j.Alpha, beta = j.BetaNow;
        nint ldc = j.Ldc;
        T* edge = stackalloc T[mr * nr];
        for (int panel = panel0; panel < panel1; panel++)
        {
            int col = panel * nr;
            int width = Math.Min(nr, j.Nc - col);
            T* bp = j.BPacked + (nint)col * kc;
            T* cCol = j.C + (nint)i0 * ldc + j.Jc + col;
            for (int ir = 0; ir < rows; ir += mr)
            {
                int height = Math.Min(mr, rows - ir);
                T* cTile = cCol + ir * ldc;
                if (height == mr && width == nr)
                {
                    run(aPacked + (nint)ir * kc, bp, cTile, ldc, kc, alpha, beta);
                    continue;
                }
                run(aPacked + (nint)ir * kc, bp, edge, nr, kc, alpha, T.Zero);
                for (int r = 0; r < height; r++)
                {
                    T* dst = cTile + r * ldc;
                    T* src = edge + r * nr;
                    if (beta == T.Zero) for (int s = 0; s < width; s++) dst[s] = src[s];
                    else for (int s = 0; s < width; s++) dst[s] = src[s] + beta * dst[s];
                }
            }
        }
    }

    /// <summary>Multiply-adds from which the packed path uses more than one thread.</summary>
    internal const long ParallelThreshold = 128L * 128 * 128;

    static void For<TBody>(int count, ref TBody body, int threads) where TBody : struct, IParallelBody
    {
        if (threads == 1) for (int i = 0; i < count; i++) body.Invoke(i);
        else KernelThreadPool.ParallelFor(count, ref body);
    }

    internal static int CeilDiv(int x, int y) => (x + y - 1) / y;

    internal static int RoundUp(int x, int multiple) => CeilDiv(x, multiple) * multiple;
}

/// <summary>Packing of A and B slices into micro-kernel panels, with zero padding up to the panel width.</summary>
internal static unsafe class GemmPacking
{
    /// <summary>
    /// Panel from `count` rows of a matrix, each row read along p (k direction):
    /// dst[p*width + r] = src[r*ld + p] for r &lt; count, zero for count ≤ r &lt; width.
    /// Used for A (not transposed) and for B transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackRowsAsPanel<T>(T* src, nint ld, int count, int kc, int width, T* dst) where T : unmanaged
    {
        if (typeof(T) == typeof(float) && Avx.IsSupported && width % 8 == 0 && count == width && kc >= 8)
        {
            PackRowsAsPanelFloat8((float*)src, ld, kc, width, (float*)dst);
            return;
        }
        if (count < width)
            for (int p = 0; p < kc; p++)
                for (int r = count; r < width; r++) dst[p * width + r] = default;
        int r0 = 0;
        // Four rows at a time: four read streams, each written with stride `width`.
        for (; r0 + 4 <= count; r0 += 4)
        {
            T* s0 = src + r0 * ld, s1 = s0 + ld, s2 = s1 + ld, s3 = s2 + ld;
            T* d = dst + r0;
            for (int p = 0; p < kc; p++, d += width)
            {
                d[0] = s0[p]; d[1] = s1[p]; d[2] = s2[p]; d[3] = s3[p];
            }
        }
        for (; r0 < count; r0++)
        {
            T* s = src + r0 * ld;
            T* d = dst + r0;
            for (int p = 0; p < kc; p++, d += width) *d = s[p];
        }
    }

    /// <summary>
    /// <see cref="PackRowsAsPanel"/> for float panels a multiple of 8 rows tall with every row present: each 8 × 8 block
    /// (8 rows, 8 steps of k) is loaded as 8 vectors, transposed in registers and stored as 8 vectors, instead of 64
    /// scalar gathers. The k tail (kc mod 8) is copied element by element.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void PackRowsAsPanelFloat8(float* src, nint ld, int kc, int width, float* dst)
    {
        int kMain = kc & ~7;
        for (int r0 = 0; r0 < width; r0 += 8)
        {
            float* s = src + r0 * ld;
            float* d = dst + r0;
            for (int p = 0; p < kMain; p += 8)
            {
                var r0v = Avx.LoadVector256(s + p);
                var r1v = Avx.LoadVector256(s + ld + p);
                var r2v = Avx.LoadVector256(s + 2 * ld + p);
                var r3v = Avx.LoadVector256(s + 3 * ld + p);
                var r4v = Avx.LoadVector256(s + 4 * ld + p);
                var r5v = Avx.LoadVector256(s + 5 * ld + p);
                var r6v = Avx.LoadVector256(s + 6 * ld + p);
                var r7v = Avx.LoadVector256(s + 7 * ld + p);
                // 8 × 8 transpose: interleave pairs of rows, then pairs of pairs, then swap 128-bit halves.
                var t0 = Avx.UnpackLow(r0v, r1v); var t1 = Avx.UnpackHigh(r0v, r1v);
                var t2 = Avx.UnpackLow(r2v, r3v); var t3 = Avx.UnpackHigh(r2v, r3v);
                var t4 = Avx.UnpackLow(r4v, r5v); var t5 = Avx.UnpackHigh(r4v, r5v);
                var t6 = Avx.UnpackLow(r6v, r7v); var t7 = Avx.UnpackHigh(r6v, r7v);
                var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
                var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
                float* o = d + (nint)p * width;
                Avx.Store(o, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(o + width, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(o + 2 * width, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(o + 3 * width, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(o + 4 * width, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(o + 5 * width, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(o + 6 * width, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(o + 7 * width, Avx.Permute2x128(u3, u7, 0x31));
            }
            for (int p = kMain; p < kc; p++)
                for (int r = 0; r < 8; r++) d[(nint)p * width + r] = s[r * ld + p];
        }
    }

    /// <summary>
    /// Panel from `count` consecutive columns, read one row (k step) at a time:
    /// dst[p*width + s] = src[p*ld + s] for s &lt; count, zero for count ≤ s &lt; width.
    /// Used for B (not transposed) and for A transposed.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackColumnsAsPanel<T>(T* src, nint ld, int count, int kc, int width, T* dst) where T : unmanaged
    {
        nint bytes = (nint)width * sizeof(T);
        if (count == width && bytes == 32)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += width) Vector256.Load((byte*)src).Store((byte*)dst);
            return;
        }
        if (count == width && bytes == 64)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += width)
            {
                var lo = Vector256.Load((byte*)src);
                var hi = Vector256.Load((byte*)src + 32);
                lo.Store((byte*)dst);
                hi.Store((byte*)dst + 32);
            }
            return;
        }
        if (count == width && bytes == 128)
        {
            for (int p = 0; p < kc; p++, src += ld, dst += width)
            {
                var v0 = Vector256.Load((byte*)src);
                var v1 = Vector256.Load((byte*)src + 32);
                var v2 = Vector256.Load((byte*)src + 64);
                var v3 = Vector256.Load((byte*)src + 96);
                v0.Store((byte*)dst); v1.Store((byte*)dst + 32); v2.Store((byte*)dst + 64); v3.Store((byte*)dst + 96);
            }
            return;
        }
        for (int p = 0; p < kc; p++, src += ld, dst += width)
        {
            int s = 0;
            for (; s < count; s++) dst[s] = src[s];
            for (; s < width; s++) dst[s] = default;
        }
    }
}

/// <summary>
/// Per-thread packing buffers, pinned and 64-byte aligned, grown on demand and then reused, so a steady
/// stream of GEMM calls allocates nothing (the buffers exceed 85 KB and would otherwise churn the LOH).
/// </summary>
internal static unsafe class GemmBuffers<T> where T : unmanaged
{
    [ThreadStatic] static T[]? aArray;
    [ThreadStatic] static T* aPointer;
    [ThreadStatic] static T[]? aSharedArray;
    [ThreadStatic] static T* aSharedPointer;
    [ThreadStatic] static T[]? bArray;
    [ThreadStatic] static T* bPointer;
    [ThreadStatic] static T[]? scratchArray;
    [ThreadStatic] static T* scratchPointer;

    /// <summary>Buffer for packed A on the current thread (each worker packs its own rows).</summary>
    public static T* A(int length) => Get(ref aArray, ref aPointer, length);

    /// <summary>Buffer for packed B, owned by the calling thread and shared with the workers during a call.</summary>
    public static T* B(int length) => Get(ref bArray, ref bPointer, length);

    /// <summary>Buffer for all of A's packed row blocks of one k-slice, owned by the calling thread and shared with the workers.</summary>
    public static T* AShared(int length) => Get(ref aSharedArray, ref aSharedPointer, length);

    /// <summary>Small general-purpose scratch (e.g. a strided vector gathered to contiguous memory).</summary>
    public static T* Scratch(int length) => Get(ref scratchArray, ref scratchPointer, length);

    static T* Get(ref T[]? array, ref T* pointer, int length)
    {
        int pad = 64 / sizeof(T);
        if (array == null || array.Length < length + pad)
        {
            array = GC.AllocateUninitializedArray<T>(length + pad, pinned: true);
            var start = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
            pointer = (T*)(((nint)start + 63) & ~(nint)63);
        }
        return pointer;
    }
}
