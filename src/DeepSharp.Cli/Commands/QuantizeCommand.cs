using System.Diagnostics;
using System.Globalization;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Quantization;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp quantize MODEL --mode static|dynamic [--calibrate N] --out FILE`, and `deepsharp evaluate` on its output.</summary>
public static class QuantizeCommand
{
    /// <summary>Quantizes a model saved by `deepsharp train` (docs/compression.md).</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("quantize", args, ["mode", "calibrate", "out", "data", "backend"], ["no-verify"]);
        if (p.Help || p.Positionals.Count != 1)
        {
            if (!p.Help) throw new UsageException("deepsharp quantize: give the model file, e.g. 'deepsharp quantize runs/cnn/model.safetensors --mode static --out q.safetensors'.");
            output.WriteLine("usage: deepsharp quantize MODEL --mode static|dynamic [--calibrate N] [--backend auto|x86|fbgemm|onednn] --out FILE [--data DIR] [--no-verify]\n" +
                "  static: int8 weights and activations, calibrated on N training images (default 512); dynamic: int8 Linear weights,\n" +
                "  activation scales computed per batch. A model that is not a plain chain of layers (residual adds, concatenations,\n" +
                "  adaptive pooling, as in the zoo ResNets) is quantized as a graph (a 'static-graph' file).\n" +
                "  --backend picks the static qconfig as torch.ao.quantization.get_default_qconfig does: x86/fbgemm calibrate 7-bit\n" +
                "  activations, onednn full-range ones; auto (the default) takes onednn where the runtime exposes VNNI, x86 elsewhere.\n" +
                "  Evaluate the result with 'deepsharp evaluate FILE [--test-limit N]'.");
            return 0;
        }
        string mode = p.String("mode", "static", "static", "dynamic");
        string outPath = p.OptionalString("out") ?? throw new UsageException("deepsharp quantize: give the output file with --out FILE.");
        int calibrate = p.Int("calibrate", 512, 0);
        string backendName = p.String("backend", "auto", "auto", "x86", "fbgemm", "onednn");
        if (backendName != "auto" && mode != "static")
            throw new UsageException($"deepsharp quantize: --backend {backendName} picks a static qconfig; dynamic quantization computes its activation scales per batch and takes no backend.");
        QuantBackend backend = backendName switch
        {
            "x86" => QuantBackend.X86,
            "fbgemm" => QuantBackend.Fbgemm,
            "onednn" => QuantBackend.OneDnn,
            _ => QConfig.DefaultBackend,
        };
        string path = Directory.Exists(p.Positionals[0]) ? Path.Combine(p.Positionals[0], "model.safetensors") : p.Positionals[0];
        var (model, data) = EvaluateCommand.LoadModel(path, "quantize");
        var metadata = SafeTensors.LoadWithMetadata(path).Metadata;
        if (mode == "static")
        {
            if (calibrate == 0) throw new UsageException("deepsharp quantize: static quantization needs calibration data: give --calibrate N with N > 0 (or use --mode dynamic).");
            var (train, _, _) = ImageTraining.LoadSplit(data.Name, train: true, p.OptionalString("data"), limit: calibrate, imageSize: data.Size, verify: !p.Flag("no-verify"));
            var batches = new DataLoader(train, 64).Select(b => b[0]).ToList();
            var (chain, graph) = QuantizeStatic(model, batches, backend, output);
            if (graph != null)
            {
                QuantizedFile.SaveGraph(graph, outPath, metadata);
                mode = "static (graph)";
            }
            else QuantizedFile.SaveStatic(chain!, outPath, metadata);
            output.WriteLine($"qconfig: {backend.ToString().ToLowerInvariant()} ({(QConfig.ReducesActivationRange(backend) ? "7-bit" : "full-range 8-bit")} activations, per-channel int8 weights)");
        }
        else
        {
            try { DynamicQuantization.Quantize(model); }
            catch (ArgumentException e) { throw new UsageException($"deepsharp quantize: {e.Message}"); }
            QuantizedFile.SaveDynamic(model, outPath, metadata);
        }
        long before = new FileInfo(path).Length, after = new FileInfo(outPath).Length;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{mode} int8 model written to {outPath}: {after / 1024.0:F1} KiB (float32 {before / 1024.0:F1} KiB, {(double)before / after:F2}x smaller)"));
        return 0;
    }

    /// <summary>
    /// Static quantization: a chain of layers (Conv2d [BatchNorm2d] [ReLU], Linear [ReLU], MaxPool2d, Flatten, Dropout) as a
    /// <see cref="QuantizedModel"/>; a model the chain path refuses (residual adds, concatenations, adaptive pooling, a
    /// shared ReLU: the zoo ResNets) through the graph path as a <see cref="QuantizedGraphModel"/>. A model neither
    /// takes is a usage error with the graph path's reason.
    /// </summary>
    static (QuantizedModel? Chain, QuantizedGraphModel? Graph) QuantizeStatic(Module<Tensor, Tensor> model, List<Tensor> batches, QuantBackend backend,
        TextWriter output)
    {
        try { return (StaticQuantization.Quantize(model, batches, backend: backend), null); }
        catch (ArgumentException chainError)
        {
            QuantizedGraphModel graph;
            try { graph = StaticQuantization.QuantizeGraph(model, batches, backend: backend); }
            catch (ArgumentException e) { throw new UsageException($"deepsharp quantize: {Reason(e)}"); }
            output.WriteLine($"not a plain chain of layers ({Reason(chainError).Replace("StaticQuantization: ", "")}); quantized as a graph with {graph.Nodes.Count} nodes instead");
            return (null, graph);
        }
    }

    /// <summary>The message without .NET's " (Parameter 'model')" suffix.</summary>
    static string Reason(ArgumentException e) => e.ParamName is { } name ? e.Message.Replace($" (Parameter '{name}')", "") : e.Message;

    /// <summary>True when <paramref name="path"/> (a file or run folder) holds a quantized model.</summary>
    public static bool IsQuantizedFile(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "model.safetensors");
        // only a safetensors file can hold a quantized model; .onnx and .pth files go to their own loaders
        bool safetensors = path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        return safetensors && File.Exists(path) && QuantizedFile.IsQuantized(RawSafeTensors.ReadMetadata(path));
    }

    /// <summary>`deepsharp evaluate QFILE`: test accuracy, file size and batch-64 latency of a quantized model (static chain,
    /// static-graph or dynamic file); <paramref name="testLimit"/> &gt; 0 evaluates the first that many test images.</summary>
    public static int Evaluate(string path, string? dataDir, bool verify, TextWriter output, int testLimit = 0)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "model.safetensors");
        var metadata = RawSafeTensors.ReadMetadata(path);
        string mode = metadata[QuantizedFile.ModeKey];
        if (mode == QuantizedFile.RecurrentMode)
            throw new UsageException($"deepsharp evaluate: {path} is a quantized LSTM/GRU file; evaluate takes image classifiers (load it in code with QuantizedFile.LoadLstm / LoadGru).");
        var data = ImageTraining.DatasetInfo(metadata.GetValueOrDefault("deepsharp.dataset", "fashion-mnist"));
        Module<Tensor, Tensor> model;
        switch (mode)
        {
            case "static": model = QuantizedFile.LoadStatic(path); break;
            case QuantizedFile.GraphMode: model = QuantizedFile.LoadGraph(path); break;
            case "dynamic":
                if (!metadata.TryGetValue("deepsharp.model", out var name))
                    throw new InvalidDataException($"{path} is a dynamic quantized file without 'deepsharp.model' metadata; evaluate cannot rebuild its float layers");
                model = ImageTraining.CreateModel(name, data);
                QuantizedFile.LoadDynamic(path, model);
                model.Eval();
                break;
            default:
                throw new InvalidDataException($"{path} has quantization mode '{mode}', which this DeepSharp does not know (static, static-graph, dynamic, dynamic-rnn)");
        }
        var (test, _, _) = ImageTraining.LoadSplit(data.Name, train: false, dataDir, limit: testLimit, imageSize: data.Size, verify: verify);
        long correct = 0, total = 0, ticks = 0; int batches = 0;
        using (Autograd.NoGrad())
            foreach (var batch in new DataLoader(test, 64))
            {
                var start = Stopwatch.GetTimestamp();
                var logits = model.Call(batch[0]);
                ticks += Stopwatch.GetTimestamp() - start; batches++;
                var predicted = logits.ArgMax(1).ToArray<long>(); var labels = batch[1].ToArray<long>();
                for (int i = 0; i < labels.Length; i++) if (predicted[i] == labels[i]) correct++;
                total += labels.Length;
            }
        output.WriteLine($"quantized ({mode} int8) model {path}");
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"test accuracy: {(double)correct / total:F4} on {total} test images"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"file size: {new FileInfo(path).Length / 1024.0:F1} KiB"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"latency: {Stopwatch.GetElapsedTime(0, ticks).TotalMilliseconds / batches:F2} ms per batch of 64"));
        return 0;
    }
}
