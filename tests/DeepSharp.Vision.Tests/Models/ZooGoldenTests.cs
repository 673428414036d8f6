using System.Diagnostics;
using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>
/// The zoo tests build big models; running them one at a time keeps memory in check (measured: 6.6 GB peak for the
/// assembly one at a time, 8.3 GB and no faster with two zoo classes at once on 2 cores). The collection still runs
/// beside the other test classes.
/// </summary>
[CollectionDefinition("Zoo")]
public class ZooCollection;

/// <summary>
/// Every architecture against torchvision 0.14 (fixture: tools/golden/vision_models.py): state-dict keys, shapes and
/// parameter counts, and logits of formula-filled models (tools/golden/vision_fill.py) on a formula input.
/// </summary>
[Collection("Zoo")]
public class ZooGoldenTests(ITestOutputHelper output)
{
    [Fact]
    public void WeightFormulaMatchesPython()
    {
        var check = ZooFixture.Root.GetProperty("fill_check");
        Assert.Equal(WeightFill.InputTag, check.GetProperty("input_tag").GetInt32());
        Assert.Equal(ZooFixture.Doubles(check.GetProperty("input_first")), WeightFill.Input(20).ToArray<float>().Select(v => (double)v));
        foreach (var s in check.GetProperty("samples").EnumerateArray())
        {
            var values = WeightFill.Values(s.GetProperty("k").GetInt32(), s.GetProperty("key").GetString()!, ZooFixture.Ints(s.GetProperty("shape")));
            var expected = ZooFixture.Doubles(s.GetProperty("first"));
            Assert.Equal(expected, values.Take(expected.Length).Select(v => (double)v));
        }
    }

    [Theory]
    [InlineData("alexnet")]
    [InlineData("vgg11")]
    [InlineData("vgg11_bn")]
    [InlineData("vgg13")]
    [InlineData("vgg13_bn")]
    [InlineData("vgg16")]
    [InlineData("vgg16_bn")]
    [InlineData("vgg19")]
    [InlineData("vgg19_bn")]
    [InlineData("googlenet")]
    [InlineData("resnet18")]
    [InlineData("resnet34")]
    [InlineData("resnet50")]
    [InlineData("resnet101")]
    [InlineData("resnet152")]
    [InlineData("resnext50_32x4d")]
    [InlineData("resnext101_32x8d")]
    [InlineData("resnext101_64x4d")]
    [InlineData("wide_resnet50_2")]
    [InlineData("wide_resnet101_2")]
    [InlineData("mobilenet_v2")]
    public void StateDictKeysShapesAndParameterCountMatchTorchvision(string name)
    {
        var sw = Stopwatch.StartNew();
        var arch = ZooFixture.Architecture(name);
        var model = Build(name, arch.GetProperty("num_classes").GetInt32(), 3);
        var expected = ZooFixture.Keys(name);
        var actual = model.StateDict().Select(p => (p.Key, p.Value.Shape.ToArray())).ToList();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(a => a.Key));
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].Shape.SequenceEqual(actual[i].Item2), $"{expected[i].Key}: shape ({string.Join(", ", actual[i].Item2)}) differs from torchvision's ({string.Join(", ", expected[i].Shape)})");
        long parameters = model.Parameters().Sum(p => (long)p.NumEl);
        Assert.Equal(arch.GetProperty("num_params").GetInt64(), parameters);
        output.WriteLine($"{name}: {actual.Count} keys, {parameters} parameters, {sw.ElapsedMilliseconds} ms");
    }

    /// <summary>
    /// Builds a registry model the cheap way: VGG without its re-initialisation (torchvision's init_weights=False; the same
    /// layers and keys) since drawing 130 M normal samples dominates; the weights are overwritten by the tests anyway.
    /// </summary>
    static Module<Tensor, Tensor> Build(string name, int classes, int channels) =>
        name.StartsWith("vgg", StringComparison.Ordinal)
            ? new VGG(int.Parse(name[3..5], System.Globalization.CultureInfo.InvariantCulture), name.EndsWith("_bn", StringComparison.Ordinal), classes, channels, initWeights: false)
            : ModelZoo.Create(name, classes, channels);

    [Fact]
    public void GoogLeNetWithoutAuxHasTorchvisionsPretrainedLayout()
    {
        var model = new GoogLeNet(1000, auxLogits: false);
        Assert.Equal(ZooFixture.Architecture("googlenet").GetProperty("torchvision_num_params").GetInt64(), model.Parameters().Sum(p => (long)p.NumEl));
        var expected = ZooFixture.Keys("googlenet").Select(k => k.Key).Where(k => !k.StartsWith("aux", StringComparison.Ordinal));   // keys do not depend on the class count
        Assert.Equal(expected, model.StateDict().Keys);
    }

    /// <summary>Builds the case's model with the same options as the Python side.</summary>
    internal static Module<Tensor, Tensor> BuildCase(JsonElement c)
    {
        string name = c.GetProperty("model").GetString()!;
        int classes = c.GetProperty("num_classes").GetInt32(), channels = c.GetProperty("in_channels").GetInt32();
        var o = c.GetProperty("options");
        double Opt(string key, double fallback) => o.TryGetProperty(key, out var v) ? v.GetDouble() : fallback;
        bool Flag(string key, bool fallback) => o.TryGetProperty(key, out var v) ? v.GetBoolean() : fallback;
        return name switch
        {
            "googlenet" => new GoogLeNet(classes, channels, auxLogits: Flag("aux_logits", true), transformInput: Flag("transform_input", false),
                dropout: Opt("dropout", 0.2), dropoutAux: Opt("dropout_aux", 0.7)),
            "mobilenet_v2" => new MobileNetV2(classes, channels, widthMult: Opt("width_mult", 1.0)),
            _ => Build(name, classes, channels),
        };
    }

    /// <summary>|actual − expected| ≤ 1e-4·(|expected| + max|expected|): 1e-4 relative to the logits' scale.</summary>
    internal static void AssertLogits(double[] expected, Tensor actual, string what, ITestOutputHelper? output = null)
    {
        var a = actual.ToArray<float>();
        Assert.Equal(expected.Length, a.Length);
        double scale = expected.Max(Math.Abs), worst = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double err = Math.Abs(a[i] - expected[i]);
            worst = Math.Max(worst, err / scale);
            if (!(err <= 1e-4 * (Math.Abs(expected[i]) + scale))) Assert.Fail($"{what}: element {i} is {a[i]:G9}, torchvision gives {expected[i]:G9}");
        }
        output?.WriteLine($"{what}: worst error {worst:E2} of the logits' scale {scale:G4}");
    }

    [Theory]
    [InlineData("alexnet")]
    [InlineData("vgg11")]
    [InlineData("vgg11_bn")]
    [InlineData("vgg13")]
    [InlineData("vgg13_bn")]
    [InlineData("vgg16")]
    [InlineData("vgg16_bn")]
    [InlineData("vgg19")]
    [InlineData("vgg19_bn")]
    [InlineData("googlenet")]
    [InlineData("googlenet_transform_input")]
    [InlineData("googlenet_no_aux")]
    [InlineData("resnet18")]
    [InlineData("resnet18_in1")]
    [InlineData("resnet34")]
    [InlineData("resnet50")]
    [InlineData("resnet101")]
    [InlineData("resnet152")]
    [InlineData("resnext50_32x4d")]
    [InlineData("wide_resnet50_2")]
    [InlineData("mobilenet_v2")]
    [InlineData("mobilenet_v2_w05")]
    [InlineData("mobilenet_v2_w035_in1")]
    public void EvalLogitsMatchTorchvision(string caseName)
    {
        var sw = Stopwatch.StartNew();
        var c = ZooFixture.Case(caseName);
        Assert.False(c.GetProperty("train").GetBoolean());
        var model = BuildCase(c);
        long built = sw.ElapsedMilliseconds;
        WeightFill.Fill(model);
        long filled = sw.ElapsedMilliseconds;
        model.Eval();
        var x = WeightFill.Input(ZooFixture.Ints(c.GetProperty("input_shape")));
        Tensor logits;
        using (Autograd.NoGrad()) logits = model.Call(x);
        Assert.Equal([x.Shape[0], c.GetProperty("num_classes").GetInt32()], logits.Shape);
        AssertLogits(ZooFixture.Doubles(c.GetProperty("logits")), logits, caseName, output);
        output.WriteLine($"build {built} ms, fill {filled - built} ms, forward {sw.ElapsedMilliseconds - filled} ms");
    }

    [Fact]
    public void GoogLeNetTrainingOutputsMatchTorchvision()
    {
        var c = ZooFixture.Case("googlenet_train");
        var model = (GoogLeNet)BuildCase(c);
        WeightFill.Fill(model);
        model.Train();
        var x = WeightFill.Input(ZooFixture.Ints(c.GetProperty("input_shape")));
        var outputs = model.ForwardWithAux(x);
        AssertLogits(ZooFixture.Doubles(c.GetProperty("logits")), outputs.Logits, "logits", output);
        AssertLogits(ZooFixture.Doubles(c.GetProperty("aux1")), outputs.Aux1!, "aux1", output);
        AssertLogits(ZooFixture.Doubles(c.GetProperty("aux2")), outputs.Aux2!, "aux2", output);
        // Forward gives the main logits in training too; evaluation mode drops the auxiliary heads.
        model.Eval();
        var evalOutputs = model.ForwardWithAux(x);
        Assert.Null(evalOutputs.Aux1);
        Assert.Null(evalOutputs.Aux2);
    }

    [Fact]
    public void ResNetTrainingModeMatchesTorchvision()
    {
        var c = ZooFixture.Case("resnet18_train");
        var model = BuildCase(c);
        WeightFill.Fill(model);
        model.Train();
        var x = WeightFill.Input(ZooFixture.Ints(c.GetProperty("input_shape")));
        AssertLogits(ZooFixture.Doubles(c.GetProperty("logits")), model.Call(x), "logits", output);
        var bn1 = (BatchNorm2d)model.GetSubmodule("bn1");
        AssertLogits(ZooFixture.Doubles(c.GetProperty("bn1_running_mean")), bn1.RunningMean!, "bn1.running_mean");
        AssertLogits(ZooFixture.Doubles(c.GetProperty("bn1_running_var")), bn1.RunningVar!, "bn1.running_var");
    }
}
