using DeepSharp.NN;
using DeepSharp.Text.Models;

namespace DeepSharp.Text.Tests.Models;

/// <summary>The GPT's own attention: incremental decoding, rotary positions and Primer's q/k/v convolution.</summary>
public class CausalSelfAttentionTests
{
    static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        double worst = expected.Sub(actual).Abs().Max().Item();
        Assert.True(worst <= tolerance, $"max difference {worst}");
    }

    /// <summary>A layer with random (not identity) convolution taps, so the convolution matters.</summary>
    static CausalSelfAttention Layer(bool rotary, int convKernel)
    {
        var conv = convKernel > 0 ? new CausalDepthwiseConv1d(24, convKernel) : null;
        var layer = new CausalSelfAttention(8, 2, rotary: rotary ? new RotaryEmbedding(4) : null, projectionConv: conv);
        layer.Eval();
        return layer;
    }

    [Theory]
    [InlineData(false, 0)]
    [InlineData(false, 3)]
    [InlineData(true, 0)]
    [InlineData(true, 3)]
    public void IncrementalDecodingInChunksEqualsTheFullForward(bool rotary, int convKernel)
    {
        DeepSharp.Random.Seed(9);
        var layer = Layer(rotary, convKernel);
        var x = Tensor.Randn(2, 9, 8);
        using (Autograd.NoGrad())
        {
            var full = layer.Forward(x);                                               // (2, 9, 8)
            var cache = new LayerKeyValueCache();
            AssertClose(full, layer.Forward(x, new LayerKeyValueCache()));             // the cached path on an empty cache
            // a prompt of 4, then a chunk of 3 after the cache (a lower-right causal mask), then single tokens
            AssertClose(full.Narrow(1, 0, 4), layer.Forward(x.Narrow(1, 0, 4), cache));
            if (convKernel > 0) Assert.Equal(new[] { 2, convKernel - 1, 24 }, cache.ConvState!.Shape);
            AssertClose(full.Narrow(1, 4, 3), layer.Forward(x.Narrow(1, 4, 3), cache));
            for (int t = 7; t < 9; t++) AssertClose(full.Narrow(1, t, 1), layer.Forward(x.Narrow(1, t, 1), cache));
            Assert.Equal(9, cache.Length);
            cache.Reset();
            Assert.Null(cache.ConvState);
            AssertClose(full.Narrow(1, 0, 2), layer.Forward(x.Narrow(1, 0, 2), cache));
        }
    }

    [Fact]
    public void GradientsFlowThroughTheCacheWhileRecording()
    {
        DeepSharp.Random.Seed(3);
        var layer = Layer(rotary: true, convKernel: 2);
        layer.Train();
        var x = Tensor.Randn([1, 5, 8], requiresGrad: true);
        var full = layer.Forward(x);
        var cache = new LayerKeyValueCache();
        var stepped = Tensor.Cat(Enumerable.Range(0, 5).Select(t => layer.Forward(x.Narrow(1, t, 1), cache)).ToArray(), 1);
        AssertClose(full, stepped);
        AssertClose(Autograd.Grad(full.Sum(), x), Autograd.Grad(stepped.Sum(), x), 1e-4);
    }

    [Fact]
    public void KeysFollowMultiheadAttentionAndTheConvolutionIsKeyedAfterThem()
    {
        var layer = new CausalSelfAttention(8, 2, projectionConv: new CausalDepthwiseConv1d(24, 3));
        Assert.Equal(["in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias", "qkv_conv.weight"], layer.StateDict().Keys);
        Assert.Equal(new[] { 24, 1, 3 }, layer.ProjectionConv!.Weight.Shape);
        Assert.Contains("width=8, num_heads=2, dropout=0.0", layer.ToString());
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        Assert.Contains("3·width = 24", Assert.Throws<ArgumentException>(() => new CausalSelfAttention(8, 2, projectionConv: new CausalDepthwiseConv1d(16, 3))).Message);
        Assert.Contains("multiple of numHeads", Assert.Throws<ArgumentException>(() => new CausalSelfAttention(10, 3)).Message);
        Assert.Contains("a head has 4", Assert.Throws<ArgumentException>(() => new CausalSelfAttention(8, 2, rotary: new RotaryEmbedding(8))).Message);
        var layer = new CausalSelfAttention(8, 2, projectionConv: new CausalDepthwiseConv1d(24, 3));
        Assert.Contains("(B, T, C) with C = 8", Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Randn(1, 3, 6))).Message);
        var cache = new LayerKeyValueCache();
        using (Autograd.NoGrad())
        {
            layer.Forward(Tensor.Randn(1, 3, 8), cache);
            Assert.Contains("Reset()", Assert.Throws<ArgumentException>(() => layer.Forward(Tensor.Randn(2, 1, 8), cache)).Message);
        }
    }
}
