// Int8 timing on this machine: (1) the Fashion CNN's four convolutions (batch 64) on each int8 GEMM path, GMAC/s at 1 and
// 2 threads (best of N: the machine is shared, the minimum is the least load-dependent figure); (2) the whole Fashion CNN,
// float32 vs static int8 with the x86 (7-bit activations) and onednn (8-bit) qconfigs, alternating, min and median.
// (3) the LSTM of examples/QuantizeLstm (32→128, batch 64 × 64 steps, random weights), float32 vs dynamic int8.
// (4) lstm-step: one fused int8 LSTM step of that LSTM (Int8Gemm.LstmStepFromFloat, B 64, H 128, I 32) on one thread, many
// times: the short calls make the minimum and low percentiles usable on a loaded machine.
// (5) fc: the Fashion CNN's Linear 3136→256 (batch 64) as the requantizing GEMM, best of N at 1 and 2 threads.
// Usage: dotnet benchmarks/Int8Timing/bin/Release/net10.0/Int8Timing.dll [fc|kernels|model FLOAT.safetensors|profile FLOAT.safetensors|lstm|lstm-profile|lstm-step] [rounds]
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Quantization;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

string mode = args.Length > 0 ? args[0] : "kernels";
if (mode == "kernels") Kernels(args.Length > 1 ? int.Parse(args[1]) : 20);
else if (mode == "fc") Fc(args.Length > 1 ? int.Parse(args[1]) : 50);
else if (mode == "lstm-step") LstmStep(args.Length > 1 ? int.Parse(args[1]) : 3000);
else if (mode is "lstm" or "lstm-profile") Lstm(args.Length > 1 ? int.Parse(args[1]) : 30, mode == "lstm-profile");
else Model(args[1], args.Length > 2 ? int.Parse(args[2]) : 30, mode == "profile");

static void Kernels(int rounds)
{
    var convs = new (string Name, Int8ConvShape S, int N)[]
    {
        ("conv1 1→32 28×28", new(64, 28, 28, 1, 3, 3, 1, 1, 1, 1), 32),
        ("conv2 32→32 28×28", new(64, 28, 28, 32, 3, 3, 1, 1, 1, 1), 32),
        ("conv3 32→64 14×14", new(64, 14, 14, 32, 3, 3, 1, 1, 1, 1), 64),
        ("conv4 64→64 14×14", new(64, 14, 14, 64, 3, 3, 1, 1, 1, 1), 64),
    };
    var paths = new[] { Int8GemmPath.Avx512BW, Int8GemmPath.Avx2, Int8GemmPath.Avx2Widening, Int8GemmPath.AvxVnni }.Where(Int8Gemm.IsSupported).ToArray();
    foreach (int threads in new[] { 1, 2 })
    {
        KernelThreadPool.SetThreadCount(threads);
        foreach (var (name, s, n) in convs)
        {
            var rng = new System.Random(1);
            var x = new byte[s.Batch * s.Height * s.Width * s.Channels];
            for (int i = 0; i < x.Length; i++) x[i] = (byte)rng.Next(0, 128);
            var w = new sbyte[n * s.K];
            for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
            var packed = Int8Gemm.Pack(w, n, s.K);
            var r = new Int8Requantization(3, Enumerable.Repeat(1e-4f, n).ToArray(), new float[n], 20f, 5, 5);
            var y = new byte[s.Batch * s.OutH * s.OutW * n];
            double macs = (double)s.Batch * s.OutH * s.OutW * n * s.K;
            var line = $"threads={threads} {name} ({macs / 1e6:F0} M MAC):";
            foreach (var path in paths)
            {
                double best = double.MaxValue;
                for (int t = 0; t < rounds + 2; t++)
                {
                    long t0 = Stopwatch.GetTimestamp();
                    Int8Conv.Conv2dNhwc(x, packed, s, r, y, path);
                    if (t >= 2) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
                line += $" {path} {best:F2} ms {macs / best / 1e6:F1} GMAC/s;";
            }
            Console.WriteLine(line);
        }
    }
}

static void Model(string file, int rounds, bool staticOnly)
{
    DeepSharp.Random.Seed(0);
    var train = MnistDataset.LoadFashion(train: true).Take(512);
    var test = MnistDataset.LoadFashion(train: false).Take(64);
    var fp = new FashionCnn();
    fp.LoadStateDict(DeepSharp.IO.SafeTensors.Load(file));
    fp.Eval();
    var calibration = new DataLoader(new TensorDataset(train.Images), 64).Select(b => b[0]).ToList();
    var x86 = StaticQuantization.Quantize(fp, calibration, backend: QuantBackend.X86);
    var onednn = StaticQuantization.Quantize(fp, calibration, backend: QuantBackend.OneDnn);
    var models = new (string Name, Func<Tensor, Tensor> Run)[] { ("float32", fp.Call), ("static x86", x86.Call), ("static onednn", onednn.Call) };
    if (staticOnly) models = [models[1]];   // "profile": the x86 static model alone, for dotnet-trace
    TimeModels(models, test.Images, rounds);
}

static void Lstm(int rounds, bool int8Only)
{
    DeepSharp.Random.Seed(1);
    var lstm = new LSTM(32, 128, batchFirst: true);
    lstm.Eval();
    var q = DynamicQuantizedLSTM.FromFloat(lstm);
    var x = Tensor.Randn(64, 64, 32);
    int threads = KernelThreadPool.ThreadCount;
    Func<Tensor, Tensor> OnThreads(int n, Func<Tensor, Tensor> f) => t => { KernelThreadPool.SetThreadCount(n); try { return f(t); } finally { KernelThreadPool.SetThreadCount(threads); } };
    // the int8 step's split across the pool (DynamicQuantizedRecurrent.ParallelStepWork, internal) forced on for comparison
    var splitField = typeof(DynamicQuantizedLSTM).Assembly.GetType("DeepSharp.Quantization.DynamicQuantizedRecurrent")!
        .GetField("ParallelStepWork", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!;
    long defaultSplit = (long)splitField.GetValue(null)!;
    Tensor Split(Tensor t) { splitField.SetValue(null, 0L); try { return q.Call(t).Output; } finally { splitField.SetValue(null, defaultSplit); } }
    var models = new (string Name, Func<Tensor, Tensor> Run)[]
    {
        ("float32 LSTM", t => lstm.Call(t).Output), ("dynamic int8 LSTM", t => q.Call(t).Output),
        ("float32 LSTM, 1 thread", OnThreads(1, t => lstm.Call(t).Output)), ("dynamic int8 LSTM, 1 thread", OnThreads(1, t => q.Call(t).Output)),
        ("dynamic int8 LSTM, every step split across the pool", Split),
    };
    if (int8Only) models = [models[1]];
    TimeModels(models, x, rounds);
}

// Runs every model on input, interleaved, 3 untimed rounds then rounds timed ones; prints each one's min and median.
static void TimeModels((string Name, Func<Tensor, Tensor> Run)[] models, Tensor input, int rounds)
{
    var times = models.Select(_ => new List<double>()).ToArray();
    using var _ = Autograd.NoGrad();
    for (int r = -3; r < rounds; r++)
        for (int m = 0; m < models.Length; m++)
        {
            long t0 = Stopwatch.GetTimestamp();
            models[m].Run(input);
            if (r >= 0) times[m].Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
    for (int m = 0; m < models.Length; m++)
    {
        times[m].Sort();
        Console.WriteLine($"{models[m].Name}: min {times[m][0]:F2} ms, median {times[m][times[m].Count / 2]:F2} ms");
    }
}

static void LstmStep(int rounds)
{
    const int B = 64, H = 128, I = 32, G = 4 * H;
    var rng = new System.Random(3);
    sbyte[] Weights(int k) { var w = new sbyte[G * k]; for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-127, 128); return w; }
    var whh = Int8Gemm.Pack(Weights(H), G, H); var wih = Int8Gemm.Pack(Weights(I), G, I);
    var scales = Enumerable.Range(0, G).Select(_ => 0.004f).ToArray();
    var bias = Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
    var xq = new byte[B * I]; for (int i = 0; i < xq.Length; i++) xq[i] = (byte)rng.Next(0, 128);
    var h = Enumerable.Range(0, B * H).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    var c = Enumerable.Range(0, B * H).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    var times = new List<double>();
    foreach (bool parallel in new[] { false, true })
    {
        times.Clear();
        for (int r = -50; r < rounds; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var (min, max) = Int8Gemm.LstmStepFromFloat(h, H, 2f / 127, 63, whh, scales, bias, new Int8StepInput(xq, I, wih, 0.02f, 10, scales, bias), c, h, H, B, parallel);
            if (r >= 0) times.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds);
        }
        times.Sort();
        Console.WriteLine($"fused int8 LSTM step (B {B}, H {H}, I {I}){(parallel ? ", split across the pool" : ", one thread")}: min {times[0]:F1} us, " +
            $"10th percentile {times[times.Count / 10]:F1} us, median {times[times.Count / 2]:F1} us");
    }
}

static void Fc(int rounds)
{
    const int M = 64, K = 3136, N = 256;
    var rng = new System.Random(5);
    var a = new byte[M * K]; for (int i = 0; i < a.Length; i++) a[i] = (byte)rng.Next(0, 128);
    var w = new sbyte[N * K]; for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
    var packed = Int8Gemm.Pack(w, N, K);
    var r = new Int8Requantization(3, Enumerable.Repeat(1e-4f, N).ToArray(), new float[N], 20f, 5, 5);
    var c = new byte[M * N];
    foreach (int threads in new[] { 1, 2 })
    {
        KernelThreadPool.SetThreadCount(threads);
        double best = double.MaxValue;
        for (int t = 0; t < rounds + 3; t++)
        {
            long t0 = Stopwatch.GetTimestamp();
            Int8Gemm.MultiplyRequantize(a, K, packed, c, M, r);
            if (t >= 3) best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        Console.WriteLine($"threads={threads} Linear 3136→256, batch 64 ({(double)M * K * N / 1e6:F0} M MAC): {best:F3} ms, {(double)M * K * N / best / 1e6:F1} GMAC/s");
    }
}
