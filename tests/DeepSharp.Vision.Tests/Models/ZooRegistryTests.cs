using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

[Collection("Zoo")]
public class ZooRegistryTests
{
    [Fact]
    public void ListsEveryTorchvisionArchitectureOfTheFixture()
    {
        foreach (var name in ZooFixture.ArchitectureNames) Assert.Contains(name, ModelZoo.Names);
        Assert.Equal(ModelZoo.Names.Count, ModelZoo.Names.Distinct().Count());
        Assert.True(ModelZoo.Contains("ResNet18"));
        Assert.True(ModelZoo.Contains("mobilenet-v2"));
        Assert.Equal("VGG", ModelZoo.GetInfo("vgg16_bn").Family);
    }

    [Fact]
    public void UnknownNameListsTheKnownOnes()
    {
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.Create("resnet19"));
        Assert.Contains("resnet19", e.Message);
        Assert.Contains("resnet18", e.Message);
        Assert.Equal("name", e.ParamName);
    }

    [Theory]
    [InlineData("lenet5", 1)]
    [InlineData("fashion_cnn", 1)]
    [InlineData("alexnet", 1)]
    [InlineData("googlenet", 4)]
    [InlineData("resnet18", 1)]
    [InlineData("resnet50", 2)]
    [InlineData("mobilenet_v2", 1)]
    public void CreatesModelsForAnyClassAndChannelCount(string name, int channels)
    {
        var info = ModelZoo.GetInfo(name);
        var model = ModelZoo.Create(name, numClasses: 7, inChannels: channels);
        model.Eval();
        int size = Math.Max(info.MinInputSize, 16);
        using (Autograd.NoGrad())
            Assert.Equal([2, 7], model.Call(Tensor.Randn(2, channels, size, size)).Shape);
    }

    [Fact]
    public void BadArgumentsGetClearErrors()
    {
        var resnet = ResNet.ResNet18(numClasses: 10);
        var e = Assert.Throws<ArgumentException>(() => resnet.Call(Tensor.Zeros(1, 1, 32, 32)));
        Assert.Contains("(1, 1, 32, 32)", e.Message);
        Assert.Contains("3", e.Message);
        Assert.Throws<ArgumentException>(() => resnet.Call(Tensor.Zeros(3, 32, 32)));
        var tooSmall = Assert.Throws<ArgumentException>(() => new AlexNet(10).Call(Tensor.Zeros(1, 3, 32, 32)));
        Assert.Contains("63", tooSmall.Message);
        Assert.Throws<ArgumentException>(() => new VGG(depth: 12));
        Assert.Throws<ArgumentException>(() => new GoogLeNet(10, inChannels: 1, transformInput: true));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelZoo.Create("resnet18", numClasses: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new MobileNetV2(widthMult: 0));
        Assert.Throws<ArgumentException>(() => new ResNet(ResNetBlock.Basic, [2, 2, 2], 10));
        Assert.Throws<ArgumentException>(() => new ResNet(ResNetBlock.Basic, [2, 2, 2, 2], 10, groups: 32));
    }

    [Theory]
    [InlineData(1.0, 32, 16, 1280)]
    [InlineData(0.5, 16, 8, 1280)]
    [InlineData(0.35, 16, 8, 1280)]
    [InlineData(1.4, 48, 24, 1792)]
    public void MobileNetV2WidthsRoundLikeTorchvision(double width, int stem, int firstBlock, int last)
    {
        Assert.Equal(stem, MobileNetV2.MakeDivisible(32 * width, 8));
        Assert.Equal(firstBlock, MobileNetV2.MakeDivisible(16 * width, 8));
        Assert.Equal(last, new MobileNetV2(10, widthMult: width).LastChannel);
    }

    [Fact]
    public void PrintsLikeTorchvision()
    {
        var text = new MobileNetV2(10, widthMult: 0.35).ToString();
        Assert.Contains("(0): Conv2dNormActivation(", text);
        Assert.Contains("(2): ReLU6()", text);
        Assert.Contains("(1): InvertedResidual(", text);
    }
}
