using DeepSharp.NN;
using DeepSharp.Quantization;

namespace DeepSharp.Quantization.Tests;

/// <summary>QuantizedModel keeps consecutive convolutions, poolings and ReLUs channels-last; the result must be byte for
/// byte what calling each layer on NCHW tensors gives.</summary>
public class ChannelsLastChainTests
{
    static QuantizedConv2d Conv(int inC, int outC, int seed, bool relu, OutputQParams output, int pad = 1, int stride = 1)
    {
        var rng = new System.Random(seed);
        var wf = Tensor.FromArray(Enumerable.Range(0, outC * inC * 9).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), [outC, inC * 9]);
        var bias = Tensor.FromArray(Enumerable.Range(0, outC).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray(), [outC]);
        return new QuantizedConv2d(QuantizedLinearWeights.FromFloat(wf, bias), inC, (3, 3), (stride, stride), (pad, pad), (1, 1), output, relu);
    }

    static List<Module<QuantizedTensor, QuantizedTensor>> Layers() =>
    [
        Conv(1, 8, 1, true, new OutputQParams(0.04f, 0)),
        Conv(8, 19, 2, false, new OutputQParams(0.2f, 120)),
        new QuantizedReLU(),
        new QuantizedMaxPool2d((2, 2), (2, 2), (0, 0)),
        Conv(19, 6, 3, true, new OutputQParams(0.5f, 3), pad: 2, stride: 2),
        new QuantizedMaxPool2d((3, 3), (2, 2), (1, 1)),
        new QuantizedFlatten(),
    ];

    [Fact]
    public void ChainEqualsLayerByLayer()
    {
        var layers = Layers();
        var model = new QuantizedModel(new OutputQParams(1f / 255, 0), layers);
        var x = Tensor.FromArray(Enumerable.Range(0, 3 * 13 * 11).Select(i => (float)((i * 37 % 101) / 100.0)).ToArray(), [3, 1, 13, 11]);
        var chained = model.Call(x).ToArray<float>();
        var q = QuantizedTensor.QuantizePerTensor(x, 1f / 255, 0, QuantDType.QUInt8);
        foreach (var layer in layers) q = layer.Call(q);
        var oneByOne = q.Dequantize();
        Assert.Equal(oneByOne.Shape.ToArray(), model.Call(x).Shape.ToArray());
        Assert.Equal(oneByOne.ToArray<float>(), chained);
        Assert.True(chained.Distinct().Count() > 5, "the outputs should not be constant");
    }

    [Theory]
    [InlineData(13, 11)]
    [InlineData(28, 28)]
    public void ConvolutionsFollowedByTwoByTwoPoolingFuseAndEqualLayerByLayer(int height, int width)
    {
        // conv → 2 × 2 pool directly (the Fashion CNN's pattern, fused in the chain), odd sizes dropping a row and column
        List<Module<QuantizedTensor, QuantizedTensor>> layers =
        [
            Conv(1, 8, 4, true, new OutputQParams(0.03f, 0)),
            new QuantizedMaxPool2d((2, 2), (2, 2), (0, 0)),
            Conv(8, 21, 5, true, new OutputQParams(0.1f, 7)),
            new QuantizedMaxPool2d((2, 2), (2, 2), (0, 0)),
            new QuantizedFlatten(),
        ];
        var model = new QuantizedModel(new OutputQParams(1f / 255, 0), layers);
        var x = Tensor.FromArray(Enumerable.Range(0, 5 * height * width).Select(i => (float)((i * 37 % 101) / 100.0)).ToArray(), [5, 1, height, width]);
        var chained = model.Call(x);
        var q = QuantizedTensor.QuantizePerTensor(x, 1f / 255, 0, QuantDType.QUInt8);
        foreach (var layer in layers) q = layer.Call(q);
        var oneByOne = q.Dequantize();
        Assert.Equal(oneByOne.Shape.ToArray(), chained.Shape.ToArray());
        Assert.Equal(oneByOne.ToArray<float>(), chained.ToArray<float>());
        Assert.True(chained.ToArray<float>().Distinct().Count() > 5, "the outputs should not be constant");
    }

    [Fact]
    public void LayersWithHooksRunThroughTheirOwnCall()
    {
        var layers = Layers();
        var model = new QuantizedModel(new OutputQParams(1f / 255, 0), layers);
        var x = Tensor.FromArray(Enumerable.Range(0, 2 * 1 * 9 * 9).Select(i => (float)((i * 13 % 29) / 28.0)).ToArray(), [2, 1, 9, 9]);
        var plain = model.Call(x).ToArray<float>();
        int calls = 0;
        using var handle = layers[3].RegisterForwardHook((_, _, _) => { calls++; return null; });
        var hooked = model.Call(x).ToArray<float>();
        Assert.Equal(1, calls);
        Assert.Equal(plain, hooked);
    }
}
