// ResNet-18 (batch 1 and 16) and MobileNetV2 (batch 1) inference at 224x224 on the same weights: DeepSharp's eval-mode
// model, the same model after InferenceOptimizer.Optimize, and ONNX Runtime 1.32.0 (CPU provider) on PyTorch's export.
// Rounds alternate the three sides; each entry is the median of a round's timed runs.
// Usage: dotnet run -c Release --project benchmarks/InferenceTiming -- MODELDIR [rounds] [threads]
//   (MODELDIR from: /usr/bin/python3 benchmarks/InferenceTiming/export_torch.py MODELDIR)
using System.Diagnostics;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Vision.Models;
using Microsoft.ML.OnnxRuntime;
using DenseTensor = Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>;
using Tensor = DeepSharp.Tensor;

if (args.Length > 0 && args[0] == "--construct")
{
    // issue 12's construction target: building VGG-16 (138 M parameters, every one drawn at random) in under 1 s
    Console.WriteLine($"load {Load()}");
    for (int i = 0; i < 4; i++)
    {
        var cpu = Cpu();
        var t = Stopwatch.StartNew();
        var vgg = VGG.Vgg16();
        Console.WriteLine($"VGG.Vgg16(): {t.Elapsed.TotalMilliseconds:F0} ms wall, {Cpu() - cpu:F0} ms CPU ({vgg.ParameterCount():N0} parameters){(i == 0 ? " (first, includes JIT)" : "")}");
        vgg = null;
        GC.Collect();
    }
    // the draw alone, old and new: one NextNormal per element (the loop Tensor.Randn ran before) against FillNormal
    var buffer = new float[138_357_544];
    for (int i = 0; i < 2; i++)
    {
        var g = new Generator(1);
        var cpu = Cpu();
        var t = Stopwatch.StartNew();
        for (int j = 0; j < buffer.Length; j++) buffer[j] = (float)g.NextNormal();
        double scalar = t.Elapsed.TotalMilliseconds, scalarCpu = Cpu() - cpu;
        g = new Generator(1);
        cpu = Cpu();
        t.Restart();
        g.FillNormal(buffer);
        Console.WriteLine($"138.4 M float normals: NextNormal loop {scalar:F0} ms wall / {scalarCpu:F0} ms CPU, FillNormal {t.Elapsed.TotalMilliseconds:F0} ms wall / {Cpu() - cpu:F0} ms CPU");
    }
    Console.WriteLine($"load {Load()}");
    return;
}
if (args.Length > 0 && args[0] == "--parts")
{
    var d = new double[1 << 24]; var e = new double[1 << 24]; var g = new Generator(2);
    foreach (var (label, body) in new (string, Action)[] {
        ("uniforms", () => { for (int i = 0; i < d.Length; i++) d[i] = g.NextDouble(); }),
        ("log", () => System.Numerics.Tensors.TensorPrimitives.Log(d, e)),
        ("sqrt", () => System.Numerics.Tensors.TensorPrimitives.Sqrt(d, e)),
        ("sincos", () => System.Numerics.Tensors.TensorPrimitives.SinCos(d, e, new double[1 << 24])),
        ("sin", () => System.Numerics.Tensors.TensorPrimitives.Sin(d, e)),
        ("Math.Log loop", () => { for (int i = 0; i < d.Length; i++) e[i] = Math.Log(d[i]); }),
        ("FillNormal", () => g.FillNormal(e)) })
    {
        body(); var cpu = Cpu(); body(); Console.WriteLine($"{label}: {(Cpu() - cpu) * 1e6 / d.Length:F2} ns/element CPU");
    }
    return;
}
string dir = args.Length > 0 ? args[0] : "inference-models";
int rounds = args.Length > 1 ? int.Parse(args[1]) : 3;
int threads = args.Length > 2 ? int.Parse(args[2]) : Environment.ProcessorCount;
KernelThreadPool.SetThreadCount(threads);
Console.WriteLine($"threads {threads}, {Environment.ProcessorCount} processors, GEMM {Gemm.MicroKernel}, load {Load()}");

var cases = new (string Model, int Batch)[] { ("resnet18", 1), ("resnet18", 16), ("mobilenet_v2", 1) };
var results = cases.ToDictionary(c => c, _ => new Dictionary<string, List<double>>());
foreach (var (name, batch) in cases)
{
    Module<Tensor, Tensor> model = name == "resnet18" ? ResNet.ResNet18() : new MobileNetV2();
    ModelZoo.LoadWeights(model, Path.Combine(dir, name + ".pth"));
    model.Eval();
    var check = Tensor.Linspace(-1, 1, 3 * 224 * 224).Reshape(1, 3, 224, 224);
    var expected = File.ReadAllText(Path.Combine(dir, name + ".expected.txt")).Split(' ').Select(double.Parse).ToArray();
    var sw = Stopwatch.StartNew();
    var optimized = InferenceOptimizer.Optimize(model);
    double optimizeMs = sw.Elapsed.TotalMilliseconds;
    using var options = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
    using var session = new InferenceSession(Path.Combine(dir, name + ".onnx"), options);
    double maxDiff = 0, maxDiffOpt = 0;
    using (Autograd.NoGrad())
    {
        var a = model.Call(check).ToArray<float>(); var b = optimized.Call(check).ToArray<float>();
        for (int i = 0; i < expected.Length; i++) { maxDiff = Math.Max(maxDiff, Math.Abs(a[i] - expected[i])); maxDiffOpt = Math.Max(maxDiffOpt, Math.Abs(b[i] - expected[i])); }
    }
    Console.WriteLine($"{name}: optimize {optimizeMs:F0} ms; |eval - torch| {maxDiff:G3}, |optimized - torch| {maxDiffOpt:G3}");

    var x = Tensor.Randn(batch, 3, 224, 224);
    var xData = x.ToArray<float>();
    var ortInput = new DenseTensor(xData, [batch, 3, 224, 224]);
    var sides = new (string Side, Action Run)[]
    {
        ("deepsharp eval", () => { using (Autograd.NoGrad()) model.Call(x); }),
        ("deepsharp optimized", () => optimized.Call(x)),
        ("onnxruntime", () => { using var r = session.Run([NamedOnnxValue.CreateFromTensor("input", ortInput)]); }),
    };
    int reps = batch == 1 ? 10 : 3;
    for (int round = 0; round < rounds; round++)
        foreach (var (side, run) in round % 2 == 0 ? sides : sides.Reverse())
        {
            run(); run();                                       // warm-up
            var times = new double[reps];
            for (int i = 0; i < reps; i++) { var t = Stopwatch.StartNew(); run(); times[i] = t.Elapsed.TotalMilliseconds; }
            Array.Sort(times);
            if (!results[(name, batch)].TryGetValue(side, out var list)) results[(name, batch)][side] = list = [];
            list.Add(times[reps / 2]);
        }
}
Console.WriteLine($"load after: {Load()}");
Console.WriteLine("| model | batch | DeepSharp eval (ms) | DeepSharp optimized (ms) | ONNX Runtime (ms) | eval / ORT | optimized / ORT |");
Console.WriteLine("|---|---|---|---|---|---|---|");
foreach (var (c, r) in results)
{
    string Range(string side) => $"{r[side].Min():F1}-{r[side].Max():F1}";
    string Ratio(string side)
    {
        var q = r[side].Zip(r["onnxruntime"], (a, b) => a / b).ToArray();   // same round, side by side
        return $"{q.Min():F2}-{q.Max():F2}";
    }
    Console.WriteLine($"| {c.Model} | {c.Batch} | {Range("deepsharp eval")} | {Range("deepsharp optimized")} | {Range("onnxruntime")} | {Ratio("deepsharp eval")} | {Ratio("deepsharp optimized")} |");
}

static double Cpu() => Process.GetCurrentProcess().TotalProcessorTime.TotalMilliseconds;

static string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
