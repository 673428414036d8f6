using System.Numerics;
using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>Tests that change the global thread count share this collection so they never run concurrently.</summary>
[CollectionDefinition("KernelThreads", DisableParallelization = true)]
public sealed class KernelThreadsCollection;

[Collection("KernelThreads")]
public class GemmTests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (2, 2, 2), (7, 7, 7), (17, 17, 17), (31, 31, 31), (64, 64, 64), (65, 65, 65),
        (1, 513, 300), (513, 1, 300), (7, 255, 17), (255, 7, 31), (2, 257, 65), (257, 65, 257), (31, 17, 255),
        (100, 300, 20), (20, 37, 1100),
        // full 8-row and 32-column panels with k tails (the vectorised packing paths): k mod 8 ≠ 0, k across two Kc slices
        (64, 96, 37), (96, 64, 300), (128, 128, 8), (40, 160, 15),
    ];

    public static TheoryData<int> PathData()
    {
        var data = new TheoryData<int>();
        foreach (var p in new[] { GemmPath.Auto, GemmPath.Avx512, GemmPath.Avx2, GemmPath.Portable }) data.Add((int)p);
        return data;
    }

    static T[] Random<T>(int length, int seed) where T : unmanaged, INumber<T>
    {
        var rng = new Random(seed);
        var x = new T[length];
        for (int i = 0; i < length; i++) x[i] = T.CreateChecked(rng.NextDouble() * 2 - 1);
        return x;
    }

    /// <summary>
    /// Runs one GEMM on sub-matrix views (leading dimensions wider than the matrices) and checks it against
    /// Gemm.Reference, element by element, relative to Σ|alpha·a·b| + |beta·c|; padding must stay untouched.
    /// </summary>
    static void Check<T>(GemmPath path, bool packed, bool transA, bool transB, int m, int n, int k, T alpha, T beta,
        int pad, double tolerance, Action<bool, bool, int, int, int, T, ReadOnlySpan<T>, int, ReadOnlySpan<T>, int, T, Span<T>, int> gemm)
        where T : unmanaged, INumber<T>, IFloatingPointIeee754<T>
    {
        int aRows = transA ? k : m, aCols = transA ? m : k, bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        var a = Random<T>(Math.Max(1, aRows * lda), 1 + m * 7 + k);
        var b = Random<T>(Math.Max(1, bRows * ldb), 2 + n * 5 + k);
        var c0 = Random<T>(m * ldc, 3 + m + n);
        if (beta == T.Zero)
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c0[i * ldc + j] = T.NaN; // must be ignored
        var expected = (T[])c0.Clone();
        Gemm.Reference(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, expected, ldc);
        // Magnitude bound for the error: alpha·|A|·|B| + |beta·C|.
        var absA = Array.ConvertAll(a, T.Abs); var absB = Array.ConvertAll(b, T.Abs);
        var bound = new T[m * ldc];
        Gemm.Reference(transA, transB, m, n, k, T.Abs(alpha), absA, lda, absB, ldb, T.Zero, bound, ldc);

        var actual = (T[])c0.Clone();
        var oldPath = Gemm.ForcedPath; var oldPacked = Gemm.ForcePacked;
        Gemm.ForcedPath = path; Gemm.ForcePacked = packed;
        try { gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, actual, ldc); }
        finally { Gemm.ForcedPath = oldPath; Gemm.ForcePacked = oldPacked; }

        for (int i = 0; i < m; i++)
            for (int j = 0; j < ldc; j++)
            {
                int idx = i * ldc + j;
                if (j >= n)
                {
                    Assert.True(actual[idx] == c0[idx], $"padding changed at ({i},{j})");
                    continue;
                }
                double scale = double.CreateChecked(bound[idx]) + (beta == T.Zero ? 0 : Math.Abs(double.CreateChecked(beta * c0[idx]))) + 1e-30;
                double err = Math.Abs(double.CreateChecked(actual[idx] - expected[idx]));
                Assert.True(err <= tolerance * scale,
                    $"{path} packed={packed} tA={transA} tB={transB} m={m} n={n} k={k} alpha={alpha} beta={beta}: C[{i},{j}] = {actual[idx]}, expected {expected[idx]}");
            }
    }

    static void Sgemm(bool tA, bool tB, int m, int n, int k, float alpha, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
        => Gemm.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    static void Dgemm(bool tA, bool tB, int m, int n, int k, double alpha, ReadOnlySpan<double> a, int lda, ReadOnlySpan<double> b, int ldb, double beta, Span<double> c, int ldc)
        => Gemm.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

    [Theory]
    [MemberData(nameof(PathData))]
    public void Sgemm_MatchesReference_AllShapesAndTransposes(int pathValue)
    {
        var path = (GemmPath)pathValue;
        Assert.SkipUnless(Gemm.IsSupported(path), $"the {path} GEMM path is not supported on this CPU"); // e.g. AVX-512 on an AVX2 machine
        foreach (bool packed in new[] { false, true })
        {
            if (!packed && path != GemmPath.Auto) continue; // the unpacked paths do not depend on the kernel family
            foreach (var (m, n, k) in Shapes)
                foreach (bool tA in new[] { false, true })
                    foreach (bool tB in new[] { false, true })
                        Check<float>(path, packed, tA, tB, m, n, k, 1f, 0f, 3, 1e-4, Sgemm);
        }
    }

    [Theory]
    [MemberData(nameof(PathData))]
    public void Dgemm_MatchesReference_AllShapesAndTransposes(int pathValue)
    {
        var path = (GemmPath)pathValue;
        Assert.SkipUnless(Gemm.IsSupported(path), $"the {path} GEMM path is not supported on this CPU");
        foreach (bool packed in new[] { false, true })
        {
            if (!packed && path != GemmPath.Auto) continue;
            foreach (var (m, n, k) in Shapes)
                foreach (bool tA in new[] { false, true })
                    foreach (bool tB in new[] { false, true })
                        Check<double>(path, packed, tA, tB, m, n, k, 1.0, 0.0, 0, 1e-12, Dgemm);
        }
    }

    [Theory]
    [MemberData(nameof(PathData))]
    public void AlphaBetaVariants(int pathValue)
    {
        var path = (GemmPath)pathValue;
        Assert.SkipUnless(Gemm.IsSupported(path), $"the {path} GEMM path is not supported on this CPU");
        var shapes = new[] { (1, 65, 33), (33, 1, 65), (9, 17, 5), (40, 66, 67), (13, 40, 530) };
        foreach (bool packed in new[] { false, true })
            foreach (var (m, n, k) in shapes)
                foreach (bool tA in new[] { false, true })
                    foreach (bool tB in new[] { false, true })
                        foreach (var (alpha, beta) in new[] { (1f, 1f), (0.5f, 0f), (-1.5f, 0.25f), (2f, -1f) })
                        {
                            Check<float>(path, packed, tA, tB, m, n, k, alpha, beta, 2, 1e-4, Sgemm);
                            Check<double>(path, packed, tA, tB, m, n, k, alpha, beta, 1, 1e-12, Dgemm);
                        }
    }

    [Fact]
    public void KZeroOrAlphaZero_ScalesC()
    {
        var c = new float[] { 1, 2, 3, 4 };
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 2f, c, 2);
        Assert.Equal(new float[] { 2, 4, 6, 8 }, c);
        var nan = new float[] { float.NaN, float.NaN };
        Gemm.Sgemm(false, false, 1, 2, 3, 0f, new float[3], 3, new float[6], 2, 0f, nan, 2);
        Assert.Equal(new float[] { 0, 0 }, nan);
    }

    [Fact]
    public void ThreadCounts_AreBitwiseReproducible()
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            foreach (var (m, n, k) in new[] { (300, 200, 600), (1, 3000, 100), (2000, 1, 100), (40, 40, 40) })
                foreach (bool tA in new[] { false, true })
                    foreach (bool tB in new[] { false, true })
                    {
                        var a = Random<float>(m * k, 5); var b = Random<float>(k * n, 6);
                        int lda = tA ? m : k, ldb = tB ? k : n;
                        float[] Run(int threads)
                        {
                            KernelThreadPool.SetThreadCount(threads);
                            var c = new float[m * n];
                            Gemm.Sgemm(tA, tB, m, n, k, 1f, a, lda, b, ldb, 0f, c, n);
                            return c;
                        }
                        var one = Run(1);
                        Assert.Equal(one, Run(1));
                        var two = Run(2);
                        for (int r = 0; r < 3; r++) Assert.Equal(two, Run(2));
                        // The partition never changes an element's summation order, so thread counts agree too.
                        Assert.Equal(one, two);
                        Assert.Equal(one, Run(3));
                    }
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    /// <summary>
    /// A matrix-vector product (one row times a transposed matrix: a linear layer on one sample) computes outputs eight,
    /// four and one at a time; each must be summed exactly as the product with that one column alone, whatever block it
    /// falls in, at 1 and 2 threads (the blocking never changes a result).
    /// </summary>
    [Fact]
    public void MatrixVectorOutputs_AreBitwiseTheOneColumnProducts()
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                KernelThreadPool.SetThreadCount(threads);
                foreach (int k in new[] { 1, 7, 8, 9, 31, 784 })
                    foreach (int n in new[] { 1, 3, 4, 5, 8, 9, 12, 13, 16, 19, 512 })
                    {
                        var x = Random<float>(k, 7); var w = Random<float>(n * k, 8);
                        var y = new float[n];
                        Gemm.Sgemm(false, true, 1, n, k, 1f, x, k, w, k, 0f, y, n);
                        var one = new float[1];
                        for (int j = 0; j < n; j++)
                        {
                            Gemm.Sgemm(false, true, 1, 1, k, 1f, x, k, w.AsSpan(j * k, k), k, 0f, one, 1);
                            Assert.True(BitConverter.SingleToInt32Bits(one[0]) == BitConverter.SingleToInt32Bits(y[j]),
                                $"n={n}, k={k}, threads={threads}: output {j} is {y[j]:R}, the one-column product {one[0]:R}");
                        }
                        var yd = new double[n];
                        var xd = Random<double>(k, 7); var wd = Random<double>(n * k, 8);
                        Gemm.Dgemm(false, true, 1, n, k, 1.0, xd, k, wd, k, 0.0, yd, n);
                        var oned = new double[1];
                        for (int j = 0; j < n; j++)
                        {
                            Gemm.Dgemm(false, true, 1, 1, k, 1.0, xd, k, wd.AsSpan(j * k, k), k, 0.0, oned, 1);
                            Assert.Equal(oned[0], yd[j]);
                        }
                    }
            }
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    [Fact]
    public void BadArguments_Throw()
    {
        var a = new float[6]; var b = new float[6]; var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, -1, 2, 3, 1f, a, 3, b, 2, 0f, c, 2));
        var e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, new float[5], 3, b, 2, 0f, c, 2));
        Assert.Equal("a", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 1, 0f, c, 2));
        Assert.Equal("b", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 3, 1f, a, 3, b, 2, 0f, new float[3], 2));
        Assert.Equal("c", e.ParamName);
        Assert.Throws<ArgumentException>(() => Gemm.Dgemm(true, false, 2, 2, 3, 1.0, new double[6], 1, new double[6], 2, 0.0, new double[4], 2));
    }
}
