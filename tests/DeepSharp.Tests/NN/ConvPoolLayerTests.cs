using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.NN;

/// <summary>Tests of the module classes for convolution, pooling, dropout, upsampling and embedding.</summary>
public class ConvPoolLayerTests
{
    /// <summary>The GUIDE's example model.</summary>
    sealed class Net : Module<Tensor, Tensor>
    {
        readonly Conv2d conv1 = new(1, 32, 3, padding: 1);
        readonly Linear fc = new(32 * 14 * 14, 10);
        public override Tensor Forward(Tensor x) => fc.Call(F.MaxPool2d(conv1.Call(x), 2).Flatten(1));
    }

    [Fact]
    public void GuideExampleHasPyTorchKeysAndRuns()
    {
        var net = new Net();
        Assert.Equal(["conv1.weight", "conv1.bias", "fc.weight", "fc.bias"], net.StateDict().Keys);
        Assert.Equal([32, 1, 3, 3], net.StateDict()["conv1.weight"].Shape);
        Assert.Equal([2, 10], net.Forward(Tensor.Randn(2, 1, 28, 28)).Shape);
    }

    [Fact]
    public void PrintMatchesPyTorch()
    {
        var m = new Sequential(new Conv2d(1, 32, 3, padding: 1), new MaxPool2d(2), new Conv2d(32, 8, (3, 5), stride: (1, 2), groups: 4, bias: false),
            new AvgPool2d(2), new AdaptiveAvgPool2d(1), new Dropout(), new Dropout2d(0.25), new Upsample(scaleFactor: 2),
            new ConvTranspose2d(8, 4, 3, stride: 2, outputPadding: 1), new Conv1d(4, 4, 3, dilation: 2), new Embedding(10, 3, paddingIdx: 0),
            new MaxPool1d(3));
        const string expected = """
            Sequential(
              (0): Conv2d(1, 32, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
              (1): MaxPool2d(kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False)
              (2): Conv2d(32, 8, kernel_size=(3, 5), stride=(1, 2), groups=4, bias=False)
              (3): AvgPool2d(kernel_size=2, stride=2, padding=0)
              (4): AdaptiveAvgPool2d(output_size=1)
              (5): Dropout(p=0.5, inplace=False)
              (6): Dropout2d(p=0.25, inplace=False)
              (7): Upsample(scale_factor=2.0, mode=nearest)
              (8): ConvTranspose2d(8, 4, kernel_size=(3, 3), stride=(2, 2), output_padding=(1, 1))
              (9): Conv1d(4, 4, kernel_size=(3,), stride=(1,), dilation=(2,))
              (10): Embedding(10, 3, padding_idx=0)
              (11): MaxPool1d(kernel_size=3, stride=3, padding=0, dilation=1, ceil_mode=False)
            )
            """;
        Assert.Equal(expected.ReplaceLineEndings("\n"), m.ToString());
    }

    [Fact]
    public void ConvInitUsesFanInOfWeightDim1()
    {
        var conv = new Conv2d(16, 8, 3, groups: 2);                              // fan_in = 16/2·9 = 72
        double bound = 1 / Math.Sqrt(72);
        Assert.All(conv.Weight.ToArray<double>(), v => Assert.InRange(v, -bound, bound));
        Assert.All(conv.Bias!.ToArray<double>(), v => Assert.InRange(v, -bound, bound));
        var deconv = new ConvTranspose2d(8, 6, 3, groups: 2);                   // weight (8, 3, 3, 3): fan_in = 27
        Assert.Equal([8, 3, 3, 3], deconv.Weight.Shape);
        Assert.All(deconv.Bias!.ToArray<double>(), v => Assert.InRange(v, -1 / Math.Sqrt(27), 1 / Math.Sqrt(27)));
        Assert.Throws<ArgumentException>(() => new Conv2d(3, 8, 3, groups: 2));
    }

    [Fact]
    public void DropoutFollowsTrainingMode()
    {
        var d = new Dropout(0.5);
        var x = Tensor.Ones(1000);
        var y = d.Forward(x).ToArray<double>();
        Assert.All(y, v => Assert.True(v == 0 || v == 2));
        d.Eval();
        AssertClose(x, d.Forward(x));
    }

    [Fact]
    public void EmbeddingZeroesThePaddingRow()
    {
        var e = new Embedding(5, 3, paddingIdx: -1);
        Assert.Equal(4, e.PaddingIdx);
        Assert.All(e.Weight.Select(0, 4).ToArray<double>(), v => Assert.Equal(0.0, v));
        var y = e.Forward(Tensor.FromArray(new long[] { 0, 4, 2 }, 3));
        Assert.Equal([3, 3], y.Shape);
        var frozen = Embedding.FromPretrained(Tensor.Eye(3));
        Assert.False(frozen.Weight.RequiresGrad);
    }
}
