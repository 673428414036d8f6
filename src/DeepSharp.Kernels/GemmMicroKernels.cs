using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// GEMM micro-kernels: each computes one MR×NR tile of C from a packed A panel (kc×MR, column of MR values per
/// k step) and a packed B panel (kc×NR, row of NR values per k step), keeping the whole tile in registers.
/// They are leaf methods: no calls inside the k loop. C = alpha * acc + beta * C, and beta == 0 overwrites C
/// without reading it (so NaN garbage in C is ignored, as BLAS does).
/// The AVX2 kernels use 12 accumulators + 2 B vectors + 1 broadcast = 15 of the 16 ymm registers.
/// </summary>
internal static unsafe class GemmMicroKernels
{
    /// <summary>6x16 float micro-kernel (Vector256): C[0..6, 0..16] = alpha * Apanel·Bpanel + beta * C (beta 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx2Float6x16(float* a, float* b, float* c, nint ldc, int kc, float alpha, float beta)
    {
        Vector256<float> c00 = default; Vector256<float> c01 = default;
        Vector256<float> c10 = default; Vector256<float> c11 = default;
        Vector256<float> c20 = default; Vector256<float> c21 = default;
        Vector256<float> c30 = default; Vector256<float> c31 = default;
        Vector256<float> c40 = default; Vector256<float> c41 = default;
        Vector256<float> c50 = default; Vector256<float> c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b + 0);
            var b1 = Avx.LoadVector256(b + 8);
            var a0 = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += 6;
            b += 16;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c + 0 * ldc + 0);
            (va * c01).Store(c + 0 * ldc + 8);
            (va * c10).Store(c + 1 * ldc + 0);
            (va * c11).Store(c + 1 * ldc + 8);
            (va * c20).Store(c + 2 * ldc + 0);
            (va * c21).Store(c + 2 * ldc + 8);
            (va * c30).Store(c + 3 * ldc + 0);
            (va * c31).Store(c + 3 * ldc + 8);
            (va * c40).Store(c + 4 * ldc + 0);
            (va * c41).Store(c + 4 * ldc + 8);
            (va * c50).Store(c + 5 * ldc + 0);
            (va * c51).Store(c + 5 * ldc + 8);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Fma.MultiplyAdd(va, c00, vb * Vector256.Load(c + 0 * ldc + 0)).Store(c + 0 * ldc + 0);
            Fma.MultiplyAdd(va, c01, vb * Vector256.Load(c + 0 * ldc + 8)).Store(c + 0 * ldc + 8);
            Fma.MultiplyAdd(va, c10, vb * Vector256.Load(c + 1 * ldc + 0)).Store(c + 1 * ldc + 0);
            Fma.MultiplyAdd(va, c11, vb * Vector256.Load(c + 1 * ldc + 8)).Store(c + 1 * ldc + 8);
            Fma.MultiplyAdd(va, c20, vb * Vector256.Load(c + 2 * ldc + 0)).Store(c + 2 * ldc + 0);
            Fma.MultiplyAdd(va, c21, vb * Vector256.Load(c + 2 * ldc + 8)).Store(c + 2 * ldc + 8);
            Fma.MultiplyAdd(va, c30, vb * Vector256.Load(c + 3 * ldc + 0)).Store(c + 3 * ldc + 0);
            Fma.MultiplyAdd(va, c31, vb * Vector256.Load(c + 3 * ldc + 8)).Store(c + 3 * ldc + 8);
            Fma.MultiplyAdd(va, c40, vb * Vector256.Load(c + 4 * ldc + 0)).Store(c + 4 * ldc + 0);
            Fma.MultiplyAdd(va, c41, vb * Vector256.Load(c + 4 * ldc + 8)).Store(c + 4 * ldc + 8);
            Fma.MultiplyAdd(va, c50, vb * Vector256.Load(c + 5 * ldc + 0)).Store(c + 5 * ldc + 0);
            Fma.MultiplyAdd(va, c51, vb * Vector256.Load(c + 5 * ldc + 8)).Store(c + 5 * ldc + 8);
        }
    }

    /// <summary>6x8 double micro-kernel (Vector256): C[0..6, 0..8] = alpha * Apanel·Bpanel + beta * C (beta 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx2Double6x8(double* a, double* b, double* c, nint ldc, int kc, double alpha, double beta)
    {
        Vector256<double> c00 = default; Vector256<double> c01 = default;
        Vector256<double> c10 = default; Vector256<double> c11 = default;
        Vector256<double> c20 = default; Vector256<double> c21 = default;
        Vector256<double> c30 = default; Vector256<double> c31 = default;
        Vector256<double> c40 = default; Vector256<double> c41 = default;
        Vector256<double> c50 = default; Vector256<double> c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx.LoadVector256(b + 0);
            var b1 = Avx.LoadVector256(b + 4);
            var a0 = Avx.BroadcastScalarToVector256(a + 0);
            c00 = Fma.MultiplyAdd(a0, b0, c00);
            c01 = Fma.MultiplyAdd(a0, b1, c01);
            var a1 = Avx.BroadcastScalarToVector256(a + 1);
            c10 = Fma.MultiplyAdd(a1, b0, c10);
            c11 = Fma.MultiplyAdd(a1, b1, c11);
            var a2 = Avx.BroadcastScalarToVector256(a + 2);
            c20 = Fma.MultiplyAdd(a2, b0, c20);
            c21 = Fma.MultiplyAdd(a2, b1, c21);
            var a3 = Avx.BroadcastScalarToVector256(a + 3);
            c30 = Fma.MultiplyAdd(a3, b0, c30);
            c31 = Fma.MultiplyAdd(a3, b1, c31);
            var a4 = Avx.BroadcastScalarToVector256(a + 4);
            c40 = Fma.MultiplyAdd(a4, b0, c40);
            c41 = Fma.MultiplyAdd(a4, b1, c41);
            var a5 = Avx.BroadcastScalarToVector256(a + 5);
            c50 = Fma.MultiplyAdd(a5, b0, c50);
            c51 = Fma.MultiplyAdd(a5, b1, c51);
            a += 6;
            b += 8;
        }
        var va = Vector256.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c + 0 * ldc + 0);
            (va * c01).Store(c + 0 * ldc + 4);
            (va * c10).Store(c + 1 * ldc + 0);
            (va * c11).Store(c + 1 * ldc + 4);
            (va * c20).Store(c + 2 * ldc + 0);
            (va * c21).Store(c + 2 * ldc + 4);
            (va * c30).Store(c + 3 * ldc + 0);
            (va * c31).Store(c + 3 * ldc + 4);
            (va * c40).Store(c + 4 * ldc + 0);
            (va * c41).Store(c + 4 * ldc + 4);
            (va * c50).Store(c + 5 * ldc + 0);
            (va * c51).Store(c + 5 * ldc + 4);
        }
        else
        {
            var vb = Vector256.Create(beta);
            Fma.MultiplyAdd(va, c00, vb * Vector256.Load(c + 0 * ldc + 0)).Store(c + 0 * ldc + 0);
            Fma.MultiplyAdd(va, c01, vb * Vector256.Load(c + 0 * ldc + 4)).Store(c + 0 * ldc + 4);
            Fma.MultiplyAdd(va, c10, vb * Vector256.Load(c + 1 * ldc + 0)).Store(c + 1 * ldc + 0);
            Fma.MultiplyAdd(va, c11, vb * Vector256.Load(c + 1 * ldc + 4)).Store(c + 1 * ldc + 4);
            Fma.MultiplyAdd(va, c20, vb * Vector256.Load(c + 2 * ldc + 0)).Store(c + 2 * ldc + 0);
            Fma.MultiplyAdd(va, c21, vb * Vector256.Load(c + 2 * ldc + 4)).Store(c + 2 * ldc + 4);
            Fma.MultiplyAdd(va, c30, vb * Vector256.Load(c + 3 * ldc + 0)).Store(c + 3 * ldc + 0);
            Fma.MultiplyAdd(va, c31, vb * Vector256.Load(c + 3 * ldc + 4)).Store(c + 3 * ldc + 4);
            Fma.MultiplyAdd(va, c40, vb * Vector256.Load(c + 4 * ldc + 0)).Store(c + 4 * ldc + 0);
            Fma.MultiplyAdd(va, c41, vb * Vector256.Load(c + 4 * ldc + 4)).Store(c + 4 * ldc + 4);
            Fma.MultiplyAdd(va, c50, vb * Vector256.Load(c + 5 * ldc + 0)).Store(c + 5 * ldc + 0);
            Fma.MultiplyAdd(va, c51, vb * Vector256.Load(c + 5 * ldc + 4)).Store(c + 5 * ldc + 4);
        }
    }

    /// <summary>8x32 float micro-kernel (Vector512): C[0..8, 0..32] = alpha * Apanel·Bpanel + beta * C (beta 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx512Float8x32(float* a, float* b, float* c, nint ldc, int kc, float alpha, float beta)
    {
        Vector512<float> c00 = default; Vector512<float> c01 = default;
        Vector512<float> c10 = default; Vector512<float> c11 = default;
        Vector512<float> c20 = default; Vector512<float> c21 = default;
        Vector512<float> c30 = default; Vector512<float> c31 = default;
        Vector512<float> c40 = default; Vector512<float> c41 = default;
        Vector512<float> c50 = default; Vector512<float> c51 = default;
        Vector512<float> c60 = default; Vector512<float> c61 = default;
        Vector512<float> c70 = default; Vector512<float> c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 16);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += 8;
            b += 32;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c + 0 * ldc + 0);
            (va * c01).Store(c + 0 * ldc + 16);
            (va * c10).Store(c + 1 * ldc + 0);
            (va * c11).Store(c + 1 * ldc + 16);
            (va * c20).Store(c + 2 * ldc + 0);
            (va * c21).Store(c + 2 * ldc + 16);
            (va * c30).Store(c + 3 * ldc + 0);
            (va * c31).Store(c + 3 * ldc + 16);
            (va * c40).Store(c + 4 * ldc + 0);
            (va * c41).Store(c + 4 * ldc + 16);
            (va * c50).Store(c + 5 * ldc + 0);
            (va * c51).Store(c + 5 * ldc + 16);
            (va * c60).Store(c + 6 * ldc + 0);
            (va * c61).Store(c + 6 * ldc + 16);
            (va * c70).Store(c + 7 * ldc + 0);
            (va * c71).Store(c + 7 * ldc + 16);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Avx512F.FusedMultiplyAdd(va, c00, vb * Vector512.Load(c + 0 * ldc + 0)).Store(c + 0 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c01, vb * Vector512.Load(c + 0 * ldc + 16)).Store(c + 0 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c10, vb * Vector512.Load(c + 1 * ldc + 0)).Store(c + 1 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c11, vb * Vector512.Load(c + 1 * ldc + 16)).Store(c + 1 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c20, vb * Vector512.Load(c + 2 * ldc + 0)).Store(c + 2 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c21, vb * Vector512.Load(c + 2 * ldc + 16)).Store(c + 2 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c30, vb * Vector512.Load(c + 3 * ldc + 0)).Store(c + 3 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c31, vb * Vector512.Load(c + 3 * ldc + 16)).Store(c + 3 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c40, vb * Vector512.Load(c + 4 * ldc + 0)).Store(c + 4 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c41, vb * Vector512.Load(c + 4 * ldc + 16)).Store(c + 4 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c50, vb * Vector512.Load(c + 5 * ldc + 0)).Store(c + 5 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c51, vb * Vector512.Load(c + 5 * ldc + 16)).Store(c + 5 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c60, vb * Vector512.Load(c + 6 * ldc + 0)).Store(c + 6 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c61, vb * Vector512.Load(c + 6 * ldc + 16)).Store(c + 6 * ldc + 16);
            Avx512F.FusedMultiplyAdd(va, c70, vb * Vector512.Load(c + 7 * ldc + 0)).Store(c + 7 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c71, vb * Vector512.Load(c + 7 * ldc + 16)).Store(c + 7 * ldc + 16);
        }
    }

    /// <summary>8x16 double micro-kernel (Vector512): C[0..8, 0..16] = alpha * Apanel·Bpanel + beta * C (beta 0 overwrites).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Avx512Double8x16(double* a, double* b, double* c, nint ldc, int kc, double alpha, double beta)
    {
        Vector512<double> c00 = default; Vector512<double> c01 = default;
        Vector512<double> c10 = default; Vector512<double> c11 = default;
        Vector512<double> c20 = default; Vector512<double> c21 = default;
        Vector512<double> c30 = default; Vector512<double> c31 = default;
        Vector512<double> c40 = default; Vector512<double> c41 = default;
        Vector512<double> c50 = default; Vector512<double> c51 = default;
        Vector512<double> c60 = default; Vector512<double> c61 = default;
        Vector512<double> c70 = default; Vector512<double> c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b + 0);
            var b1 = Vector512.Load(b + 8);
            var a0 = Vector512.Create(a[0]);
            c00 = Avx512F.FusedMultiplyAdd(a0, b0, c00);
            c01 = Avx512F.FusedMultiplyAdd(a0, b1, c01);
            var a1 = Vector512.Create(a[1]);
            c10 = Avx512F.FusedMultiplyAdd(a1, b0, c10);
            c11 = Avx512F.FusedMultiplyAdd(a1, b1, c11);
            var a2 = Vector512.Create(a[2]);
            c20 = Avx512F.FusedMultiplyAdd(a2, b0, c20);
            c21 = Avx512F.FusedMultiplyAdd(a2, b1, c21);
            var a3 = Vector512.Create(a[3]);
            c30 = Avx512F.FusedMultiplyAdd(a3, b0, c30);
            c31 = Avx512F.FusedMultiplyAdd(a3, b1, c31);
            var a4 = Vector512.Create(a[4]);
            c40 = Avx512F.FusedMultiplyAdd(a4, b0, c40);
            c41 = Avx512F.FusedMultiplyAdd(a4, b1, c41);
            var a5 = Vector512.Create(a[5]);
            c50 = Avx512F.FusedMultiplyAdd(a5, b0, c50);
            c51 = Avx512F.FusedMultiplyAdd(a5, b1, c51);
            var a6 = Vector512.Create(a[6]);
            c60 = Avx512F.FusedMultiplyAdd(a6, b0, c60);
            c61 = Avx512F.FusedMultiplyAdd(a6, b1, c61);
            var a7 = Vector512.Create(a[7]);
            c70 = Avx512F.FusedMultiplyAdd(a7, b0, c70);
            c71 = Avx512F.FusedMultiplyAdd(a7, b1, c71);
            a += 8;
            b += 16;
        }
        var va = Vector512.Create(alpha);
        if (beta == 0)
        {
            (va * c00).Store(c + 0 * ldc + 0);
            (va * c01).Store(c + 0 * ldc + 8);
            (va * c10).Store(c + 1 * ldc + 0);
            (va * c11).Store(c + 1 * ldc + 8);
            (va * c20).Store(c + 2 * ldc + 0);
            (va * c21).Store(c + 2 * ldc + 8);
            (va * c30).Store(c + 3 * ldc + 0);
            (va * c31).Store(c + 3 * ldc + 8);
            (va * c40).Store(c + 4 * ldc + 0);
            (va * c41).Store(c + 4 * ldc + 8);
            (va * c50).Store(c + 5 * ldc + 0);
            (va * c51).Store(c + 5 * ldc + 8);
            (va * c60).Store(c + 6 * ldc + 0);
            (va * c61).Store(c + 6 * ldc + 8);
            (va * c70).Store(c + 7 * ldc + 0);
            (va * c71).Store(c + 7 * ldc + 8);
        }
        else
        {
            var vb = Vector512.Create(beta);
            Avx512F.FusedMultiplyAdd(va, c00, vb * Vector512.Load(c + 0 * ldc + 0)).Store(c + 0 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c01, vb * Vector512.Load(c + 0 * ldc + 8)).Store(c + 0 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c10, vb * Vector512.Load(c + 1 * ldc + 0)).Store(c + 1 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c11, vb * Vector512.Load(c + 1 * ldc + 8)).Store(c + 1 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c20, vb * Vector512.Load(c + 2 * ldc + 0)).Store(c + 2 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c21, vb * Vector512.Load(c + 2 * ldc + 8)).Store(c + 2 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c30, vb * Vector512.Load(c + 3 * ldc + 0)).Store(c + 3 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c31, vb * Vector512.Load(c + 3 * ldc + 8)).Store(c + 3 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c40, vb * Vector512.Load(c + 4 * ldc + 0)).Store(c + 4 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c41, vb * Vector512.Load(c + 4 * ldc + 8)).Store(c + 4 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c50, vb * Vector512.Load(c + 5 * ldc + 0)).Store(c + 5 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c51, vb * Vector512.Load(c + 5 * ldc + 8)).Store(c + 5 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c60, vb * Vector512.Load(c + 6 * ldc + 0)).Store(c + 6 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c61, vb * Vector512.Load(c + 6 * ldc + 8)).Store(c + 6 * ldc + 8);
            Avx512F.FusedMultiplyAdd(va, c70, vb * Vector512.Load(c + 7 * ldc + 0)).Store(c + 7 * ldc + 0);
            Avx512F.FusedMultiplyAdd(va, c71, vb * Vector512.Load(c + 7 * ldc + 8)).Store(c + 7 * ldc + 8);
        }
    }

    /// <summary>Rows of the portable micro-kernel.</summary>
    internal const int PortableMr = 4;

    /// <summary>Columns of the portable micro-kernel: two <see cref="Vector{T}"/> widths.</summary>
    internal static int PortableNr<T>() where T : unmanaged => 2 * Vector<T>.Count;

    /// <summary>
    /// Portable 4×(2·Vector&lt;T&gt;.Count) micro-kernel on <see cref="Vector{T}"/> (multiply then add: no FMA
    /// assumed), used when neither AVX2+FMA nor AVX-512 is available.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void Portable<T>(T* a, T* b, T* c, nint ldc, int kc, T alpha, T beta)
        where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count;
        Vector<T> c00 = default, c01 = default, c10 = default, c11 = default;
        Vector<T> c20 = default, c21 = default, c30 = default, c31 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Unsafe.ReadUnaligned<Vector<T>>(b);
            var b1 = Unsafe.ReadUnaligned<Vector<T>>(b + w);
            var a0 = new Vector<T>(a[0]);
            c00 += a0 * b0; c01 += a0 * b1;
            var a1 = new Vector<T>(a[1]);
            c10 += a1 * b0; c11 += a1 * b1;
            var a2 = new Vector<T>(a[2]);
            c20 += a2 * b0; c21 += a2 * b1;
            var a3 = new Vector<T>(a[3]);
            c30 += a3 * b0; c31 += a3 * b1;
            a += PortableMr;
            b += 2 * w;
        }
        var va = new Vector<T>(alpha);
        StorePortable(c, w, va, beta, c00, c01);
        StorePortable(c + ldc, w, va, beta, c10, c11);
        StorePortable(c + 2 * ldc, w, va, beta, c20, c21);
        StorePortable(c + 3 * ldc, w, va, beta, c30, c31);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StorePortable<T>(T* c, int w, Vector<T> va, T beta, Vector<T> acc0, Vector<T> acc1)
        where T : unmanaged, INumber<T>
    {
        if (beta == T.Zero)
        {
            Unsafe.WriteUnaligned(c, va * acc0);
            Unsafe.WriteUnaligned(c + w, va * acc1);
        }
        else
        {
            var vb = new Vector<T>(beta);
            Unsafe.WriteUnaligned(c, va * acc0 + vb * Unsafe.ReadUnaligned<Vector<T>>(c));
            Unsafe.WriteUnaligned(c + w, va * acc1 + vb * Unsafe.ReadUnaligned<Vector<T>>(c + w));
        }
    }
}
