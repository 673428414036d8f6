using DeepSharp.IO;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Models;

namespace DeepSharp.Cli.Tests;

/// <summary>`predict` and `evaluate` take a model as .safetensors, as .onnx (run by OnnxModel) and as a PyTorch .pth.</summary>
public class CliInteropModelTests
{
    [Fact]
    public void PredictGivesTheSameAnswerFromSafetensorsOnnxAndPth()
    {
        var dir = CliProcess.TempDir("cli-interop");
        var model = new FashionCnn();
        var safetensors = Path.Combine(dir, "model.safetensors");
        SafeTensors.Save(safetensors, model.StateDict(),
            new Dictionary<string, string> { ["deepsharp.model"] = "cnn", ["deepsharp.dataset"] = "fashion-mnist" });
        var png = Path.Combine(dir, "shoe.png");
        new Image(28, 28, 1, Enumerable.Range(0, 28 * 28).Select(i => (ushort)(i * 7 % 256)).ToArray()).Save(png);

        var (code, expected, err) = CliProcess.Run(["predict", safetensors, png]);
        Assert.True(code == 0, err);
        (code, _, err) = CliProcess.Run(["export", safetensors, "--out", Path.Combine(dir, "model.onnx")]);
        Assert.True(code == 0, err);
        var (onnxCode, onnxOutput, onnxErr) = CliProcess.Run(["predict", Path.Combine(dir, "model.onnx"), png]);   // dataset from the ONNX metadata
        Assert.True(onnxCode == 0, onnxErr);
        Assert.Equal(expected, onnxOutput);

        TorchFile.Save(Path.Combine(dir, "model.pth"), model.StateDict());
        CliProcess.Fails(2, "--model", "predict", Path.Combine(dir, "model.pth"), png);
        var (pthCode, pthOutput, pthErr) = CliProcess.Run(["predict", Path.Combine(dir, "model.pth"), png, "--model", "cnn", "--dataset", "fashion-mnist"]);
        Assert.True(pthCode == 0, pthErr);
        Assert.Equal(expected, pthOutput);
    }

    [Fact]
    public void EvaluateRunsAnOnnxFile()
    {
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("cli-interop-eval");
        var onnx = Path.Combine(dir, "mlp.onnx");
        Onnx.OnnxExport.Export(new Mlp(784, [32], 10), onnx, Tensor.Zeros(1, 1, 28, 28));   // no metadata: --dataset names the data
        CliProcess.Fails(2, "--dataset", "evaluate", onnx);
        var (code, output, err) = CliProcess.Run(["evaluate", onnx, "--dataset", "fashion-mnist"]);
        Assert.True(code == 0, err);
        Assert.Contains("test accuracy: ", output);
    }
}
