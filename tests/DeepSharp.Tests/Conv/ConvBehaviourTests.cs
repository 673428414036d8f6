using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Conv;

/// <summary>Clear errors for bad shapes and hyperparameters (style rule 11), and the semantics of dropout and embedding.</summary>
public class ConvBehaviourTests
{
    static void Throws<TException>(Action action, params string[] fragments) where TException : Exception
    {
        var e = Assert.Throws<TException>(action);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    [Fact]
    public void ConvRejectsBadShapesAndHyperparameters()
    {
        var x = Tensor.Randn(2, 3, 8, 8);
        Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(16, 4, 3, 3)), "Conv2d", "(2, 3, 8, 8)", "3 channels", "(16, 4, 3, 3)", "expects 4");
        Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 9, 9)), "Conv2d", "kernel size (9, 9)", "padded input size (8, 8)");
        F.Conv2d(x, Tensor.Randn(4, 3, 9, 9), padding: 1);   // fits once padded
        Throws<ArgumentOutOfRangeException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3, 3), stride: (0, 1)), "stride must be positive", "(0, 1)");
        Throws<ArgumentOutOfRangeException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3, 3), padding: -1), "padding");
        Throws<ArgumentOutOfRangeException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3, 3), dilation: 0), "dilation");
        Throws<ArgumentException>(() => F.Conv2d(Tensor.Randn(2, 4, 8, 8), Tensor.Randn(3, 2, 3, 3), groups: 2), "groups=2", "3 output channels");
        Throws<ArgumentException>(() => F.Conv2d(Tensor.Randn(2, 6, 8, 8), Tensor.Randn(4, 2, 3, 3), groups: 2), "6 channels", "groups=2 expects 4");
        Throws<ArgumentOutOfRangeException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3, 3), groups: 0), "groups");
        Throws<ArgumentException>(() => F.Conv2d(Tensor.Randn(3, 8), Tensor.Randn(4, 3, 3, 3)), "4-D input", "(3, 8)");
        Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3)), "4-D weight", "(4, 3, 3)");
        Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn(4, 3, 3, 3), Tensor.Randn(5)), "bias of shape (5,)", "4 output channels");
        Throws<ArgumentException>(() => F.Conv2d(x, Tensor.Randn([4, 3, 3, 3], DType.Float64)), "torch.float32", "torch.float64");
        Throws<ArgumentException>(() => F.Conv2d(Tensor.Zeros([2, 3, 8, 8], DType.Int64), Tensor.Randn(4, 3, 3, 3)), "floating point", "torch.int64");
        Throws<ArgumentException>(() => F.Conv1d(Tensor.Randn(2, 3, 4), Tensor.Randn(2, 3, 5)), "Conv1d", "kernel size 5", "padded input size 4");
        Throws<ArgumentOutOfRangeException>(() => F.ConvTranspose2d(x, Tensor.Randn(3, 2, 3, 3), stride: 2, outputPadding: 2), "output padding", "stride");
        Throws<ArgumentException>(() => F.ConvTranspose2d(x, Tensor.Randn(4, 2, 3, 3)), "ConvTranspose2d", "3 channels", "expects 4");
        Throws<ArgumentException>(() => F.ConvTranspose2d(Tensor.Randn(1, 3, 1, 1), Tensor.Randn(3, 2, 1, 1), padding: 1), "non-positive output size");
    }

    [Fact]
    public void ConvOutputShapes()
    {
        Assert.Equal([2, 4, 4, 3], F.Conv2d(Tensor.Randn(2, 3, 8, 7), Tensor.Randn(4, 3, 3, 3), stride: 2, padding: (1, 0)).Shape);
        Assert.Equal([4, 6, 6], F.Conv2d(Tensor.Randn(3, 8, 8), Tensor.Randn(4, 3, 3, 3)).Shape);
        Assert.Equal([2, 5, 8], F.Conv1d(Tensor.Randn(2, 3, 8), Tensor.Randn(5, 3, 3), padding: 1).Shape);
        Assert.Equal([1, 2, 8, 8], F.ConvTranspose2d(Tensor.Randn(1, 3, 4, 4), Tensor.Randn(3, 2, 3, 3), stride: 2, padding: 1, outputPadding: 1).Shape);
        Assert.Equal([1, 2, 8], F.ConvTranspose1d(Tensor.Randn(1, 3, 4), Tensor.Randn(3, 2, 2), stride: 2).Shape);
    }

    [Fact]
    public void PoolingRejectsBadArguments()
    {
        var x = Tensor.Randn(1, 2, 5, 5);
        Throws<ArgumentOutOfRangeException>(() => F.MaxPool2d(x, 3, padding: 2), "MaxPool2d", "at most half the kernel size");
        Throws<ArgumentOutOfRangeException>(() => F.MaxPool2d(x, 2, stride: 0), "stride must be positive");
        Throws<ArgumentOutOfRangeException>(() => F.AvgPool2d(x, (0, 2)), "kernel size must be positive");
        Throws<ArgumentException>(() => F.MaxPool2d(x, 6), "MaxPool2d", "(1, 2, 5, 5)", "too small", "(0, 0)");
        Throws<ArgumentException>(() => F.MaxPool2d(Tensor.Randn(5, 5), 2), "3-D or 4-D", "(5, 5)");
        Throws<ArgumentException>(() => F.MaxPool1d(Tensor.Randn(2, 3, 4, 5), 2), "MaxPool1d", "(2, 3, 4, 5)");
        Throws<ArgumentOutOfRangeException>(() => F.AdaptiveAvgPool2d(x, (0, 2)), "output size must be positive");
        Throws<ArgumentOutOfRangeException>(() => F.AvgPool2d(x, 2, divisorOverride: 0), "divisorOverride");
        Assert.Equal([2, 3, 3], F.MaxPool2d(Tensor.Randn(2, 5, 5), 2, ceilMode: true).Shape);
        Assert.Equal([1, 2, 1, 1], F.AdaptiveAvgPool2d(x, 1).Shape);
    }

    [Fact]
    public void MaxPoolPropagatesNaNAndPicksFirstMaximum()
    {
        var x = Tensor.FromArray(new double[] { 1, 3, 3, 0, double.NaN, 2, 5, 5 }, 1, 1, 2, 4);
        var (y, idx) = F.MaxPool2dWithIndices(x, (2, 2));
        Assert.True(double.IsNaN(y.At(0, 0, 0, 0)));
        Assert.Equal(new long[] { 4, 6 }, idx.ToArray<long>());   // NaN at flat 4 wins window 0; the first 5 (flat 6) wins window 1
    }

    [Fact]
    public void MaxPoolWithoutGradientTakesTheValuesPathWithTheSameValues()
    {
        // under no_grad (or for an input that needs no gradient) max pooling skips the indices: same values, 2-D and 1-D,
        // batched and unbatched, float32 and float64, padding and ceil mode; with a gradient the indexed path still trains
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.Randn([2, 3, 15, 17]).To(dtype);
            var expected = F.MaxPool2dWithIndices(x, (3, 3), (2, 2), (1, 1), ceilMode: true).Output;
            Tensor values;
            using (Autograd.NoGrad()) values = F.MaxPool2d(x, (3, 3), (2, 2), (1, 1), ceilMode: true);
            Assert.Equal(expected.Shape, values.Shape);
            Assert.Equal(expected.To(DType.Float64).ToArray<double>(), values.To(DType.Float64).ToArray<double>());
            var unbatched = x[0];
            Assert.Equal(F.MaxPool2dWithIndices(unbatched, (2, 2)).Output.To(DType.Float64).ToArray<double>(), F.MaxPool2d(unbatched, (2, 2)).To(DType.Float64).ToArray<double>());
            var seq = Tensor.Randn([2, 4, 19]).To(dtype);
            Assert.Equal(F.MaxPool1dWithIndices(seq, 3, 2, 1).Output.To(DType.Float64).ToArray<double>(), F.MaxPool1d(seq, 3, 2, 1).To(DType.Float64).ToArray<double>());
        }
        var leaf = Tensor.Randn([1, 2, 6, 6]); leaf.RequiresGrad = true;
        F.MaxPool2d(leaf, (2, 2)).Sum().Backward();
        Assert.Equal(2 * 9, leaf.Grad!.ToArray<float>().Count(v => v == 1f));   // one winner per window
    }

    [Fact]
    public void EmbeddingErrorsNameTheIndexAndVocabulary()
    {
        var w = Tensor.Randn(10, 4);
        Throws<IndexOutOfRangeException>(() => F.Embedding(Tensor.FromArray(new long[] { 1, 12, 3 }, 3), w), "index 12", "vocabulary of 10", "(10, 4)");
        Throws<IndexOutOfRangeException>(() => F.Embedding(Tensor.FromArray(new int[] { -1 }, 1), w), "index -1", "vocabulary of 10");
        Throws<ArgumentException>(() => F.Embedding(Tensor.Zeros(3), w), "int64 or int32", "torch.float32");
        Throws<ArgumentException>(() => F.Embedding(Tensor.FromArray(new long[] { 1 }, 1), Tensor.Randn(10)), "2-D", "(10,)");
        Throws<ArgumentOutOfRangeException>(() => F.Embedding(Tensor.FromArray(new long[] { 1 }, 1), w, paddingIdx: 10), "paddingIdx 10");
    }

    [Fact]
    public void EmbeddingPaddingRowGetsNoGradientAndRepeatsAccumulate()
    {
        var w = Tensor.Randn([4, 3], DType.Float64, requiresGrad: true);
        var idx = Tensor.FromArray(new long[] { 2, 1, 2, 3, 1, 1 }, 2, 3);
        var y = F.Embedding(idx, w, paddingIdx: 3);
        Assert.Equal([2, 3, 3], y.Shape);
        AssertClose(w.Detach().Narrow(0, 3, 1).Reshape(3), y.Detach().Narrow(0, 1, 1).Narrow(1, 0, 1).Reshape(3));  // forward still reads the row
        y.Sum().Backward();
        AssertClose(new double[] { 0, 0, 0, 3, 3, 3, 2, 2, 2, 0, 0, 0 }, w.Grad!);
    }

    [Fact]
    public void DropoutSemantics()
    {
        var x = Tensor.Ones([200, 100], DType.Float64, requiresGrad: true);
        Assert.Same(x, F.Dropout(x, 0.0));
        Assert.Same(x, F.Dropout(x, 0.7, training: false));
        Throws<ArgumentOutOfRangeException>(() => F.Dropout(x, 1.5), "between 0 and 1", "1.5");
        Throws<ArgumentOutOfRangeException>(() => F.Dropout(x, double.NaN), "between 0 and 1");
        Throws<ArgumentException>(() => F.Dropout(Tensor.Zeros([3], DType.Int64)), "floating point");

        var all = F.Dropout(x, 1.0);
        Assert.Equal(0, all.Sum().Item());
        all.Sum().Backward();
        Assert.Equal(0, x.Grad!.Sum().Item());

        var y = F.Dropout(x, 0.3, generator: new Generator(5));
        var values = y.ToArray<double>();
        Assert.All(values, v => Assert.True(v == 0 || Math.Abs(v - 1 / 0.7) < 1e-12));
        double dropped = values.Count(v => v == 0) / (double)values.Length;
        Assert.InRange(dropped, 0.27, 0.33);
        Assert.InRange(y.Mean().Item(), 0.95, 1.05);          // inverted dropout keeps the expectation
        Assert.Equal(values, F.Dropout(x, 0.3, generator: new Generator(5)).ToArray<double>());   // reproducible

        var g = F.Dropout2d(Tensor.Ones(4, 8, 3, 3), 0.5, generator: new Generator(9));
        var perChannel = g.Sum([2, 3]).ToArray<float>();
        Assert.All(perChannel, s => Assert.True(s == 0 || Math.Abs(s - 18) < 1e-4));   // whole channels dropped or scaled by 2
        Assert.Contains(perChannel, s => s == 0);
        Throws<ArgumentException>(() => F.Dropout2d(Tensor.Ones(4, 8)), "Dropout2d", "(4, 8)");
    }

    [Fact]
    public void InterpolateAndPadErrors()
    {
        var x = Tensor.Randn(1, 2, 3, 4);
        Throws<ArgumentException>(() => F.Interpolate(x), "exactly one of size and scaleFactor", "neither");
        Throws<ArgumentException>(() => F.Interpolate(x, size: 4, scaleFactor: 2), "both");
        Throws<ArgumentException>(() => F.Interpolate(x, size: 4, alignCorners: true), "alignCorners");
        Throws<ArgumentException>(() => F.Interpolate(Tensor.Randn(1, 2, 3), size: 4, mode: UpsampleMode.Bilinear), "bilinear mode needs a 4-D");
        Throws<ArgumentException>(() => F.Interpolate(x, size: 4, mode: UpsampleMode.Linear), "linear mode needs a 3-D");
        Throws<ArgumentOutOfRangeException>(() => F.Interpolate(x, scaleFactor: -1), "positive");
        Throws<ArgumentException>(() => F.Interpolate(x, scaleFactor: 0.1), "empty output");
        Assert.Equal([1, 2, 6, 8], F.Interpolate(x, scaleFactor: 2).Shape);
        Throws<ArgumentException>(() => F.Pad(x, [1, 2, 3]), "Pad", "even");
        Throws<ArgumentException>(() => F.Pad(x, [-3, -2]), "negative size");
        Assert.Equal([1, 2, 5, 5], F.Pad(x, [0, 1, 1, 1]).Shape);
    }
}
