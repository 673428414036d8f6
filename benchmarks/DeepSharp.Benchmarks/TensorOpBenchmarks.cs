using BenchmarkDotNet.Attributes;
using DeepSharp.Kernels;

namespace DeepSharp.Benchmarks;

/// <summary>
/// Softmax and elementwise ops through the Tensor API (their kernels are internal to DeepSharp), each in a TensorScope so
/// temporaries are recycled as in a training step. The figures include the op's bookkeeping (a few hundred ns).
/// </summary>
[Config(typeof(KernelConfig))]
public class TensorOpBenchmarks
{
    Tensor logits = null!, a = null!, b = null!, small = null!;

    [Params(1, 2)] public int Threads;

    [GlobalSetup]
    public void Setup()
    {
        KernelThreadPool.SetThreadCount(Threads);
        DeepSharp.Random.Seed(0);
        logits = Tensor.Randn(128, 1000);
        a = Tensor.Randn(128, 32, 28, 28); b = Tensor.Randn(128, 32, 28, 28);
        small = Tensor.Randn(1, 16);
    }

    /// <summary>softmax over 1000 classes for 128 rows (torch.softmax(x, 1)).</summary>
    [Benchmark] public void Softmax() { using var scope = TensorScope.Begin(); logits.Softmax(1); }

    /// <summary>log-softmax, the cross-entropy forward (torch.log_softmax(x, 1)).</summary>
    [Benchmark] public void LogSoftmax() { using var scope = TensorScope.Begin(); logits.LogSoftmax(1); }

    /// <summary>ReLU of a 3.2M-element activation (torch.relu).</summary>
    [Benchmark] public void Relu() { using var scope = TensorScope.Begin(); a.Relu(); }

    /// <summary>Elementwise add of two 3.2M-element tensors (torch.add).</summary>
    [Benchmark] public void Add() { using var scope = TensorScope.Begin(); _ = a + b; }

    /// <summary>Elementwise multiply (torch.mul).</summary>
    [Benchmark] public void Mul() { using var scope = TensorScope.Begin(); _ = a * b; }

    /// <summary>Framework overhead: an add of two 16-element tensors is almost all bookkeeping.</summary>
    [Benchmark] public void AddSmall() { using var scope = TensorScope.Begin(); _ = small + small; }
}
