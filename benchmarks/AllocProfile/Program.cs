// Where a steady-state training step's managed allocations go: runs one of the `deepsharp bench` training workloads
// (mlp, lenet, cnn, lstm, gpt) single-threaded, prints bytes allocated and gen-0 collections per step, and, sampled by the
// runtime's allocation-tick events (one event per ≈ 100 KB allocated), which types the bytes went to.
// Usage: dotnet run -c Release --project benchmarks/AllocProfile -- [mlp|lenet|cnn|lstm|gpt|all] [steps]
using System.Diagnostics.Tracing;
using DeepSharp;
using DeepSharp.Cli.Commands;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Models;

string what = args.Length > 0 ? args[0] : "all";
int steps = args.Length > 1 ? int.Parse(args[1]) : 100;
bool types = args.Contains("--types");
KernelThreadPool.SetThreadCount(1);
foreach (var name in new[] { "mlp", "lenet", "cnn", "lstm", "gpt" })
{
    if (what != "all" && what != name) continue;
    DeepSharp.Random.Seed(0);
    var step = Make(name);
    for (int i = 0; i < 30; i++) step();
    Array.Clear(Parts);
    long b0 = GC.GetTotalAllocatedBytes(precise: true); int g0 = GC.CollectionCount(0);
    for (int i = 0; i < steps; i++) step();
    long bytes = GC.GetTotalAllocatedBytes(precise: true) - b0;
    Console.WriteLine($"{name}: {bytes / (double)steps:F0} B/step, {(GC.CollectionCount(0) - g0) / (double)steps:F3} gen-0/step");
    string[] partNames = ["scope+zero_grad", "forward", "loss", "backward", "step", "scope end"];
    for (int p = 0; p < Parts.Length; p++) Console.WriteLine($"  {partNames[p],-16} {Parts[p] / (double)steps:F0} B");
    if (!types) continue;
    using var listener = new AllocationListener();
    for (int i = 0; i < steps; i++) step();
    long total = listener.Bytes.Values.Sum();
    Console.WriteLine("  allocation-tick samples by type:");
    foreach (var (type, b) in listener.Bytes.OrderByDescending(kv => kv.Value).Take(25))
        Console.WriteLine($"  {100.0 * b / total,5:F1}%  {type}");
}

static Action Make(string name)
{
    Module<Tensor, Tensor> model = name switch
    {
        "mlp" => new Sequential(new Linear(784, 512), new ReLU(), new Linear(512, 256), new ReLU(), new Linear(256, 10)),
        "lenet" => new LeNet5(),
        "cnn" => new FashionCnn(),
        "lstm" => new LstmNet(),
        _ => new TinyGpt(),
    };
    Optimizer opt = name switch
    {
        "mlp" or "lenet" => new SGD(model.Parameters(), 0.01, momentum: 0.9),
        "gpt" => new AdamW(model.Parameters(), 3e-4),
        _ => new Adam(model.Parameters(), 1e-3),
    };
    var (x, y) = name switch
    {
        "mlp" => (Tensor.Randn(128, 784), Tensor.RandInt(0, 10, [128])),
        "lenet" => (Tensor.Randn(64, 1, 28, 28), Tensor.RandInt(0, 10, [64])),
        "cnn" => (Tensor.Randn(128, 1, 28, 28), Tensor.RandInt(0, 10, [128])),
        "lstm" => (Tensor.Randn(32, 50, 64), Tensor.RandInt(0, 10, [32])),
        _ => (Tensor.RandInt(0, 256, [32, 64]), Tensor.RandInt(0, 256, [32, 64])),
    };
    return () =>
    {
        long t0 = Now();
        var scope = TensorScope.Begin();
        opt.ZeroGrad(setToNone: false);
        long t1 = Now();
        var output = model.Call(x);
        long t2 = Now();
        var loss = name == "gpt" ? F.CrossEntropy(output.Reshape(-1, 256), y.Reshape(-1)) : F.CrossEntropy(output, y);
        long t3 = Now();
        loss.Backward();
        long t4 = Now();
        opt.Step();
        long t5 = Now();
        scope.Dispose();
        long t6 = Now();
        Parts[0] += t1 - t0; Parts[1] += t2 - t1; Parts[2] += t3 - t2; Parts[3] += t4 - t3; Parts[4] += t5 - t4; Parts[5] += t6 - t5;
    };
}

static long Now() => GC.GetTotalAllocatedBytes(true);

static partial class Program
{
    /// <summary>Bytes per part of the step: scope+ZeroGrad, forward, loss, backward, optimizer step, scope end.</summary>
    public static readonly long[] Parts = new long[6];
}

/// <summary>Sums the runtime's GCAllocationTick events by type name (each reports the ≈ 100 KB allocated since the last).</summary>
sealed class AllocationListener : EventListener
{
    public readonly Dictionary<string, long> Bytes = new();

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Verbose, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (!e.EventName!.StartsWith("GCAllocationTick") || e.Payload == null) return;
        string type = e.PayloadNames!.IndexOf("TypeName") is int i and >= 0 ? e.Payload[i]?.ToString() ?? "?" : "?";
        long amount = e.PayloadNames.IndexOf("AllocationAmount64") is int j and >= 0 ? Convert.ToInt64(e.Payload[j]) : 100_000;
        lock (Bytes) Bytes[type] = Bytes.GetValueOrDefault(type) + amount;
    }
}
