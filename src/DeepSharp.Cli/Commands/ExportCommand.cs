using DeepSharp.Onnx;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp export MODEL --format onnx --out FILE`: a saved image classifier as an ONNX file (docs/interop.md).</summary>
public static class ExportCommand
{
    const string Usage =
        "usage: deepsharp export MODEL [--format onnx] [--out FILE] [--opset N] [--static-batch]\n" +
        "  Writes a model saved by 'deepsharp train' (RUN/model.safetensors or the run folder) as an ONNX file for ONNX Runtime\n" +
        "  and other runtimes: eval mode, weights as initializers, input 'input' (batch, C, H, W) -> output 'output' (batch, classes).\n" +
        "  --out: default MODEL with the extension .onnx; --opset: 13 to 21 (default 17); --static-batch: fix the batch to 1.";

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("export", args, ["format", "out", "opset"], ["static-batch"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 1)
            throw new UsageException("deepsharp export: give the model file, e.g. 'deepsharp export runs/cnn/model.safetensors --format onnx --out model.onnx'.");
        p.String("format", "onnx", "onnx");
        int opset = p.Int("opset", 17, OnnxExport.MinOpset, OnnxExport.MaxOpset);
        var source = p.Positionals[0];
        var modelFile = Directory.Exists(source) ? Path.Combine(source, "model.safetensors") : source;
        var target = p.OptionalString("out") ?? Path.ChangeExtension(modelFile, ".onnx");
        if (!target.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
            throw new UsageException($"deepsharp export: the output '{target}' must end in .onnx");
        var (model, data) = EvaluateCommand.LoadModel(source, "export");
        var sample = Tensor.Zeros(1, data.Channels, data.Size, data.Size);
        bool dynamicBatch = !p.Flag("static-batch");
        try
        {
            var metadata = IO.SafeTensors.LoadWithMetadata(Directory.Exists(source) ? modelFile : source).Metadata
                .Where(kv => kv.Key.StartsWith("deepsharp.", StringComparison.Ordinal)).ToDictionary();   // the model and dataset, for evaluate/predict
            OnnxExport.Export(model, target, sample, opset, dynamicBatch, metadata: metadata);
        }
        catch (NotSupportedException e)
        {
            throw new InvalidDataException(e.Message, e);   // a model the exporter cannot map: exit 1 with the module named
        }
        string batch = dynamicBatch ? "batch" : "1";
        output.WriteLine($"{modelFile} -> {target}: ONNX opset {opset}, input ({batch}, {data.Channels}, {data.Size}, {data.Size}), " +
                         $"{model.ParameterCount():N0} parameters, {new FileInfo(target).Length:N0} bytes");
        return 0;
    }
}
