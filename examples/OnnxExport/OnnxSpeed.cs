using System.Diagnostics;
using DeepSharp;
using DeepSharp.Onnx;
using DeepSharp.Vision.Models;
using Microsoft.ML.OnnxRuntime;

/// <summary>
/// Inference speed of an imported ONNX file in DeepSharp against ONNX Runtime on the same file and the same threads:
/// ResNet-18 (torchvision layout, 1000 classes, 224×224, random weights with trained-looking batch-norm statistics) and
/// the Fashion CNN. Each runtime is warmed up, then the two alternate for three runs of several forwards each; the median
/// forward of each run is reported, and the range over the runs.
/// </summary>
public static class OnnxSpeed
{
    public sealed record Timing(string Workload, double[] DeepSharpMs, double[] OrtMs, double[] NativeMs);

    public static IReadOnlyList<Timing> Compare(TextWriter log, int runs = 3, int batch = 1, int reps = 5, bool small = false)
    {
        int threads = DeepSharp.Kernels.KernelThreadPool.ThreadCount;
        log.WriteLine($"inference, {threads} threads each (DeepSharp kernel pool, ONNX Runtime intra-op), batch {batch}, median of {reps} forwards per run:");
        var results = new List<Timing>();
        var workloads = new (string Name, Func<DeepSharp.NN.Module<Tensor, Tensor>> Model, int[] Item)[]
        {
            ("ResNet-18 224x224", () => small ? new ResNet(ResNetBlock.Basic, [1, 1, 1, 1], numClasses: 10, baseChannels: 8) : ResNet.ResNet18(), small ? [3, 64, 64] : [3, 224, 224]),
            ("Fashion CNN 28x28", () => new FashionCnn(), [1, 28, 28]),
        };
        foreach (var (name, create, item) in workloads)
        {
            var model = create();
            model.Eval();
            var bytes = OnnxExport.ToBytes(model, Tensor.Zeros([1, .. item]));
            var imported = OnnxModel.Load(bytes);
            using var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
            using var session = new InferenceSession(bytes, sessionOptions);
            var x = Tensor.Randn([batch, .. item]);
            double NativeOnce() { var sw = Stopwatch.StartNew(); using (Autograd.NoGrad()) model.Call(x); return sw.Elapsed.TotalMilliseconds; }
            double OursOnce() { var sw = Stopwatch.StartNew(); using (Autograd.NoGrad()) imported.Call(x); return sw.Elapsed.TotalMilliseconds; }
            double OrtOnce() { var sw = Stopwatch.StartNew(); OnnxExportExample.RunOrt(session, x); return sw.Elapsed.TotalMilliseconds; }
            for (int i = 0; i < 2; i++) { OursOnce(); OrtOnce(); NativeOnce(); }   // warm-up: JIT, buffer pools, ORT's graph optimisation
            var ours = new double[runs];
            var ort = new double[runs];
            var native = new double[runs];
            for (int r = 0; r < runs; r++)
            {
                ours[r] = Median(Enumerable.Range(0, reps).Select(_ => OursOnce()));
                ort[r] = Median(Enumerable.Range(0, reps).Select(_ => OrtOnce()));
                native[r] = Median(Enumerable.Range(0, reps).Select(_ => NativeOnce()));
            }
            results.Add(new Timing(name, ours, ort, native));
            var ratios = ours.Zip(ort, (a, b) => a / b).ToArray();
            log.WriteLine($"  {name}: DeepSharp (imported) {ours.Min():F2}-{ours.Max():F2} ms, ONNX Runtime {ort.Min():F2}-{ort.Max():F2} ms, " +
                          $"ratio {ratios.Min():F2}-{ratios.Max():F2}x; the DeepSharp module itself {native.Min():F2}-{native.Max():F2} ms");
        }
        return results;
    }

    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted[sorted.Length / 2];
    }
}
