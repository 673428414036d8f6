// Where a training step's time goes: per-layer forward (forward hooks), backward, optimizer, allocation per step, and
// each conv/pool kernel at the benchmark's shapes. Usage: dotnet run -c Release --project benchmarks/StepProfile [-- lenet|cnn|mlp|kernels|convs|convs-gen|all] [threads]
using System.Diagnostics;
using DeepSharp;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;
using KConv = DeepSharp.Kernels.Conv2d;

string what = args.Length > 0 ? args[0] : "all";
int threads = args.Length > 1 ? int.Parse(args[1]) : 2;
KernelThreadPool.SetThreadCount(threads);
Console.WriteLine($"threads={threads}");

if (what == "loop-tiny")
{
    var a = Tensor.Randn(1, 16);
    var tiny = new Sequential(new Linear(16, 16), new ReLU(), new Linear(16, 16), new ReLU(), new Linear(16, 10)); tiny.Eval();
    var clock = Stopwatch.StartNew();
    while (clock.Elapsed.TotalSeconds < 10) for (int i = 0; i < 1000; i++) { using (Autograd.NoGrad()) using (TensorScope.Begin()) tiny.Call(a); }
    return;
}
if (what.StartsWith("loop-"))
{
    // run one workload's steps for 15 s, for a sampling profiler: dotnet-trace collect --profile cpu-sampling -- dotnet StepProfile.dll loop-lenet 1
    Module<Tensor, Tensor> model = what == "loop-cnn" ? new FashionCnn() : what == "loop-mlp" ? new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10)) : new LeNet5();
    int batch = what == "loop-lenet" ? 64 : 128;
    var x = what == "loop-mlp" ? Tensor.Randn(batch, 784) : Tensor.Randn(batch, 1, 28, 28);
    var y = Tensor.RandInt(0, 10, [batch]);
    var opt = new SGD(model.Parameters(), 0.01, momentum: 0.9);
    var clock = Stopwatch.StartNew();
    int steps = 0;
    while (clock.Elapsed.TotalSeconds < 15)
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad(setToNone: false);
        F.CrossEntropy(model.Call(x), y).Backward();
        opt.Step();
        steps++;
    }
    Console.WriteLine($"{steps} steps");
    return;
}
if (what is "lenet" or "all") ProfileStep("lenet", new LeNet5(), 64, m => new SGD(m.Parameters(), 0.01, momentum: 0.9));
if (what is "cnn" or "all") ProfileStep("fashion_cnn", new FashionCnn(), 128, m => new Adam(m.Parameters(), 1e-3));
if (what is "mlp" or "all")
{
    var mlp = new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10));
    ProfileStep("mlp", mlp, 128, m => new SGD(m.Parameters(), 0.01, momentum: 0.9), flat: true);
    mlp.Eval();
    var x1 = Tensor.Randn(1, 784);
    void Infer() { using (Autograd.NoGrad()) using (TensorScope.Begin()) mlp.Call(x1); }
    Console.WriteLine($"mlp_infer1: {Median(Infer, 200, 2000) * 1e6:F2} us, alloc {AllocPerCall(Infer, 100)} B/call");
}
if (what is "overhead" or "all")
{
    // framework bookkeeping: ops on tiny tensors, where the arithmetic is negligible
    var a = Tensor.Randn(1, 16); var w = Tensor.Randn(16, 16);
    var tiny = new Sequential(new Linear(16, 16), new ReLU(), new Linear(16, 16), new ReLU(), new Linear(16, 10)); tiny.Eval();
    void AddOp() { using (TensorScope.Begin()) _ = a + a; }
    void MatMulOp() { using (TensorScope.Begin()) a.MatMul(w); }
    void ReluOp() { using (TensorScope.Begin()) a.Relu(); }
    void TinyMlp() { using (Autograd.NoGrad()) using (TensorScope.Begin()) tiny.Call(a); }
    void Empty() { using (TensorScope.Begin()) { } }
    void MulOp() { using (TensorScope.Begin()) _ = a * a; }
    void AddScalarOp() { using (TensorScope.Begin()) _ = a + 1.0; }
    void ExpOp() { using (TensorScope.Begin()) a.Exp(); }
    foreach (var (name, f) in new (string, Action)[] { ("empty scope", Empty), ("add 1x16", AddOp), ("mul 1x16", MulOp), ("add scalar 1x16", AddScalarOp), ("exp 1x16", ExpOp), ("matmul 1x16 16x16", MatMulOp), ("relu 1x16", ReluOp), ("mlp 16-16-16-10 no-grad", TinyMlp) })
    {
        var warmClock = Stopwatch.StartNew();
        while (warmClock.Elapsed.TotalSeconds < 1) f();   // past tiered compilation
        double best = double.MaxValue;
        for (int r = 0; r < 7; r++)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < 20000; i++) f();
            best = Math.Min(best, Stopwatch.GetElapsedTime(t0).TotalSeconds / 20000);
        }
        Console.WriteLine($"{name,-26} {best * 1e9,8:F0} ns (best of 7 loops of 20000), {AllocPerCall(f, 1000),6} B/call");
    }
}
if (what is "convs-gen")
{
    // the generative models' conv layers (DDPM U-Net at c = 16, the VAE/AE encoder), batch 64, fastest of 25 calls; the same
    // list for benchmarks/conv_layers.py is printed first as JSON
    var layers = new (string Name, int C, int H, int O, int K, int Stride, int Pad, bool Gx)[]
    {
        ("ddpm in 1->16 28", 1, 28, 16, 3, 1, 1, false), ("ddpm 16->16 28", 16, 28, 16, 3, 1, 1, true),
        ("ddpm down 16 s2 28", 16, 28, 16, 3, 2, 1, true), ("ddpm 16->32 14", 16, 14, 32, 3, 1, 1, true),
        ("ddpm 32->32 14", 32, 14, 32, 3, 1, 1, true), ("ddpm down 32 s2 14", 32, 14, 32, 3, 2, 1, true),
        ("ddpm 32->32 7", 32, 7, 32, 3, 1, 1, true), ("ddpm 64->32 14", 64, 14, 32, 3, 1, 1, true),
        ("ddpm 32->32 28", 32, 28, 32, 3, 1, 1, true), ("ddpm 48->16 28", 48, 28, 16, 3, 1, 1, true),
        ("ddpm 1x1 48->16 28", 48, 28, 16, 1, 1, 0, true), ("ddpm out 16->1 28", 16, 28, 1, 3, 1, 1, true),
        ("vae 1->32 4x4 s2", 1, 28, 32, 4, 2, 1, false), ("vae 32->64 4x4 s2", 32, 14, 64, 4, 2, 1, true),
    };
    Console.WriteLine("[" + string.Join(", ", layers.Select(l => $"{{\"name\": \"{l.Name}\", \"n\": 64, \"c\": {l.C}, \"h\": {l.H}, \"o\": {l.O}, \"k\": {l.K}, \"stride\": {l.Stride}, \"pad\": {l.Pad}, \"groups\": 1, \"input_grad\": {(l.Gx ? "true" : "false")}}}")) + "]");
    // A/B switches in the 3rd argument, comma-separated: "nophase": strided im2col/col2im element by element (the path
    // before phase planes); "nodirect": stride-1 convolutions through im2col + GEMM instead of the direct kernel
    var internalStatic = System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static;
    var switches = args.Length > 2 ? args[2].Split(',') : [];
    if (switches.Contains("nophase")) typeof(Im2Col).GetField("PhasePlanes", internalStatic)!.SetValue(null, false);
    if (switches.Contains("nodirect")) typeof(KConv).GetField("DirectEnabled", internalStatic)!.SetValue(null, false);
    // a 4th argument keeps the layers whose name contains it ("s2": the strided ones)
    foreach (var l in layers.Where(l => args.Length < 4 || l.Name.Contains(args[3])))
    {
        var conv = new DeepSharp.NN.Conv2d(l.C, l.O, l.K, stride: l.Stride, padding: l.Pad);
        var x = Tensor.Randn([64, l.C, l.H, l.H], requiresGrad: l.Gx);
        Tensor g;
        using (Autograd.NoGrad()) g = Tensor.RandnLike(conv.Call(x));
        void Fwd() { using (Autograd.NoGrad()) using (TensorScope.Begin()) conv.Call(x); }
        void FwdBwd() { using (TensorScope.Begin()) { conv.ZeroGrad(); conv.Call(x).Backward(g); } }
        // the three kernels on their own
        int oh = (l.H + 2 * l.Pad - l.K) / l.Stride + 1;
        var shape = new ConvShape(64, l.C, l.H, l.H, l.O, oh, oh, l.K, l.K, l.Stride, l.Stride, l.Pad, l.Pad);
        float[] xs = new float[shape.Batch * shape.InImage], ws = new float[shape.WeightSize], ys = new float[shape.Batch * shape.OutImage];
        for (int i = 0; i < xs.Length; i++) xs[i] = (i % 7) * 0.1f;
        for (int i = 0; i < ys.Length; i++) ys[i] = (i % 5) * 0.1f;
        void KFwd() => KConv.Forward<float>(shape, xs, ws, default, ys);
        void KData() => KConv.BackwardData<float>(shape, ys, ws, xs);
        void KWeight() => KConv.BackwardWeight<float>(shape, xs, ys, ws);
        Console.WriteLine($"{l.Name,-24} fwd {WallMin(Fwd),7:F3} ms  fwd+bwd {WallMin(FwdBwd),7:F3} ms   kernels: fwd {WallMin(KFwd),7:F3}  data {WallMin(KData),7:F3}  weight {WallMin(KWeight),7:F3} ms");
    }
    // the fastest of 25 after 0.5 s of warm-up: on a shared machine the minimum is the run least disturbed by other processes;
    // at 1 thread the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID), which time slices given to other processes do not count
    static double WallMin(Action f)
    {
        bool cpu = KernelThreadPool.ThreadCount == 1 && OperatingSystem.IsLinux();
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed.TotalSeconds < 0.5) f();
        double best = double.MaxValue;
        for (int i = 0; i < 25; i++)
        {
            long t0 = Stopwatch.GetTimestamp(); double c0 = cpu ? ThreadCpuMs() : 0;
            f();
            best = Math.Min(best, cpu ? ThreadCpuMs() - c0 : Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        return best;
    }
    static unsafe double ThreadCpuMs() { long* ts = stackalloc long[2]; clock_gettime(3, ts); return ts[0] * 1e3 + ts[1] * 1e-6; }
    [System.Runtime.InteropServices.DllImport("libc")] static extern unsafe int clock_gettime(int clock, long* time);   // struct timespec { tv_sec, tv_nsec }
}
if (what is "convs")
{
    // the conv layers of the benchmark models through the Tensor API, timed like benchmarks/conv_layers.py times torch.nn.Conv2d (the harness has the full table: deepsharp bench --compare-pytorch --convs):
    // forward under no-grad, and forward + backward with a given output gradient (median of 15 after 1 s of warm-up)
    var shapes = new (string, int, int, int, int, int, int, bool)[]
    {
        ("lenet c1 1->6 5x5 p2", 64, 1, 28, 6, 5, 2, false), ("lenet c2 6->16 5x5", 64, 6, 14, 16, 5, 0, true),
        ("cnn c1 1->32 3x3", 128, 1, 28, 32, 3, 1, false), ("cnn c2 32->32 3x3", 128, 32, 28, 32, 3, 1, true),
        ("cnn c3 32->64 3x3", 128, 32, 14, 64, 3, 1, true), ("cnn c4 64->64 3x3", 128, 64, 14, 64, 3, 1, true),
    };
    foreach (var (name, n, c, h, o, k, pad, gx) in shapes)
    {
        var conv = new DeepSharp.NN.Conv2d(c, o, k, padding: pad);
        var x = Tensor.Randn([n, c, h, h], requiresGrad: gx);
        Tensor g;
        using (Autograd.NoGrad()) g = Tensor.RandnLike(conv.Call(x));
        void Fwd() { using (Autograd.NoGrad()) using (TensorScope.Begin()) conv.Call(x); }
        void FwdBwd() { using (TensorScope.Begin()) { conv.ZeroGrad(); conv.Call(x).Backward(g); } }
        double WallMedian(Action f)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < 1) f();
            var ts = new double[15];
            for (int i = 0; i < 15; i++) { long t0 = Stopwatch.GetTimestamp(); f(); ts[i] = Stopwatch.GetElapsedTime(t0).TotalMilliseconds; }
            Array.Sort(ts); return ts[7];
        }
        Console.WriteLine($"{name,-24} fwd {WallMedian(Fwd),7:F3} ms  fwd+bwd {WallMedian(FwdBwd),7:F3} ms");
    }
}
if (what is "kernels" or "all") Kernels();

// With one thread (argument 1) the time is this thread's CPU time (clock_gettime(CLOCK_THREAD_CPUTIME_ID)), which other
// processes on the shared machine disturb far less than the wall clock; with more threads it is the wall clock.
static double Median(Action a, int warm, int reps)
{
    // and at least 0.3 s: .NET runs new code unoptimised until it has been hot for a while (tiered compilation)
    var clock = Stopwatch.StartNew();
    for (int i = 0; i < warm || clock.Elapsed.TotalSeconds < 0.3; i++) a();
    var ts = new double[reps];
    bool cpu = KernelThreadPool.ThreadCount == 1;
    for (int i = 0; i < reps; i++)
    {
        if (cpu) { double c0 = ThreadCpu.Seconds(); a(); ts[i] = ThreadCpu.Seconds() - c0; continue; }
        long t0 = Stopwatch.GetTimestamp(); a(); ts[i] = Stopwatch.GetElapsedTime(t0).TotalSeconds;
    }
    Array.Sort(ts);
    return ts[0]; // the minimum: the least disturbed run on a shared machine
}

static long AllocPerCall(Action a, int reps)
{
    a();
    long b0 = GC.GetAllocatedBytesForCurrentThread();
    for (int i = 0; i < reps; i++) a();
    return (GC.GetAllocatedBytesForCurrentThread() - b0) / reps;
}

static void ProfileStep(string name, Module<Tensor, Tensor> model, int batch, Func<Module, Optimizer> makeOpt, bool flat = false)
{
    DeepSharp.Random.Seed(0);
    var x = flat ? Tensor.Randn(batch, 784) : Tensor.Randn(batch, 1, 28, 28);
    var y = Tensor.RandInt(0, 10, [batch]);
    var opt = makeOpt(model);
    void Step()
    {
        using var scope = TensorScope.Begin();
        opt.ZeroGrad(setToNone: false);
        F.CrossEntropy(model.Call(x), y).Backward();
        opt.Step();
    }
    double step0 = Median(Step, 3, 10); double step = Median(Step, 100, 20); Console.WriteLine($"{name}: step after 3 warm-ups {step0 * 1e3:F2} ms, after 100 {step * 1e3:F2} ms");
    long allocThread = AllocPerCall(Step, 10);
    long total0 = GC.GetTotalAllocatedBytes(true);
    for (int i = 0; i < 10; i++) Step();
    long allocTotal = (GC.GetTotalAllocatedBytes(true) - total0) / 10;

    // phases
    double fwd = Median(() => { using var s = TensorScope.Begin(); F.CrossEntropy(model.Call(x), y); }, 3, 15);
    double fwdBwd = Median(() => { using var s = TensorScope.Begin(); opt.ZeroGrad(setToNone: false); F.CrossEntropy(model.Call(x), y).Backward(); }, 3, 15);
    double optStep = Median(() => { using var s = TensorScope.Begin(); opt.Step(); }, 3, 15);
    Console.WriteLine($"{name}: step {step * 1e3:F2} ms | forward+loss {fwd * 1e3:F2} | backward {(fwdBwd - fwd) * 1e3:F2} | optimizer {optStep * 1e3:F2} | alloc/step thread {allocThread / 1024.0:F1} KiB, all threads {allocTotal / 1024.0:F1} KiB");

    // per-leaf forward time through hooks
    var times = new Dictionary<Module, List<double>>();
    var starts = new Dictionary<Module, long>();
    var handles = new List<HookHandle>();
    var leaves = new List<(string, Module)>();
    foreach (var (n, m) in model.NamedModules())
    {
        if (m.Children().Any()) continue;
        leaves.Add((n, m)); times[m] = [];
        handles.Add(m.RegisterForwardPreHook((mod, _) => starts[mod] = Stopwatch.GetTimestamp()));
        handles.Add(m.RegisterForwardHook((mod, _, _) => times[mod].Add(Stopwatch.GetElapsedTime(starts[mod]).TotalSeconds)));
    }
    for (int i = 0; i < 15; i++) { using var s = TensorScope.Begin(); model.Call(x); }
    foreach (var (n, m) in leaves)
    {
        var t = times[m].Skip(3).OrderBy(v => v).ToList();
        Console.WriteLine($"   fwd {n,-16} {m.GetType().Name,-12} {t[0] * 1e3,8:F3} ms");
    }
    foreach (var h in handles) h.Dispose();
}

static void Kernels()
{
    // (name, N, C, H, W, O, k, pad, inputNeedsGrad)
    var convs = new (string, int, int, int, int, int, int, int, bool)[]
    {
        ("lenet c1 1->6 5x5 p2", 64, 1, 28, 28, 6, 5, 2, false),
        ("lenet c2 6->16 5x5", 64, 6, 14, 14, 16, 5, 0, true),
        ("cnn c1 1->32 3x3", 128, 1, 28, 28, 32, 3, 1, false),
        ("cnn c2 32->32 3x3", 128, 32, 28, 28, 32, 3, 1, true),
        ("cnn c3 32->64 3x3", 128, 32, 14, 14, 64, 3, 1, true),
        ("cnn c4 64->64 3x3", 128, 64, 14, 14, 64, 3, 1, true),
    };
    var rng = new System.Random(1);
    foreach (var (name, n, c, h, w, o, k, pad, needGx) in convs)
    {
        int oh = h + 2 * pad - k + 1, ow = w + 2 * pad - k + 1;
        var s = new ConvShape(n, c, h, w, o, oh, ow, k, k, 1, 1, pad, pad);
        var x = new float[n * c * h * w]; var wt = new float[s.WeightSize]; var b = new float[o];
        var y = new float[n * s.OutImage]; var gx = new float[x.Length]; var gw = new float[wt.Length];
        foreach (var arr in new[] { x, wt, b, y }) for (int i = 0; i < arr.Length; i++) arr[i] = (float)rng.NextDouble() - 0.5f;
        var t = new double[3][];
        for (int i = 0; i < 3; i++) t[i] = new double[9];
        for (int r = 0; r < 9; r++)
        {
            t[0][r] = Median(() => KConv.Forward<float>(s, x, wt, b, y), 1, 3);
            t[1][r] = needGx ? Median(() => KConv.BackwardData<float>(s, y, wt, gx), 1, 3) : 0;
            t[2][r] = Median(() => KConv.BackwardWeight<float>(s, x, y, gw), 1, 3);
        }
        double M(int i) { Array.Sort(t[i]); return t[i][4] * 1e3; }
        long a0 = GC.GetTotalAllocatedBytes(true);
        KConv.Forward<float>(s, x, wt, b, y); if (needGx) KConv.BackwardData<float>(s, y, wt, gx); KConv.BackwardWeight<float>(s, x, y, gw);
        long allocated = GC.GetTotalAllocatedBytes(true) - a0;
        if (allocated > 0) Console.WriteLine($"  (the three kernels allocated {allocated} B)");
        double gf = 2.0 * n * o * oh * ow * s.ColRows / 1e6;
        Console.WriteLine($"{name,-22} fwd {M(0),7:F3} ms ({gf / M(0),5:F1} GF/s) | bwdData {M(1),7:F3} ms | bwdWeight {M(2),7:F3} ms");
    }
    var pools = new (string, int, int, int)[] { ("lenet pool1", 64 * 6, 28, 28), ("lenet pool2", 64 * 16, 10, 10), ("cnn pool1", 128 * 32, 28, 28), ("cnn pool2", 128 * 64, 14, 14) };
    foreach (var (name, planes, h, w) in pools)
    {
        var ps = new PoolShape(planes, h, w, h / 2, w / 2, 2, 2, 2, 2);
        var x = new float[planes * h * w]; var y = new float[planes * ps.OutPlane]; var ind = new long[y.Length]; var gx = new float[x.Length];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        double f = Median(() => Pool.MaxPool2d<float>(ps, x, y, ind), 60, 15);
        double bwd = Median(() => Pool.ScatterAddByIndex<float>(planes, ps.InPlane, ps.OutPlane, y, ind, gx), 60, 15);
        Console.WriteLine($"{name,-24} maxpool fwd {f * 1e3,7:F3} ms  bwd {bwd * 1e3,7:F3} ms");
    }
}

static class ThreadCpu
{
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Sequential)]
    struct TimeSpec { public long Sec, Nsec; }
    [System.Runtime.InteropServices.DllImport("libc")] static extern int clock_gettime(int clock, out TimeSpec ts);
    public static double Seconds() { clock_gettime(3 /* CLOCK_THREAD_CPUTIME_ID */, out var t); return t.Sec + t.Nsec * 1e-9; }
}
