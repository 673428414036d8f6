using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Onnx.Tests;

/// <summary>
/// Every exported model runs in ONNX Runtime and matches DeepSharp's eval-mode output at batch sizes other than the
/// sample's. Tolerance: 1e-5 relative to the output's largest magnitude plus 1e-5 elementwise relative; float32
/// convolutions and matrix products sum in a different order in the two runtimes, which moves the last bits.
/// </summary>
public sealed class ModelExportTests
{
    [Fact]
    public void Mlp()
    {
        var model = new Mlp(784, [64, 32], classes: 10, dropout: 0.2);
        OrtRunner.ExportAndCompare(model, [1, 28, 28]);
    }

    [Fact]
    public void LeNet5()
    {
        var model = new LeNet5();
        OrtRunner.ExportAndCompare(model, [1, 28, 28], batches: [1, 3, 7]);
    }

    [Fact]
    public void FashionCnnWithTrainedBatchNorm()
    {
        var model = new FashionCnn();
        OrtRunner.WarmBatchNorm(model, [1, 28, 28]);
        OrtRunner.ExportAndCompare(model, [1, 28, 28], sampleBatch: 4, batches: [1, 6]);
    }

    [Fact]
    public void ResNetBasicBlocksWithDownsample()
    {
        var model = new ResNet(ResNetBlock.Basic, [1, 1, 1, 1], numClasses: 7, inChannels: 3, baseChannels: 8, smallInputStem: true);
        OrtRunner.WarmBatchNorm(model, [3, 16, 16]);
        OrtRunner.ExportAndCompare(model, [3, 16, 16], batches: [1, 3]);
    }

    [Fact]
    public void ResNetBottleneckWithTorchvisionStem()
    {
        var model = new ResNet(ResNetBlock.Bottleneck, [1, 1, 1, 1], numClasses: 5, inChannels: 3, baseChannels: 4);
        OrtRunner.WarmBatchNorm(model, [3, 64, 64]);
        OrtRunner.ExportAndCompare(model, [3, 64, 64], batches: [1, 3]);
    }

    [Fact]
    public void ActivationsAndShapes()
    {
        var model = new Sequential(
            new Conv2d(3, 6, 3, stride: 2, padding: 1, dilation: 1), new BatchNorm2d(6), new GELU(), new AvgPool2d(2, padding: 1, countIncludePad: false),
            new Conv2d(6, 6, 3, padding: 2, dilation: 2, groups: 3, bias: false), new SiLU(), new AdaptiveAvgPool2d((2, 1)),
            new Flatten(2), new ELU(0.7), new Linear(2, 4), new GELU("tanh"), new LeakyReLU(0.1), new Flatten(),
            new Linear(24, 16), new BatchNorm1d(16), new ReLU6(), new Hardtanh(-0.5, 0.25), new Dropout(0.3),
            new Linear(16, 8), new Tanh(), new Identity(), new Linear(8, 8), new Sigmoid(), new Linear(8, 6),
            new Softmax(1), new Linear(6, 5), new LogSoftmax(-1));
        OrtRunner.WarmBatchNorm(model, [3, 12, 12]);
        OrtRunner.ExportAndCompare(model, [3, 12, 12], batches: [1, 4]);
    }

    [Fact]
    public void Conv1dAndMaxPoolCeilMode()
    {
        var model = new Sequential(new Unflatten(1, 1, 5, 7), new MaxPool2d(2, stride: 2, ceilMode: true), new Flatten(1, 2),
            new Conv1d(3, 4, 2, stride: 1, padding: 1), new ReLU(), new Flatten());
        Assert.Throws<NotSupportedException>(() => OrtRunner.ExportAndCompare(model, [35]));   // Unflatten is not mapped
        var mapped = new Sequential(new MaxPool2d(2, stride: 2, ceilMode: true), new Flatten(1, 2), new Conv1d(3, 4, 2, padding: 1), new ReLU(), new Flatten());
        OrtRunner.ExportAndCompare(mapped, [1, 5, 7], batches: [1, 3]);
    }
}
