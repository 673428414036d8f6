using DeepSharp.NN;

namespace DeepSharp.Tests.Losses;

/// <summary>
/// The one-op paths the allocation work introduced give the bits of the composed ops they replace: the default
/// cross-entropy (NllLossBackward instead of gather, sum, neg, div) and ReLU's fused backward (instead of multiplying by a
/// 0/1 mask tensor), for the loss, the first gradient and, where the backward is recorded, the second.
/// </summary>
[Collection(SerialCollection.Name)]
public class FusedLossBitsTests
{
    /// <summary>The composed default path as it was: −Σ log p(target) / N by gather, sum, neg and div.</summary>
    static Tensor ComposedCrossEntropy(Tensor logits, Tensor target)
        => logits.LogSoftmax(1).Gather(1, target.Unsqueeze(1)).Sum().Neg().Div(target.NumEl);

    static void AssertSameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        Assert.Equal(expected.DType, actual.DType);
        var e = expected.To(DType.Float64).ToArray<double>(); var a = actual.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(e[i]) == BitConverter.DoubleToInt64Bits(a[i]), $"element {i}: {e[i]:R} vs {a[i]:R}");
    }

    [Theory]
    [InlineData(1, 3, DType.Float32)]
    [InlineData(7, 10, DType.Float32)]
    [InlineData(128, 10, DType.Float32)]
    [InlineData(513, 257, DType.Float32)]
    [InlineData(2048, 33, DType.Float32)]
    [InlineData(9, 5, DType.Float64)]
    [InlineData(600, 17, DType.Float64)]
    public void DefaultCrossEntropyIsBitwiseTheComposedOps(int n, int classes, DType dtype)
    {
        DeepSharp.Random.Seed(n * 31 + classes);
        var data = (Tensor.Randn(n, classes) * 4).To(dtype);
        var target = Tensor.RandInt(0, classes, [n]);
        var fused = data.Clone().RequiresGrad_(); var composed = data.Clone().RequiresGrad_();
        var lossFused = F.CrossEntropy(fused, target);
        var lossComposed = ComposedCrossEntropy(composed, target);
        Assert.Equal("NllLossBackward", lossFused.GradFn!.Name);
        AssertSameBits(lossComposed, lossFused);
        (lossFused * 3.7).Backward(); (lossComposed * 3.7).Backward();        // an upstream gradient other than 1
        AssertSameBits(composed.Grad!, fused.Grad!);
    }

    [Fact]
    public void DefaultCrossEntropyDoubleBackwardIsTheComposedOps()
    {
        DeepSharp.Random.Seed(5);
        var data = Tensor.Randn([6, 4], DType.Float64);
        var target = Tensor.FromArray(new long[] { 0, 3, 1, 1, 2, 0 }, 6);
        Tensor[] SecondOrder(Func<Tensor, Tensor, Tensor> loss)
        {
            var x = data.Clone().RequiresGrad_();
            var g = Autograd.Grad(loss(x, target), x, createGraph: true);
            var gg = Autograd.Grad((g * g).Sum(), x);
            return [g, gg];
        }
        var fused = SecondOrder(F.CrossEntropy); var composed = SecondOrder(ComposedCrossEntropy);
        AssertSameBits(composed[0], fused[0]);
        AssertSameBits(composed[1], fused[1]);
    }

    [Fact]
    public void NllLossOfAStridedInputTakesTheComposedPath()
    {
        var logProbs = Tensor.Randn(4, 3).LogSoftmax(1).T.Contiguous().T.RequiresGrad_();   // (4, 3), not contiguous
        var loss = F.NllLoss(logProbs, Tensor.FromArray(new long[] { 0, 2, 1, 2 }, 4));
        Assert.Equal("DivBackward", loss.GradFn!.Name);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ReluBackwardIsBitwiseTheMaskProduct(DType dtype)
    {
        double[] values = [-2, -0.0, 0, 1e-30, 3, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 0.5, -1];
        double[] upstream = [1, -1, -1, 2, -0.25, 1, 1, 1, double.NaN, -3];
        var x = Tensor.FromArray(values, values.Length).To(dtype).RequiresGrad_();
        var g = Tensor.FromArray(upstream, upstream.Length).To(dtype);
        var y = x.Relu();
        y.Backward(g);
        var mask = Tensor.FromArray(values.Select(v => v > 0 && v < double.PositiveInfinity ? 1.0 : 0.0).ToArray(), values.Length).To(dtype);
        AssertSameBits(g.Mul(mask), x.Grad!);
    }

    [Fact]
    public void ReluOnALargeTensorIsBitwiseTheMaskProductOnTwoThreads()
    {
        int threads = Kernels.KernelThreadPool.ThreadCount;
        try
        {
            Kernels.KernelThreadPool.SetThreadCount(2);
            DeepSharp.Random.Seed(3);
            var x = Tensor.Randn(3, 40_001).RequiresGrad_();
            var g = Tensor.Randn(3, 40_001);
            x.Relu().Backward(g);
            var mask = x.Detach().Gt(0).To(DType.Float32);
            AssertSameBits(g.Mul(mask), x.Grad!);
        }
        finally { Kernels.KernelThreadPool.SetThreadCount(threads); }
    }

    [Fact]
    public void ReluDoubleBackwardStillWorks()
    {
        var x = Tensor.FromArray(new[] { -1.0, 2.0, 0.5 }, 3).RequiresGrad_();
        var g = Autograd.Grad((x.Relu() * x).Sum(), x, createGraph: true);   // d/dx (relu(x)·x) = mask·x + relu(x)
        var gg = Autograd.Grad(g.Sum(), x);
        Assert.Equal(new[] { 0.0, 4.0, 1.0 }, g.ToArray<double>());
        Assert.Equal(new[] { 0.0, 2.0, 2.0 }, gg.ToArray<double>());
    }
}
