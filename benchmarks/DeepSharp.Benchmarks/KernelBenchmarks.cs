using BenchmarkDotNet.Attributes;
using DeepSharp.Kernels;

namespace DeepSharp.Benchmarks;

/// <summary>Square sgemm C = A·B (PyTorch: torch.mm), at 1 and 2 kernel threads.</summary>
[Config(typeof(KernelConfig))]
public class GemmBenchmarks
{
    float[] a = [], b = [], c = [];

    [Params(64, 256, 1024, 2048)] public int N;
    [Params(1, 2)] public int Threads;

    [GlobalSetup]
    public void Setup()
    {
        KernelThreadPool.SetThreadCount(Threads);
        var rng = new System.Random(1);
        a = new float[N * N]; b = new float[N * N]; c = new float[N * N];
        for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble() - 0.5f; b[i] = (float)rng.NextDouble() - 0.5f; }
    }

    [Benchmark] public void Sgemm() => Gemm.Sgemm(false, false, N, N, N, 1f, a, N, b, N, 0f, c, N);
}

/// <summary>
/// The convolutions of the benchmark models (LeNet-5 conv2, Fashion CNN conv1 and conv2): forward, input gradient and
/// weight gradient kernels (PyTorch: conv2d and its two backward passes).
/// </summary>
[Config(typeof(KernelConfig))]
public class ConvBenchmarks
{
    ConvShape s;
    float[] x = [], w = [], bias = [], y = [], gx = [], gw = [];

    /// <summary>batch x in-channels x size -> out-channels, kernel, padding.</summary>
    [Params("64x6x14->16k5p0", "128x1x28->32k3p1", "128x32x28->32k3p1")] public string Shape = "";
    [Params(1, 2)] public int Threads;

    [GlobalSetup]
    public void Setup()
    {
        KernelThreadPool.SetThreadCount(Threads);
        var p = Shape.Replace("->", "x").Replace("k", "x").Replace("p", "x").Split('x').Select(int.Parse).ToArray();
        int n = p[0], cin = p[1], h = p[2], cout = p[3], k = p[4], pad = p[5], o = h + 2 * pad - k + 1;
        s = new ConvShape(n, cin, h, h, cout, o, o, k, k, 1, 1, pad, pad);
        var rng = new System.Random(2);
        float[] R(int len) { var r = new float[len]; for (int i = 0; i < len; i++) r[i] = (float)rng.NextDouble() - 0.5f; return r; }
        x = R(n * s.InImage); w = R(s.WeightSize); bias = R(cout); y = R(n * s.OutImage); gx = new float[x.Length]; gw = new float[w.Length];
    }

    [Benchmark] public void Forward() => Conv2d.Forward<float>(s, x, w, bias, y);
    [Benchmark] public void BackwardData() => Conv2d.BackwardData<float>(s, y, w, gx);
    [Benchmark] public void BackwardWeight() => Conv2d.BackwardWeight<float>(s, x, y, gw);
}

/// <summary>2x2 max pooling with indices and its backward scatter (PyTorch: max_pool2d(return_indices=True)).</summary>
[Config(typeof(KernelConfig))]
public class PoolBenchmarks
{
    PoolShape s;
    float[] x = [], y = [], gx = [];
    long[] indices = [];

    /// <summary>planes (batch x channels) and plane size.</summary>
    [Params("384x28", "4096x28", "8192x14")] public string Shape = "";
    [Params(1, 2)] public int Threads;

    [GlobalSetup]
    public void Setup()
    {
        KernelThreadPool.SetThreadCount(Threads);
        var p = Shape.Split('x').Select(int.Parse).ToArray();
        s = new PoolShape(p[0], p[1], p[1], p[1] / 2, p[1] / 2, 2, 2, 2, 2);
        var rng = new System.Random(3);
        x = new float[p[0] * s.InPlane]; for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        y = new float[p[0] * s.OutPlane]; indices = new long[y.Length]; gx = new float[x.Length];
        Pool.MaxPool2d<float>(s, x, y, indices);   // real argmax indices for the backward (each benchmark runs in its own process)
    }

    [Benchmark] public void MaxPool2d() => Pool.MaxPool2d<float>(s, x, y, indices);
    [Benchmark] public void MaxPool2dBackward() => Pool.ScatterAddByIndex<float>(s.Planes, s.InPlane, s.OutPlane, y, indices, gx);
}
