using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// The suites `deepsharp bench --compare-pytorch` adds (issue #12), each written into results.json beside the standard
/// workloads with the load average before and after it:
/// <list type="bullet">
/// <item>--inference: benchmarks/inference_models.py writes five models' weights (safetensors), their torch.onnx.export files
/// and a seeded input, and times PyTorch eager; then benchmarks/InferenceBench (a .NET program that may reference ONNX Runtime,
/// which the CLI must not) times DeepSharp and ONNX Runtime on the same files and checks the outputs agree.</item>
/// <item>--convs: each conv layer of <see cref="ConvLayers"/>, forward and forward+backward, timed here against
/// benchmarks/conv_layers.py (torch.nn.Conv2d, oneDNN).</item>
/// <item>--main-job: `deepsharp train` with its defaults (Fashion CNN, 5 epochs; --main-epochs N, --main-limit N to
/// shorten it) against benchmarks/train_twin.py, wall time and test accuracy.</item>
/// </list>
/// Every side keeps the better of the thread counts (--threads); ratios are DeepSharp time / peer time.
/// </summary>
public static class BenchSuites
{
    /// <summary>The options these suites add to `deepsharp bench`.</summary>
    public static readonly string[] Options = ["inference-dir", "inference-reps", "conv-reps", "main-epochs", "main-limit"];

    /// <summary>The flags these suites add to `deepsharp bench`; --no-standard skips the standard workloads.</summary>
    public static readonly string[] Flags = ["inference", "convs", "main-job", "no-standard"];

    /// <summary>The usage lines of these suites.</summary>
    public const string Usage =
        "  --inference: ResNet-18 b1/b16, MobileNetV2 b1, a Transformer encoder and the single-sample MLP against ONNX Runtime and PyTorch eager\n" +
        "    (needs the .NET SDK: runs benchmarks/InferenceBench; files in --inference-dir, default benchmarks/.inference; --inference-reps N);\n" +
        "  --convs: the per-layer conv table against oneDNN (--conv-reps N); --main-job: `deepsharp train` against benchmarks/train_twin.py\n" +
        "    (--main-epochs N, default 5, --main-limit N training images); --no-standard skips the standard workloads. All need --compare-pytorch.";

    /// <summary>A conv layer of the table: batch N, C→O channels, H×H input, K×K kernel, stride, padding, groups, and whether the input needs a gradient.</summary>
    public sealed record ConvLayer(string Name, int N, int C, int H, int O, int K, int Stride, int Pad, int Groups, bool InputGrad);

    /// <summary>
    /// The per-layer table: the Fashion CNN's four convs at its training batch (128), ResNet-18's 7×7 stem, 3×3 stride 1 and
    /// 2 and 1×1 stride-2 downsample at batch 8 of 224×224 images, and two of MobileNetV2's depthwise 3×3 layers at batch 8.
    /// </summary>
    public static readonly ConvLayer[] ConvLayers =
    [
        new("cnn c1 1->32 3x3 28", 128, 1, 28, 32, 3, 1, 1, 1, false),
        new("cnn c2 32->32 3x3 28", 128, 32, 28, 32, 3, 1, 1, 1, true),
        new("cnn c3 32->64 3x3 14", 128, 32, 14, 64, 3, 1, 1, 1, true),
        new("cnn c4 64->64 3x3 14", 128, 64, 14, 64, 3, 1, 1, 1, true),
        new("r18 stem 3->64 7x7 s2 224", 8, 3, 224, 64, 7, 2, 3, 1, false),
        new("r18 l1 64->64 3x3 56", 8, 64, 56, 64, 3, 1, 1, 1, true),
        new("r18 l2 64->128 3x3 s2 56", 8, 64, 56, 128, 3, 2, 1, 1, true),
        new("r18 l2 down 64->128 1x1 s2", 8, 64, 56, 128, 1, 2, 0, 1, true),
        new("r18 l2 128->128 3x3 28", 8, 128, 28, 128, 3, 1, 1, 1, true),
        new("r18 l3 256->256 3x3 14", 8, 256, 14, 256, 3, 1, 1, 1, true),
        new("r18 l4 512->512 3x3 7", 8, 512, 7, 512, 3, 1, 1, 1, true),
        new("mnv2 dw 96 3x3 s2 112", 8, 96, 112, 96, 3, 2, 1, 96, true),
        new("mnv2 dw 144 3x3 56", 8, 144, 56, 144, 3, 1, 1, 144, true),
    ];

    /// <summary>The layers as the JSON list benchmarks/conv_layers.py reads (--shapes).</summary>
    public static string ShapesJson(IEnumerable<ConvLayer> layers)
    {
        var list = new JsonArray();
        foreach (var l in layers)
            list.Add((JsonNode)new JsonObject
            {
                ["name"] = l.Name, ["n"] = l.N, ["c"] = l.C, ["h"] = l.H, ["o"] = l.O, ["k"] = l.K,
                ["stride"] = l.Stride, ["pad"] = l.Pad, ["groups"] = l.Groups, ["input_grad"] = l.InputGrad,
            });
        return list.ToJsonString();
    }

    /// <summary>DeepSharp time / peer time rounded to 3 places; null when either is missing, zero or not finite.</summary>
    public static double? Ratio(double? ours, double? peer) =>
        ours is double o && peer is double p && double.IsFinite(o) && double.IsFinite(p) && o > 0 && p > 0 ? Math.Round(o / p, 3) : null;

    /// <summary>The last line of a process's output that is a JSON object (the scripts print progress before it).</summary>
    public static JsonObject LastJsonObject(string stdout, string what)
    {
        var line = stdout.Split('\n').Select(l => l.Trim()).LastOrDefault(l => l.StartsWith('{'))
            ?? throw new InvalidDataException($"deepsharp bench: {what} printed no JSON line (output: '{Tail(stdout)}').");
        return JsonNode.Parse(line) as JsonObject ?? throw new InvalidDataException($"deepsharp bench: {what} printed '{line}', not a JSON object.");
    }

    /// <summary>The accuracy on the last "test accuracy: X" (or "test accuracy X") line, as `deepsharp train` and train_twin.py end.</summary>
    public static double? ParseTestAccuracy(string output)
    {
        var matches = Regex.Matches(output, @"test accuracy:?\s*([0-9]*\.?[0-9]+)");
        return matches.Count == 0 ? null : double.Parse(matches[^1].Groups[1].Value, CultureInfo.InvariantCulture);
    }

    static double? Number(JsonNode? node, string key) => node is JsonObject o && o[key] is JsonValue v && v.TryGetValue(out double d) ? d : null;
    static int? Int(JsonNode? node, string key) => node is JsonObject o && o[key] is JsonValue v && v.TryGetValue(out int i) ? i : null;

    /// <summary>
    /// One row per model from InferenceBench's object ({name: {deepsharp_ms, deepsharp_threads, ort_ms, ort_threads,
    /// max_abs_diff_ort, max_abs_diff_pytorch}}) and inference_models.py's ({name: {ms, threads}}), with both ratios.
    /// </summary>
    public static JsonArray MergeInference(JsonObject dotnetSide, JsonObject torchSide)
    {
        var rows = new JsonArray();
        foreach (var (name, node) in dotnetSide)
        {
            double? ours = Number(node, "deepsharp_ms"), ort = Number(node, "ort_ms"), torch = Number(torchSide[name], "ms");
            rows.Add((JsonNode)new JsonObject
            {
                ["workload"] = name, ["unit"] = "ms", ["deepsharp"] = ours, ["ort"] = ort, ["pytorch"] = torch,
                ["ratio_ort"] = Ratio(ours, ort), ["ratio_pytorch"] = Ratio(ours, torch),
                ["deepsharp_threads"] = Int(node, "deepsharp_threads"), ["ort_threads"] = Int(node, "ort_threads"), ["pytorch_threads"] = Int(torchSide[name], "threads"),
                ["max_abs_diff_ort"] = Number(node, "max_abs_diff_ort"), ["max_abs_diff_pytorch"] = Number(node, "max_abs_diff_pytorch"),
            });
        }
        return rows;
    }

    /// <summary>DeepSharp's figures for one conv layer: forward and forward+backward ms and the thread counts that gave them.</summary>
    public sealed record ConvTiming(double FwdMs, int FwdThreads, double FwdBwdMs, int FwdBwdThreads);

    /// <summary>One row per layer from DeepSharp's timings and conv_layers.py's object, with the forward and forward+backward ratios.</summary>
    public static JsonArray MergeConvs(IEnumerable<ConvLayer> layers, IReadOnlyDictionary<string, ConvTiming> ours, JsonObject torchSide)
    {
        var rows = new JsonArray();
        foreach (var l in layers)
        {
            if (!ours.TryGetValue(l.Name, out var o)) continue;
            var t = torchSide[l.Name];
            double? tf = Number(t, "fwd_ms"), tfb = Number(t, "fwdbwd_ms");
            rows.Add((JsonNode)new JsonObject
            {
                ["layer"] = l.Name, ["deepsharp_fwd_ms"] = Math.Round(o.FwdMs, 4), ["deepsharp_fwdbwd_ms"] = Math.Round(o.FwdBwdMs, 4),
                ["pytorch_fwd_ms"] = tf, ["pytorch_fwdbwd_ms"] = tfb, ["ratio_fwd"] = Ratio(o.FwdMs, tf), ["ratio_fwdbwd"] = Ratio(o.FwdBwdMs, tfb),
                ["deepsharp_threads"] = $"{o.FwdThreads}/{o.FwdBwdThreads}",
                ["pytorch_threads"] = $"{Int(t, "fwd_threads")}/{Int(t, "fwdbwd_threads")}",
            });
        }
        return rows;
    }

    /// <summary>The main-job record: both sides' wall seconds and test accuracy, and the wall-time ratio.</summary>
    public static JsonObject MainJobRecord(int epochs, int? limit, double oursSeconds, double? oursAccuracy, double torchSeconds, double? torchAccuracy) => new()
    {
        ["epochs"] = epochs, ["limit"] = limit, ["deepsharp_wall_s"] = Math.Round(oursSeconds, 1), ["deepsharp_test_accuracy"] = oursAccuracy,
        ["pytorch_wall_s"] = Math.Round(torchSeconds, 1), ["pytorch_test_accuracy"] = torchAccuracy, ["ratio_wall"] = Ratio(oursSeconds, torchSeconds),
    };

    /// <summary>Refuses --inference, --convs or --main-job without --compare-pytorch (they are comparisons), before anything is timed.</summary>
    public static void RequireComparePytorch(ArgParser p)
    {
        var asked = new[] { "inference", "convs", "main-job" }.Where(p.Flag).ToArray();
        if (asked.Length > 0 && !p.Flag("compare-pytorch"))
            throw new UsageException($"deepsharp bench: --{string.Join(", --", asked)} compare against PyTorch/ONNX Runtime; add --compare-pytorch.");
    }

    /// <summary>Runs the suites asked for and adds them to <paramref name="record"/>.</summary>
    public static void Run(ArgParser p, JsonObject record, string python, string benchDir, int[] threads, TextWriter output)
    {
        string threadList = string.Join(',', threads);
        if (p.Flag("inference"))
            record["inference"] = WithLoad(() => Inference(p, python, benchDir, threadList, output));
        if (p.Flag("convs"))
            record["convs"] = WithLoad(() => Convs(p, python, benchDir, threads, output));
        if (p.Flag("main-job"))
            record["main_job"] = WithLoad(() => MainJob(p, python, benchDir, output));
    }

    static JsonObject WithLoad(Func<JsonNode> suite)
    {
        var before = BenchMachine.LoadAverage();
        var result = suite();
        return new JsonObject
        {
            ["load_average_before"] = before == null ? null : new JsonArray([.. before.Select(v => (JsonNode)v)]),
            ["load_average_after"] = BenchMachine.LoadAverage() is { } after ? new JsonArray([.. after.Select(v => (JsonNode)v)]) : null,
            ["results"] = result,
        };
    }

    static JsonNode Inference(ArgParser p, string python, string benchDir, string threadList, TextWriter output)
    {
        var dir = Path.GetFullPath(p.OptionalString("inference-dir") ?? Path.Combine(benchDir, ".inference"));
        var reps = p.OptionalString("inference-reps");
        string[] repArgs = reps == null ? [] : ["--reps", reps];
        output.WriteLine($"\ninference: writing weights, .onnx files and PyTorch eager timings to {dir} ...");
        var torch = RunTool(python, [Path.Combine(benchDir, "inference_models.py"), dir, "--threads", threadList, .. repArgs, "--json"], "benchmarks/inference_models.py", threadList);
        output.WriteLine("inference: timing DeepSharp and ONNX Runtime (benchmarks/InferenceBench) ...");
        var project = Path.Combine(benchDir, "InferenceBench", "InferenceBench.csproj");
        var dotnet = RunTool("dotnet", ["run", "-c", "Release", "--project", project, "--", dir, "--threads", threadList, .. repArgs, "--json"], "benchmarks/InferenceBench", threadList);
        var rows = MergeInference(LastJsonObject(dotnet, "benchmarks/InferenceBench"), LastJsonObject(torch, "benchmarks/inference_models.py"));
        output.WriteLine($"\n{"model",-16} {"deepsharp",10} {"ort",10} {"pytorch",10} {"/ort",6} {"/torch",7}  max|diff| vs ort, vs pytorch   (ms; ratio = DeepSharp time / peer time)");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(string)r!["workload"]!,-16} {F(r["deepsharp"]),10} {F(r["ort"]),10} {F(r["pytorch"]),10} {F(r["ratio_ort"]),6} {F(r["ratio_pytorch"]),7}  {G(r["max_abs_diff_ort"])}, {G(r["max_abs_diff_pytorch"])}"));
        return rows;
    }

    static JsonNode Convs(ArgParser p, string python, string benchDir, int[] threads, TextWriter output)
    {
        int reps = p.Int("conv-reps", 9, min: 1);
        output.WriteLine("\nconvs: timing DeepSharp ...");
        var ours = new Dictionary<string, ConvTiming>();
        foreach (var l in ConvLayers)
        {
            DeepSharp.Random.Seed(0);
            var conv = new DeepSharp.NN.Conv2d(l.C, l.O, l.K, stride: l.Stride, padding: l.Pad, groups: l.Groups);
            var x = Tensor.Randn([l.N, l.C, l.H, l.H], requiresGrad: l.InputGrad);
            Tensor g;
            using (Autograd.NoGrad()) g = Tensor.RandnLike(conv.Call(x));
            void Fwd() { using (Autograd.NoGrad()) using (TensorScope.Begin()) conv.Call(x); }
            void FwdBwd() { using (TensorScope.Begin()) { conv.ZeroGrad(); x.Grad = null; conv.Call(x).Backward(g); } }
            (double Ms, int Threads) fwd = (double.MaxValue, 0), fb = (double.MaxValue, 0);
            foreach (int t in threads)
            {
                KernelThreadPool.SetThreadCount(t);
                double a = MedianMs(Fwd, reps), b = MedianMs(FwdBwd, reps);
                if (a < fwd.Ms) fwd = (a, t);
                if (b < fb.Ms) fb = (b, t);
            }
            ours[l.Name] = new ConvTiming(fwd.Ms, fwd.Threads, fb.Ms, fb.Threads);
        }
        output.WriteLine("convs: timing PyTorch (benchmarks/conv_layers.py) ...");
        var torch = RunTool(python, [Path.Combine(benchDir, "conv_layers.py"), "--shapes", ShapesJson(ConvLayers), "--threads", string.Join(',', threads),
            "--reps", reps.ToString(CultureInfo.InvariantCulture), "--json"], "benchmarks/conv_layers.py", string.Join(',', threads));
        var rows = MergeConvs(ConvLayers, ours, LastJsonObject(torch, "benchmarks/conv_layers.py"));
        output.WriteLine($"\n{"layer",-28} {"deepsharp fwd / fwd+bwd",24} {"pytorch fwd / fwd+bwd",24} {"ratio fwd / fwd+bwd",20}   (ms)");
        foreach (var r in rows)
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{(string)r!["layer"]!,-28} {F(r["deepsharp_fwd_ms"]) + " / " + F(r["deepsharp_fwdbwd_ms"]),24} {F(r["pytorch_fwd_ms"]) + " / " + F(r["pytorch_fwdbwd_ms"]),24} {F(r["ratio_fwd"]) + " / " + F(r["ratio_fwdbwd"]),20}"));
        return rows;
    }

    static JsonNode MainJob(ArgParser p, string python, string benchDir, TextWriter output)
    {
        int epochs = p.Int("main-epochs", 5, min: 1);
        int? limit = p.Has("main-limit") ? p.Int("main-limit", 0, min: 1) : null;
        string cores = Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture);
        string[] common = ["--epochs", epochs.ToString(CultureInfo.InvariantCulture), "--threads", cores,
                           .. limit is int n ? new[] { "--limit", n.ToString(CultureInfo.InvariantCulture) } : []];
        var outDir = Path.Combine(Path.GetTempPath(), $"deepsharp-bench-main-{Environment.ProcessId}");
        // this command itself: the apphost, or `dotnet DeepSharp.Cli.dll` when run through the dotnet host
        var self = Environment.ProcessPath ?? "dotnet";
        string[] selfArgs = Path.GetFileNameWithoutExtension(self) == "dotnet" ? [Environment.GetCommandLineArgs()[0]] : [];
        output.WriteLine($"\nmain job: deepsharp train {string.Join(' ', common)} (Fashion CNN defaults) ...");
        var sw = Stopwatch.StartNew();
        var ours = RunTool(self, [.. selfArgs, "train", .. common, "--out", outDir], "deepsharp train", cores);
        double oursSeconds = sw.Elapsed.TotalSeconds;
        output.WriteLine($"main job: benchmarks/train_twin.py {string.Join(' ', common)} ...");
        sw.Restart();
        var torch = RunTool(python, [Path.Combine(benchDir, "train_twin.py"), .. common], "benchmarks/train_twin.py", cores);
        double torchSeconds = sw.Elapsed.TotalSeconds;
        try { Directory.Delete(outDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        var rec = MainJobRecord(epochs, limit, oursSeconds, ParseTestAccuracy(ours), torchSeconds, ParseTestAccuracy(torch));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"main job: deepsharp {oursSeconds:F1} s, test accuracy {F(rec["deepsharp_test_accuracy"])}; pytorch twin {torchSeconds:F1} s, test accuracy {F(rec["pytorch_test_accuracy"])}; wall ratio {F(rec["ratio_wall"])}"));
        return rec;
    }

    static double MedianMs(Action f, int reps)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 1) f();   // past tiered compilation, as conv_layers.py warms up 1 s
        var ts = new double[reps];
        for (int i = 0; i < reps; i++) { long t0 = Stopwatch.GetTimestamp(); f(); ts[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
        Array.Sort(ts);
        return reps % 2 == 1 ? ts[reps / 2] : (ts[reps / 2 - 1] + ts[reps / 2]) / 2;
    }

    /// <summary>Runs a tool to its end and returns its standard output; a failure names the tool and its last error line.</summary>
    static string RunTool(string file, string[] args, string what, string openBlasThreads)
    {
        var psi = new ProcessStartInfo(file, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.Environment["OPENBLAS_NUM_THREADS"] = openBlasThreads.Split(',').Max(s => int.Parse(s, CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
        Process proc;
        try { proc = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new UsageException($"deepsharp bench: cannot run {file} (for {what})."); }
        using (proc)
        {
            var stderr = proc.StandardError.ReadToEndAsync();
            var stdout = proc.StandardOutput.ReadToEnd();
            proc.WaitForExit();
            if (proc.ExitCode != 0)
                throw new InvalidDataException($"deepsharp bench: {what} failed (exit {proc.ExitCode}): {Tail(stderr.Result.Length > 0 ? stderr.Result : stdout)}");
            return stdout;
        }
    }

    static string Tail(string text) => text.Trim().Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim() ?? "";

    static string F(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? d.ToString(d >= 100 ? "F1" : "F3", CultureInfo.InvariantCulture) : "-";

    static string G(JsonNode? n) => n is JsonValue v && v.TryGetValue(out double d) ? d.ToString("G3", CultureInfo.InvariantCulture) : "-";
}
