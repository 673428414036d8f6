using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;

namespace DeepSharp.Benchmarks;

/// <summary>Kernel threads as a parameter (1 and 2, like `deepsharp bench`), allocations reported.</summary>
public sealed class KernelConfig : ManualConfig
{
    public KernelConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(10));
    }
}
