using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Onnx.Tests;

/// <summary>
/// ONNX import of files PyTorch 1.13's torch.onnx.export wrote (tools/golden/onnx_import.py: each file with an input of
/// batch 3, other than the export sample's 2, and PyTorch's output on it), and fine-tuning an imported model.
/// </summary>
public sealed class ImportTests
{
    static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Fixtures");

    static (OnnxModel Model, Tensor Input, Tensor Expected) Fixture(string name)
    {
        var model = OnnxModel.Load(Path.Combine(Fixtures, name + ".onnx"));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, name + ".json")));
        Tensor Read(string key)
        {
            var e = json.RootElement.GetProperty(key);
            var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
            return Tensor.FromArray(e.GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray(), shape);
        }
        return (model, Read("input"), Read("output"));
    }

    /// <summary>float32 against PyTorch: the same maths summed in another order, so 1e-5 of the output's scale.</summary>
    [Theory]
    [InlineData("mlp", 1e-5)]
    [InlineData("cnn", 1e-5)]
    [InlineData("resnet_opset13", 1e-5)]
    [InlineData("resnet_opset17", 1e-5)]
    [InlineData("inception", 1e-5)]
    [InlineData("transformer_opset17", 1e-5)]
    [InlineData("transformer_opset14", 1e-5)]
    [InlineData("ops", 1e-5)]
    [InlineData("mobilenet_v2", 1e-5)]
    [InlineData("vit", 1e-5)]
    [InlineData("lstm", 1e-5)]
    [InlineData("gru", 1e-5)]
    [InlineData("gru_seq", 1e-5)]
    [InlineData("rnn", 1e-5)]
    [InlineData("deconv", 1e-5)]
    [InlineData("upsample_nearest", 1e-5)]
    [InlineData("upsample_linear", 1e-5)]
    [InlineData("upsample_opset9", 1e-5)]
    [InlineData("vgg", 1e-5)]
    [InlineData("googlenet", 1e-5)]
    public void MatchesPyTorch(string name, double tolerance)
    {
        var (model, input, expected) = Fixture(name);
        Assert.Equal("pytorch", model.ProducerName);
        Tensor actual;
        using (Autograd.NoGrad()) actual = model.Call(input);
        Assert.Equal(expected.Shape, actual.Shape);
        OrtRunner.AssertClose(expected.ToArray<float>(), actual.ToArray<float>(), tolerance, tolerance);
        // the batch axis is dynamic: one sample alone gives the first row
        using (Autograd.NoGrad()) actual = model.Call(input.Narrow(0, 0, 1));
        OrtRunner.AssertClose(expected.Narrow(0, 0, 1).ToArray<float>(), actual.ToArray<float>(), tolerance, tolerance);
    }

    [Fact]
    public void InitializersBecomeParametersUnderTheirNames()
    {
        var (model, _, _) = Fixture("cnn");
        var parameters = model.NamedParameters().Select(p => p.Name).ToList();
        Assert.Contains("fc.weight", parameters);
        Assert.Contains("conv2.bias", parameters);
        Assert.Contains("bn2.weight", parameters);
        Assert.Contains("onnx::Conv_38", parameters);   // conv1 with bn1 folded in by the exporter
        Assert.Equal(["bn2.running_mean", "bn2.running_var"], model.NamedBuffers().Select(b => b.Name));
        Assert.All(model.Parameters(), p => Assert.True(p.RequiresGrad));
        Assert.Equal(["Conv", "Relu", "MaxPool", "BatchNormalization", "Conv", "Relu", "GlobalAveragePool", "Shape", "Gather",
            "Unsqueeze", "Concat", "Reshape", "Gemm", "Softmax"], model.NodeOpTypes);
        Assert.False(model.IsTraining);
    }

    [Theory]
    [InlineData("resnet_opset17")]
    [InlineData("transformer_opset14")]
    public void FineTuningChangesTheOutputAndLowersTheLoss(string name)
    {
        var (model, input, _) = Fixture(name);
        var labels = Tensor.FromArray(new long[] { 0, 1, 2 }, [3]);
        Tensor before;
        using (Autograd.NoGrad()) before = model.Call(input);
        var optimizer = new SGD(model.Parameters(), lr: 0.05);
        model.Train();
        double first = 0, last = 0;
        for (int step = 0; step < 5; step++)
        {
            optimizer.ZeroGrad();
            var loss = F.CrossEntropy(model.Call(input), labels);
            loss.Backward();
            Assert.All(model.Parameters(), p => Assert.NotNull(p.Grad));
            optimizer.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        Assert.True(last < first, $"loss {first} -> {last}");
        model.Eval();
        Tensor after;
        using (Autograd.NoGrad()) after = model.Call(input);
        Assert.Contains(before.ToArray<float>().Zip(after.ToArray<float>()), p => Math.Abs(p.First - p.Second) > 1e-4);
    }

    [Fact]
    public void TrainingModeUpdatesBatchNormRunningStatistics()
    {
        var (model, input, _) = Fixture("cnn");
        var mean = model.NamedBuffers().First(b => b.Name == "bn2.running_mean").Tensor;
        var before = mean.ToArray<float>();
        model.Train();
        using (Autograd.NoGrad()) model.Call(input);
        Assert.NotEqual(before, mean.ToArray<float>());
    }

    [Fact]
    public void WrongInputShapeIsRefusedNamingTheShapes()
    {
        var (model, _, _) = Fixture("resnet_opset13");
        var error = Assert.Throws<ArgumentException>(() => model.Call(Tensor.Randn(2, 1, 32, 32)));
        Assert.Contains("(?, 3, 32, 32)", error.Message);
        Assert.Contains("(2, 1, 32, 32)", error.Message);
        Assert.Throws<ArgumentException>(() => model.Call(Tensor.Randn([2, 3, 32, 32], DType.Float64)));
    }
}
