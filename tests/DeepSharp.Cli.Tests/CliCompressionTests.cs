using DeepSharp.Cli.Commands;
using DeepSharp.IO;
using DeepSharp.Quantization;

namespace DeepSharp.Cli.Tests;

/// <summary>Bad input to `deepsharp prune`, `distill` and `train --precision` gets one line and exit code 2; `quantize
/// --mode static` takes residual models through the graph path and `evaluate` reads the file (docs/compression.md).</summary>
[Collection(SerialCollection.Name)]
public class CliCompressionTests
{
    [Theory]
    [InlineData("1")]
    [InlineData("1.5")]
    [InlineData("-0.1")]
    public void SparsityOutsideZeroOneIsAUsageError(string sparsity)
    {
        var line = CliProcess.Fails(2, "--sparsity must lie in [0, 1)", "prune", "runs/cnn/model.safetensors", "--sparsity", sparsity);
        Assert.StartsWith("deepsharp prune: ", line);
    }

    [Fact]
    public void MissingArgumentsAreUsageErrors()
    {
        CliProcess.Fails(2, "--sparsity X is required", "prune", "runs/cnn/model.safetensors");
        CliProcess.Fails(2, "give the teacher", "distill", "--student", "small-cnn");
        CliProcess.Fails(2, "--precision", "train", "--model", "mlp", "--precision", "fp8");
    }

    [Fact]
    public void EvaluateRefusesAQuantizedLstmFile()
    {
        // a dynamic-rnn file has no image model to rebuild: evaluate says what it is instead of failing on a missing key
        string path = Path.Combine(Path.GetTempPath(), $"deepsharp-qlstm-{Guid.NewGuid():N}.safetensors");
        try
        {
            DeepSharp.Quantization.QuantizedFile.SaveRecurrent(
                DeepSharp.Quantization.DynamicQuantizedLSTM.FromFloat(new DeepSharp.NN.LSTM(6, 8)), path);
            var line = CliProcess.Fails(2, "is a quantized LSTM/GRU file", "evaluate", path);
            Assert.StartsWith("deepsharp evaluate: ", line);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void PrecisionWithDistributedIsRefused()
    {
        // the mixed-precision trainer would otherwise replace the data-parallel wrapper silently
        CliProcess.Fails(2, "does not take --adversarial, --resume or --precision", "train", "--model", "mlp", "--distributed", "--precision", "bf16");
    }

    /// <summary>An untrained zoo model saved as `deepsharp train` saves it (batch norms at their initial statistics).</summary>
    static string ZooModel(string dir, string name)
    {
        var model = ImageTraining.CreateModel(name, ImageTraining.DatasetInfo("fashion-mnist"));
        var path = Path.Combine(dir, "model.safetensors");
        SafeTensors.Save(path, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = name, ["deepsharp.dataset"] = "fashion-mnist" });
        return path;
    }

    [Fact]
    public void StaticQuantizeFallsBackToTheGraphPathForAResNetAndEvaluateReadsTheFile()
    {
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("qgraph");
        var model = ZooModel(dir, "resnet18");
        var (code, output, err) = CliProcess.Run(["quantize", model, "--mode", "static", "--calibrate", "64", "--out", "q.safetensors"], dir);
        Assert.True(code == 0, err + output);
        Assert.Contains("not a plain chain of layers (the ReLU layer is called 2 times in one forward; give each use its own module); quantized as a graph with 32 nodes instead", output);
        Assert.Contains("static (graph) int8 model written to q.safetensors", output);
        var q = Path.Combine(dir, "q.safetensors");
        var metadata = RawSafeTensors.ReadMetadata(q);
        Assert.Equal(QuantizedFile.GraphMode, metadata[QuantizedFile.ModeKey]);
        Assert.Equal("resnet18", metadata["deepsharp.model"]);   // the float file's metadata is kept
        Assert.Equal(20, QuantizedFile.LoadGraph(q).Nodes.Count(n => n.Layer is QuantizedConv2d));

        (code, output, err) = CliProcess.Run(["evaluate", "q.safetensors", "--test-limit", "128", "--threads", "1"], dir);
        Assert.True(code == 0, err + output);
        Assert.Contains("quantized (static-graph int8) model", output);
        Assert.Matches(@"test accuracy: \d\.\d{4} on 128 test images", output);
        Assert.Contains("file size: ", output);
        Assert.Matches(@"latency: \d+\.\d\d ms per batch of 64", output);
    }

    [Fact]
    public void AChainModelStillGetsTheChainFileAndEvaluateTakesTestLimit()
    {
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("qchain");
        var model = ZooModel(dir, "lenet");
        var (code, output, err) = CliProcess.Run(["quantize", model, "--mode", "static", "--calibrate", "64", "--out", "q.safetensors"], dir);
        Assert.True(code == 0, err + output);
        Assert.DoesNotContain("graph", output);
        Assert.Equal("static", RawSafeTensors.ReadMetadata(Path.Combine(dir, "q.safetensors"))[QuantizedFile.ModeKey]);
        (code, output, err) = CliProcess.Run(["evaluate", "q.safetensors", "--test-limit", "64"], dir);
        Assert.True(code == 0, err + output);
        Assert.Contains("quantized (static int8) model", output);
        Assert.Contains("on 64 test images", output);
        (code, output, err) = CliProcess.Run(["evaluate", model, "--test-limit", "48"], dir);   // the float model too
        Assert.True(code == 0, err + output);
        Assert.Contains("test images: 48", output);
        Assert.Contains("test accuracy:", output);
        CliProcess.Fails(2, "--test-limit", "evaluate", model, "--test-limit", "0");
    }

    [Fact]
    public void BackendPicksTheStaticQconfig()
    {
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("qbackend");
        var model = ZooModel(dir, "lenet");
        double InputScale(string backend)
        {
            var (code, output, err) = CliProcess.Run(["quantize", model, "--mode", "static", "--calibrate", "64", "--backend", backend, "--out", $"q-{backend}.safetensors"], dir);
            Assert.True(code == 0, err + output);
            Assert.Contains($"qconfig: {backend} ({(backend == "onednn" ? "full-range 8-bit" : "7-bit")} activations", output);
            return QuantizedFile.LoadStatic(Path.Combine(dir, $"q-{backend}.safetensors")).Input.Scale;
        }
        // the same calibration images: x86's 7-bit activations take about twice onednn's step for the same range
        double x86 = InputScale("x86"), onednn = InputScale("onednn");
        Assert.InRange(x86 / onednn, 1.8, 2.2);
        Assert.Equal(x86, InputScale("fbgemm"));
        CliProcess.Fails(2, "--backend", "quantize", model, "--mode", "static", "--backend", "qnnpack", "--out", Path.Combine(dir, "q.safetensors"));
        CliProcess.Fails(2, "takes no backend", "quantize", model, "--mode", "dynamic", "--backend", "x86", "--out", Path.Combine(dir, "q.safetensors"));
    }

    [Fact]
    public void AModelNeitherPathTakesIsAUsageErrorWithTheGraphPathsReason()
    {
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("qmnv2");
        var model = ZooModel(dir, "mobilenet_v2");
        var line = CliProcess.Fails(2, "layer 'features.0.2' (ReLU6) has no quantized form here", "quantize", model, "--mode", "static", "--calibrate", "64", "--out", Path.Combine(dir, "q.safetensors"));
        Assert.DoesNotContain("(Parameter", line);
        Assert.False(File.Exists(Path.Combine(dir, "q.safetensors")));
    }

    [Fact]
    public void EvaluateRefusesAMalformedOrNewerGraphFileInOneLine()
    {
        var dir = CliProcess.TempDir("qbad");
        var path = Path.Combine(dir, "q.safetensors");
        RawSafeTensors.Save(path, new Dictionary<string, RawTensor>(), new Dictionary<string, string>
        {
            [QuantizedFile.ModeKey] = QuantizedFile.GraphMode, [QuantizedFile.FormatKey] = "2", ["deepsharp.dataset"] = "fashion-mnist",
        });
        var line = CliProcess.Fails(1, "static-graph format version '2' is not supported", "evaluate", path);
        Assert.StartsWith("deepsharp evaluate: ", line);
        File.WriteAllBytes(path, [16, 0, 0, 0, 0, 0, 0, 0, (byte)'{', (byte)'"', (byte)'a', (byte)'"', (byte)':']);
        CliProcess.Fails(1, "not a safetensors file", "evaluate", path);
    }
}
