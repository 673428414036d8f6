using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// A B operand packed once into the GEMM's micro-kernel panels, for many products with the same B and changing A
/// (MKL's cblas_sgemm_pack / cblas_sgemm_compute; what oneDNN does for an RNN's recurrent weights). Made by
/// <see cref="Gemm.PackB{T}"/> and used by <see cref="Gemm.ComputePacked{T}"/>; the recurrent layers pack W_hh once per
/// sequence instead of once per time step. The panels live in a pinned, 64-byte aligned buffer from a small pool;
/// <see cref="Dispose"/> gives it back (without Dispose the GC reclaims it).
/// </summary>
public sealed unsafe class GemmPackedB<T> : IDisposable where T : unmanaged, INumber<T>
{
    static readonly ConcurrentBag<T[]> pool = new();
    const int PoolLimit = 8;

    T[]? array;
    internal readonly T* Data;
    internal readonly GemmKernel<T> Kernel;

    /// <summary>Rows of op(B) (the k dimension of the products).</summary>
    public int K { get; }
    /// <summary>Columns of op(B) (the n dimension of the products).</summary>
    public int N { get; }

    internal GemmPackedB(GemmKernel<T> kernel, int k, int n)
    {
        Kernel = kernel; K = k; N = n;
        int length = Size(kernel, k, n) + 64 / sizeof(T);
        array = null;
        while (pool.TryTake(out var candidate))
        {
            if (candidate.Length >= length && candidate.Length <= 2 * length) { array = candidate; break; }
        }
        array ??= GC.AllocateUninitializedArray<T>(length, pinned: true);
        var start = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        Data = (T*)(((nint)start + 63) & ~(nint)63);
    }

    /// <summary>Elements of the packed layout: every Nc-wide column block is k × (block width rounded up to Nr).</summary>
    internal static int Size(in GemmKernel<T> kernel, int k, int n)
    {
        long total = 0;
        for (int jc = 0; jc < n; jc += kernel.Nc) total += (long)GemmPacked.RoundUp(Math.Min(kernel.Nc, n - jc), kernel.Nr) * k;
        if (total > int.MaxValue / 2) throw new ArgumentException($"Gemm.PackB: a {k}x{n} operand is too large to pack");
        return (int)total;
    }

    /// <summary>Start of the packed block for columns [jc, jc + Nc) and k-slice [pc, pc + Kc).</summary>
    internal T* Block(int jc, int pc, int ncRounded) => Data + (nint)jc * K + (nint)pc * ncRounded;

    internal void CheckAlive()
    {
        if (array == null) throw new ObjectDisposedException(nameof(GemmPackedB<T>));
    }

    /// <summary>Returns the buffer to the pool; the operand cannot be used afterwards.</summary>
    public void Dispose()
    {
        var a = array;
        array = null;
        if (a != null && pool.Count < PoolLimit) pool.Add(a);
    }
}

public static unsafe partial class Gemm
{
    /// <summary>
    /// Packs op(B) (k×n; B stored n×k when <paramref name="transB"/>) for repeated products
    /// (MKL cblas_sgemm_pack). The values are copied, so B may change afterwards without affecting the packed operand.
    /// </summary>
    public static GemmPackedB<T> PackB<T>(bool transB, int k, int n, ReadOnlySpan<T> b, int ldb) where T : unmanaged, INumber<T>
    {
        if (k <= 0 || n <= 0) throw new ArgumentException($"Gemm.PackB: sizes must be positive, got k={k} n={n}");
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (ldb < bCols || b.Length < (long)(bRows - 1) * ldb + bCols)
            throw new ArgumentException($"Gemm.PackB: B span of length {b.Length} with ldb={ldb} is too small for {bRows}x{bCols}", nameof(b));
        var path = ForcedPath == GemmPath.Auto ? DetectedPath : ForcedPath;
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Gemm: the {path} micro-kernels need instructions this CPU lacks");
        var kernel = KernelFor<T>(path);
        var packed = new GemmPackedB<T>(kernel, k, n);
        fixed (T* pb = &MemoryMarshal.GetReference(b))
        {
            for (int jc = 0; jc < n; jc += kernel.Nc)
            {
                int nc = Math.Min(kernel.Nc, n - jc), ncRounded = GemmPacked.RoundUp(nc, kernel.Nr);
                for (int pc = 0; pc < k; pc += kernel.Kc)
                {
                    int kc = Math.Min(kernel.Kc, k - pc);
                    T* block = packed.Block(jc, pc, ncRounded);
                    for (int col = 0; col < nc; col += kernel.Nr)
                    {
                        int width = Math.Min(kernel.Nr, nc - col);
                        T* dst = block + (nint)col * kc;
                        if (transB) GemmPacking.PackRowsAsPanel(pb + (nint)(jc + col) * ldb + pc, ldb, width, kc, kernel.Nr, dst);
                        else GemmPacking.PackColumnsAsPanel(pb + (nint)pc * ldb + jc + col, ldb, width, kc, kernel.Nr, dst);
                    }
                }
            }
        }
        return packed;
    }

    /// <summary>
    /// C = alpha · op(A) · B + beta · C with B packed by <see cref="PackB{T}"/> (MKL cblas_sgemm_compute): A is m×k after op,
    /// C is m×n with n, k those of the packed operand. Same blocking, micro-kernels and summation order as the packed path
    /// of <see cref="Sgemm"/>, so the result is bitwise identical for any thread count.
    /// </summary>
    public static void ComputePacked<T>(bool transA, int m, T alpha, ReadOnlySpan<T> a, int lda, GemmPackedB<T> b, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(b);
        b.CheckAlive();
        int n = b.N, k = b.K;
        if (m < 0) throw new ArgumentException($"Gemm.ComputePacked: negative size m={m}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        if (m > 0 && (lda < aCols || a.Length < (long)(aRows - 1) * lda + aCols))
            throw new ArgumentException($"Gemm.ComputePacked: A span of length {a.Length} with lda={lda} is too small for {aRows}x{aCols}", nameof(a));
        if (m > 0 && (ldc < n || c.Length < (long)(m - 1) * ldc + n))
            throw new ArgumentException($"Gemm.ComputePacked: C span of length {c.Length} with ldc={ldc} is too small for {m}x{n}", nameof(c));
        if (m == 0) return;
        fixed (T* pa = &MemoryMarshal.GetReference(a))
        fixed (T* pc = &MemoryMarshal.GetReference(c))
            GemmPacked.RunPrepacked(b, transA, m, alpha, pa, lda, beta, pc, ldc);
    }
}

internal static unsafe partial class GemmPacked
{
    /// <summary>
    /// <see cref="Run{T}"/> with B already packed: the same loops without the B packing. When all of op(A) fits one row
    /// block (the small-m products of a recurrent step), it is packed once per k-slice and shared by the tasks, which
    /// then split only the columns.
    /// </summary>
    public static void RunPrepacked<T>(GemmPackedB<T> packed, bool transA, int m, T alpha, T* a, nint lda, T beta, T* c, nint ldc)
        where T : unmanaged, INumber<T>
    {
        var kernel = packed.Kernel;
        int n = packed.N, k = packed.K;
        int threads = (long)m * n * k < ParallelThreshold ? 1 : KernelThreadPool.ThreadCount;
        int mBlocks = CeilDiv(m, kernel.Mc);
        int mc = RoundUp(CeilDiv(m, mBlocks), kernel.Mr);
        mBlocks = CeilDiv(m, mc);
        bool sharedA = mBlocks == 1 && threads > 1;
        T* aShared = sharedA ? GemmBuffers<T>.Scratch(mc * Math.Min(kernel.Kc, k)) : null;
        var job = new Job<T>
        {
            Kernel = kernel, TransA = transA, TransB = false, M = m, Alpha = alpha, Beta = beta,
            A = a, Lda = lda, B = null, Ldb = 0, C = c, Ldc = ldc, Mc = mc, MBlocks = mBlocks,
        };
        for (int jc = 0; jc < n; jc += kernel.Nc)
        {
            int nc = Math.Min(kernel.Nc, n - jc);
            int nPanels = CeilDiv(nc, kernel.Nr);
            int nSplits = threads == 1 ? 1 : Math.Clamp(CeilDiv(8 * threads, mBlocks), 1, nPanels);
            for (int pc = 0; pc < k; pc += kernel.Kc)
            {
                int kc = Math.Min(kernel.Kc, k - pc);
                job.Jc = jc; job.Nc = nc; job.Pc = pc; job.Kc = kc; job.NPanels = nPanels; job.NSplits = nSplits;
                job.BetaNow = pc == 0 ? beta : T.One;
                job.BPacked = packed.Block(jc, pc, nPanels * kernel.Nr);
                if (sharedA)
                {
                    PackA(ref job, 0, m, aShared);
                    var body = new SharedABody<T> { Job = &job, APacked = aShared };
                    For(nSplits, ref body, threads);
                }
                else
                {
                    var compute = new ComputeBody<T> { Job = &job };
                    For(mBlocks * nSplits, ref compute, threads);
                }
            }
        }
    }

    /// <summary>Packs rows [i0, i0+mc) × the job's k-slice of op(A) into Mr-tall panels.</summary>
    static void PackA<T>(ref Job<T> j, int i0, int mc, T* dst) where T : unmanaged
    {
        int mr = j.Kernel.Mr, kc = j.Kc;
        for (int ir = 0; ir < mc; ir += mr)
        {
            int height = Math.Min(mr, mc - ir);
            T* panel = dst + (nint)ir * kc;
            if (j.TransA) GemmPacking.PackColumnsAsPanel(j.A + (nint)j.Pc * j.Lda + i0 + ir, j.Lda, height, kc, mr, panel);
            else GemmPacking.PackRowsAsPanel(j.A + (nint)(i0 + ir) * j.Lda + j.Pc, j.Lda, height, kc, mr, panel);
        }
    }

    /// <summary>One range of B panels against the whole (shared, already packed) A.</summary>
    struct SharedABody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public Job<T>* Job;
        public T* APacked;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int split)
        {
            ref var j = ref *Job;
            int panel0 = (int)((long)j.NPanels * split / j.NSplits), panel1 = (int)((long)j.NPanels * (split + 1) / j.NSplits);
            Sweep(ref j, APacked, 0, j.M, panel0, panel1);
        }
    }
}
