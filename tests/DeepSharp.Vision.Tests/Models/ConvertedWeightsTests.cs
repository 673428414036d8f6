using System.Text.Json;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>
/// The loading side of tools/convert_torchvision.py: a MobileNetV2 (width 0.1) initialised by torchvision, saved as an
/// old-style .pth and converted by the script (tools/golden/vision_convert_fixture.py), loads strictly into our model
/// and gives torchvision's logits.
/// </summary>
[Collection("Zoo")]
public class ConvertedWeightsTests
{
    static string Golden(string file) => Path.Combine(AppContext.BaseDirectory, "Golden", file);

    [Fact]
    public void ConvertedTorchvisionWeightsLoadStrictlyAndGiveTorchvisionsLogits()
    {
        var expected = JsonDocument.Parse(File.ReadAllText(Golden("mobilenet_v2_w01.json"))).RootElement;
        var model = new MobileNetV2(numClasses: expected.GetProperty("num_classes").GetInt32(), widthMult: expected.GetProperty("width_mult").GetDouble());
        var result = ModelZoo.LoadWeights(model, Golden("mobilenet_v2_w01.safetensors"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        model.Eval();
        var x = WeightFill.Input(ZooFixture.Ints(expected.GetProperty("input_shape")));
        using (Autograd.NoGrad())
            ZooGoldenTests.AssertLogits(ZooFixture.Doubles(expected.GetProperty("logits")), model.Call(x), "converted mobilenet_v2");
        // the converter added the num_batches_tracked buffers the old-style checkpoint lacked, and kept the metadata
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(Golden("mobilenet_v2_w01.safetensors"));
        Assert.Equal(DType.Int64, tensors["features.0.1.num_batches_tracked"].DType);
        Assert.Equal("mobilenet_v2", metadata["arch"]);
    }

    /// <summary>The old-style .pth itself (a "module." prefix, no num_batches_tracked, under "state_dict") loads without
    /// Python or the converter, through TorchFile, and gives the same logits.</summary>
    [Fact]
    public void ThePyTorchCheckpointLoadsDirectly()
    {
        var expected = JsonDocument.Parse(File.ReadAllText(Golden("mobilenet_v2_w01.json"))).RootElement;
        Assert.Equal("pytorch-zip", StateDictFile.DetectFormat(Golden("mobilenet_v2_w01.pth")));
        var model = new MobileNetV2(numClasses: 10, widthMult: 0.1);
        var result = ModelZoo.LoadWeights(model, Golden("mobilenet_v2_w01.pth"));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        model.Eval();
        var x = WeightFill.Input(ZooFixture.Ints(expected.GetProperty("input_shape")));
        using (Autograd.NoGrad())
            ZooGoldenTests.AssertLogits(ZooFixture.Doubles(expected.GetProperty("logits")), model.Call(x), "mobilenet_v2 from .pth");
        // and what the converter wrote is what TorchFile reads, tensor for tensor
        var converted = SafeTensors.Load(Golden("mobilenet_v2_w01.safetensors"));
        var direct = ModelZoo.WithBatchCounters(model, StateDictFile.Load(Golden("mobilenet_v2_w01.pth")));
        Assert.Equal(converted.Keys.Order(), direct.Keys.Order());
        foreach (var (key, value) in converted) Assert.True(value.Eq(direct[key]).All().Item<bool>(), key);
    }

    [Fact]
    public void WrongArchitectureIsRejectedNamingTheKeys()
    {
        var model = new MobileNetV2(numClasses: 10, widthMult: 0.25);
        var e = Assert.Throws<ArgumentException>(() => ModelZoo.LoadWeights(model, Golden("mobilenet_v2_w01.safetensors")));
        Assert.Contains("size mismatch for features.7.conv.2.weight", e.Message);
    }
}
