// DeepSharp against ONNX Runtime (CPU provider) on the models benchmarks/inference_models.py wrote: same weights
// (safetensors for DeepSharp, the torch.onnx.export file for ORT), same seeded input; both sides timed at each thread count,
// the better kept; outputs compared (max abs diff against ORT and against PyTorch's output).
// Usage: dotnet run -c Release --project benchmarks/InferenceBench -- DIR [--threads 1,2] [--reps N] [--only NAME] [--json] [--no-optimize]
// `deepsharp bench --compare-pytorch --inference` runs this after the Python script and merges the two into results.json.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using DeepSharp;
using DeepSharp.IO;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Vision.Models;
using Microsoft.ML.OnnxRuntime;

string dir = args.FirstOrDefault(a => !a.StartsWith("--")) ?? "benchmarks/.inference";
string Opt(string name, string fallback) { int i = Array.IndexOf(args, name); return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback; }
int[] threads = Opt("--threads", "1,2").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
int? reps = args.Contains("--reps") ? int.Parse(Opt("--reps", "10"), CultureInfo.InvariantCulture) : null;
string? only = args.Contains("--only") ? Opt("--only", "") : null;
bool asJson = args.Contains("--json");
bool noOptimize = args.Contains("--no-optimize"); // time the plain eval-mode model instead of InferenceOptimizer.Optimize(model)
var io = StateDictFile.Load(Path.Combine(dir, "io.safetensors"));

(string Name, string Weights, Func<Module<Tensor, Tensor>> Make)[] models =
[
    ("resnet18_b1", "resnet18", () => ModelZoo.Create("resnet18")),
    ("resnet18_b16", "resnet18", () => ModelZoo.Create("resnet18")),
    ("mobilenet_v2_b1", "mobilenet_v2", () => ModelZoo.Create("mobilenet_v2")),
    ("transformer_b8", "transformer", () => new TransformerEncoder(new TransformerEncoderLayer(256, 8, 1024, 0.0, batchFirst: true), 4)),
    ("mlp_b1", "mlp", () => new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10))),
];
var result = new JsonObject();
foreach (var (name, weights, make) in models)
{
    if (only != null && !name.Contains(only)) continue;
    var model = make();
    ModelZoo.LoadWeights(model, Path.Combine(dir, weights + ".safetensors"));
    model.Eval();
    if (!noOptimize) model = InferenceOptimizer.Optimize(model); // BN folding, fused activations/adds, prepacked weights (docs/PERFORMANCE.md, Inference)
    var x = io[name + ".input"]; var torchOut = io[name + ".output"].ToArray<float>();
    int n = reps ?? (x.Shape[0] >= 16 ? 3 : 10);

    float[] ours = [];
    double oursMs = double.MaxValue; int oursThreads = 0;
    foreach (int t in threads)
    {
        KernelThreadPool.SetThreadCount(t);
        double ms = Bench.Time(() => { using (Autograd.NoGrad()) using (TensorScope.Begin()) ours = model.Call(x).ToArray<float>(); }, n);
        if (ms < oursMs) { oursMs = ms; oursThreads = t; }
    }

    float[] ort = [];
    double ortMs = double.MaxValue; int ortThreads = 0;
    var xs = x.ToArray<float>(); var shape = x.Shape.Select(d => (long)d).ToArray();
    foreach (int t in threads)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = t, InterOpNumThreads = 1, ExecutionMode = ExecutionMode.ORT_SEQUENTIAL };
        using var session = new InferenceSession(Path.Combine(dir, name + ".onnx"), options);
        using var runOptions = new RunOptions();
        using var value = OrtValue.CreateTensorValueFromMemory(xs, shape);
        var inputs = new Dictionary<string, OrtValue> { ["input"] = value };
        double ms = Bench.Time(() => { using var outputs = session.Run(runOptions, inputs, ["output"]); ort = outputs[0].GetTensorDataAsSpan<float>().ToArray(); }, n);
        if (ms < ortMs) { ortMs = ms; ortThreads = t; }
    }
    double diffOrt = Bench.MaxAbsDiff(ours, ort), diffTorch = Bench.MaxAbsDiff(ours, torchOut);
    result[name] = new JsonObject
    {
        ["deepsharp_ms"] = Math.Round(oursMs, 4), ["deepsharp_threads"] = oursThreads,
        ["ort_ms"] = Math.Round(ortMs, 4), ["ort_threads"] = ortThreads,
        ["max_abs_diff_ort"] = diffOrt, ["max_abs_diff_pytorch"] = diffTorch,
    };
    if (!asJson)
        Console.WriteLine($"{name,-16} deepsharp {oursMs,10:F4} ms ({oursThreads} thr)  ort {ortMs,10:F4} ms ({ortThreads} thr)  " +
                          $"ratio {oursMs / ortMs:F2}  max|diff| vs ort {diffOrt:G3}, vs pytorch {diffTorch:G3}");
}
if (asJson) Console.WriteLine(result.ToJsonString());

static class Bench
{
    /// <summary>Median ms of <paramref name="reps"/> runs after at least 2 runs and 1 s of warm-up (past .NET's tiered compilation).</summary>
    public static double Time(Action f, int reps)
    {
        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 2 || clock.Elapsed.TotalSeconds < 1; i++) f();
        var ts = new double[reps];
        for (int i = 0; i < reps; i++) { long t0 = Stopwatch.GetTimestamp(); f(); ts[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
        Array.Sort(ts);
        return reps % 2 == 1 ? ts[reps / 2] : (ts[reps / 2 - 1] + ts[reps / 2]) / 2;
    }

    public static double MaxAbsDiff(float[] a, float[] b)
    {
        if (a.Length != b.Length) return double.NaN;
        double m = 0;
        for (int i = 0; i < a.Length; i++) m = Math.Max(m, Math.Abs((double)a[i] - b[i]));
        return m;
    }
}
