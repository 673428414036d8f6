using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// An A operand packed once into the GEMM's Mr-tall micro-kernel panels, for many products with the same A and changing B:
/// the weight of a convolution in inference (y = W · im2col(x), W fixed), so no call repacks it (oneDNN's and ONNX
/// Runtime's prepacked weights). Made by <see cref="Gemm.PackA{T}"/>, used by <see cref="Gemm.ComputePackedA{T}"/>.
/// The panels live in a pinned, 64-byte aligned array owned by this object (the GC reclaims it).
/// </summary>
public sealed unsafe class GemmPackedA<T> where T : unmanaged, INumber<T>
{
    readonly T[] array;
    internal readonly T* Data;
    internal readonly GemmKernel<T> Kernel;
    /// <summary>Rows per row block (a multiple of Mr), chosen as the unpacked driver chooses them.</summary>
    internal readonly int Mc;
    internal readonly int MBlocks;

    /// <summary>Rows of op(A) (the m dimension of the products).</summary>
    public int M { get; }
    /// <summary>Columns of op(A) (the k dimension of the products).</summary>
    public int K { get; }

    internal GemmPackedA(GemmKernel<T> kernel, int m, int k)
    {
        Kernel = kernel; M = m; K = k;
        int blocks = GemmPacked.CeilDiv(m, kernel.Mc);
        Mc = GemmPacked.RoundUp(GemmPacked.CeilDiv(m, blocks), kernel.Mr);
        MBlocks = GemmPacked.CeilDiv(m, Mc);
        long length = (long)MBlocks * Mc * k + 64 / sizeof(T);
        if (length > int.MaxValue / 2) throw new ArgumentException($"Gemm.PackA: a {m}x{k} operand is too large to pack");
        array = GC.AllocateArray<T>((int)length, pinned: true);
        var start = (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(array));
        Data = (T*)(((nint)start + 63) & ~(nint)63);
    }

    /// <summary>Elements between consecutive row blocks.</summary>
    internal nint BlockStride => (nint)Mc * K;

    /// <summary>Start of the k-slice [pc, pc + Kc) of row block 0 (the other blocks follow at <see cref="BlockStride"/>).</summary>
    internal T* Slice(int pc) => Data + (nint)pc * Mc;
}

public static unsafe partial class Gemm
{
    /// <summary>
    /// Packs op(A) (m×k; A stored k×m when <paramref name="transA"/>) once for repeated products with changing B
    /// (<see cref="ComputePackedA{T}"/>). The values are copied.
    /// </summary>
    public static GemmPackedA<T> PackA<T>(bool transA, int m, int k, ReadOnlySpan<T> a, int lda) where T : unmanaged, INumber<T>
    {
        if (m <= 0 || k <= 0) throw new ArgumentException($"Gemm.PackA: sizes must be positive, got m={m} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        if (lda < aCols || a.Length < (long)(aRows - 1) * lda + aCols)
            throw new ArgumentException($"Gemm.PackA: A span of length {a.Length} with lda={lda} is too small for {aRows}x{aCols}", nameof(a));
        var path = ForcedPath == GemmPath.Auto ? DetectedPath : ForcedPath;
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Gemm: the {path} micro-kernels need instructions this CPU lacks");
        var kernel = KernelFor<T>(path);
        var packed = new GemmPackedA<T>(kernel, m, k);
        fixed (T* pa = &MemoryMarshal.GetReference(a))
        {
            for (int block = 0; block < packed.MBlocks; block++)
            {
                int i0 = block * packed.Mc, mc = Math.Min(packed.Mc, m - i0);
                for (int pc = 0; pc < k; pc += kernel.Kc)
                {
                    int kc = Math.Min(kernel.Kc, k - pc);
                    T* slice = packed.Slice(pc) + block * packed.BlockStride;
                    for (int ir = 0; ir < mc; ir += kernel.Mr)
                    {
                        int height = Math.Min(kernel.Mr, mc - ir);
                        T* panel = slice + (nint)ir * kc;
                        if (transA) GemmPacking.PackColumnsAsPanel(pa + (nint)pc * lda + i0 + ir, lda, height, kc, kernel.Mr, panel);
                        else GemmPacking.PackRowsAsPanel(pa + (nint)(i0 + ir) * lda + pc, lda, height, kc, kernel.Mr, panel);
                    }
                }
            }
        }
        return packed;
    }

    /// <summary>
    /// C = A · B (+ C when <paramref name="accumulate"/>) with A packed by <see cref="PackA{T}"/>: B is k×<paramref name="n"/>
    /// row-major with row stride <paramref name="ldb"/>, C is m×n. The same blocking and micro-kernels as <see cref="Sgemm"/>'s
    /// packed path, so the sums do not depend on the thread count.
    /// </summary>
    public static void ComputePackedA<T>(GemmPackedA<T> a, int n, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc, bool accumulate = false)
        where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(a);
        int m = a.M, k = a.K;
        if (n < 0) throw new ArgumentException($"Gemm.ComputePackedA: negative size n={n}");
        if (n == 0) return;
        if (ldb < n || b.Length < (long)(k - 1) * ldb + n)
            throw new ArgumentException($"Gemm.ComputePackedA: B span of length {b.Length} with ldb={ldb} is too small for {k}x{n}", nameof(b));
        if (ldc < n || c.Length < (long)(m - 1) * ldc + n)
            throw new ArgumentException($"Gemm.ComputePackedA: C span of length {c.Length} with ldc={ldc} is too small for {m}x{n}", nameof(c));
        fixed (T* pb = &MemoryMarshal.GetReference(b))
        fixed (T* pc = &MemoryMarshal.GetReference(c))
            GemmPacked.RunPrepackedA(a, n, pb, ldb, accumulate ? T.One : T.Zero, pc, ldc);
    }
}

internal static unsafe partial class GemmPacked
{
    /// <summary><see cref="Run{T}"/> with A already packed: the same loops without the A packing.</summary>
    public static void RunPrepackedA<T>(GemmPackedA<T> packed, int n, T* b, nint ldb, T beta, T* c, nint ldc)
        where T : unmanaged, INumber<T>
    {
        var kernel = packed.Kernel;
        int m = packed.M, k = packed.K;
        int threads = (long)m * n * k < ParallelThreshold ? 1 : KernelThreadPool.ThreadCount;
        int kcMax = Math.Min(kernel.Kc, k);
        int ncMax = Math.Min(kernel.Nc, RoundUp(n, kernel.Nr));
        T* bPacked = GemmBuffers<T>.B(kcMax * ncMax);
        var job = new Job<T>
        {
            Kernel = kernel, TransA = false, TransB = false, M = m, Alpha = T.One, Beta = beta,
            A = null, Lda = 0, B = b, Ldb = ldb, C = c, Ldc = ldc, BPacked = bPacked, Mc = packed.Mc, MBlocks = packed.MBlocks,
            APanelStride = packed.BlockStride,
        };
        for (int jc = 0; jc < n; jc += kernel.Nc)
        {
            int nc = Math.Min(kernel.Nc, n - jc);
            int nPanels = CeilDiv(nc, kernel.Nr);
            int nSplits = threads == 1 ? 1 : Math.Clamp(CeilDiv(8 * threads, packed.MBlocks), 1, nPanels);
            for (int pc = 0; pc < k; pc += kernel.Kc)
            {
                int kc = Math.Min(kernel.Kc, k - pc);
                job.Jc = jc; job.Nc = nc; job.Pc = pc; job.Kc = kc; job.NPanels = nPanels; job.NSplits = nSplits;
                job.BetaNow = pc == 0 ? beta : T.One;
                var pack = new PackBBody<T> { Job = &job, Chunks = Math.Min(nPanels, 4 * threads) };
                For(pack.Chunks, ref pack, threads);
                job.APacked = packed.Slice(pc);
                var compute = new ComputeBody<T> { Job = &job };
                For(packed.MBlocks * nSplits, ref compute, threads);
            }
        }
    }
}
