using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The fused softmax / log-softmax / log-sum-exp kernels against a plain float64 definition.</summary>
[Collection("KernelThreads")]
public class SoftmaxKernelTests
{
    static float[] Random(int length, int seed)
    {
        var rng = new Random(seed);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)((rng.NextDouble() * 2 - 1) * 8);
        return x;
    }

    /// <summary>Element (o, j, i) of a contiguous (outer, n, inner) block.</summary>
    static int At(int o, int j, int i, int n, int inner) => (o * n + j) * inner + i;

    /// <summary>Softmax (or log-softmax) along n by the definition, in float64.</summary>
    static double[] Reference(float[] x, int outer, int n, int inner, bool log)
    {
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int j = 0; j < n; j++) max = Math.Max(max, x[At(o, j, i, n, inner)]);
                for (int j = 0; j < n; j++) sum += Math.Exp(x[At(o, j, i, n, inner)] - max);
                for (int j = 0; j < n; j++)
                {
                    double v = x[At(o, j, i, n, inner)] - max;
                    y[At(o, j, i, n, inner)] = log ? v - Math.Log(sum) : Math.Exp(v) / sum;
                }
            }
        return y;
    }

    [Theory]
    [InlineData(3, 37, 1, false)]      // dim last: one row at a time, not a multiple of the vector width
    [InlineData(3, 37, 1, true)]
    [InlineData(2, 5, 19, false)]      // dim inside: whole rows of length inner combined
    [InlineData(2, 5, 19, true)]
    public void ForwardAndBackwardMatchTheDefinition(int outer, int n, int inner, bool log)
    {
        var x = Random(outer * n * inner, 1);
        var g = Random(x.Length, 2);
        var y = new float[x.Length];
        SoftmaxKernels.Forward<float>(x, y, outer, n, inner, log);
        var expected = Reference(x, outer, n, inner, log);
        for (int e = 0; e < y.Length; e++) Assert.True(Math.Abs(y[e] - expected[e]) <= 1e-5 * Math.Max(1, Math.Abs(expected[e])), $"y[{e}] = {y[e]}, expected {expected[e]}");

        var gx = new float[x.Length];
        SoftmaxKernels.Backward<float>(g, y, gx, outer, n, inner, log);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                double dot = 0, sumG = 0;
                for (int j = 0; j < n; j++) { int e = At(o, j, i, n, inner); dot += g[e] * expected[e]; sumG += g[e]; }
                for (int j = 0; j < n; j++)
                {
                    int e = At(o, j, i, n, inner);
                    double want = log ? g[e] - Math.Exp(expected[e]) * sumG : expected[e] * (g[e] - dot);
                    Assert.True(Math.Abs(gx[e] - want) <= 1e-4 * Math.Max(1, Math.Abs(want)), $"gx[{e}] = {gx[e]}, expected {want}");
                }
            }
    }

    [Fact]
    public void ParallelRunIsBitwiseTheSerialKernel()
    {
        const int outer = 1000, n = 129, inner = 1;                 // 129K elements: 3 tasks of 32K or more
        var x = Random(outer * n * inner, 3);
        var serial = new float[x.Length]; var parallel = new float[x.Length];
        SoftmaxKernels.Forward<float>(x, serial, outer, n, inner, log: false);
        int saved = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(3);
            SoftmaxParallel<float>.Run(x, 0, null, 0, parallel, 0, outer, n, inner, log: false, backward: false);
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
        Assert.Equal(serial, parallel);
    }

    [Fact]
    public void LogSumExpRowsIsStableAndHandlesInfiniteRows()
    {
        var x = new float[] { 1000, 1000, 1000, float.NegativeInfinity, float.NegativeInfinity, float.NegativeInfinity, 0, 1, 2 };
        var dst = new float[3];
        SoftmaxKernels.LogSumExpRows<float>(x, dst, rows: 3, n: 3);
        Assert.Equal(1000 + Math.Log(3), dst[0], 1e-3);
        Assert.Equal(float.NegativeInfinity, dst[1]);
        Assert.Equal(Math.Log(1 + Math.E + Math.E * Math.E), dst[2], 1e-5);
    }
}
