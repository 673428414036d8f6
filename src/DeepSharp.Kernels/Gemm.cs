using System.Numerics;

namespace DeepSharp.Kernels;

/// <summary>
/// General matrix multiply on row-major spans: C = alpha * op(A) * op(B) + beta * C,
/// where op(X) is X or its transpose. A is m×k after op, B is k×n after op, C is m×n.
/// The leading dimensions (lda, ldb, ldc) are the row strides of the stored matrices.
/// </summary>
public static partial class Gemm
{
    /// <summary>
    /// Single-precision GEMM (BLAS sgemm, row-major): C = alpha * op(A) * op(B) + beta * C.
    /// Packed, cache-blocked and multithreaded on <see cref="KernelThreadPool"/>; beta == 0 overwrites C without
    /// reading it. PyTorch equivalent: <c>torch.addmm(C, A, B, beta=beta, alpha=alpha)</c>.
    /// </summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        CheckArguments(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        Dispatch(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>
    /// Double-precision GEMM (BLAS dgemm, row-major): C = alpha * op(A) * op(B) + beta * C.
    /// PyTorch equivalent: <c>torch.addmm</c> on float64 tensors.
    /// </summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
    {
        CheckArguments(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        Dispatch(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    }

    /// <summary>Checks the spans are large enough for the described matrices.</summary>
    public static void CheckArguments<T>(bool transA, bool transB, int m, int n, int k,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, Span<T> c, int ldc)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentException($"Gemm: negative size m={m} n={n} k={k}");
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        if (aRows > 0 && aCols > 0 && (lda < aCols || a.Length < (long)(aRows - 1) * lda + aCols))
            throw new ArgumentException($"Gemm: A span of length {a.Length} with lda={lda} is too small for {aRows}x{aCols}", nameof(a));
        if (bRows > 0 && bCols > 0 && (ldb < bCols || b.Length < (long)(bRows - 1) * ldb + bCols))
            throw new ArgumentException($"Gemm: B span of length {b.Length} with ldb={ldb} is too small for {bRows}x{bCols}", nameof(b));
        if (m > 0 && n > 0 && (ldc < n || c.Length < (long)(m - 1) * ldc + n))
            throw new ArgumentException($"Gemm: C span of length {c.Length} with ldc={ldc} is too small for {m}x{n}", nameof(c));
    }

    /// <summary>
    /// Plain scalar reference implementation: the definition every fast path is tested against.
    /// </summary>
    public static void Reference<T>(bool transA, bool transB, int m, int n, int k, T alpha,
        ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, T beta, Span<T> c, int ldc)
        where T : unmanaged, INumber<T>
    {
        CheckArguments(transA, transB, m, n, k, a, lda, b, ldb, c, ldc);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T sum = T.Zero;
                for (int p = 0; p < k; p++)
                {
                    T av = transA ? a[p * lda + i] : a[i * lda + p];
                    T bv = transB ? b[j * ldb + p] : b[p * ldb + j];
                    sum += av * bv;
                }
                T prev = beta == T.Zero ? T.Zero : beta * c[i * ldc + j];
                c[i * ldc + j] = alpha * sum + prev;
            }
    }
}
