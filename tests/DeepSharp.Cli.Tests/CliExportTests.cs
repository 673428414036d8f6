using DeepSharp.IO;
using DeepSharp.Onnx.Proto;
using DeepSharp.Vision.Models;

namespace DeepSharp.Cli.Tests;

/// <summary>`deepsharp export RUN/model.safetensors --format onnx --out FILE` (docs/interop.md).</summary>
public class CliExportTests
{
    [Fact]
    public void ExportsASavedRunAsOnnx()
    {
        var dir = CliProcess.TempDir("cli-export");
        var run = Path.Combine(dir, "run");
        Directory.CreateDirectory(run);
        var model = new FashionCnn();
        SafeTensors.Save(Path.Combine(run, "model.safetensors"), model.StateDict(),
            new Dictionary<string, string> { ["deepsharp.model"] = "cnn", ["deepsharp.dataset"] = "fashion-mnist" });

        var (code, stdout, stderr) = CliProcess.Run(["export", "run/model.safetensors", "--format", "onnx", "--out", "cnn.onnx"], dir);
        Assert.True(code == 0, stderr);
        Assert.Contains("-> cnn.onnx: ONNX opset 17, input (batch, 1, 28, 28)", stdout);
        var proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(dir, "cnn.onnx")));
        Assert.Equal("batch", proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimParam);
        Assert.Equal(10, proto.Graph.Output[0].Type.TensorType.Shape.Dim[1].DimValue);
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "features.0.weight");

        // the run folder works too, with the default output beside the model and a fixed batch
        (code, stdout, stderr) = CliProcess.Run(["export", "run", "--opset", "13", "--static-batch"], dir);
        Assert.True(code == 0, stderr);
        proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(run, "model.onnx")));
        Assert.Equal(13, proto.OpsetImport[0].Version);
        Assert.Equal(1, proto.Graph.Input[0].Type.TensorType.Shape.Dim[0].DimValue);

        CliProcess.Fails(2, "onnx", "export", Path.Combine(run, "model.safetensors"), "--format", "tflite");
        CliProcess.Fails(2, "must end in .onnx", "export", Path.Combine(run, "model.safetensors"), "--out", Path.Combine(dir, "x.pth"));
        CliProcess.Fails(1, "model file not found", "export", Path.Combine(dir, "missing.safetensors"));
    }
}
