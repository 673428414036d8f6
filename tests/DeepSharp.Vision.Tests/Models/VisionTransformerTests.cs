using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;

namespace DeepSharp.Vision.Tests.Models;

/// <summary>
/// The Vision Transformer against torchvision 0.14 (fixture: tools/golden/vision_vit.py): keys, shapes, parameter counts and
/// hyperparameters of the registry models, logits and gradients of formula-filled models, initialisation, errors.
/// </summary>
[Collection("Zoo")]
public class VisionTransformerTests(ITestOutputHelper output)
{
    static readonly Lazy<JsonDocument> document = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "vision_vit.json"))));

    static JsonElement Architecture(string name) => document.Value.RootElement.GetProperty("architectures").GetProperty(name);
    static JsonElement Case(string name) => document.Value.RootElement.GetProperty("cases").GetProperty(name);

    [Theory]
    [InlineData("vit_b_16")]
    [InlineData("vit_b_32")]
    public void StateDictKeysShapesAndParameterCountMatchTorchvision(string name)
    {
        var arch = Architecture(name);
        var model = ModelZoo.Create(name, arch.GetProperty("num_classes").GetInt32());
        var expected = arch.GetProperty("keys").EnumerateArray().Select(e => (Key: e[0].GetString()!, Shape: ZooFixture.Ints(e[1]))).ToList();
        var actual = model.StateDict().Select(p => (p.Key, Shape: p.Value.Shape.ToArray())).ToList();
        Assert.Equal(expected.Select(e => e.Key), actual.Select(a => a.Key));
        for (int i = 0; i < expected.Count; i++)
            Assert.True(expected[i].Shape.SequenceEqual(actual[i].Shape), $"{expected[i].Key}: shape ({string.Join(", ", actual[i].Shape)}) differs from torchvision's ({string.Join(", ", expected[i].Shape)})");
        Assert.Equal(arch.GetProperty("num_params").GetInt64(), model.ParameterCount());
        Assert.Contains("encoder.layers.encoder_layer_11.mlp.3.bias", actual.Select(a => a.Key));
    }

    /// <summary>Parameters of a ViT from its hyperparameters (conv_proj, class token, position embedding, blocks, final norm, head).</summary>
    static long CountParameters(ViTConfig c, int classes)
    {
        long d = c.HiddenDim, m = c.MlpDim;
        long block = 2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (d * m + m) + (m * d + d);
        return 3L * c.PatchSize * c.PatchSize * d + d + d + (long)c.SeqLength * d + c.NumLayers * block + 2 * d + d * classes + classes;
    }

    [Theory]
    [InlineData("vit_b_16")]
    [InlineData("vit_b_32")]
    [InlineData("vit_l_16")]
    [InlineData("vit_l_32")]
    [InlineData("vit_h_14")]
    public void RegistryConfigurationsMatchTorchvision(string name)
    {
        var arch = Architecture(name);
        var c = arch.GetProperty("config");
        var config = name switch
        {
            "vit_b_16" => ViTConfig.B16(), "vit_b_32" => ViTConfig.B32(), "vit_l_16" => ViTConfig.L16(),
            "vit_l_32" => ViTConfig.L32(), _ => ViTConfig.H14(),
        };
        Assert.Equal(new ViTConfig(c.GetProperty("image_size").GetInt32(), c.GetProperty("patch_size").GetInt32(), c.GetProperty("num_layers").GetInt32(),
            c.GetProperty("num_heads").GetInt32(), c.GetProperty("hidden_dim").GetInt32(), c.GetProperty("mlp_dim").GetInt32()), config);
        Assert.Equal(arch.GetProperty("num_params_1000_classes").GetInt64(), CountParameters(config, 1000));
        var info = ModelZoo.GetInfo(name);
        Assert.True(info.FixedInputSize);
        Assert.Equal(224, info.DefaultInputSize);
        Assert.Null(info.CheckInputSize(224, 224));
        Assert.Contains("exactly 224×224", info.CheckInputSize(28, 28));
    }

    [Fact]
    public void CountFormulaAgreesWithABuiltModel()
    {
        var config = new ViTConfig(32, 8, 2, 4, 64, 128);
        Assert.Equal(CountParameters(config, 7), new VisionTransformer(config, 7).ParameterCount());
    }

    static VisionTransformer BuildCase(JsonElement c)
    {
        var o = c.GetProperty("options");
        int classes = c.GetProperty("num_classes").GetInt32(), channels = c.GetProperty("in_channels").GetInt32();
        int size = o.GetProperty("image_size").GetInt32();
        if (c.GetProperty("builder").ValueKind == JsonValueKind.String)
            return c.GetProperty("builder").GetString() switch
            {
                "vit_b_16" => VisionTransformer.ViT_B_16(classes, channels, size),
                "vit_b_32" => VisionTransformer.ViT_B_32(classes, channels, size),
                var b => throw new ArgumentException(b),
            };
        int? representation = o.TryGetProperty("representation_size", out var r) ? r.GetInt32() : null;
        return new VisionTransformer(size, o.GetProperty("patch_size").GetInt32(), o.GetProperty("num_layers").GetInt32(), o.GetProperty("num_heads").GetInt32(),
            o.GetProperty("hidden_dim").GetInt32(), o.GetProperty("mlp_dim").GetInt32(), classes, channels, representationSize: representation);
    }

    [Theory]
    [InlineData("small")]
    [InlineData("small_gray28")]
    [InlineData("small_representation")]
    [InlineData("vit_b_16_32px")]
    [InlineData("vit_b_32_64px")]
    public void EvalLogitsMatchTorchvision(string name)
    {
        var c = Case(name);
        var model = BuildCase(c);
        WeightFill.Fill(model);
        model.Eval();
        var x = WeightFill.Input(ZooFixture.Ints(c.GetProperty("input_shape")));
        Tensor logits;
        using (Autograd.NoGrad()) logits = model.Call(x);
        Assert.Equal([x.Shape[0], c.GetProperty("num_classes").GetInt32()], logits.Shape);
        ZooGoldenTests.AssertLogits(ZooFixture.Doubles(c.GetProperty("logits")), logits, name, output);
    }

    [Theory]
    [InlineData("small")]
    [InlineData("small_gray28")]
    public void GradientsMatchTorchvision(string name)
    {
        var c = Case(name);
        var model = BuildCase(c);
        WeightFill.Fill(model);
        model.Eval();
        var x = WeightFill.Input(ZooFixture.Ints(c.GetProperty("input_shape"))).RequiresGrad_();
        var logits = model.Call(x);
        var u = WeightFill.Input(logits.Shape.ToArray());
        logits.Mul(u).Sum().Backward();
        ZooGoldenTests.AssertLogits(ZooFixture.Doubles(c.GetProperty("logits")), logits.Detach(), "logits", output);
        ZooGoldenTests.AssertLogits(ZooFixture.Doubles(c.GetProperty("grad_class_token")), model.GetParameter("class_token").Grad!, "class_token.grad", output);
        ZooGoldenTests.AssertLogits(ZooFixture.Doubles(c.GetProperty("grad_pos_embedding")), model.GetParameter("encoder.pos_embedding").Grad!, "pos_embedding.grad", output);
        if (c.TryGetProperty("grad_input", out var gi))
        {
            ZooGoldenTests.AssertLogits(ZooFixture.Doubles(gi), x.Grad!, "input.grad", output);
            ZooGoldenTests.AssertLogits(ZooFixture.Doubles(c.GetProperty("grad_in_proj_weight_0")),
                model.GetParameter("encoder.layers.encoder_layer_0.self_attention.in_proj_weight").Grad!, "in_proj_weight.grad", output);
        }
    }

    [Fact]
    public void InitialisationFollowsTorchvision()
    {
        DeepSharp.Random.Seed(1);
        var model = new VisionTransformer(new ViTConfig(32, 4, 2, 4, 128, 256), numClasses: 10);
        double Std(string key) { var v = model.GetParameter(key).ToArray<float>(); double mean = v.Average(); return Math.Sqrt(v.Sum(a => (a - mean) * (a - mean)) / v.Length); }
        Assert.All(model.GetParameter("class_token").ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.GetParameter("heads.head.weight").ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.GetParameter("heads.head.bias").ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.GetParameter("conv_proj.bias").ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.InRange(Std("conv_proj.weight"), 0.95 * Math.Sqrt(1.0 / 48), 1.05 * Math.Sqrt(1.0 / 48));
        Assert.InRange(Std("encoder.pos_embedding"), 0.95 * 0.02, 1.05 * 0.02);
        double xavier = Math.Sqrt(2.0 / (128 + 256));   // xavier_uniform std for a 256×128 matrix
        Assert.InRange(Std("encoder.layers.encoder_layer_1.mlp.0.weight"), 0.95 * xavier, 1.05 * xavier);
        Assert.InRange(Std("encoder.layers.encoder_layer_1.mlp.3.bias"), 0.5e-6, 1.5e-6);
        Assert.All(model.GetParameter("encoder.layers.encoder_layer_0.self_attention.in_proj_bias").ToArray<float>(), v => Assert.Equal(0f, v));
        Assert.All(model.GetParameter("encoder.ln.weight").ToArray<float>(), v => Assert.Equal(1f, v));
    }

    [Fact]
    public void SmallViTLearnsAndEveryParameterGetsAGradient()
    {
        DeepSharp.Random.Seed(3);
        var model = new VisionTransformer(new ViTConfig(16, 4, 2, 2, 32, 64), numClasses: 3, inChannels: 1);
        // three classes that differ by where the bright quadrant is
        var x = Tensor.Rand(24, 1, 16, 16) * 0.1;
        var labels = new long[24];
        var data = x.ToArray<float>();
        for (int n = 0; n < 24; n++)
        {
            labels[n] = n % 3;
            int oy = n % 3 == 2 ? 8 : 0, ox = n % 3 == 1 ? 8 : 0;
            for (int i = 0; i < 8; i++) for (int j = 0; j < 8; j++) data[n * 256 + (oy + i) * 16 + ox + j] += 1;
        }
        x = Tensor.FromArray(data, 24, 1, 16, 16);
        var y = Tensor.FromArray(labels);
        var opt = new AdamW(model.Parameters(), lr: 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 30; step++)
        {
            opt.ZeroGrad();
            var loss = F.CrossEntropy(model.Call(x), y);
            loss.Backward();
            if (step == 1)   // the zero head gives the backbone no gradient on the first step
                foreach (var (name, p) in model.NamedParameters())
                    Assert.True(p.Grad != null && p.Grad.ToArray<float>().Any(v => v != 0), $"{name} got no gradient");
            opt.Step();
            if (step == 0) first = loss.Item();
            last = loss.Item();
        }
        output.WriteLine($"loss {first:F4} -> {last:F4}");
        Assert.True(last < 0.5 * first, $"loss {first} -> {last}");
    }

    [Fact]
    public void BadInputsAndConfigurationsGetClearErrors()
    {
        var model = new VisionTransformer(new ViTConfig(16, 4, 1, 2, 16, 32), numClasses: 3);
        var e = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(1, 3, 20, 20)));
        Assert.Contains("must be 16×16", e.Message);
        e = Assert.Throws<ArgumentException>(() => model.Forward(Tensor.Zeros(1, 1, 16, 16)));
        Assert.Contains("channels", e.Message);
        e = Assert.Throws<ArgumentException>(() => new VisionTransformer(new ViTConfig(30, 4, 1, 2, 16, 32)));
        Assert.Contains("multiple of patchSize", e.Message);
        e = Assert.Throws<ArgumentException>(() => new VisionTransformer(new ViTConfig(16, 4, 1, 3, 16, 32)));
        Assert.Contains("divisible by numHeads", e.Message);
    }

    [Fact]
    public void ResetClassifierReplacesTheZeroHead()
    {
        var model = new VisionTransformer(new ViTConfig(16, 4, 1, 2, 16, 32), numClasses: 3);
        model.ResetClassifier(7);
        Assert.Equal(7, model.NumClasses);
        Assert.Equal([7, 16], model.GetParameter("heads.head.weight").Shape);
        Assert.Equal([2, 7], model.Forward(Tensor.Rand(2, 3, 16, 16)).Shape);
        Assert.Same(model.Head, model.GetSubmodule("heads.head"));
    }
}
