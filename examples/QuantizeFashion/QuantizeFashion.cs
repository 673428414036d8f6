using System.Diagnostics;
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Quantization;
using DeepSharp.Training;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

/// <summary>Float32 vs static int8 vs dynamic int8 Fashion CNN: accuracy, batch-64 latency and file size.</summary>
public static class QuantizeFashion
{
    /// <summary>What to run: a trained model file, or a model trained here for one epoch on TrainImages.</summary>
    public sealed record Settings(string? ModelFile = null, int TrainImages = 6000, int TestImages = 2000, int CalibrationImages = 512,
        int TimingRounds = 20, string OutputFolder = "runs/quantize");

    /// <summary>The numbers a run measured (accuracy as a fraction, latency in milliseconds per batch of 64, sizes in bytes).</summary>
    public sealed record Report(double FloatAccuracy, double StaticAccuracy, double DynamicAccuracy, double FloatMs, double StaticMs,
        double DynamicMs, long FloatBytes, long StaticBytes, long DynamicBytes);

    /// <summary>Builds or loads the float model, quantizes it both ways, and measures all three.</summary>
    public static Report Run(Settings settings, TextWriter log)
    {
        DeepSharp.Random.Seed(0);
        Directory.CreateDirectory(settings.OutputFolder);
        var train = MnistDataset.LoadFashion(train: true).Take(Math.Max(settings.TrainImages, settings.CalibrationImages));
        var test = MnistDataset.LoadFashion(train: false).Take(settings.TestImages);
        string floatFile = settings.ModelFile ?? Path.Combine(settings.OutputFolder, "float.safetensors");
        if (settings.ModelFile == null)
        {
            var fresh = new FashionCnn();
            new Trainer(fresh, new Adam(fresh.Parameters(), 1e-3), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null))
                .Fit(new DataLoader(new TensorDataset(train.Images, train.Labels), 64, shuffle: true), null, new TrainingBudget { MaxEpochs = 1 });
            DeepSharp.IO.SafeTensors.Save(floatFile, fresh.StateDict());
        }
        var floatModel = Load(floatFile);

        var calibration = new DataLoader(new TensorDataset(train.Images), 64).Select(b => b[0]).Take((settings.CalibrationImages + 63) / 64);
        var staticModel = StaticQuantization.Quantize(floatModel, calibration);
        string staticFile = Path.Combine(settings.OutputFolder, "static.safetensors"), dynamicFile = Path.Combine(settings.OutputFolder, "dynamic.safetensors");
        QuantizedFile.SaveStatic(staticModel, staticFile);
        var dynamicModel = Load(floatFile);
        DynamicQuantization.Quantize(dynamicModel);
        QuantizedFile.SaveDynamic(dynamicModel, dynamicFile);
        staticModel = QuantizedFile.LoadStatic(staticFile);   // measure what the file holds

        var report = new Report(Accuracy(floatModel, test), Accuracy(staticModel, test), Accuracy(dynamicModel, test), 0, 0, 0,
            new FileInfo(floatFile).Length, new FileInfo(staticFile).Length, new FileInfo(dynamicFile).Length);
        var (f, s, d) = Latency([floatModel, staticModel, dynamicModel], test.Images.Narrow(0, 0, Math.Min(64, test.Count)), settings.TimingRounds);
        report = report with { FloatMs = f, StaticMs = s, DynamicMs = d };
        log.WriteLine($"accuracy: float32 {report.FloatAccuracy:P2}, static int8 {report.StaticAccuracy:P2}, dynamic int8 {report.DynamicAccuracy:P2}");
        log.WriteLine($"batch-64 latency (median): float32 {f:F2} ms, static int8 {s:F2} ms ({f / s:F2}x), dynamic int8 {d:F2} ms ({f / d:F2}x)");
        var (mf, md) = MlpLatency(test.Images.Narrow(0, 0, Math.Min(64, test.Count)).Reshape(-1, 784), settings.TimingRounds);
        log.WriteLine($"MLP 784-512-512-10 batch-64 latency (median, random weights): float32 {mf:F2} ms, dynamic int8 {md:F2} ms ({mf / md:F2}x)");
        log.WriteLine($"file size: float32 {report.FloatBytes / 1024.0:F0} KiB, static {report.StaticBytes / 1024.0:F0} KiB ({(double)report.FloatBytes / report.StaticBytes:F2}x smaller), dynamic {report.DynamicBytes / 1024.0:F0} KiB");
        return report;
    }

    static FashionCnn Load(string file)
    {
        var model = new FashionCnn();
        model.LoadStateDict(DeepSharp.IO.SafeTensors.Load(file));
        model.Eval();
        return model;
    }

    static double Accuracy(Module<Tensor, Tensor> model, MnistDataset test)
    {
        long correct = 0;
        using var _ = Autograd.NoGrad();
        foreach (var batch in new DataLoader(new TensorDataset(test.Images, test.Labels), 256))
        {
            var predicted = model.Call(batch[0]).ArgMax(1).ToArray<long>();
            var labels = batch[1].ToArray<long>();
            for (int i = 0; i < labels.Length; i++) if (predicted[i] == labels[i]) correct++;
        }
        return (double)correct / test.Count;
    }

    /// <summary>Float32 vs dynamic int8 MLP (784-512-512-10, the same random weights, Linear layers replaced by
    /// DynamicQuantization.Quantize): median milliseconds per batch, alternating.</summary>
    static (double, double) MlpLatency(Tensor batch, int rounds)
    {
        Sequential Mlp()
        {
            DeepSharp.Random.Seed(1);
            var m = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 512), new ReLU(), new Linear(512, 10));
            m.Eval();
            return m;
        }
        var fp = Mlp(); var q = Mlp();
        DynamicQuantization.Quantize(q);
        var (f, d, _) = Latency([fp, q, fp], batch, rounds);
        return (f, d);
    }

    /// <summary>Median milliseconds per call for each model, the models taking turns so that machine load hits all alike.</summary>
    static (double, double, double) Latency(Module<Tensor, Tensor>[] models, Tensor batch, int rounds)
    {
        var times = models.Select(_ => new List<double>()).ToArray();
        using var _ = Autograd.NoGrad();
        for (int r = -2; r < rounds; r++)   // two warm-up rounds
            for (int m = 0; m < models.Length; m++)
            {
                long start = Stopwatch.GetTimestamp();
                models[m].Call(batch);
                if (r >= 0) times[m].Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        double Median(List<double> t) { t.Sort(); return t[t.Count / 2]; }
        return (Median(times[0]), Median(times[1]), Median(times[2]));
    }
}
