using DeepSharp.Compression.Pruning;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using static DeepSharp.Cli.Commands.CompressionRuns;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp prune MODEL --sparsity X [--structured] [--finetune-epochs N]`: magnitude pruning with fine-tuning.</summary>
public static class PruneCommand
{
    const string Usage = """
        usage: deepsharp prune MODEL --sparsity X [--structured] [--finetune-epochs N] [--out FILE] [--lr X] [--batch-size N]
                                     [--limit N] [--test-limit N] [--data DIR] [--seed N] [--threads N]
          Prunes a model saved by 'deepsharp train' and fine-tunes it with the masks in place (torch.nn.utils.prune).
          Unstructured (default): global L1 magnitude pruning of every conv and linear weight to sparsity X in [0, 1);
          the saved weights hold the zeros. --structured: removes the fraction X of the output channels of every conv and
          hidden linear layer (smallest L1 norm) and saves a genuinely smaller dense model. Prints the test accuracy
          before and after, the sparsity or parameter count, and the batch-64 inference time. Defaults: 1 fine-tuning
          epoch at lr 1e-4 (adam), batch 128, out MODEL_DIR/pruned.safetensors.
        """;

    /// <summary>Runs the command.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("prune", args, ["sparsity", "finetune-epochs", .. Options], ["structured"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 1) throw new UsageException("deepsharp prune: give the model file, e.g. 'deepsharp prune runs/cnn/model.safetensors --sparsity 0.8'.");
        if (!p.Has("sparsity")) throw new UsageException("deepsharp prune: --sparsity X is required (a fraction in [0, 1), e.g. 0.8).");
        double sparsity = p.Double("sparsity", 0);
        if (!(sparsity >= 0 && sparsity < 1)) throw new UsageException($"deepsharp prune: --sparsity must lie in [0, 1) (got {sparsity}); 1 would remove every weight.");
        int epochs = p.Int("finetune-epochs", 1, 0, 1000);
        int batchSize = p.Int("batch-size", 128, 1, 65_536);
        double lr = p.Double("lr", 1e-4, 0);
        bool structured = p.Flag("structured");
        Kernels.KernelThreadPool.SetThreadCount(p.Int("threads", Environment.ProcessorCount, 1, 1024));
        DeepSharp.Random.Seed(p.Int("seed", 0, 0));
        var modelPath = p.Positionals[0];
        var (model, info) = EvaluateCommand.LoadModel(modelPath, "prune");
        var data = ImageTraining.LoadData(info.Name, p.OptionalString("data"), false, p.Int("limit", 0, 0), p.Int("test-limit", 0, 0), output, info.Size);
        int[] imageShape = [info.Channels, info.Size, info.Size];
        double accBefore = Accuracy(model, data.Test, batchSize), msBefore = LatencyMs(model, imageShape);
        long paramsBefore = model.ParameterCount();
        output.WriteLine($"before: test accuracy {F4(accBefore)}, {paramsBefore:N0} parameters, {msBefore:F2} ms per batch of 64");

        var extra = new Dictionary<string, string> { ["deepsharp.pruned"] = structured ? "structured" : "unstructured", ["deepsharp.sparsity"] = sparsity.ToString(System.Globalization.CultureInfo.InvariantCulture) };
        if (structured)
        {
            var report = FilterPruning.Shrink(model, sparsity);
            extra["deepsharp.shrunk"] = "true";
            output.WriteLine($"structured: kept {string.Join(", ", report.KeptChannels.Select(k => $"{k.Key} {k.Value.Kept.Length}/{k.Value.Of}"))}");
            Fit(new Trainer(model, new Adam(model.Parameters(), lr), F.CrossEntropy), data.Train, batchSize, epochs);
        }
        else
        {
            var targets = model.Modules().Where(m => m is Conv2d or Linear).Select(m => (m, "weight")).ToList();
            Prune.GlobalUnstructured(targets, new L1Unstructured(sparsity));
            Fit(new Trainer(model, new Adam(model.Parameters(), lr), F.CrossEntropy), data.Train, batchSize, epochs);
            foreach (var (m, name) in targets) Prune.Remove(m, name);
        }
        double accAfter = Accuracy(model, data.Test, batchSize), msAfter = LatencyMs(model, imageShape);
        var weights = model.Modules().Where(m => m is Conv2d or Linear).Select(m => m.GetTensor("weight")!).ToList();
        double zeros = weights.Sum(w => (double)w.ToArray<float>().Count(v => v == 0)) / weights.Sum(w => (double)w.NumEl);
        output.WriteLine($"after: test accuracy {F4(accAfter)}, {model.ParameterCount():N0} parameters, weight sparsity {zeros:P1}, " +
                         $"{msAfter:F2} ms per batch of 64 ({msBefore / msAfter:F2}x)");
        var outPath = p.OptionalString("out") ?? Path.Combine(Path.GetDirectoryName(Path.GetFullPath(Directory.Exists(modelPath) ? Path.Combine(modelPath, "x") : modelPath))!, "pruned.safetensors");
        Save(outPath, model, ModelName(modelPath), info.Name, accAfter, extra);
        output.WriteLine($"saved {outPath}");
        output.WriteLine($"test accuracy: {F4(accAfter)}");
        return 0;
    }
}
