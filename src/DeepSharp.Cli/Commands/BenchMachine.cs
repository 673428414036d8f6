using System.Diagnostics;
using System.Globalization;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using DeepSharp.Kernels;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// What a benchmark record needs besides the timings: the CPU (model, flags), the GEMM micro-kernel DeepSharp chose,
/// a measured FMA peak, the load average while it ran, and which BLAS the PyTorch side really loaded.
/// </summary>
public static class BenchMachine
{
    /// <summary>The command a Debian machine needs so that PyTorch's GEMM runs on OpenBLAS instead of the reference BLAS.</summary>
    public const string OpenBlasInstall = "apt-get install -y libopenblas0-pthread";

    /// <summary>Peak single-precision FMA throughput: per core (one thread), and with <c>Threads</c> threads at once.</summary>
    public sealed record FmaPeak(int VectorBits, double GflopsOneThread, int Threads, double GflopsAllThreads)
    {
        /// <summary>The peak for a given thread count (the one-thread figure times the threads, capped by the all-threads measure).</summary>
        public double For(int threads) => threads <= 1 ? GflopsOneThread : Math.Max(GflopsAllThreads * Math.Min(threads, Threads) / Threads, GflopsOneThread);
    }

    /// <summary>
    /// Measures the FMA peak: a dependency-free loop of fused multiply-adds over 12 independent vector accumulators
    /// (enough to cover FMA latency × 2 ports), the widest vectors the CPU has (512, else 256 bits with FMA, else
    /// Vector&lt;float&gt; multiply-add), best of <paramref name="repeats"/>; then the same loop on
    /// <paramref name="threads"/> threads at once. Each burst is short (well under a scheduler time slice, ~0.5 ms) and
    /// there are many, so that on a shared, loaded machine the best burst is one that ran uninterrupted.
    /// </summary>
    public static FmaPeak MeasureFmaPeak(int threads, long iterations = 100_000, int repeats = 400)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(iterations, 1);
        int bits = Avx512F.IsSupported ? 512 : Fma.IsSupported ? 256 : System.Numerics.Vector<float>.Count * 32;
        double flopsPerLoop = 12.0 * 2 * bits / 32 * iterations;
        FmaLoop(1000);   // compile and promote
        double best1 = 0, bestN = 0;
        for (int r = 0; r < repeats; r++)
        {
            var sw = Stopwatch.StartNew();
            FmaLoop(iterations);
            best1 = Math.Max(best1, flopsPerLoop / sw.Elapsed.TotalSeconds / 1e9);
        }
        for (int r = 0; r < Math.Max(1, repeats / 4) && threads > 1; r++)
        {
            using var start = new Barrier(threads + 1);
            // two barrier phases: all threads exist and wait, then the clock starts before the release, so a main thread
            // preempted between the release and the clock's start can only lengthen the burst (it once gave 38400 GFLOP/s)
            var workers = Enumerable.Range(0, threads).Select(_ => new Thread(() => { start.SignalAndWait(); start.SignalAndWait(); FmaLoop(iterations); })).ToArray();
            foreach (var w in workers) w.Start();
            start.SignalAndWait();
            var sw = Stopwatch.StartNew();
            start.SignalAndWait();
            foreach (var w in workers) w.Join();
            bestN = Math.Max(bestN, threads * flopsPerLoop / sw.Elapsed.TotalSeconds / 1e9);
        }
        return new FmaPeak(bits, best1, threads, threads > 1 ? bestN : best1);
    }

    /// <summary>12 independent accumulators, each c = c·m + a per iteration; the sum is returned so the JIT keeps the loop.</summary>
    static float FmaLoop(long iterations)
    {
        if (Avx512F.IsSupported)
        {
            var m = Vector512.Create(0.9999999f); var a = Vector512.Create(1e-7f);
            Vector512<float> c0 = Vector512.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Avx512F.FusedMultiplyAdd(c0, m, a); c1 = Avx512F.FusedMultiplyAdd(c1, m, a); c2 = Avx512F.FusedMultiplyAdd(c2, m, a);
                c3 = Avx512F.FusedMultiplyAdd(c3, m, a); c4 = Avx512F.FusedMultiplyAdd(c4, m, a); c5 = Avx512F.FusedMultiplyAdd(c5, m, a);
                c6 = Avx512F.FusedMultiplyAdd(c6, m, a); c7 = Avx512F.FusedMultiplyAdd(c7, m, a); c8 = Avx512F.FusedMultiplyAdd(c8, m, a);
                c9 = Avx512F.FusedMultiplyAdd(c9, m, a); c10 = Avx512F.FusedMultiplyAdd(c10, m, a); c11 = Avx512F.FusedMultiplyAdd(c11, m, a);
            }
            return Vector512.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        if (Fma.IsSupported)
        {
            var m = Vector256.Create(0.9999999f); var a = Vector256.Create(1e-7f);
            Vector256<float> c0 = Vector256.Create(1f), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0, c9 = c0, c10 = c0, c11 = c0;
            for (long i = 0; i < iterations; i++)
            {
                c0 = Fma.MultiplyAdd(c0, m, a); c1 = Fma.MultiplyAdd(c1, m, a); c2 = Fma.MultiplyAdd(c2, m, a);
                c3 = Fma.MultiplyAdd(c3, m, a); c4 = Fma.MultiplyAdd(c4, m, a); c5 = Fma.MultiplyAdd(c5, m, a);
                c6 = Fma.MultiplyAdd(c6, m, a); c7 = Fma.MultiplyAdd(c7, m, a); c8 = Fma.MultiplyAdd(c8, m, a);
                c9 = Fma.MultiplyAdd(c9, m, a); c10 = Fma.MultiplyAdd(c10, m, a); c11 = Fma.MultiplyAdd(c11, m, a);
            }
            return Vector256.Sum(c0 + c1 + c2 + c3 + c4 + c5 + c6 + c7 + c8 + c9 + c10 + c11);
        }
        var vm = new System.Numerics.Vector<float>(0.9999999f); var va = new System.Numerics.Vector<float>(1e-7f);
        System.Numerics.Vector<float> d0 = System.Numerics.Vector<float>.One, d1 = d0, d2 = d0, d3 = d0, d4 = d0, d5 = d0, d6 = d0, d7 = d0, d8 = d0, d9 = d0, d10 = d0, d11 = d0;
        for (long i = 0; i < iterations; i++)
        {
            d0 = d0 * vm + va; d1 = d1 * vm + va; d2 = d2 * vm + va; d3 = d3 * vm + va; d4 = d4 * vm + va; d5 = d5 * vm + va;
            d6 = d6 * vm + va; d7 = d7 * vm + va; d8 = d8 * vm + va; d9 = d9 * vm + va; d10 = d10 * vm + va; d11 = d11 * vm + va;
        }
        return System.Numerics.Vector.Sum(d0 + d1 + d2 + d3 + d4 + d5 + d6 + d7 + d8 + d9 + d10 + d11);
    }

    /// <summary>CPU model name and flags from /proc/cpuinfo ("unknown" and none where it cannot be read).</summary>
    public static (string Model, string[] Flags) ReadCpu(string cpuinfoPath = "/proc/cpuinfo")
    {
        string model = "unknown"; string[] flags = [];
        if (!File.Exists(cpuinfoPath)) return (model, flags);
        foreach (var line in File.ReadLines(cpuinfoPath))
        {
            int colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim(); var value = line[(colon + 1)..].Trim();
            if (key == "model name" && model == "unknown") model = value;
            else if (key == "flags" && flags.Length == 0) flags = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (model != "unknown" && flags.Length > 0) break;
        }
        return (model, flags);
    }

    /// <summary>The flags that matter for these kernels, in a fixed order (the full list goes to results.json as well).</summary>
    public static string[] SimdFlags(IEnumerable<string> flags)
    {
        string[] wanted = ["avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"];
        var set = flags.ToHashSet();
        return wanted.Where(set.Contains).ToArray();
    }

    /// <summary>/proc/loadavg's 1, 5 and 15 minute averages, or null where it cannot be read.</summary>
    public static double[]? LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return parts.Take(3).Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
        }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
    }

    /// <summary>
    /// Names the BLAS behind a list of shared libraries a process has mapped: "OpenBLAS", "MKL", "BLIS", "reference"
    /// (Debian's netlib libblas) or "none".
    /// </summary>
    public static string BlasKind(IEnumerable<string> loadedLibraries)
    {
        var libs = loadedLibraries.Select(l => l.ToLowerInvariant()).ToArray();
        if (libs.Any(l => l.Contains("openblas"))) return "OpenBLAS";
        if (libs.Any(l => l.Contains("libmkl"))) return "MKL";
        if (libs.Any(l => l.Contains("blis"))) return "BLIS";
        if (libs.Any(l => l.Contains("libblas.so") || l.Contains("libcblas"))) return "reference";
        return "none";
    }

    /// <summary>Throws unless the PyTorch side runs on an optimised BLAS; the message says how to install OpenBLAS.</summary>
    public static void RequireOptimisedBlas(string kind, IEnumerable<string> loadedLibraries)
    {
        if (kind is "OpenBLAS" or "MKL" or "BLIS") return;
        throw new UsageException(
            $"deepsharp bench: PyTorch's GEMM would run on the {(kind == "none" ? "unknown" : kind)} BLAS " +
            $"({string.Join(", ", loadedLibraries.DefaultIfEmpty("no BLAS library loaded"))}); that comparison is not fair. " +
            $"Install OpenBLAS ({OpenBlasInstall}; Debian's libblas.so.3 alternative then points to it) and run again.");
    }

    /// <summary>What the PyTorch side reports about itself.</summary>
    public sealed record TorchInfo(string Version, string BlasKind, string[] BlasLibraries, string BlasInfo, bool OneDnn, string Alternative);

    const string ProbeScript = """
import json, re, subprocess, torch
a = torch.randn(64, 64); torch.mm(a, a)
libs = sorted({l.split()[-1] for l in open('/proc/self/maps') if '.so' in l and any(k in l.lower() for k in ('blas', 'mkl', 'blis', 'lapack'))})
cfg = torch.__config__.show()
found = re.search(r'BLAS_INFO=([^,\n]*)', cfg)
info = found.group(1) if found else ''
try: alt = subprocess.run(['update-alternatives', '--query', 'libblas.so.3-x86_64-linux-gnu'], capture_output=True, text=True).stdout
except Exception: alt = ''
value = next((l.split(':', 1)[1].strip() for l in alt.splitlines() if l.startswith('Value:')), '')
print(json.dumps({'version': torch.__version__, 'libs': libs, 'blas_info': info.strip(), 'onednn': torch.backends.mkldnn.is_available(), 'alternative': value}))
""";

    /// <summary>Runs <paramref name="python"/> once to ask torch which BLAS it loaded after a matrix product.</summary>
    public static TorchInfo ProbeTorch(string python)
    {
        var psi = new ProcessStartInfo(python, ["-c", ProbeScript]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process proc;
        try { proc = Process.Start(psi)!; }
        catch (System.ComponentModel.Win32Exception) { throw new UsageException($"deepsharp bench: cannot run {python}; install PyTorch (apt-get install -y python3-torch) or pass --python."); }
        var json = proc.StandardOutput.ReadToEnd(); var err = proc.StandardError.ReadToEnd();
        proc.WaitForExit();
        if (proc.ExitCode != 0) throw new InvalidDataException($"deepsharp bench: {python} could not import torch: {err.Trim().Split('\n').LastOrDefault()}");
        return ParseTorchProbe(json.Trim().Split('\n')[^1]);
    }

    /// <summary>Parses the probe's JSON line.</summary>
    public static TorchInfo ParseTorchProbe(string json)
    {
        var o = JsonNode.Parse(json)!.AsObject();
        var libs = o["libs"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
        return new TorchInfo(o["version"]!.GetValue<string>(), BlasKind(libs), libs, o["blas_info"]?.GetValue<string>() ?? "",
            o["onednn"]?.GetValue<bool>() ?? false, o["alternative"]?.GetValue<string>() ?? "");
    }

    /// <summary>The "machine" object of results.json.</summary>
    public static JsonObject Describe(FmaPeak peak, TorchInfo? torch, double[]? loadBefore, double[]? loadAfter, string cpuinfoPath = "/proc/cpuinfo")
    {
        var (model, flags) = ReadCpu(cpuinfoPath);
        static JsonArray Arr(IEnumerable<string> xs) => new(xs.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());
        static JsonNode? Load(double[]? l) => l == null ? null : new JsonArray(l.Select(x => (JsonNode)JsonValue.Create(x)).ToArray());
        var o = new JsonObject
        {
            ["cpu_model"] = model,
            ["logical_cpus"] = Environment.ProcessorCount,
            ["simd_flags"] = Arr(SimdFlags(flags)),
            ["cpu_flags"] = Arr(flags),
            ["gemm_micro_kernel"] = Gemm.MicroKernel,
            ["fma_peak"] = new JsonObject
            {
                ["vector_bits"] = peak.VectorBits,
                ["gflops_1_thread"] = Math.Round(peak.GflopsOneThread, 1),
                ["threads"] = peak.Threads,
                ["gflops_all_threads"] = Math.Round(peak.GflopsAllThreads, 1),
            },
            ["dotnet"] = Environment.Version.ToString(),
            ["load_average_before"] = Load(loadBefore),
            ["load_average_after"] = Load(loadAfter),
        };
        if (torch != null)
            o["pytorch"] = new JsonObject
            {
                ["version"] = torch.Version,
                ["blas"] = torch.BlasKind,
                ["blas_libraries"] = Arr(torch.BlasLibraries),
                ["blas_info"] = torch.BlasInfo,
                ["libblas_alternative"] = torch.Alternative,
                ["onednn"] = torch.OneDnn,
            };
        return o;
    }
}
