using DeepSharp.Kernels;
using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>
/// GroupNorm/LayerNorm, the unary activations and same-shape binary ops split their work over the kernel thread pool once a tensor is
/// large enough; these hold the split paths bitwise equal at 1 and 2 threads and against composite reference maths,
/// on odd sizes that give several row blocks and a remainder chunk.
/// </summary>
[Collection(SerialCollection.Name)]
public class ParallelOpsThreadingTests
{
    static T WithThreads<T>(int threads, Func<T> f)
    {
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(threads);
        try { return f(); }
        finally { KernelThreadPool.SetThreadCount(saved); }
    }

    static (Tensor Y, Tensor Dx, Tensor Dw, Tensor Db) GroupNormPass(Tensor x0, Tensor w0, Tensor b0, Tensor gy, int groups)
    {
        var x = x0.Detach().RequiresGrad_(); var w = w0.Detach().RequiresGrad_(); var b = b0.Detach().RequiresGrad_();
        var y = F.GroupNorm(x, groups, w, b);
        y.Backward(gy);
        return (y.Detach(), x.Grad!, w.Grad!, b.Grad!);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void GroupNormIsBitwiseTheSameAtOneAndTwoThreads(DType dtype)
    {
        DeepSharp.Random.Seed(7);
        // rows = 5·3 = 15 of 2·37·37 = 2738 elements: several row blocks, the last one short
        var x = Tensor.Randn([5, 6, 37, 37], dtype); var w = Tensor.Randn([6], dtype); var b = Tensor.Randn([6], dtype);
        var gy = Tensor.Randn([5, 6, 37, 37], dtype);
        var one = WithThreads(1, () => GroupNormPass(x, w, b, gy, 3));
        var two = WithThreads(2, () => GroupNormPass(x, w, b, gy, 3));
        if (dtype == DType.Float32)
        {
            Assert.Equal(one.Y.ToArray<float>(), two.Y.ToArray<float>());
            Assert.Equal(one.Dx.ToArray<float>(), two.Dx.ToArray<float>());
            Assert.Equal(one.Dw.ToArray<float>(), two.Dw.ToArray<float>());
            Assert.Equal(one.Db.ToArray<float>(), two.Db.ToArray<float>());
        }
        else
        {
            Assert.Equal(one.Y.ToArray<double>(), two.Y.ToArray<double>());
            Assert.Equal(one.Dx.ToArray<double>(), two.Dx.ToArray<double>());
            Assert.Equal(one.Dw.ToArray<double>(), two.Dw.ToArray<double>());
            Assert.Equal(one.Db.ToArray<double>(), two.Db.ToArray<double>());
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void GroupNormMatchesCompositeMathsOnManyRowBlocks(int threads)
    {
        DeepSharp.Random.Seed(11);
        int n = 3, c = 10, groups = 5, h = 29, wd = 31;
        var x = Tensor.Randn([n, c, h, wd], DType.Float64); var w = Tensor.Randn([c], DType.Float64); var b = Tensor.Randn([c], DType.Float64);
        var gy = Tensor.Randn([n, c, h, wd], DType.Float64);
        var fused = WithThreads(threads, () => GroupNormPass(x, w, b, gy, groups));

        // reference: the same normalisation written with differentiable tensor ops
        var xr = x.Detach().RequiresGrad_(); var wr = w.Detach().RequiresGrad_(); var br = b.Detach().RequiresGrad_();
        var rows = xr.Reshape(n * groups, -1);
        var centered = rows.Sub(rows.Mean(1, keepDim: true));
        var xhat = centered.Mul(centered.Mul(centered).Mean(1, keepDim: true).Add(1e-5).Rsqrt()).Reshape(n, c, h, wd);
        var yr = xhat.Mul(wr.Reshape(1, c, 1, 1)).Add(br.Reshape(1, c, 1, 1));
        yr.Backward(gy);
        AssertClose(yr.Detach(), fused.Y, 1e-10, 1e-10, "y");
        AssertClose(xr.Grad!, fused.Dx, 1e-9, 1e-9, "dx");
        AssertClose(wr.Grad!, fused.Dw, 1e-9, 1e-9, "dw");
        AssertClose(br.Grad!, fused.Db, 1e-9, 1e-9, "db");
    }

    [Fact]
    public void LayerNormIsBitwiseTheSameAtOneAndTwoThreads()
    {
        DeepSharp.Random.Seed(5);
        var x0 = Tensor.Randn([301, 257]); var w0 = Tensor.Randn([257]); var b0 = Tensor.Randn([257]); var gy = Tensor.Randn([301, 257]);
        (float[], float[], float[]) Pass()
        {
            var x = x0.Detach().RequiresGrad_(); var w = w0.Detach().RequiresGrad_(); var b = b0.Detach().RequiresGrad_();
            var y = F.LayerNorm(x, [257], w, b);
            y.Backward(gy);
            return (y.Detach().ToArray<float>(), x.Grad!.ToArray<float>(), w.Grad!.ToArray<float>());
        }
        var one = WithThreads(1, Pass);
        var two = WithThreads(2, Pass);
        Assert.Equal(one.Item1, two.Item1);
        Assert.Equal(one.Item2, two.Item2);
        Assert.Equal(one.Item3, two.Item3);
    }

    [Fact]
    public void SiluForwardAndBackwardAreBitwiseTheSameAtOneAndTwoThreads()
    {
        DeepSharp.Random.Seed(3);
        var x0 = Tensor.Randn([3, 7, 41, 43]).Mul(4); var gy = Tensor.Randn([3, 7, 41, 43]);   // 37 023 elements: two chunks and a remainder
        (float[], float[]) Pass()
        {
            var x = x0.Detach().RequiresGrad_();
            var y = F.Silu(x);
            y.Backward(gy);
            return (y.Detach().ToArray<float>(), x.Grad!.ToArray<float>());
        }
        var one = WithThreads(1, Pass);
        var two = WithThreads(2, Pass);
        Assert.Equal(one.Item1, two.Item1);
        Assert.Equal(one.Item2, two.Item2);
        var xs = x0.ToArray<float>();
        for (int i = 0; i < xs.Length; i++)
        {
            double reference = xs[i] / (1 + Math.Exp(-xs[i]));
            Assert.True(Math.Abs(one.Item1[i] - reference) <= 1e-5 * (1 + Math.Abs(reference)), $"{i}: {one.Item1[i]} vs {reference}");
        }
    }

    [Fact]
    public void LongBinaryOpsAreBitwiseTheSameAtOneAndTwoThreadsAndMatchTheScalarMaths()
    {
        DeepSharp.Random.Seed(9);
        var a = Tensor.Randn([5, 3, 47, 53]); var b = Tensor.Randn([5, 3, 47, 53]).Add(3);   // 37 365 elements
        var scalar = Tensor.FromArray(new[] { 1.75f }, [1]);
        float[][] Pass() =>
        [
            a.Add(b).ToArray<float>(), a.Sub(b).ToArray<float>(), a.Mul(b).ToArray<float>(), a.Div(b).ToArray<float>(),
            a.Mul(scalar).ToArray<float>(), scalar.Sub(a).ToArray<float>(), a.Add(2.5).ToArray<float>(),
        ];
        var one = WithThreads(1, Pass);
        var two = WithThreads(2, Pass);
        for (int k = 0; k < one.Length; k++) Assert.Equal(one[k], two[k]);
        var av = a.ToArray<float>(); var bv = b.ToArray<float>();
        for (int i = 0; i < av.Length; i++)
        {
            Assert.Equal(av[i] + bv[i], two[0][i]);
            Assert.Equal(av[i] - bv[i], two[1][i]);
            Assert.Equal(av[i] * bv[i], two[2][i]);
            Assert.Equal(av[i] / bv[i], two[3][i]);
            Assert.Equal(av[i] * 1.75f, two[4][i]);
            Assert.Equal(1.75f - av[i], two[5][i]);
        }
    }

    [Fact]
    public void LongInPlaceAddIsBitwiseTheSameAtOneAndTwoThreads()
    {
        DeepSharp.Random.Seed(4);
        var a = Tensor.Randn([40001]); var b = Tensor.Randn([40001]);
        float[] Pass() { var d = a.Clone(); d.AddInPlace(b); return d.ToArray<float>(); }
        Assert.Equal(WithThreads(1, Pass), WithThreads(2, Pass));
        Assert.Equal(a.Add(b).ToArray<float>(), WithThreads(2, Pass));
    }

    [Fact]
    public void LongInPlaceAddOnAShiftedViewOfItselfIsNotSplitIntoChunks()
    {
        // destination x[1:], source x[:-1]: the same memory shifted by one element. Split into chunks, a later chunk would
        // read elements an earlier one had already written; the op must behave as the one serial pass does at 1 thread.
        DeepSharp.Random.Seed(5);
        var x0 = Tensor.Randn([40001]);
        string? Outcome(int threads) => WithThreads(threads, () =>
        {
            var x = x0.Clone();
            try { x.Narrow(0, 1, 40000).AddInPlace(x.Narrow(0, 0, 40000)); return string.Join(",", x.ToArray<float>()); }
            catch (ArgumentException e) { return "threw " + e.GetType().Name; }
        });
        Assert.Equal(Outcome(1), Outcome(2));
    }

    [Fact]
    public void LongInPlaceAddOfAnElementOfItselfReadsItOnce()
    {
        // x += x[7] (a 0-d view into the destination): every element gets the value x[7] had before the op
        DeepSharp.Random.Seed(6);
        var x0 = Tensor.Randn([40001]);
        float added = x0.ToArray<float>()[7];
        var expected = x0.ToArray<float>().Select(v => v + added).ToArray();
        foreach (int threads in new[] { 1, 2 })
        {
            var x = x0.Clone();
            WithThreads(threads, () => x.AddInPlace(x.Select(0, 7)));
            Assert.Equal(expected, x.ToArray<float>());
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void PerChannelOperandsCombineLikeTheirMaterializedExpansion(int threads)
    {
        // (1, C, 1, 1), (N, C, 1, 1), (C, 1, 1) and (N, C, H, 1) against (N, C, H, W) take the block path (one value per
        // run of H·W or W outputs); W = 5 is below the shortest block and materializes. Each result must equal the op
        // on the operand expanded and made contiguous first, element for element, in either operand order and in place.
        DeepSharp.Random.Seed(12);
        foreach (var (dtype, w) in new[] { (DType.Float32, 24), (DType.Float64, 24), (DType.Float32, 5) })
        {
            var x = Tensor.Randn([4, 16, 24, w], dtype).Add(3);
            var full = new[] { 4, 16, 24, w };
            Tensor[] operands =
            [
                Tensor.Randn([1, 16, 1, 1], dtype).Add(2), Tensor.Randn([4, 16, 1, 1], dtype).Add(2), Tensor.Randn([16, 1, 1], dtype).Add(2),
                Tensor.Randn([4, 16, 24, 1], dtype).Add(2), Tensor.Randn([16, 4], dtype).Add(2).T.Unsqueeze(2).Unsqueeze(3),
            ];
            foreach (var c in operands)
            {
                var e = c.Expand(full).Contiguous();
                WithThreads(threads, () =>
                {
                    void Same(Tensor expected, Tensor actual, string what) =>
                        Assert.True(expected.ToArray<double>().SequenceEqual(actual.ToArray<double>()), $"{what} with {TestUtilFmt(c)} ({dtype}, W {w})");
                    Same(x.Add(e), x.Add(c), "x + c"); Same(e.Add(x), c.Add(x), "c + x");
                    Same(x.Sub(e), x.Sub(c), "x - c"); Same(e.Sub(x), c.Sub(x), "c - x");
                    Same(x.Mul(e), x.Mul(c), "x * c"); Same(e.Div(x), c.Div(x), "c / x"); Same(x.Div(e), x.Div(c), "x / c");
                    Same(Tensor.Maximum(x, e), Tensor.Maximum(x, c), "maximum"); Same(Tensor.Minimum(e, x), Tensor.Minimum(c, x), "minimum");
                    var inPlace = x.Clone(); inPlace.AddInPlace(c);
                    Same(x.Add(e), inPlace, "x += c");
                    return 0;
                });
            }
        }
    }

    static string TestUtilFmt(Tensor t) => $"({string.Join(", ", t.Shape)}), strides ({string.Join(", ", t.Strides)})";

    [Fact]
    public void LongChannelAndRowSumsAreBitwiseTheSameAtOneAndTwoThreads()
    {
        // a bias gradient's sum over (N, H, W) and a row sum over the last dim split their output elements over the pool
        DeepSharp.Random.Seed(13);
        var x = Tensor.Randn([7, 19, 23, 29]);   // 88 711 elements, odd sizes
        var d = x.Double();
        float[][] Pass() => [x.Sum([0, 2, 3]).ToArray<float>(), x.Sum([3]).ToArray<float>(), x.Sum([2, 3]).ToArray<float>(), x.Sum([0, 2, 3], keepDim: true).ToArray<float>()];
        var one = WithThreads(1, Pass);
        var two = WithThreads(2, Pass);
        for (int k = 0; k < one.Length; k++) Assert.Equal(one[k], two[k]);
        AssertClose(d.Sum([0, 2, 3]), Tensor.FromArray(two[0]).Double(), rtol: 1e-5, atol: 1e-3, what: "channel sums");
        AssertClose(d.Sum([3]).Reshape(-1), Tensor.FromArray(two[1]).Double(), rtol: 1e-5, atol: 1e-4, what: "row sums");
    }
}
