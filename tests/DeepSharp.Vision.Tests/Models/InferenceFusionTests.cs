using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>
/// InferenceOptimizer on the zoo: batch norm folded inside the residual blocks of ResNet (basic and bottleneck) and
/// MobileNetV2, outputs equal to the eval-mode model (formula-filled weights, so every batch norm has non-trivial
/// statistics).
/// </summary>
[Collection("Zoo")]
public class InferenceFusionTests
{
    static void AssertClose(Tensor expected, Tensor actual, double rtol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray<double>(); var a = actual.ToArray<double>();
        double scale = e.Max(Math.Abs);
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= rtol * scale, $"{what}: element {i} is {a[i]:G10}, expected {e[i]:G10} (scale {scale:G4})");
    }

    static void Check(Module<Tensor, Tensor> model, int[] inputShape, string what)
    {
        WeightFill.Fill(model);
        model.Eval();
        var x = WeightFill.Input(inputShape);
        var expected = model.Call(x);
        var optimized = InferenceOptimizer.Optimize(model);
        Assert.DoesNotContain(optimized.Modules(), m => m is BatchNormBase or Conv2d or Dropout);
        Assert.Contains(optimized.Modules(), m => m is FusedConv2d);
        AssertClose(expected, optimized.Call(x), 1e-4, what);
    }

    [Fact]
    public void ResNet18MatchesEvalModel() => Check(ResNet.ResNet18(), [2, 3, 64, 64], "resnet18");

    [Fact]
    public void ResNet50BottleneckMatchesEvalModel() => Check(ResNet.ResNet50(numClasses: 10), [1, 3, 64, 64], "resnet50");

    [Fact]
    public void SmallStemResNetMatchesEvalModel() => Check(ResNet.ResNet18Small(baseChannels: 16), [2, 3, 32, 32], "resnet18 small");

    [Fact]
    public void MobileNetV2MatchesEvalModel() => Check(new MobileNetV2(), [2, 3, 64, 64], "mobilenet_v2");

    [Fact]
    public void ResNet18InFloat64MatchesToRounding()
    {
        var model = ResNet.ResNet18Small(numClasses: 10, baseChannels: 8);
        WeightFill.Fill(model);
        model.Double();
        model.Eval();
        var x = WeightFill.Input(2, 3, 16, 16).To(DType.Float64);
        var expected = model.Call(x);
        AssertClose(expected, InferenceOptimizer.Optimize(model).Call(x), 1e-10, "resnet18 small float64");
    }

    [Fact]
    public void MobileNetBlocksFoldInside()
    {
        var model = new MobileNetV2(numClasses: 10, widthMult: 0.5);
        model.Eval();
        var optimized = InferenceOptimizer.Optimize(model);
        // 17 inverted residuals: the 10 with a residual connection become FusedResidualBlocks
        Assert.Equal(10, optimized.Modules().OfType<FusedResidualBlock>().Count());
        Assert.Throws<ArgumentException>(() => optimized.Call(Tensor.Randn(1, 4, 32, 32)));
    }
}
