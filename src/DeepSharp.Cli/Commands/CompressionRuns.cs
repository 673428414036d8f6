using System.Diagnostics;
using System.Globalization;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Cli.Commands;

/// <summary>What `deepsharp prune` and `deepsharp distill` share: the data, fine-tuning, accuracy, latency and saving.</summary>
static class CompressionRuns
{
    /// <summary>The common options: data folder, limits, batch size, learning rate, threads, seed.</summary>
    public static readonly string[] Options = ["data", "limit", "test-limit", "batch-size", "lr", "threads", "seed", "out"];

    public static string F4(double v) => v.ToString("F4", CultureInfo.InvariantCulture);

    /// <summary>Test accuracy of <paramref name="model"/> (eval mode).</summary>
    public static double Accuracy(Module<Tensor, Tensor> model, IDataset<Tensor[]> test, int batchSize)
    {
        model.Eval();
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.0), F.CrossEntropy, [new Training.Metrics.Accuracy()]);
        return trainer.Evaluate(new DataLoader(test, batchSize))["acc"];
    }

    /// <summary>Median milliseconds of one batch-64 forward pass without gradients.</summary>
    public static double LatencyMs(Module<Tensor, Tensor> model, int[] imageShape, int repeats = 20)
    {
        model.Eval();
        var x = Tensor.Randn([64, .. imageShape]);
        var times = new List<double>();
        using var _ = Autograd.NoGrad();
        for (int i = 0; i < repeats + 3; i++)
        {
            using var scope = TensorScope.Begin();
            var sw = Stopwatch.StartNew();
            model.Call(x);
            if (i >= 3) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return times[times.Count / 2];
    }

    /// <summary>Trains the model of <paramref name="trainer"/> for <paramref name="epochs"/> epochs on the training split.</summary>
    public static void Fit(Trainer trainer, IDataset<Tensor[]> train, int batchSize, int epochs)
    {
        if (epochs == 0) return;
        trainer.Model.Train();
        trainer.Fit(new DataLoader(train, batchSize, shuffle: true), null, epochs);
    }

    /// <summary>Saves <paramref name="model"/> with the metadata `deepsharp evaluate` reads.</summary>
    public static void Save(string path, Module model, string modelName, string dataset, double accuracy, Dictionary<string, string> extra)
    {
        var metadata = new Dictionary<string, string>(extra)
        {
            ["deepsharp.model"] = modelName, ["deepsharp.dataset"] = dataset, ["test_accuracy"] = F4(accuracy),
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        SafeTensors.Save(path, model.StateDict(), metadata);
    }

    /// <summary>The model name stored in a file written by `deepsharp train`.</summary>
    public static string ModelName(string path)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "model.safetensors");
        return SafeTensors.LoadWithMetadata(path).Metadata.GetValueOrDefault("deepsharp.model", "cnn");
    }
}
