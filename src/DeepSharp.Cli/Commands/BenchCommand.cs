using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp bench [--compare-pytorch]`: the standard workloads of benchmarks/pytorch_workloads.py, timed the same way
/// (median of 10 after 3 warm-ups; GEMM 5 after 2; inference 500 after 50; and at least 2 s of warm-up, see Time), at 1 and 2 threads, keeping the faster;
/// with --compare-pytorch the PyTorch script runs in the same invocation and the ratios go to benchmarks/results.json.
/// </summary>
public static partial class BenchCommand
{
    sealed record Workload(string Name, string Unit, Func<Func<double>> Make);

    static double Median(List<double> xs) { xs.Sort(); return xs.Count % 2 == 1 ? xs[xs.Count / 2] : (xs[xs.Count / 2 - 1] + xs[xs.Count / 2]) / 2; }

    const double WarmUpSeconds = 2;

    static double Time(Action step, int warm, int reps)
    {
        // .NET compiles in tiers: code starts unoptimised and is recompiled once hot (after ~30 calls and a short delay), so a
        // fixed count of warm-ups would time the unoptimised first tier. Warm up for at least WarmUpSeconds as well, which a
        // training loop is past after its first second.
        var warmClock = Stopwatch.StartNew();
        for (int i = 0; i < warm || warmClock.Elapsed.TotalSeconds < WarmUpSeconds; i++) step();
        var ts = new List<double>();
        long bytes0 = GC.GetTotalAllocatedBytes(precise: true); int gen0 = GC.CollectionCount(0);
        for (int i = 0; i < reps; i++) { var sw = Stopwatch.StartNew(); step(); ts.Add(sw.Elapsed.TotalSeconds); }
        LastAllocation = ((GC.GetTotalAllocatedBytes(precise: true) - bytes0) / (double)reps, (GC.CollectionCount(0) - gen0) / (double)reps);
        return Median(ts);
    }

    static Func<double> TrainStep(Module<Tensor, Tensor> model, Tensor x, Tensor y, Optimizer opt) => () =>
    {
        // the same step as the Trainer's: temporaries recycled through a TensorScope
        return Time(() =>
        {
            using var scope = TensorScope.Begin();
            opt.ZeroGrad(setToNone: false);
            F.CrossEntropy(model.Call(x), y).Backward();
            opt.Step();
        }, 3, 10) * 1000;
    };

    static Workload[] Workloads() =>
    [
        .. new[] { 256, 1024, 2048 }.Select(n => new Workload($"sgemm_{n}_gflops", "GFLOP/s", () => () =>
        {
            var a = new float[n * n]; var b = new float[n * n]; var c = new float[n * n];
            var rng = new Generator(0);
            for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextNormal(); b[i] = (float)rng.NextNormal(); }
            double t = Time(() => Gemm.Sgemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n), 2, 5);
            return 2.0 * n * n * n / t / 1e9;
        })),
        new Workload("mlp_step_ms", "ms", () =>
        {
            var m = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
            return TrainStep(m, Tensor.Randn(128, 784), Tensor.RandInt(0, 10, [128]), new SGD(m.Parameters(), 0.01, momentum: 0.9));
        }),
        new Workload("lenet_step_ms", "ms", () =>
        {
            var m = new LeNet5();
            return TrainStep(m, Tensor.Randn(64, 1, 28, 28), Tensor.RandInt(0, 10, [64]), new SGD(m.Parameters(), 0.01, momentum: 0.9));
        }),
        new Workload("fashion_cnn_step_ms", "ms", () =>
        {
            var m = new FashionCnn();
            return TrainStep(m, Tensor.Randn(128, 1, 28, 28), Tensor.RandInt(0, 10, [128]), new Adam(m.Parameters(), 1e-3));
        }),
        new Workload("lstm_step_ms", "ms", () =>
        {
            var m = new LstmNet();
            return TrainStep(m, Tensor.Randn(32, 50, 64), Tensor.RandInt(0, 10, [32]), new Adam(m.Parameters(), 1e-3));
        }),
        new Workload("gpt_step_ms", "ms", () =>
        {
            var m = new TinyGpt();
            var x = Tensor.RandInt(0, 256, [32, 64]); var y = Tensor.RandInt(0, 256, [32, 64]);
            var opt = new AdamW(m.Parameters(), 3e-4);
            return () => Time(() =>
            {
                using var scope = TensorScope.Begin();
                opt.ZeroGrad(setToNone: false);
                F.CrossEntropy(m.Call(x).Reshape(-1, 256), y.Reshape(-1)).Backward();
                opt.Step();
            }, 3, 10) * 1000;
        }),
        new Workload("mlp_infer1_us", "µs", () =>
        {
            var m = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
            m.Eval();
            var x = Tensor.Randn(1, 784);
            return () => Time(() => { using (Autograd.NoGrad()) using (TensorScope.Begin()) m.Call(x); }, 50, 500) * 1e6;
        }),
    ];

    /// <summary>Runs the benchmark.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("bench", args, ["threads", "only", "python", "script", "out", .. BenchSuites.Options], ["compare-pytorch", .. BenchSuites.Flags]);
        if (p.Help)
        {
            output.WriteLine("usage: deepsharp bench [--compare-pytorch] [--threads 1,2] [--only NAME] [--python /usr/bin/python3] [--out benchmarks/results.json]\n" +
                             "  Times the standard workloads; with --compare-pytorch also runs benchmarks/pytorch_workloads.py and reports ratios.\n" + BenchSuites.Usage);
            return 0;
        }
        BenchSuites.RequireComparePytorch(p);
        var threadCounts = p.String("threads", "1,2").Split(',').Select(s => int.TryParse(s, out int t) && t > 0 ? t
            : throw new UsageException($"deepsharp bench: --threads takes a list like 1,2 (got '{s}').")).ToArray();
        var only = p.OptionalString("only");
        var ours = new Dictionary<string, double>();
        var oursThreads = new Dictionary<string, int>();
        var allocation = new Dictionary<string, (double Bytes, double Gen0)>();
        var loadBefore = BenchMachine.LoadAverage();
        var peak = BenchMachine.MeasureFmaPeak(threadCounts.Max());
        output.WriteLine($"machine: {BenchMachine.ReadCpu().Model}, {string.Join(' ', BenchMachine.SimdFlags(BenchMachine.ReadCpu().Flags))}; " +
                         $"GEMM micro-kernel {DeepSharp.Kernels.Gemm.MicroKernel}; FMA peak {peak.GflopsOneThread:F0} GFLOP/s on 1 thread, " +
                         $"{peak.GflopsAllThreads:F0} on {peak.Threads} ({peak.VectorBits}-bit); load average {string.Join(' ', loadBefore ?? [])}");
        var workloads = Workloads().Where(w => !p.Flag("no-standard") && (only == null || w.Name.Contains(only))).ToArray();
        foreach (var w in workloads)
        {
            foreach (int t in threadCounts)
            {
                KernelThreadPool.SetThreadCount(t);
                DeepSharp.Random.Seed(0);
                double v = w.Make()();
                bool better = !ours.TryGetValue(w.Name, out var prev) || (w.Unit == "GFLOP/s" ? v > prev : v < prev);
                if (better) { ours[w.Name] = v; oursThreads[w.Name] = t; allocation[w.Name] = LastAllocation; }
            }
            output.WriteLine($"deepsharp {w.Name,-22} {ours[w.Name],10:F2} {w.Unit}" + (w.Unit == "GFLOP/s"
                ? $"  ({ours[w.Name] / peak.For(oursThreads[w.Name]):P0} of the {oursThreads[w.Name]}-thread FMA peak)"
                : $"  ({allocation[w.Name].Bytes / 1024:F1} KiB allocated, {allocation[w.Name].Gen0:F2} gen-0 collections per step)"));
        }
        if (!p.Flag("compare-pytorch")) return 0;

        var python = p.String("python", "/usr/bin/python3");
        var script = p.OptionalString("script") ?? FindScript();
        var torchInfo = BenchMachine.ProbeTorch(python);
        BenchMachine.RequireOptimisedBlas(torchInfo.BlasKind, torchInfo.BlasLibraries);
        output.WriteLine($"pytorch {torchInfo.Version}: BLAS {torchInfo.BlasKind} ({string.Join(", ", torchInfo.BlasLibraries)}), oneDNN {torchInfo.OneDnn}");
        var torch = new Dictionary<string, double>();
        var torchThreads = new Dictionary<string, int>();
        foreach (int t in workloads.Length == 0 ? [] : threadCounts)
        {
            var psi = new ProcessStartInfo(python, [script, t.ToString(CultureInfo.InvariantCulture), "--json"]) { RedirectStandardOutput = true, RedirectStandardError = true };
            psi.Environment["OPENBLAS_NUM_THREADS"] = t.ToString(CultureInfo.InvariantCulture);
            Process proc;
            try { proc = Process.Start(psi)!; }
            catch (System.ComponentModel.Win32Exception) { throw new UsageException($"deepsharp bench: cannot run {python}; install PyTorch (apt-get install -y python3-torch) or pass --python."); }
            var json = proc.StandardOutput.ReadToEnd(); var err = proc.StandardError.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0) throw new InvalidDataException($"the PyTorch workloads failed: {err.Trim().Split('\n').LastOrDefault()}");
            foreach (var (k, v) in JsonSerializer.Deserialize(json.Trim().Split('\n')[^1], CliJsonContext.Default.DictionaryStringDouble)!)
            {
                bool gflops = k.EndsWith("gflops");
                if (!torch.TryGetValue(k, out var prev) || (gflops ? v > prev : v < prev)) { torch[k] = v; torchThreads[k] = t; }
            }
        }
        var rows = new List<Dictionary<string, object>>();
        output.WriteLine($"\n{"workload",-22} {"unit",-8} {"deepsharp",10} {"pytorch",10} {"ratio",7}   (ratio = DeepSharp time / PyTorch time; below 1 is better)");
        foreach (var w in workloads)
        {
            if (!torch.TryGetValue(w.Name, out var tv)) continue;
            double ratio = w.Unit == "GFLOP/s" ? tv / ours[w.Name] : ours[w.Name] / tv;
            output.WriteLine($"{w.Name,-22} {w.Unit,-8} {ours[w.Name],10:F2} {tv,10:F2} {ratio,7:F2}");
            rows.Add(new() { ["workload"] = w.Name, ["unit"] = w.Unit, ["deepsharp"] = Math.Round(ours[w.Name], 3), ["pytorch"] = Math.Round(tv, 3), ["ratio"] = Math.Round(ratio, 3) });
        }
        var outPath = p.OptionalString("out") ?? Path.Combine(Path.GetDirectoryName(script)!, "results.json");
        var record = BenchRecord.Build(BenchMachine.Describe(peak, torchInfo, loadBefore, BenchMachine.LoadAverage()), rows, peak, oursThreads, torchThreads, allocation);
        BenchSuites.Run(p, record, python, Path.GetDirectoryName(Path.GetFullPath(script))!, threadCounts, output);   // --inference, --convs, --main-job
        File.WriteAllText(outPath, record.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        output.WriteLine($"wrote {outPath}");
        return 0;
    }

    static string FindScript()
    {
        for (var dir = new DirectoryInfo(Environment.CurrentDirectory); dir != null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "benchmarks", "pytorch_workloads.py");
            if (File.Exists(candidate)) return candidate;
        }
        throw new UsageException("deepsharp bench: benchmarks/pytorch_workloads.py not found; run from the repository or pass --script PATH.");
    }
}
