using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Losses;

/// <summary>Clear errors for bad targets, shapes and weights; unbatched inputs; the loss modules against F.</summary>
public class LossErrorTests
{
    static readonly Tensor Logits = Tensor.Randn(3, 4, DType.Float64);

    [Fact]
    public void ClassIndexOutOfRangeNamesValueAndClassCount()
    {
        var t = Tensor.FromArray(new long[] { 0, 5, 1 }, 3);
        var e = Assert.Throws<IndexOutOfRangeException>(() => F.CrossEntropy(Logits, t));
        Assert.Contains("5", e.Message); Assert.Contains("4 classes", e.Message); Assert.Contains("CrossEntropy", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => F.NllLoss(Logits, Tensor.FromArray(new long[] { 0, -1, 1 }, 3)));
        Assert.Contains("-1", e.Message); Assert.Contains("4 classes", e.Message); Assert.Contains("NllLoss", e.Message);
        e = Assert.Throws<IndexOutOfRangeException>(() => F.FocalLoss(Logits, Tensor.FromArray(new int[] { 4, 0, 1 }, 3)));
        Assert.Contains("4 classes", e.Message);
    }

    [Fact]
    public void FloatTargetToNllLoss()
    {
        var e = Assert.Throws<ArgumentException>(() => F.NllLoss(Logits, Tensor.FromArray(new[] { 0.0, 1, 2 }, 3)));
        Assert.Contains("NllLoss", e.Message); Assert.Contains("class indices", e.Message); Assert.Contains("float64", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.FocalLoss(Logits, Tensor.FromArray(new[] { 0.0, 1, 2 }, 3)));
        Assert.Contains("class indices", e.Message);
    }

    [Fact]
    public void TargetShapeMismatch()
    {
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Logits, Tensor.FromArray(new long[] { 0, 1 }, 2)));
        Assert.Contains("(3, 4)", e.Message); Assert.Contains("(2,)", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Logits, Tensor.Rand(3, 5, DType.Float64)));
        Assert.Contains("(3, 5)", e.Message); Assert.Contains("(3, 4)", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Randn(2, 3, 4), Tensor.Zeros([2, 5], DType.Int64)));
        Assert.Contains("(2, 4)", e.Message);
        foreach (Func<Tensor, Tensor, Tensor> loss in new Func<Tensor, Tensor, Tensor>[]
                 {
                     (a, b) => F.MseLoss(a, b), (a, b) => F.L1Loss(a, b), (a, b) => F.SmoothL1Loss(a, b), (a, b) => F.HuberLoss(a, b),
                     (a, b) => F.BinaryCrossEntropy(a.Sigmoid(), b), (a, b) => F.BinaryCrossEntropyWithLogits(a, b), (a, b) => F.KLDivLoss(a, b),
                     (a, b) => F.SigmoidFocalLoss(a, b),
                 })
        {
            e = Assert.Throws<ArgumentException>(() => loss(Tensor.Rand(3, 4), Tensor.Rand(4, 3)));
            Assert.Contains("(3, 4)", e.Message); Assert.Contains("(4, 3)", e.Message);
        }
        e = Assert.Throws<ArgumentException>(() => F.ContrastiveLoss(Tensor.Rand(3, 2), Tensor.Rand(3, 2), Tensor.Ones(4)));
        Assert.Contains("(4,)", e.Message);
    }

    [Fact]
    public void WeightOfWrongLength()
    {
        var t = Tensor.FromArray(new long[] { 0, 1, 2 }, 3);
        var e = Assert.Throws<ArgumentException>(() => F.CrossEntropy(Logits, t, Tensor.Ones(3)));
        Assert.Contains("(3,)", e.Message); Assert.Contains("(4)", e.Message); Assert.Contains("weight", e.Message);
        e = Assert.Throws<ArgumentException>(() => F.NllLoss(Logits, t, Tensor.Ones(5)));
        Assert.Contains("(5,)", e.Message);
        Assert.Throws<ArgumentException>(() => F.FocalLoss(Logits, t, Tensor.Ones(2, 2)));
    }

    [Fact]
    public void BadHyperparameters()
    {
        var t = Tensor.FromArray(new long[] { 0, 1, 2 }, 3);
        Assert.Throws<ArgumentOutOfRangeException>(() => F.CrossEntropy(Logits, t, null, labelSmoothing: 1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.SmoothL1Loss(Logits, Logits, beta: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => F.HuberLoss(Logits, Logits, delta: 0));
        Assert.Throws<ArgumentException>(() => F.CrossEntropy(Tensor.Ones([3, 4], DType.Int64), t));
    }

    [Fact]
    public void UnbatchedInputGivesScalarLoss()
    {
        var x = Tensor.FromArray(new[] { 0.5, -1.0, 2.0, 0.1 }, 4);
        var none = F.CrossEntropy(x, Tensor.Scalar(2, DType.Int64), null, reduction: Reduction.None);
        Assert.Equal(0, none.Rank);
        var expected = -x.LogSoftmax(0).At(2);
        Assert.Equal(expected, none.Item(), 12);
        Assert.Equal(expected, F.CrossEntropy(x, Tensor.Scalar(2, DType.Int64)).Item(), 12);
        var p = F.CrossEntropy(x, x.Softmax(0), null, reduction: Reduction.None);
        Assert.Equal(0, p.Rank);
    }

    [Fact]
    public void AllTargetsIgnoredGivesNaNMeanLikeTorch()
    {
        var t = Tensor.FromArray(new long[] { -100, -100, -100 }, 3);
        Assert.True(double.IsNaN(F.CrossEntropy(Logits, t).Item()));
        Assert.Equal(0.0, F.CrossEntropy(Logits, t, null, reduction: Reduction.Sum).Item());
    }

    [Fact]
    public void CrossEntropyLossModuleMatchesF()
    {
        DeepSharp.Random.Seed(11);
        var x = R(5, 4);
        var t = Tensor.FromArray(new long[] { 0, 3, 1, 1, 2 }, 5);
        var w = Tensor.FromArray(new[] { 0.5, 1.5, 1.0, 2.0 }, 4);
        var m = new CrossEntropyLoss(w, ignoreIndex: 3, reduction: Reduction.Sum, labelSmoothing: 0.1);
        AssertClose(F.CrossEntropy(x, t, w, 3, 0.1, Reduction.Sum), m.Forward(x, t), 1e-12, 0);
        var plain = new CrossEntropyLoss();
        AssertClose(F.CrossEntropy(x, t), plain.Forward(x, t), 1e-12, 0);
        var p = x.Softmax(1).Detach();
        AssertClose(F.CrossEntropy(x, p), plain.Forward(x, p), 1e-12, 0);
        Assert.Same(w, m.Weight);
        Assert.Equal(Reduction.Sum, m.Reduction);
        // gradient flows through the module the same way
        var g1 = Autograd.Grad([m.Forward(x, t)], [x])[0]!;
        var g2 = Autograd.Grad([F.CrossEntropy(x, t, w, 3, 0.1, Reduction.Sum)], [x])[0]!;
        AssertClose(g2, g1, 1e-12, 0);
    }
}
