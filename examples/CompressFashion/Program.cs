// Pruning and distillation of the Fashion CNN on Fashion-MNIST. A teacher is trained on a small budget; then, for each
// sparsity, a copy is globally L1-pruned (torch.nn.utils.prune.global_unstructured), fine-tuned with its masks and made
// permanent, giving an accuracy-vs-sparsity curve (SVG); a copy is filter-pruned into a smaller dense CNN (timed); and a
// half-width student is trained alone and by distillation from the teacher.
// Run: dotnet run -c Release --project examples/CompressFashion [-- --train-images 6000 --epochs 1 --out runs/compress]
using System.Diagnostics;
using System.Globalization;
using DeepSharp;
using DeepSharp.Compression.Distillation;
using DeepSharp.Compression.Pruning;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

var options = CompressFashionExample.Options.Parse(args);
DeepSharp.Kernels.KernelThreadPool.SetThreadCount(options.Threads);
CompressFashionExample.Run(options, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class CompressFashionExample
{
    /// <summary>Sizes of the run.</summary>
    public sealed record Options
    {
        public int TrainImages { get; init; } = 6000;
        public int TestImages { get; init; } = 2000;
        public int Epochs { get; init; } = 1;
        public int BatchSize { get; init; } = 128;
        public double[] Sparsities { get; init; } = [0.5, 0.7, 0.8, 0.9, 0.95];
        public string Out { get; init; } = "runs/compress";
        public int Threads { get; init; } = Environment.ProcessorCount;

        /// <summary>Reads "--train-images 1000 --out dir ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/CompressFashion");
    }

    /// <summary>What the run measured.</summary>
    public sealed record Result(double Teacher, IReadOnlyList<(double Sparsity, double Accuracy)> Curve, double ShrunkAccuracy,
        double DenseMs, double ShrunkMs, double StudentAlone, double Distilled);

    public static Result Run(Options o, TextWriter log)
    {
        DeepSharp.Random.Seed(0);
        var trainSplit = MnistDataset.LoadFashion(train: true).Take(o.TrainImages);
        var testSplit = MnistDataset.LoadFashion(train: false).Take(o.TestImages);
        var train = new TensorDataset(trainSplit.Images, trainSplit.Labels);
        var test = new TensorDataset(testSplit.Images, testSplit.Labels);
        var teacher = new FashionCnn();
        Fit(teacher, new Trainer(teacher, new Adam(teacher.Parameters(), 1e-3), F.CrossEntropy), train, o);
        double teacherAcc = Accuracy(teacher, test);
        log.WriteLine($"teacher (Fashion CNN, {teacher.ParameterCount():N0} parameters): test accuracy {teacherAcc:F4}");

        var curve = new List<(double, double)> { (0, teacherAcc) };
        foreach (var s in o.Sparsities)
        {
            var model = Copy(teacher);
            var targets = model.Modules().Where(m => m is Conv2d or Linear).Select(m => (m, "weight")).ToList();
            Prune.GlobalUnstructured(targets, new L1Unstructured(s));
            Fit(model, new Trainer(model, new Adam(model.Parameters(), 1e-4), F.CrossEntropy), train, o);
            foreach (var (m, name) in targets) Prune.Remove(m, name);
            curve.Add((s, Accuracy(model, test)));
            log.WriteLine($"sparsity {s:P0}: test accuracy {curve[^1].Item2:F4}");
        }
        Directory.CreateDirectory(o.Out);
        WriteCurve(Path.Combine(o.Out, "sparsity.svg"), curve);

        var shrunk = Copy(teacher);
        var report = FilterPruning.Shrink(shrunk, 0.5);
        Fit(shrunk, new Trainer(shrunk, new Adam(shrunk.Parameters(), 1e-4), F.CrossEntropy), train, o);
        double shrunkAcc = Accuracy(shrunk, test), denseMs = LatencyMs(teacher), shrunkMs = LatencyMs(shrunk);
        log.WriteLine($"filter pruning 50%: {report.ParametersBefore:N0} -> {report.ParametersAfter:N0} parameters, test accuracy {shrunkAcc:F4}, " +
                      $"batch-64 inference {denseMs:F1} -> {shrunkMs:F1} ms ({denseMs / shrunkMs:F2}x)");

        DeepSharp.Random.Seed(1);
        var alone = Students.SmallCnn();
        Fit(alone, new Trainer(alone, new Adam(alone.Parameters(), 1e-3), F.CrossEntropy), train, o);
        DeepSharp.Random.Seed(1);
        var student = Students.SmallCnn();
        var distiller = new Distiller(student, teacher);
        Fit(student, new Trainer(distiller, new Adam(distiller.Parameters(), 1e-3), distiller.Step), train, o);
        double aloneAcc = Accuracy(alone, test), distilledAcc = Accuracy(student, test);
        log.WriteLine($"student ({student.ParameterCount():N0} parameters): alone {aloneAcc:F4}, distilled {distilledAcc:F4}, teacher {teacherAcc:F4}");
        return new Result(teacherAcc, curve, shrunkAcc, denseMs, shrunkMs, aloneAcc, distilledAcc);
    }

    static void Fit(Module model, Trainer trainer, TensorDataset train, Options o)
    {
        model.Train();
        trainer.Progress = new PlainProgress(TextWriter.Null);
        trainer.Fit(new DataLoader(train, o.BatchSize, shuffle: true), null, o.Epochs);
    }

    static FashionCnn Copy(FashionCnn model)
    {
        var copy = new FashionCnn();
        copy.LoadStateDict(model.StateDict());
        return copy;
    }

    public static double Accuracy(Module<Tensor, Tensor> model, TensorDataset test)
    {
        model.Eval();
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0), F.CrossEntropy, [new Accuracy()]) { Progress = new PlainProgress(TextWriter.Null) };
        return trainer.Evaluate(new DataLoader(test, 500))["acc"];
    }

    public static double LatencyMs(Module<Tensor, Tensor> model)
    {
        model.Eval();
        var x = Tensor.Randn(64, 1, 28, 28);
        using var _ = Autograd.NoGrad();
        var times = new List<double>();
        for (int i = 0; i < 13; i++)
        {
            var sw = Stopwatch.StartNew();
            using (TensorScope.Begin()) model.Call(x);
            if (i >= 3) times.Add(sw.Elapsed.TotalMilliseconds);
        }
        return times.Order().ElementAt(times.Count / 2);
    }

    /// <summary>Accuracy against sparsity as a small SVG line chart.</summary>
    public static void WriteCurve(string path, IReadOnlyList<(double Sparsity, double Accuracy)> curve)
    {
        var chart = new SvgChart("accuracy against sparsity", width: 480, height: 300, left: 50, bottom: 40);
        for (int i = 0; i <= 5; i++) chart.XTick(i / 5.0, $"{i * 20}%").YTick(i / 5.0, (i / 5.0).ToString("F1", CultureInfo.InvariantCulture));
        chart.XLabel("weight sparsity (global L1, fine-tuned)").YLabel("test accuracy");
        var points = curve.Select(c => (c.Sparsity, c.Accuracy)).ToList();
        chart.Polyline(points, "#1f77b4").Dots(points, "#1f77b4", 3).Save(path);
    }
}
