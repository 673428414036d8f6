// The Fashion CNN trained with real 16-bit tensors: the model converted with To(DType.BFloat16) or To(DType.Float16)
// (weights, activations and gradients stored at 2 bytes per element, every op computing in float32 and rounding once)
// against the float32 model, same seed, data and SGD. Prints time per epoch, peak working set and test accuracy.
// One precision per process, so the peak working set is that run's own.
// Run: dotnet run -c Release --project examples/PrecisionFashion -- --precision bf16 [--train-images 6000 --epochs 1]
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

var o = PrecisionFashionExample.Options.Parse(args);
DeepSharp.Kernels.KernelThreadPool.SetThreadCount(o.Threads);
PrecisionFashionExample.Run(o, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class PrecisionFashionExample
{
    /// <summary>Sizes of the run.</summary>
    public sealed record Options
    {
        public string Precision { get; init; } = "fp32";
        public int TrainImages { get; init; } = 6000;
        public int TestImages { get; init; } = 2000;
        public int Epochs { get; init; } = 1;
        public int BatchSize { get; init; } = 64;
        public double Lr { get; init; } = 0.02;
        public int Threads { get; init; } = Environment.ProcessorCount;

        /// <summary>Reads "--precision bf16 --train-images 1000 ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/PrecisionFashion");
    }

    /// <summary>What the run measured.</summary>
    public sealed record Result(DType DType, double Seconds, double LastLoss, double Accuracy, long ParameterBytes, long PeakWorkingSet);

    public static Result Run(Options o, TextWriter log)
    {
        var dtype = o.Precision switch
        {
            "fp32" => DType.Float32, "bf16" => DType.BFloat16, "fp16" => DType.Float16,
            _ => throw new ArgumentException($"--precision must be fp32, bf16 or fp16, got {o.Precision}"),
        };
        DeepSharp.Random.Seed(0);
        var trainSplit = MnistDataset.LoadFashion(train: true).Take(o.TrainImages);
        var testSplit = MnistDataset.LoadFashion(train: false).Take(o.TestImages);
        var model = new FashionCnn();
        model.To(dtype);
        var opt = new SGD(model.Parameters(), lr: o.Lr, momentum: 0.9);
        var loader = new DataLoader(new TensorDataset(trainSplit.Images, trainSplit.Labels), o.BatchSize, shuffle: true);
        var sw = Stopwatch.StartNew();
        double lastLoss = 0;
        for (int epoch = 0; epoch < o.Epochs; epoch++)
        {
            model.Train();
            foreach (var batch in loader)
            {
                using var scope = TensorScope.Begin();
                var loss = F.CrossEntropy(model.Forward(batch[0].To(dtype)), batch[1]);
                opt.ZeroGrad();
                loss.Backward();
                opt.Step();
                lastLoss = loss.Item();
            }
        }
        double seconds = sw.Elapsed.TotalSeconds;
        model.Eval();
        int correct = 0, total = testSplit.Images.Shape[0];
        using (Autograd.NoGrad())
            for (int i = 0; i < total; i += 500)
            {
                int n = Math.Min(500, total - i);
                var logits = model.Forward(testSplit.Images.Narrow(0, i, n).To(dtype));
                correct += (int)logits.ArgMax(1).Eq(testSplit.Labels.Narrow(0, i, n)).To(DType.Int64).Sum().Item();
            }
        long paramBytes = model.Parameters().Sum(p => (long)p.NumEl * p.DType.ElementSize());
        long peak = Process.GetCurrentProcess().PeakWorkingSet64;
        var result = new Result(dtype, seconds, lastLoss, (double)correct / total, paramBytes, peak);
        log.WriteLine($"{o.Precision}: {o.Epochs} epoch(s) of {o.TrainImages} images in {seconds:F1} s, last loss {lastLoss:F3}, " +
                      $"test accuracy {result.Accuracy:F4}, parameters {paramBytes / 1024.0 / 1024.0:F2} MiB, " +
                      $"peak working set {peak / 1024.0 / 1024.0:F0} MiB");
        return result;
    }
}
