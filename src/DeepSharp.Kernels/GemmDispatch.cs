using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>Micro-kernel family used by the packed GEMM path.</summary>
internal enum GemmPath
{
    /// <summary>Best the CPU supports: AVX-512, else AVX2+FMA, else portable.</summary>
    Auto,
    /// <summary>Vector512 8×32 (float) / 8×16 (double) micro-kernels; needs AVX-512F.</summary>
    Avx512,
    /// <summary>Vector256 6×16 (float) / 6×8 (double) micro-kernels; needs AVX2 and FMA.</summary>
    Avx2,
    /// <summary>Vector&lt;T&gt; 4×(2·Vector&lt;T&gt;.Count) micro-kernel; runs anywhere.</summary>
    Portable,
}

public static unsafe partial class Gemm
{
    /// <summary>Products with fewer multiply-adds than this (64³) skip packing.</summary>
    internal const long SmallThreshold = 64L * 64 * 64;

    /// <summary>Path chosen at start-up from the CPU's instruction sets.</summary>
    internal static readonly GemmPath DetectedPath =
        Avx512F.IsSupported ? GemmPath.Avx512 : Avx2.IsSupported && Fma.IsSupported ? GemmPath.Avx2 : GemmPath.Portable;

    /// <summary>
    /// The float micro-kernel the packed path uses on this CPU, for benchmark records: "avx512 8x32", "avx2 6x16" or
    /// "portable 4xN" (instruction set, then the register tile in rows × columns of C).
    /// </summary>
    public static string MicroKernel => DetectedPath switch
    {
        GemmPath.Avx512 => "avx512 8x32",
        GemmPath.Avx2 => "avx2 6x16",
        _ => $"portable {GemmMicroKernels.PortableMr}x{GemmMicroKernels.PortableNr<float>()}",
    };

    /// <summary>Test hook: micro-kernel family for calls made on this thread (Auto = <see cref="DetectedPath"/>).</summary>
    [ThreadStatic] internal static GemmPath ForcedPath;

    /// <summary>Test hook: route every call made on this thread through the packed path, whatever its shape.</summary>
    [ThreadStatic] internal static bool ForcePacked;

    /// <summary>Whether a micro-kernel family can run on this CPU.</summary>
    internal static bool IsSupported(GemmPath path) => path switch
    {
        GemmPath.Avx512 => Avx512F.IsSupported,
        GemmPath.Avx2 => Avx2.IsSupported && Fma.IsSupported,
        _ => true,
    };

    static void Dispatch<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        if (m == 0 || n == 0) return;
        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        fixed (T* pa = &MemoryMarshal.GetReference(a))
        fixed (T* pb = &MemoryMarshal.GetReference(b))
        fixed (T* pc = &MemoryMarshal.GetReference(c))
        {
            if (ForcePacked) Packed(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else if (m == 1) RowVectorTimesMatrix(transA, transB, n, k, alpha, pa, lda, pb, ldb, beta, pc);
            else if (n == 1) MatrixTimesColumnVector(transA, transB, m, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else if ((long)m * n * k < SmallThreshold) Unpacked(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            else Packed(transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
        }
    }

    static void ScaleC<T>(int m, int n, T beta, Span<T> c, int ldc) where T : unmanaged, INumber<T>
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = c.Slice(i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>m == 1: c(1×n) = alpha · a(1×k) · op(B) + beta · c.</summary>
    static void RowVectorTimesMatrix<T>(bool transA, bool transB, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c) where T : unmanaged, INumber<T>
    {
        nint aStep = transA ? lda : 1; // element p of the row vector is a[p * aStep]
        if (!transB)
        {
            GemmSmall.Axpy(1, n, k, alpha, a, 0, aStep, b, ldb, beta, c, 0, 1);
            return;
        }
        T* x = Contiguous(a, aStep, k);
        GemmSmall.Dot(1, n, k, alpha, x, 0, b, ldb, beta, c, 0, 1);
    }

    /// <summary>n == 1: c(m×1, stride ldc) = alpha · op(A) · b(k×1) + beta · c.</summary>
    static void MatrixTimesColumnVector<T>(bool transA, bool transB, int m, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc) where T : unmanaged, INumber<T>
    {
        nint bStep = transB ? 1 : ldb; // element p of the column vector is b[p * bStep]
        if (transA)
        {
            GemmSmall.Axpy(1, m, k, alpha, b, 0, bStep, a, lda, beta, c, 0, ldc);
            return;
        }
        T* x = Contiguous(b, bStep, k);
        GemmSmall.Dot(1, m, k, alpha, x, 0, a, lda, beta, c, 0, ldc);
    }

    /// <summary>Returns v itself when its elements are adjacent, else a gathered copy in thread-local scratch.</summary>
    static T* Contiguous<T>(T* v, nint step, int length) where T : unmanaged
    {
        if (step == 1) return v;
        T* copy = GemmBuffers<T>.Scratch(length);
        for (int p = 0; p < length; p++) copy[p] = v[p * step];
        return copy;
    }

    /// <summary>Small products: no packing, one of the two loop forms of <see cref="GemmSmall"/>.</summary>
    static void Unpacked<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc) where T : unmanaged, INumber<T>
    {
        if (!transB)
            GemmSmall.Axpy(m, n, k, alpha, a, transA ? 1 : lda, transA ? lda : 1, b, ldb, beta, c, ldc, 1);
        else if (!transA)
            GemmSmall.Dot(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, 1);
        else // Cᵀ = B·A with both stored matrices read along their rows.
            GemmSmall.Axpy(n, m, k, alpha, b, ldb, 1, a, lda, beta, c, 1, ldc);
    }

    static void Packed<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, nint lda, T* b, nint ldb, T beta, T* c, nint ldc) where T : unmanaged, INumber<T>
    {
        var path = ForcedPath == GemmPath.Auto ? DetectedPath : ForcedPath;
        if (!IsSupported(path))
            throw new PlatformNotSupportedException($"Gemm: the {path} micro-kernels need instructions this CPU lacks");
        var kernel = KernelFor<T>(path);
        GemmPacked.Run(kernel, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>Micro-kernel and blocking for a path and element type (see docs/KERNELS.md for the sizing).</summary>
    internal static GemmKernel<T> KernelFor<T>(GemmPath path) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float))
        {
            if (path == GemmPath.Avx512)
                return new((delegate*<T*, T*, T*, nint, int, T, T, void>)(void*)(delegate*<float*, float*, float*, nint, int, float, float, void>)&GemmMicroKernels.Avx512Float8x32, 8, 32, 128, 256, 4096);
            if (path == GemmPath.Avx2)
                return new((delegate*<T*, T*, T*, nint, int, T, T, void>)(void*)(delegate*<float*, float*, float*, nint, int, float, float, void>)&GemmMicroKernels.Avx2Float6x16, 6, 16, 120, 512, 4080);
        }
        else if (typeof(T) == typeof(double))
        {
            if (path == GemmPath.Avx512)
                return new((delegate*<T*, T*, T*, nint, int, T, T, void>)(void*)(delegate*<double*, double*, double*, nint, int, double, double, void>)&GemmMicroKernels.Avx512Double8x16, 8, 16, 96, 256, 4096);
            if (path == GemmPath.Avx2)
                return new((delegate*<T*, T*, T*, nint, int, T, T, void>)(void*)(delegate*<double*, double*, double*, nint, int, double, double, void>)&GemmMicroKernels.Avx2Double6x8, 6, 8, 60, 512, 4080);
        }
        return new(&GemmMicroKernels.Portable<T>, GemmMicroKernels.PortableMr, GemmMicroKernels.PortableNr<T>(), 128, 256, 4096);
    }
}
