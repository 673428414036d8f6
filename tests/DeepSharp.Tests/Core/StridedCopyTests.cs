using DeepSharp.Kernels;

namespace DeepSharp.Tests.Core;

/// <summary>
/// StridedCopy.Copy (behind Contiguous, Cat, broadcasting and collation) drops size-1 dimensions, merges dimensions both
/// layouts lay out as one run and splits large copies over the kernel thread pool; these hold it equal to an
/// element-by-element reference walk on permuted, sliced, expanded and strided layouts, at 1 and 2 threads, on
/// sizes below and above the parallel threshold.
/// </summary>
[Collection(SerialCollection.Name)]
public class StridedCopyTests
{
    // The reference: every multi-index in row-major order, one element at a time.
    static void Reference(float[] src, int so, int[] ss, float[] dst, int dOff, int[] ds, int[] shape)
    {
        int n = shape.Aggregate(1, (a, b) => a * b);
        var index = new int[shape.Length];
        for (int e = 0; e < n; e++)
        {
            int a = so, b = dOff;
            for (int k = 0; k < shape.Length; k++) { a += index[k] * ss[k]; b += index[k] * ds[k]; }
            dst[b] = src[a];
            for (int k = shape.Length - 1; k >= 0; k--) { if (++index[k] < shape[k]) break; index[k] = 0; }
        }
    }

    static int[] Contiguous(int[] shape)
    {
        var s = new int[shape.Length];
        for (int k = shape.Length - 1, m = 1; k >= 0; k--) { s[k] = m; m *= shape[k]; }
        return s;
    }

    static void Check(int[] shape, int[] srcStrides, int srcOffset, int[] dstStrides, int dstOffset, int threads)
    {
        int SpanOf(int[] strides, int offset) => offset + 1 + shape.Select((d, k) => (d - 1) * strides[k]).Sum();
        var src = Enumerable.Range(0, SpanOf(srcStrides, srcOffset)).Select(i => (float)i + 0.5f).ToArray();
        var expected = Enumerable.Repeat(-1f, SpanOf(dstStrides, dstOffset)).ToArray();
        var actual = (float[])expected.Clone();
        Reference(src, srcOffset, srcStrides, expected, dstOffset, dstStrides, shape);
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(threads);
        try { StridedCopy.Copy(src, srcOffset, srcStrides, actual, dstOffset, dstStrides, shape); }
        finally { KernelThreadPool.SetThreadCount(saved); }
        int first = Enumerable.Range(0, expected.Length).FirstOrDefault(i => expected[i] != actual[i], -1);
        Assert.True(first < 0,
            $"shape ({string.Join(",", shape)}) src strides ({string.Join(",", srcStrides)}) dst strides ({string.Join(",", dstStrides)}), {threads} threads: " +
            $"first difference at {first}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PermutedSlicedAndExpandedLayoutsCopyLikeTheElementWalk(int threads)
    {
        foreach (var shape in new[] { new[] { 3, 5, 7 }, [2, 1, 9, 1, 4], [64, 32, 40], [8, 16, 24, 24], [1, 1, 1], [70000] })
        {
            var cont = Contiguous(shape);
            // contiguous to contiguous, with offsets
            Check(shape, cont, 3, cont, 2, threads);
            // a permutation (reversed axes) of a contiguous source
            var reversed = Contiguous(shape.Reverse().ToArray()).Reverse().ToArray();
            Check(shape, reversed, 0, cont, 0, threads);
            // into a channel slice of a wider destination (the dim-1 slice Cat writes)
            if (shape.Length >= 2)
            {
                var wide = (int[])shape.Clone(); wide[1] += 3;
                var wideStrides = Contiguous(wide);
                Check(shape, cont, 0, wideStrides, 2 * wideStrides[1], threads);
                Check(shape, wideStrides, wideStrides[1], cont, 0, threads);
            }
            // broadcast: stride 0 along every dim but the first, into a contiguous and into a transposed destination
            var expand = new int[shape.Length]; expand[0] = 1;
            Check(shape, expand, 5, cont, 0, threads);
            Check(shape, expand, 5, reversed, 0, threads);
            // stride 0 in the innermost dim, into a destination whose innermost stride is not 1
            var inner0 = (int[])cont.Clone(); inner0[^1] = 0;
            Check(shape, inner0, 1, reversed, 0, threads);
            // every other element of a doubled source
            Check(shape, cont.Select(s => 2 * s).ToArray(), 1, cont, 0, threads);
        }
    }

    [Fact]
    public void ContiguousOfLargeViewsIsBitwiseTheSameAtOneAndTwoThreads()
    {
        var x = Tensor.Randn(4, 48, 40, 40);
        Tensor[] Views() => [x.Permute(0, 2, 3, 1), x.Narrow(1, 5, 30), x.Narrow(3, 1, 33), x.Narrow(0, 1, 1).Expand(4, 48, 40, 40)];
        int saved = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(1);
            var one = Views().Select(v => v.Contiguous().ToArray<float>()).ToArray();
            KernelThreadPool.SetThreadCount(2);
            var two = Views().Select(v => v.Contiguous().ToArray<float>()).ToArray();
            for (int i = 0; i < one.Length; i++) Assert.True(one[i].SequenceEqual(two[i]), $"view {i}");
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
    }
}
