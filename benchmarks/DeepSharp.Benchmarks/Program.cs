// BenchmarkDotNet suites for DeepSharp's kernels: GEMM, convolution, pooling, softmax, elementwise.
// dotnet run -c Release --project benchmarks/DeepSharp.Benchmarks -- --filter '*'          (everything, long)
// dotnet run -c Release --project benchmarks/DeepSharp.Benchmarks -- --filter '*Conv*'     (one suite)
// Add --job short for a quick look. The machine is shared: compare ratios taken in one run, not figures across runs.
using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
