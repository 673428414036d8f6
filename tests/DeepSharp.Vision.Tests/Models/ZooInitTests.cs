using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>Freshly built models are initialised as torchvision 0.14 initialises them (distribution checks).</summary>
[Collection("Zoo")]
public class ZooInitTests
{
    /// <summary>Mean ≈ 0 and std within 5% of <paramref name="std"/> (thousands of samples: the sampling error is ~1-2%).</summary>
    static void AssertNormalish(Tensor t, double std, string what, double? bound = null)
    {
        var v = t.ToArray<float>();
        double mean = v.Average(x => (double)x);
        double sd = Math.Sqrt(v.Sum(x => (x - mean) * (x - mean)) / v.Length);
        Assert.True(Math.Abs(sd / std - 1) < 0.05, $"{what}: std {sd:G4}, expected {std:G4}");
        Assert.True(Math.Abs(mean) < 5 * std / Math.Sqrt(v.Length), $"{what}: mean {mean:G4} is far from 0 (std {std:G4}, {v.Length} values)");
        if (bound is { } b) Assert.True(v.All(x => Math.Abs(x) <= b), $"{what}: values exceed ±{b:G4}");
    }

    static void AssertConstant(Tensor? t, float value, string what)
    {
        Assert.NotNull(t);
        Assert.True(t!.ToArray<float>().All(x => x == value), $"{what}: expected all {value}");
    }

    static int FanOut(Tensor w) => w.Shape[0] * w.Shape.Skip(2).Aggregate(1, (a, b) => a * b);
    static int FanIn(Tensor w) => w.Shape.Skip(1).Aggregate(1, (a, b) => a * b);

    [Fact]
    public void ResNetUsesKaimingNormalFanOutAndUnitBatchNorm()
    {
        DeepSharp.Random.Seed(1);
        var model = ResNet.ResNet18(numClasses: 10);
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is Conv2d conv && conv.Weight.NumEl >= 4096)
                AssertNormalish(conv.Weight, Math.Sqrt(2.0 / FanOut(conv.Weight)), name);
            if (m is BatchNorm2d bn) { AssertConstant(bn.Weight, 1, name); AssertConstant(bn.Bias, 0, name); }
        }
        // the classifier keeps nn.Linear's default: U(-1/sqrt(in), 1/sqrt(in))
        var fc = (Linear)model.GetSubmodule("fc");
        AssertNormalish(fc.Weight, 1 / Math.Sqrt(512) / Math.Sqrt(3), "fc.weight", bound: 1 / Math.Sqrt(512));
    }

    [Fact]
    public void ZeroInitResidualZeroesTheLastNormOfEveryBlock()
    {
        var basic = ResNet.ResNet18(numClasses: 10, zeroInitResidual: true);
        foreach (var (name, m) in basic.NamedModules())
            if (m is BatchNorm2d bn) AssertConstant(bn.Weight, name.EndsWith(".bn2", StringComparison.Ordinal) ? 0 : 1, name);
        var bottleneck = new ResNet(ResNetBlock.Bottleneck, [1, 2, 1, 1], numClasses: 10, zeroInitResidual: true);
        foreach (var (name, m) in bottleneck.NamedModules())
            if (m is BatchNorm2d bn) AssertConstant(bn.Weight, name.EndsWith(".bn3", StringComparison.Ordinal) ? 0 : 1, name);
        // with zeroed residual branches each block starts as identity + ReLU: a non-negative input passes the stages unchanged in shape and value
        var block = (Module<Tensor, Tensor>)basic.GetSubmodule("layer1.0");
        block.Eval();
        var x = Tensor.Rand(1, 64, 5, 5);
        using (Autograd.NoGrad()) Assert.Equal(x.ToArray<float>(), block.Call(x).ToArray<float>());
    }

    [Fact]
    public void VggUsesKaimingFanOutConvsAndSmallNormalLinears()
    {
        DeepSharp.Random.Seed(2);
        var model = VGG.Vgg11Bn(numClasses: 10);
        foreach (var (name, m) in model.NamedModules())
        {
            switch (m)
            {
                case Conv2d conv:
                    AssertNormalish(conv.Weight, Math.Sqrt(2.0 / FanOut(conv.Weight)), name);
                    AssertConstant(conv.Bias, 0, name + ".bias");
                    break;
                case BatchNorm2d bn: AssertConstant(bn.Weight, 1, name); AssertConstant(bn.Bias, 0, name); break;
                case Linear linear:
                    AssertNormalish(linear.Weight.Narrow(0, 0, Math.Min(64, linear.OutFeatures)), 0.01, name);
                    AssertConstant(linear.Bias, 0, name + ".bias");
                    break;
            }
        }
    }

    [Fact]
    public void GoogLeNetUsesTruncatedNormal()
    {
        DeepSharp.Random.Seed(3);
        var model = new GoogLeNet(numClasses: 10);
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is Conv2d conv && conv.Weight.NumEl >= 4096) AssertNormalish(conv.Weight, 0.01, name, bound: 2);
            if (m is Linear linear)
            {
                AssertNormalish(linear.Weight, 0.01, name, bound: 2);
                // torchvision leaves linear biases at nn.Linear's default
                double bound = 1 / Math.Sqrt(linear.InFeatures);
                Assert.True(linear.Bias!.ToArray<float>().All(b => Math.Abs(b) <= bound), name + ".bias");
            }
            if (m is BatchNorm2d bn) { AssertConstant(bn.Weight, 1, name); AssertConstant(bn.Bias, 0, name); Assert.Equal(0.001, bn.Eps); }
        }
    }

    [Fact]
    public void MobileNetV2UsesKaimingFanOutAndSmallNormalClassifier()
    {
        DeepSharp.Random.Seed(4);
        var model = new MobileNetV2(numClasses: 100);
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is Conv2d conv && conv.Weight.NumEl >= 4096)
                AssertNormalish(conv.Weight, Math.Sqrt(2.0 / FanOut(conv.Weight)), name);   // depthwise: fan_out = channels·9
            if (m is BatchNorm2d bn) { AssertConstant(bn.Weight, 1, name); AssertConstant(bn.Bias, 0, name); }
        }
        var fc = (Linear)model.GetSubmodule("classifier.1");
        AssertNormalish(fc.Weight, 0.01, "classifier.1.weight");
        AssertConstant(fc.Bias, 0, "classifier.1.bias");
    }

    [Fact]
    public void AlexNetKeepsTheLayerDefaults()
    {
        DeepSharp.Random.Seed(5);
        var model = new AlexNet(numClasses: 10);
        foreach (var (name, m) in model.NamedModules())
        {
            if (m is Conv2d conv)
            {
                double bound = 1 / Math.Sqrt(FanIn(conv.Weight));
                AssertNormalish(conv.Weight, bound / Math.Sqrt(3), name, bound);
                Assert.True(conv.Bias!.ToArray<float>().All(b => Math.Abs(b) <= bound), name + ".bias");
            }
            if (m is Linear linear)
            {
                double bound = 1 / Math.Sqrt(linear.InFeatures);
                AssertNormalish(linear.Weight.Narrow(0, 0, Math.Min(64, linear.OutFeatures)), bound / Math.Sqrt(3), name, bound);
            }
        }
    }
}
