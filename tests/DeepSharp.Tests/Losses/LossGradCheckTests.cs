using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Losses;

/// <summary>Float64 finite-difference checks of every loss, with inputs kept away from kinks (|d| = 0, β, δ, hinges).</summary>
public class LossGradCheckTests
{
    static Tensor Leaf(double[] data, params int[] shape) => Tensor.FromArray(data, shape).RequiresGrad_();

    /// <summary>n deterministic values in ±[lo, hi], none near 0.</summary>
    static double[] Vals(int n, double lo, double hi, int seed)
    {
        var g = new System.Random(seed);
        return Enumerable.Range(0, n).Select(_ => (g.Next(2) == 0 ? -1 : 1) * (lo + (hi - lo) * g.NextDouble())).ToArray();
    }

    /// <summary>A target t with input − t = d for d drawn away from the kink k (|d| in [0.05, k − 0.1] or [k + 0.1, k + 1]).</summary>
    static Tensor TargetAway(Tensor input, double k, int seed)
    {
        var g = new System.Random(seed);
        var x = input.ToArray<double>();
        var t = x.Select(v =>
        {
            double m = g.Next(2) == 0 ? 0.05 + (k - 0.15) * g.NextDouble() : k + 0.1 + g.NextDouble();
            return v - (g.Next(2) == 0 ? -m : m);
        }).ToArray();
        return Leaf(t, input.Shape.ToArray());
    }

    static readonly Reduction[] Reds = [Reduction.Mean, Reduction.Sum, Reduction.None];

    [Fact]
    public void CrossEntropyIndices()
    {
        DeepSharp.Random.Seed(1);
        var x = R(5, 4);
        var t = Tensor.FromArray(new long[] { 0, 3, -100, 1, 2 }, 5);
        var w = Tensor.FromArray(new[] { 0.5, 1.5, 1.0, 2.0 }, 4);
        foreach (var red in Reds)
        {
            GradCheck(a => F.CrossEntropy(a[0], t, null, reduction: red), x);
            GradCheck(a => F.CrossEntropy(a[0], t, w, labelSmoothing: 0.1, reduction: red), x);
            GradCheck(a => F.NllLoss(a[0].LogSoftmax(1), t, w, reduction: red), x);
        }
        GradCheck(a => F.CrossEntropy(a[0], t, w), RT(5, 4));                // non-contiguous logits
    }

    [Fact]
    public void CrossEntropyKDimAndProbabilities()
    {
        DeepSharp.Random.Seed(2);
        var x = R(2, 3, 2, 2);
        var t = Tensor.FromArray(new long[] { 0, 2, 1, 1, 2, -100, 0, 1 }, 2, 2, 2);
        GradCheck(a => F.CrossEntropy(a[0], t, null, labelSmoothing: 0.2), x);
        var p = Tensor.Randn(2, 3, 2, 2, DType.Float64).Softmax(1).RequiresGrad_();
        foreach (var red in Reds) GradCheck(a => F.CrossEntropy(a[0], a[1], null, reduction: red), x, p);
    }

    [Fact]
    public void Regression()
    {
        var x = Leaf(Vals(12, 0.1, 2, 3), 3, 4);
        foreach (var red in Reds)
        {
            GradCheck(a => F.MseLoss(a[0], a[1], red), x, Leaf(Vals(12, 0.1, 2, 4), 3, 4));
            GradCheck(a => F.L1Loss(a[0], a[1], red), x, TargetAway(x, 0.5, 5));
            GradCheck(a => F.SmoothL1Loss(a[0], a[1], red, beta: 0.5), x, TargetAway(x, 0.5, 6));
            GradCheck(a => F.HuberLoss(a[0], a[1], red, delta: 0.7), x, TargetAway(x, 0.7, 7));
        }
        // non-contiguous input
        var xt = RT(4, 3);
        GradCheck(a => F.MseLoss(a[0], a[1]), xt, R(4, 3));
    }

    [Fact]
    public void Binary()
    {
        DeepSharp.Random.Seed(3);
        var p = (Tensor.Rand(3, 4, DType.Float64) * 0.8 + 0.1).Detach().RequiresGrad_();
        var t = Tensor.Rand(3, 4, DType.Float64);
        var w = Tensor.Rand(3, 4, DType.Float64) + 0.5;
        var logits = R(3, 4);
        var pw = Tensor.FromArray(new[] { 0.5, 2.0, 1.0, 3.0 }, 4);
        foreach (var red in Reds)
        {
            GradCheck(a => F.BinaryCrossEntropy(a[0], t, w, red), p);
            GradCheck(a => F.BinaryCrossEntropyWithLogits(a[0], a[1], w, pw, red), logits, t.Detach().RequiresGrad_());
            GradCheck(a => F.SigmoidFocalLoss(a[0], t.Gt(0.5).To(DType.Float64), reduction: red), logits);
        }
    }

    [Fact]
    public void KLDiv()
    {
        DeepSharp.Random.Seed(4);
        var input = R(3, 5).LogSoftmax(1).Detach().RequiresGrad_();
        var target = Tensor.Randn(3, 5, DType.Float64).Softmax(1).RequiresGrad_();
        foreach (var red in new[] { Reduction.Mean, Reduction.Sum, Reduction.None, Reduction.BatchMean })
        {
            GradCheck(a => F.KLDivLoss(a[0], a[1], red), input, target);
            GradCheck(a => F.KLDivLoss(a[0], a[1].Log(), red, logTarget: true), input, target);
        }
    }

    [Fact]
    public void EmbeddingLosses()
    {
        var x1 = Leaf(Vals(12, 0.2, 1.5, 8), 4, 3);
        var x2 = Leaf(Vals(12, 0.2, 1.5, 9), 4, 3);
        var y = Tensor.FromArray(new long[] { 1, -1, 1, -1 }, 4);
        // the hinge max(0, cos − margin) must not sit at cos = margin
        using (Autograd.NoGrad())
        {
            var cos = ((x1 * x2).Sum(1) / (x1.Square().Sum(1) * x2.Square().Sum(1)).Sqrt()).ToArray<double>();
            Assert.All(cos, c => Assert.True(Math.Abs(c - 0.2) > 0.01));
        }
        var x3 = Leaf(Vals(12, 0.2, 1.5, 10), 4, 3);
        var yc = Tensor.FromArray(new[] { 1.0, 0.0, 1.0, 0.0 }, 4);
        foreach (var red in Reds)
        {
            GradCheck(a => F.CosineEmbeddingLoss(a[0], a[1], y, margin: 0.2, reduction: red), x1, x2);
            GradCheck(a => F.TripletMarginLoss(a[0], a[1], a[2], margin: 5.0, swap: true, reduction: red), x1, x2, x3);
            GradCheck(a => F.ContrastiveLoss(a[0], a[1], yc, margin: 10.0, reduction: red), x1, x2);
        }
    }

    [Fact]
    public void Focal()
    {
        DeepSharp.Random.Seed(5);
        var x = R(5, 4);
        var t = Tensor.FromArray(new long[] { 0, 3, 2, 1, 2 }, 5);
        var alpha = Tensor.FromArray(new[] { 0.25, 0.5, 0.75, 1.0 }, 4);
        foreach (var red in Reds) GradCheck(a => F.FocalLoss(a[0], t, alpha, gamma: 1.5, reduction: red), x);
    }
}
