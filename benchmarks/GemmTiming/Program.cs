// Quick GEMM timing: GFLOP/s for square sgemm/dgemm and the m=1 GEMV of single-sample inference, at 1 and 2 threads.
// Usage: dotnet run -c Release [-- sizes...] ; compare with tools in docs/KERNELS.md (PyTorch on the same machine).
using System.Diagnostics;
using DeepSharp.Kernels;

if (args.Length == 1 && args[0] == "pool")
{
    // Fork/join cost of an empty 2-iteration parallel loop on 2 threads.
    KernelThreadPool.SetThreadCount(2);
    var body = new EmptyBody();
    for (int r = 0; r < 5; r++)
    {
        const int loops = 200_000;
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < loops; i++) KernelThreadPool.ParallelFor(2, ref body);
        Console.WriteLine($"ParallelFor fork/join: {Stopwatch.GetElapsedTime(t0).TotalMicroseconds / loops:F2} us");
    }
    return;
}

var shapes = new List<(int M, int N, int K, bool TransB)>();
if (args.Length > 0)
    foreach (var s in args) { var p = s.Split('x').Select(int.Parse).ToArray(); shapes.Add((p[0], p[1], p[2], false)); }
else
    shapes.AddRange([(64, 64, 64, false), (256, 256, 256, false), (1024, 1024, 1024, false), (2048, 2048, 2048, false),
        (1, 512, 784, false), (1, 512, 784, true)]);
bool doubles = Environment.GetEnvironmentVariable("GEMM_DOUBLE") == "1";


foreach (int threads in new[] { 1, 2 })
{
    KernelThreadPool.SetThreadCount(threads);
    foreach (var (m, n, k, transB) in shapes)
    {
        double gflops = doubles ? Time<double>(m, n, k, transB) : Time<float>(m, n, k, transB);
        Console.WriteLine($"{(doubles ? "dgemm" : "sgemm")} threads={threads} m={m} n={n} k={k}{(transB ? " transB" : "")}: {gflops:F2} GFLOP/s");
    }
}

static double Time<T>(int m, int n, int k, bool transB) where T : unmanaged, System.Numerics.IFloatingPoint<T>
{
    var rng = new Random(1);
    var a = new T[m * k]; var b = new T[k * n]; var c = new T[m * n];
    for (int i = 0; i < a.Length; i++) a[i] = T.CreateChecked(rng.NextDouble() - 0.5);
    for (int i = 0; i < b.Length; i++) b[i] = T.CreateChecked(rng.NextDouble() - 0.5);
    double flops = 2.0 * m * n * k;
    int reps = (int)Math.Clamp(3e8 / flops, 3, 200000);
    void Once()
    {
        if (typeof(T) == typeof(float))
            Gemm.Sgemm(false, transB, m, n, k, 1f, (float[])(object)a, k, (float[])(object)b, transB ? k : n, 0f, (float[])(object)c, n);
        else
            Gemm.Dgemm(false, transB, m, n, k, 1.0, (double[])(object)a, k, (double[])(object)b, transB ? k : n, 0.0, (double[])(object)c, n);
    }
    for (int i = 0; i < Math.Min(reps, 20); i++) Once(); // JIT tiers, buffers
    var samples = new List<double>();
    for (int s = 0; s < 7; s++)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < reps; i++) Once();
        samples.Add(Stopwatch.GetElapsedTime(t0).TotalSeconds / reps);
    }
    samples.Sort();
    return flops / samples[samples.Count / 2] / 1e9;
}

struct EmptyBody : IParallelBody
{
    public void Invoke(int index) { }
}
