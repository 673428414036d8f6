using DeepSharp.NN;

namespace DeepSharp.Tests.Core;

/// <summary>
/// In a plain backward pass the engine adds a tensor's second gradient (a residual connection's other branch) into a
/// gradient that a backward function has just made and only the engine holds (Autograd.Fresh: a linear layer's, a
/// norm's, a convolution's input gradient) instead of into a new sum. a + b and b + a are the same floats, so every
/// gradient must be bitwise what Autograd.Grad (which never adds in place) gives, and no gradient a backward function
/// passed on unchanged to two places may be written.
/// </summary>
public class ResidualGradientAccumulationTests
{
    static List<Tensor> Leaves(Module model, Tensor x) => [x, .. model.Parameters()];

    static void AssertBackwardMatchesGrad(Func<Tensor> loss, List<Tensor> leaves, int inPlacePerPass, bool atLeast = false)
    {
        var reference = Autograd.Grad([loss()], leaves.ToArray()).Select(g => g!.ToArray<double>()).ToList();
        foreach (var t in leaves) t.Grad = null;
        int before = Autograd.SummedInPlaceCount;
        loss().Backward();
        if (atLeast) Assert.InRange(Autograd.SummedInPlaceCount - before, inPlacePerPass, int.MaxValue);
        else Assert.Equal(inPlacePerPass, Autograd.SummedInPlaceCount - before);
        for (int i = 0; i < leaves.Count; i++) Assert.Equal(reference[i], leaves[i].Grad!.ToArray<double>());
        // again onto zeroed gradients, as a training step runs (the layers then add into Grad themselves)
        using (Autograd.NoGrad()) foreach (var t in leaves) t.Grad!.ZeroInPlace();
        loss().Backward();
        for (int i = 0; i < leaves.Count; i++) Assert.Equal(reference[i], leaves[i].Grad!.ToArray<double>());
    }

    [Fact]
    public void PostNormResidualBlocksGiveTheSameGradientsAsAutogradGrad()
    {
        Random.Seed(1);
        var blocks = Enumerable.Range(0, 3).Select(_ => (Linear: new Linear(6, 6, dtype: DType.Float64), Norm: new LayerNorm([6], dtype: DType.Float64))).ToList();
        var model = new Sequential(blocks.SelectMany(b => new Module<Tensor, Tensor>[] { b.Linear, b.Norm }).ToArray());
        var x = Tensor.Randn([4, 6], DType.Float64).RequiresGrad_();
        Tensor Loss()
        {
            var h = x;
            foreach (var (linear, norm) in blocks) h = norm.Call(h.Add(linear.Call(h)));   // x = LN(x + f(x))
            return h.Mul(h).Sum();
        }
        AssertBackwardMatchesGrad(Loss, Leaves(model, x), inPlacePerPass: 2);   // the second and third blocks' inputs (the first is the leaf x)
    }

    [Fact]
    public void ThreeBranchesAndAPassedOnGradientStayExact()
    {
        Random.Seed(2);
        var a = new Linear(5, 5, dtype: DType.Float64);
        var b = new Linear(5, 5, dtype: DType.Float64);
        var c = new Linear(5, 5, dtype: DType.Float64);
        var model = new Sequential(a, b, c);
        var x = Tensor.Randn([3, 5], DType.Float64).RequiresGrad_();
        Tensor Loss()
        {
            var h = x.Mul(2);                              // the node every branch's gradient reaches
            var s = h.Add(h);                              // AddBackward passes one gradient on twice to h
            var y = s.Add(a.Call(h)).Add(b.Call(h)).Add(c.Call(h));   // three fresh gradients and the passed-on ones
            return y.Mul(y).Sum();
        }
        // at h: s's two passed-on gradients (the same tensor twice: a new sum, which is the engine's), and a's, b's and
        // c's fresh ones added into that sum or into themselves (how many of each depends on the order they arrive in)
        AssertBackwardMatchesGrad(Loss, Leaves(model, x), inPlacePerPass: 3, atLeast: true);
    }

    [Fact]
    public void ResidualConvolutionsGiveTheSameGradientsAsAutogradGrad()
    {
        Random.Seed(3);
        var conv1 = new Conv2d(3, 3, 3, padding: 1, dtype: DType.Float64);
        var conv2 = new Conv2d(3, 3, 1, dtype: DType.Float64);
        var model = new Sequential(conv1, conv2);
        var x = Tensor.Randn([2, 3, 5, 5], DType.Float64).RequiresGrad_();
        Tensor Loss()
        {
            var h = x.Relu().Add(conv1.Call(x));
            h = h.Add(conv2.Call(h));
            return h.Mul(h).Sum();
        }
        AssertBackwardMatchesGrad(Loss, Leaves(model, x), inPlacePerPass: 1);   // at the first sum h; x is a leaf (no node)
    }

    [Fact]
    public void ATransformerLayerAddsBothResidualGradientsInPlace()
    {
        Random.Seed(4);
        var layer = new TransformerEncoderLayer(16, 2, 32, 0.0, batchFirst: true);
        var leaf = Tensor.Randn([2, 5, 16]).RequiresGrad_();
        // post-norm: x1 = norm1(x + attention(x)), x2 = norm2(x1 + feed_forward(x1)); x a non-leaf so both joins have a node
        var x = leaf.Mul(1.0);
        int before = Autograd.SummedInPlaceCount;
        var y = layer.Call(x);
        y.Mul(y).Mean().Backward();
        Assert.Equal(2, Autograd.SummedInPlaceCount - before);
        var reference = Autograd.Grad([layer.Call(leaf.Mul(1.0)).Pow(2).Mean()], [leaf])[0]!.ToArray<float>();
        Assert.Equal(reference, leaf.Grad!.ToArray<float>());
    }
}
