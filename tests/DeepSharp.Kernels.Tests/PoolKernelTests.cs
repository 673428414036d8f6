using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The fast max-pooling paths (2x2/2 AVX2, parallel planes, pointer loops) against the plain reference.</summary>
[Collection("KernelThreads")]
public class PoolKernelTests
{
    /// <summary>Random values with ties (many zeros of both signs, as after ReLU), -inf and NaN sprinkled in.</summary>
    static T[] Data<T>(int n, int seed) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var rng = new System.Random(seed);
        var a = new T[n];
        for (int i = 0; i < n; i++)
        {
            double u = rng.NextDouble();
            a[i] = u < 0.25 ? T.Zero : u < 0.3 ? T.NegativeZero : u < 0.32 ? T.NaN : u < 0.34 ? T.NegativeInfinity : u < 0.4 ? T.One : T.CreateChecked(rng.NextDouble() * 2 - 1);
        }
        return a;
    }

    public static IEnumerable<object[]> Geometries()
    {
        // planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil
        yield return [3, 28, 28, 2, 2, 2, 2, 0, 0, 1, 1, false];    // the common case: whole vectors and no tail
        yield return [3, 7, 13, 2, 2, 2, 2, 0, 0, 1, 1, false];     // odd sizes: only a masked tail (6 of 8), last row/column dropped
        yield return [4, 6, 31, 2, 2, 2, 2, 0, 0, 1, 1, false];     // a whole vector and a masked tail of 7
        yield return [2, 7, 17, 2, 2, 2, 2, 0, 0, 1, 1, true];      // ceil mode: partial last windows take the general path
        yield return [1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, false];
        yield return [5, 10, 10, 3, 3, 2, 2, 1, 1, 1, 1, false];    // padding
        yield return [2, 9, 11, 2, 3, 1, 2, 1, 1, 2, 2, true];      // dilation, mixed strides
        yield return [700, 6, 40, 2, 2, 2, 2, 0, 0, 1, 1, false];   // enough outputs for several parallel tasks
        yield return [6, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, false];  // ResNet's stem pool: stride-2 columns phase-split (values path)
        yield return [3, 15, 21, 3, 3, 2, 2, 1, 1, 1, 1, true];     // the same, odd sizes, ceil mode
        yield return [4, 13, 19, 5, 5, 1, 1, 2, 2, 1, 1, false];    // stride 1 with padding (SPP's 5x5)
        yield return [2, 17, 23, 3, 2, 2, 1, 0, 1, 2, 3, true];     // dilations with stride 2 in H only
        yield return [2, 11, 14, 3, 3, 3, 3, 1, 1, 1, 1, true];     // stride 3: the values path's scalar walk
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void MaxPoolMatchesReference(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, bool ceil)
    {
        Check<float>(planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil);
        Check<double>(planes, h, w, kh, kw, sh, sw, ph, pw, dh, dw, ceil);
    }

    static void Check<T>(int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, bool ceil)
        where T : unmanaged, System.Numerics.IFloatingPointIeee754<T>
    {
        int oh = PoolShape.OutputSize(h, kh, sh, ph, dh, ceil), ow = PoolShape.OutputSize(w, kw, sw, pw, dw, ceil);
        var s = new PoolShape(planes, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw);
        var x = Data<T>(planes * h * w, planes + h * 31 + w);
        var expected = new T[planes * oh * ow]; var expectedIdx = new long[expected.Length];
        Pool.ReferenceMaxPool2d<T>(s, x, expected, expectedIdx);
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = KernelThreadPool.ThreadCount;
            KernelThreadPool.SetThreadCount(threads);
            try
            {
                var y = new T[expected.Length]; var idx = new long[expected.Length];
                Pool.MaxPool2d<T>(s, x, y, idx);
                for (int i = 0; i < y.Length; i++)
                {
                    Assert.True(y[i].Equals(expected[i]), $"{typeof(T).Name} value {i}: {y[i]} vs {expected[i]}");
                    Assert.Equal(expectedIdx[i], idx[i]);
                }
            }
            finally { KernelThreadPool.SetThreadCount(saved); }
        }
        // values only (no indices): the same values, bit for bit (NaN stays NaN, the first of -0 and +0 wins a tie)
        foreach (int threads in new[] { 1, 2 })
        {
            int saved = KernelThreadPool.ThreadCount;
            KernelThreadPool.SetThreadCount(threads);
            try
            {
                var y = Data<T>(expected.Length, 99);   // garbage: must be overwritten
                Pool.MaxPool2dValues<T>(s, x, y);
                for (int i = 0; i < y.Length; i++)
                    Assert.True(y[i].Equals(expected[i]) && T.IsNegative(y[i]) == T.IsNegative(expected[i]), $"{typeof(T).Name} values-only {i} of {s}: {y[i]} vs {expected[i]}");
            }
            finally { KernelThreadPool.SetThreadCount(saved); }
        }
    }
}
