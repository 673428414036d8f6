using System.Numerics;
using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The fused recurrent gate kernels against their scalar references, and the prepacked GEMM.</summary>
[Collection("KernelThreads")]
public class RecurrentKernelTests
{
    static T[] Random<T>(int length, int seed, double scale = 2) where T : unmanaged, INumber<T>
    {
        var rng = new Random(seed);
        var x = new T[length];
        for (int i = 0; i < length; i++) x[i] = T.CreateChecked((rng.NextDouble() * 2 - 1) * scale);
        return x;
    }

    static void Close<T>(T[] expected, T[] actual, double tol, string what) where T : unmanaged, INumber<T>
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            double e = double.CreateChecked(expected[i]), a = double.CreateChecked(actual[i]);
            Assert.True(Math.Abs(e - a) <= tol * (1 + Math.Abs(e)), $"{what}: element {i} is {a}, expected {e}");
        }
    }

    public static TheoryData<int, int> Sizes() => new() { { 1, 1 }, { 2, 7 }, { 3, 16 }, { 2, 33 }, { 4, 64 } };

    static void Lstm<T>(int rows, int hidden, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * hidden;
        var gates = Random<T>(4 * n, 1, 3); var cPrev = Random<T>(n, 2);
        var g1 = (T[])gates.Clone(); var c1 = new T[n]; var h1 = new T[n];
        var g2 = (T[])gates.Clone(); var c2 = new T[n]; var h2 = new T[n];
        RecurrentKernels.LstmForward<T>(g1, cPrev, c1, h1, rows, hidden);
        RecurrentKernels.LstmForwardReference<T>(g2, cPrev, c2, h2, rows, hidden);
        Close(g2, g1, tol, "gates"); Close(c2, c1, tol, "c"); Close(h2, h1, tol, "h");
        var dh = Random<T>(n, 3); var dc = Random<T>(n, 4);
        var dc1 = (T[])dc.Clone(); var dc2 = (T[])dc.Clone(); var dg1 = new T[4 * n]; var dg2 = new T[4 * n];
        RecurrentKernels.LstmBackward<T>(g2, cPrev, c2, dh, dc1, dg1, rows, hidden);
        RecurrentKernels.LstmBackwardReference<T>(g2, cPrev, c2, dh, dc2, dg2, rows, hidden);
        Close(dg2, dg1, tol, "dGates"); Close(dc2, dc1, tol, "dc");
    }

    static void Gru<T>(int rows, int hidden, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * hidden;
        var gx = Random<T>(3 * n, 5, 3); var gh = Random<T>(3 * n, 6, 3); var hPrev = Random<T>(n, 7);
        var x1 = (T[])gx.Clone(); var h1 = new T[n]; var x2 = (T[])gx.Clone(); var h2 = new T[n];
        RecurrentKernels.GruForward<T>(x1, gh, hPrev, h1, rows, hidden);
        RecurrentKernels.GruForwardReference<T>(x2, gh, hPrev, h2, rows, hidden);
        Close(x2, x1, tol, "gates"); Close(h2, h1, tol, "h");
        var dh = Random<T>(n, 8);
        var d1 = (T[])dh.Clone(); var d2 = (T[])dh.Clone();
        var dx1 = new T[3 * n]; var dx2 = new T[3 * n]; var dhh1 = new T[3 * n]; var dhh2 = new T[3 * n];
        RecurrentKernels.GruBackward<T>(x2, gh, hPrev, d1, dx1, dhh1, rows, hidden);
        RecurrentKernels.GruBackwardReference<T>(x2, gh, hPrev, d2, dx2, dhh2, rows, hidden);
        Close(dx2, dx1, tol, "dGx"); Close(dhh2, dhh1, tol, "dGh"); Close(d2, d1, tol, "dhPrev");
    }

    static void Rnn<T>(int rows, int hidden, double tol) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = rows * hidden;
        foreach (bool relu in new[] { false, true })
        {
            var pre = Random<T>(n, 9, 3);
            var h1 = new T[n]; var h2 = new T[n];
            RecurrentKernels.RnnForward<T>(pre, h1, relu);
            RecurrentKernels.RnnForwardReference<T>(pre, h2, relu);
            Close(h2, h1, tol, $"h relu={relu}");
            var dh = Random<T>(n, 10);
            var d1 = new T[n]; var d2 = new T[n];
            RecurrentKernels.RnnBackward<T>(h2, dh, d1, relu);
            RecurrentKernels.RnnBackwardReference<T>(h2, dh, d2, relu);
            Close(d2, d1, tol, $"dPre relu={relu}");
        }
    }

    [Theory]
    [MemberData(nameof(Sizes))]
    public void GateKernelsMatchReferences(int rows, int hidden)
    {
        Lstm<float>(rows, hidden, 2e-6); Lstm<double>(rows, hidden, 1e-14);
        Gru<float>(rows, hidden, 2e-6); Gru<double>(rows, hidden, 1e-14);
        Rnn<float>(rows, hidden, 2e-6); Rnn<double>(rows, hidden, 1e-14);
    }

    [Fact]
    public void GateKernelsRejectShortSpans()
    {
        Assert.Throws<ArgumentException>(() => RecurrentKernels.LstmForward<float>(new float[7], new float[2], new float[2], new float[2], 1, 2));
        Assert.Throws<ArgumentException>(() => RecurrentKernels.GruBackward<double>(new double[6], new double[6], new double[2], new double[2], new double[6], new double[5], 1, 2));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void ComputePackedEqualsPackedGemmBitwise(int pathValue)
    {
        var path = (GemmPath)pathValue;
        Assert.SkipUnless(Gemm.IsSupported(path), $"the {path} GEMM path is not supported on this CPU");
        var old = Gemm.ForcedPath;
        Gemm.ForcedPath = path;
        try
        {
            foreach (int threads in new[] { 1, 2 })
            {
                KernelThreadPool.SetThreadCount(threads);
                foreach (var (m, n, k) in new[] { (1, 1, 1), (7, 33, 5), (32, 1024, 256), (32, 256, 1024), (100, 70, 600), (5, 4200, 3) })
                    foreach (bool transA in new[] { false, true })
                        foreach (bool transB in new[] { false, true })
                            foreach (var beta in new[] { 0f, 1f })
                                Compare(m, n, k, transA, transB, beta);
            }
            foreach (var (m, n, k) in new[] { (3, 9, 7), (40, 130, 300) })
            {
                int lda = k + 1, ldb = n + 2, ldc = n + 3;
                var a = Random<double>(m * lda, 11); var b = Random<double>(k * ldb, 12);
                var c1 = Random<double>(m * ldc, 13); var c2 = (double[])c1.Clone();
                using var packed = Gemm.PackB<double>(false, k, n, b, ldb);
                Gemm.ComputePacked<double>(false, m, 0.5, a, lda, packed, 2.0, c1, ldc);
                Gemm.ForcePacked = true;
                try { Gemm.Dgemm(false, false, m, n, k, 0.5, a, lda, b, ldb, 2.0, c2, ldc); }
                finally { Gemm.ForcePacked = false; }
                Assert.Equal(c2, c1);
            }
        }
        finally { Gemm.ForcedPath = old; KernelThreadPool.SetThreadCount(Environment.ProcessorCount); }
    }

    static void Compare(int m, int n, int k, bool transA, bool transB, float beta)
    {
        int lda = transA ? m : k, ldb = transB ? k : n;
        var a = Random<float>(m * k, m + k); var b = Random<float>(k * n, n + 3 * k);
        var c1 = Random<float>(m * n, 7); var c2 = (float[])c1.Clone();
        using (var packed = Gemm.PackB<float>(transB, k, n, b, ldb))
            Gemm.ComputePacked<float>(transA, m, 1f, a, lda, packed, beta, c1, n);
        Gemm.ForcePacked = true;
        try { Gemm.Sgemm(transA, transB, m, n, k, 1f, a, lda, b, ldb, beta, c2, n); }
        finally { Gemm.ForcePacked = false; }
        Assert.True(c1.AsSpan().SequenceEqual(c2), $"m={m} n={n} k={k} tA={transA} tB={transB} beta={beta}");
    }

    [Fact]
    public void PackedOperandChecksArgumentsAndDisposal()
    {
        var b = new float[12];
        Assert.Throws<ArgumentException>(() => Gemm.PackB<float>(false, 3, 5, b, 5));
        Assert.Throws<ArgumentException>(() => Gemm.PackB<float>(false, 0, 4, b, 4));
        var packed = Gemm.PackB<float>(false, 3, 4, b, 4);
        Assert.Equal(3, packed.K); Assert.Equal(4, packed.N);
        Assert.Throws<ArgumentException>(() => Gemm.ComputePacked<float>(false, 2, 1f, new float[5], 3, packed, 0f, new float[8], 4));
        Assert.Throws<ArgumentException>(() => Gemm.ComputePacked<float>(false, 2, 1f, new float[6], 3, packed, 0f, new float[7], 4));
        packed.Dispose();
        Assert.Throws<ObjectDisposedException>(() => Gemm.ComputePacked<float>(false, 2, 1f, new float[6], 3, packed, 0f, new float[8], 4));
    }
}
