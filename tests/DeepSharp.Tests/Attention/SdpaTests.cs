using DeepSharp.Kernels;
using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>Scaled dot-product attention: the lean (fused) path against the plain one, gradient checks, errors.</summary>
[Collection(SerialCollection.Name)]
public class SdpaTests
{
    /// <summary>Runs <paramref name="body"/> with small kernel tiles, so short sequences span several query and key blocks.</summary>
    static void WithTiles(int q, int k, Action body)
    {
        var saved = AttentionKernel.BlockOverride;
        AttentionKernel.BlockOverride = (q, k);
        try { body(); } finally { AttentionKernel.BlockOverride = saved; }
    }

    static Tensor Sdpa(Tensor q, Tensor k, Tensor v, AttentionPath path, Tensor? mask = null, bool causal = false, double? scale = null) =>
        F.ScaledDotProductAttention(q, k, v, mask, 0.0, causal, scale, path);

    /// <summary>Outputs and all gradients of the two paths agree.</summary>
    static void AssertPathsAgree(Tensor q, Tensor k, Tensor v, Tensor? mask = null, bool causal = false, double tol = 1e-10,
        Func<Tensor, Tensor>? view = null)
    {
        var leaves = new[] { q, k, v };
        view ??= t => t;
        var plain = Sdpa(view(q), view(k), view(v), AttentionPath.Plain, mask, causal);
        var lean = Sdpa(view(q), view(k), view(v), AttentionPath.Lean, mask, causal);
        AssertClose(plain, lean, tol, tol, "output");
        var upstream = Tensor.RandnLike(plain);
        var gp = Autograd.Grad([plain], leaves, [upstream]);
        var gl = Autograd.Grad([lean], leaves, [upstream]);
        for (int i = 0; i < 3; i++) AssertClose(gp[i]!, gl[i]!, tol, tol, $"gradient {i}");
    }

    [Theory]
    [InlineData(64, 128)]   // default tiles: one block
    [InlineData(3, 4)]      // many query and key blocks: online softmax rescaling
    [InlineData(1, 1)]
    public void LeanMatchesPlainOnFourDimInputs(int blockQ, int blockK) => WithTiles(blockQ, blockK, () =>
    {
        DeepSharp.Random.Seed(1);
        AssertPathsAgree(R(2, 3, 7, 5), R(2, 3, 9, 5), R(2, 3, 9, 4));
    });

    [Fact]
    public void DefaultTilesOnLongerSequences()
    {
        DeepSharp.Random.Seed(11);
        // 200 queries × 300 keys: four query blocks and three key blocks of the default tiles
        AssertPathsAgree(R(1, 200, 8), R(1, 300, 8), R(1, 300, 8), causal: true);
        AssertPathsAgree(R(1, 200, 8), R(1, 300, 8), R(1, 300, 8), mask: Tensor.Randn(200, 300, DType.Float64));
    }

    [Fact]
    public void LeanMatchesPlainWithMasksAndCausal() => WithTiles(3, 4, () =>
    {
        DeepSharp.Random.Seed(2);
        // float mask broadcast over batch and heads
        AssertPathsAgree(R(2, 2, 6, 4), R(2, 2, 10, 4), R(2, 2, 10, 3), mask: Tensor.Randn(6, 10, DType.Float64));
        // bool mask per batch entry (true = attend), broadcast over heads and queries (a key padding mask)
        var keep = Tensor.FromArray(new[] { true, true, false, true, true, false, true, true, false, true,
                                            true, false, false, false, true, true, true, true, true, true }, 2, 1, 1, 10);
        AssertPathsAgree(R(2, 2, 6, 4), R(2, 2, 10, 4), R(2, 2, 10, 3), mask: keep);
        // causal, square and rectangular (top-left aligned)
        AssertPathsAgree(R(2, 2, 8, 4), R(2, 2, 8, 4), R(2, 2, 8, 3), causal: true);
        AssertPathsAgree(R(1, 3, 5, 4), R(1, 3, 9, 4), R(1, 3, 9, 4), causal: true);
        AssertPathsAgree(R(1, 1, 9, 4), R(1, 1, 5, 4), R(1, 1, 5, 4), causal: true);
        // mask with the key dim broadcast (one column)
        AssertPathsAgree(R(2, 5, 4), R(2, 7, 4), R(2, 7, 4), mask: Tensor.Randn(2, 5, 1, DType.Float64));
    });

    [Fact]
    public void LeanMatchesPlainOnStridedInputsAndRanks() => WithTiles(4, 3, () =>
    {
        DeepSharp.Random.Seed(3);
        // (N, L, H, D) data seen as (N, H, L, D): the kernel reads strided rows
        var q = R(2, 6, 3, 4); var k = R(2, 7, 3, 4); var v = R(2, 7, 3, 5);
        AssertPathsAgree(q, k, v, view: t => t.Transpose(1, 2));
        // 2-D (unbatched) and 3-D inputs; a non-unit feature stride is made contiguous
        AssertPathsAgree(R(5, 3), R(6, 3), R(6, 2));
        AssertPathsAgree(R(3, 5, 4), R(3, 6, 4), R(3, 6, 2));
        AssertPathsAgree(R(2, 3, 4), R(2, 3, 6), R(2, 2, 6), view: t => t.Transpose(1, 2));
    });

    [Fact]
    public void BroadcastUpstreamGradientAndSingleRows()
    {
        DeepSharp.Random.Seed(10);
        // Sum() sends back an expanded gradient (zero strides); one query row (decoding) has no row stride
        foreach (int l in new[] { 1, 4 })
        {
            var q = R(2, 2, l, 3); var k = R(2, 2, 5, 3); var v = R(2, 2, 5, 3);
            var gp = Autograd.Grad([Sdpa(q, k, v, AttentionPath.Plain).Sum()], [q, k, v]);
            var gl = Autograd.Grad([Sdpa(q, k, v, AttentionPath.Lean).Sum()], [q, k, v]);
            for (int i = 0; i < 3; i++) AssertClose(gp[i]!, gl[i]!, 1e-10, 1e-10, $"gradient {i}");
        }
    }

    [Fact]
    public void Float32PathsAgree()
    {
        DeepSharp.Random.Seed(4);
        var q = Tensor.Randn([2, 4, 33, 16]); var k = Tensor.Randn([2, 4, 40, 16]); var v = Tensor.Randn([2, 4, 40, 16]);
        var mask = F.CausalMask(40).Narrow(0, 0, 33);
        AssertClose(Sdpa(q, k, v, AttentionPath.Plain, mask), Sdpa(q, k, v, AttentionPath.Lean, mask), 1e-5, 1e-5);
    }

    [Fact]
    public void LeanOutputLaysOutHeadsInterleaved()
    {
        var q = Tensor.Randn([2, 3, 5, 4]);
        var o = Sdpa(q, q, q, AttentionPath.Lean);
        Assert.Equal(new[] { 2, 3, 5, 4 }, o.Shape);
        Assert.Equal(new[] { 60, 4, 12, 1 }, o.Strides);   // memory (N, L, H, D)
        Assert.True(o.Transpose(1, 2).IsContiguous);
    }

    [Fact]
    public void FullyMaskedRowsGiveNaNOnBothPaths()
    {
        var q = Tensor.Randn([1, 2, 3]); var k = Tensor.Randn([1, 4, 3]);
        var mask = Tensor.FromArray(new[] { true, true, false, false, false, false, false, false }, 1, 2, 4);
        foreach (var path in new[] { AttentionPath.Plain, AttentionPath.Lean })
        {
            var o = Sdpa(q, k, k, path, mask).ToArray<float>();
            Assert.All(o.Take(3), x => Assert.False(float.IsNaN(x)));
            Assert.All(o.Skip(3), x => Assert.True(float.IsNaN(x)));
        }
    }

    [Fact]
    public void GradCheckPlainAndLean() => WithTiles(2, 3, () =>
    {
        DeepSharp.Random.Seed(5);
        var mask = Tensor.Randn(3, 5, DType.Float64);
        foreach (var path in new[] { AttentionPath.Plain, AttentionPath.Lean })
        {
            GradCheck(x => Sdpa(x[0], x[1], x[2], path), R(2, 3, 4), R(2, 5, 4), R(2, 5, 3));
            GradCheck(x => Sdpa(x[0], x[1], x[2], path, mask), R(1, 2, 3, 4), R(1, 2, 5, 4), R(1, 2, 5, 2));
            GradCheck(x => Sdpa(x[0], x[1], x[2], path, causal: true, scale: 0.7), R(2, 5, 3), R(2, 5, 3), R(2, 5, 3));
        }
    });

    [Fact]
    public void GradCheckMaskOnPlainPath()
    {
        DeepSharp.Random.Seed(6);
        // a float mask that requires grad (a learned bias) goes through the plain path under Auto
        GradCheck(x => F.ScaledDotProductAttention(x[0], x[1], x[2], x[3]), R(2, 3, 4), R(2, 5, 4), R(2, 5, 3), R(3, 5));
    }

    [Fact]
    public void SecondOrderGradientsThroughLeanPath()
    {
        DeepSharp.Random.Seed(7);
        var q = R(1, 3, 4); var k = R(1, 4, 4); var v = R(1, 4, 2);
        Tensor GradNormSquared(AttentionPath path)
        {
            var o = Sdpa(q, k, v, path, causal: true);
            var g = Autograd.Grad([o.Sin().Sum()], [q], createGraph: true)[0]!;
            return g.Square().Sum();
        }
        var plain = Autograd.Grad([GradNormSquared(AttentionPath.Plain)], [q, k, v]);
        var lean = Autograd.Grad([GradNormSquared(AttentionPath.Lean)], [q, k, v]);
        for (int i = 0; i < 3; i++) AssertClose(plain[i]!, lean[i]!, 1e-10, 1e-10, $"second-order gradient {i}");
    }

    [Fact]
    public void LeanDropoutMatchesPlainWithTheSameMask() => WithTiles(3, 2, () =>
    {
        DeepSharp.Random.Seed(8);
        var q = R(2, 2, 5, 3); var k = R(2, 2, 6, 3); var v = R(2, 2, 6, 4);
        const double p = 0.3;
        var gen = new Generator(42);
        var lean = F.ScaledDotProductAttention(q, k, v, dropoutP: p, path: AttentionPath.Lean, generator: gen);
        ulong seed = new Generator(42).NextUInt64();
        var factors = ScaledDotProductAttentionOp.DropoutFactors([2, 2], 5, 6, p, seed, DType.Float64);
        var (plain, _) = ScaledDotProductAttentionOp.Plain(q, k, v, null, false, 0, 1 / Math.Sqrt(3), 0, null, factors);
        AssertClose(plain, lean, 1e-10, 1e-10, "output");
        var up = Tensor.RandnLike(plain);
        var gp = Autograd.Grad([plain], [q, k, v], [up]); var gl = Autograd.Grad([lean], [q, k, v], [up]);
        for (int i = 0; i < 3; i++) AssertClose(gp[i]!, gl[i]!, 1e-10, 1e-10, $"gradient {i}");
        // about p of the weights are dropped
        var drop = factors.Eq(0).To(DType.Float64).Mean().Item();
        Assert.InRange(drop, 0.1, 0.5);
        // the same generator state gives the same result; the global stream gives reproducible results after Seed
        AssertClose(lean, F.ScaledDotProductAttention(q, k, v, dropoutP: p, path: AttentionPath.Lean, generator: new Generator(42)), 0, 0);
    });

    [Fact]
    public void GradCheckLeanWithDropout()
    {
        DeepSharp.Random.Seed(9);
        GradCheck(x => F.ScaledDotProductAttention(x[0], x[1], x[2], dropoutP: 0.25, path: AttentionPath.Lean, generator: new Generator(3)),
            R(2, 4, 3), R(2, 5, 3), R(2, 5, 2));
    }

    [Fact]
    public void WithWeightsReturnsSoftmaxRows()
    {
        var q = Tensor.Randn([2, 3, 4]); var k = Tensor.Randn([2, 5, 4]); var v = Tensor.Randn([2, 5, 6]);
        var (o, w) = F.ScaledDotProductAttentionWithWeights(q, k, v, isCausal: true);
        Assert.Equal(new[] { 2, 3, 5 }, w.Shape);
        AssertClose(Tensor.Ones([2, 3]), w.Sum(-1), 1e-5, 1e-5);
        Assert.Equal(0.0, w.At(0, 0, 1));
        AssertClose(w.MatMul(v), o, 1e-5, 1e-5);
    }

    [Fact]
    public void BroadcastBatchDimsUsePlainPath()
    {
        var q = Tensor.Randn([2, 3, 4, 8]); var k = Tensor.Randn([1, 3, 6, 8]); var v = Tensor.Randn([1, 3, 6, 8]);
        var o = F.ScaledDotProductAttention(q, k, v);
        Assert.Equal(new[] { 2, 3, 4, 8 }, o.Shape);
        var ex = Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k, v, path: AttentionPath.Lean));
        Assert.Contains("batch dims", ex.Message);
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        var q = Tensor.Randn([2, 3, 4]); var k = Tensor.Randn([2, 5, 4]); var v = Tensor.Randn([2, 5, 6]);
        Assert.Contains("embedding size", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, Tensor.Randn([2, 5, 3]), v)).Message);
        Assert.Contains("sequence length", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k, Tensor.Randn([2, 4, 6]))).Message);
        Assert.Contains("do not broadcast", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, Tensor.Randn([3, 5, 4]), Tensor.Randn([3, 5, 6]))).Message);
        Assert.Contains("(2, 3, 5)", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k, v, Tensor.Zeros(3, 4))).Message);
        Assert.Contains("not both", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k, v, Tensor.Zeros(3, 5), isCausal: true)).Message);
        Assert.Contains("same dtype", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k.To(DType.Float64), v)).Message);
        Assert.Contains("at least 2 dims", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(Tensor.Randn(4), k, v)).Message);
        Assert.Contains("bool or floating", Assert.Throws<ArgumentException>(() => F.ScaledDotProductAttention(q, k, v, Tensor.Zeros([3, 5], DType.Int64))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => F.ScaledDotProductAttention(q, k, v, dropoutP: 1.5));
    }
}
