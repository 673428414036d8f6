using System.Runtime.Intrinsics.X86;
using System.Text.Json.Nodes;
using DeepSharp.Cli.Commands;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// The machine record of `deepsharp bench` (issue 12): which BLAS the PyTorch side loaded, the refusal without an
/// optimised one, the CPU fields, the FMA peak and the results.json shape. No timings are asserted beyond sanity.
/// </summary>
public class BenchMachineTests
{
    [Fact]
    public void BlasKindNamesTheLibraryPyTorchLoaded()
    {
        Assert.Equal("OpenBLAS", BenchMachine.BlasKind(["/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3", "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"]));
        Assert.Equal("reference", BenchMachine.BlasKind(["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"]));
        Assert.Equal("MKL", BenchMachine.BlasKind(["/opt/intel/lib/libmkl_rt.so.2"]));
        Assert.Equal("none", BenchMachine.BlasKind([]));
    }

    [Fact]
    public void ReferenceBlasIsRefusedWithTheInstallCommand()
    {
        var e = Assert.Throws<UsageException>(() => BenchMachine.RequireOptimisedBlas("reference", ["/usr/lib/x86_64-linux-gnu/blas/libblas.so.3"]));
        Assert.Contains("apt-get install -y libopenblas0-pthread", e.Message);
        Assert.Contains("blas/libblas.so.3", e.Message);
        BenchMachine.RequireOptimisedBlas("OpenBLAS", ["/x/openblas-pthread/libblas.so.3"]);   // does not throw
    }

    [Fact]
    public void TorchProbeLineIsParsed()
    {
        var info = BenchMachine.ParseTorchProbe("""{"version": "1.13.0", "libs": ["/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"], "blas_info": "generic", "onednn": true, "alternative": "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"}""");
        Assert.Equal("1.13.0", info.Version);
        Assert.Equal("OpenBLAS", info.BlasKind);
        Assert.Equal("generic", info.BlasInfo);
        Assert.True(info.OneDnn);
        Assert.EndsWith("openblas-pthread/libblas.so.3", info.Alternative);
    }

    [Fact]
    public void CpuModelAndFlagsComeFromCpuinfo()
    {
        var path = Path.Combine(Path.GetTempPath(), $"cpuinfo-{Guid.NewGuid():N}");
        File.WriteAllText(path, "processor\t: 0\nmodel name\t: Test CPU 9000\nflags\t\t: fpu sse avx2 fma avx512f amx_tile\n\nprocessor\t: 1\nmodel name\t: Test CPU 9000\n");
        try
        {
            var (model, flags) = BenchMachine.ReadCpu(path);
            Assert.Equal("Test CPU 9000", model);
            Assert.Equal(["fpu", "sse", "avx2", "fma", "avx512f", "amx_tile"], flags);
            Assert.Equal(["avx2", "fma", "avx512f", "amx_tile"], BenchMachine.SimdFlags(flags));
        }
        finally { File.Delete(path); }
        Assert.Equal(("unknown", Array.Empty<string>()), BenchMachine.ReadCpu("/nonexistent/cpuinfo"));
    }

    [Fact]
    public void FmaPeakIsPositiveAndUsesTheWidestVectors()
    {
        var peak = BenchMachine.MeasureFmaPeak(2, iterations: 200_000, repeats: 2);
        Assert.Equal(Avx512F.IsSupported ? 512 : Fma.IsSupported ? 256 : System.Numerics.Vector<float>.Count * 32, peak.VectorBits);
        Assert.True(double.IsFinite(peak.GflopsOneThread) && peak.GflopsOneThread > 0, $"{peak.GflopsOneThread}");
        Assert.True(double.IsFinite(peak.GflopsAllThreads) && peak.GflopsAllThreads > 0, $"{peak.GflopsAllThreads}");
        // a core cannot retire more than 2 FMA per cycle of its widest vector at an (implausible) 10 GHz
        Assert.True(peak.GflopsOneThread < 2 * 2 * (peak.VectorBits / 32) * 10.0, $"{peak.GflopsOneThread}");
        Assert.Throws<ArgumentOutOfRangeException>(() => BenchMachine.MeasureFmaPeak(0));
    }

    [Fact]
    public void PeakForAThreadCountScalesAndCaps()
    {
        var peak = new BenchMachine.FmaPeak(512, 100, 2, 180);
        Assert.Equal(100, peak.For(1));
        Assert.Equal(180, peak.For(2));
        Assert.Equal(180, peak.For(4));
    }

    [Fact]
    public void RecordCarriesMachinePeakFractionAndAllocation()
    {
        var peak = new BenchMachine.FmaPeak(512, 100, 2, 200);
        var info = new BenchMachine.TorchInfo("1.13.0", "OpenBLAS", ["/x/openblas-pthread/libblas.so.3"], "generic", true, "/x/openblas-pthread/libblas.so.3");
        var machine = BenchMachine.Describe(peak, info, [0.5, 0.4, 0.3], [1.0, 0.6, 0.4]);
        var rows = new List<Dictionary<string, object>>
        {
            new() { ["workload"] = "sgemm_1024_gflops", ["unit"] = "GFLOP/s", ["deepsharp"] = 150.0, ["pytorch"] = 120.0, ["ratio"] = 0.8 },
            new() { ["workload"] = "mlp_step_ms", ["unit"] = "ms", ["deepsharp"] = 1.0, ["pytorch"] = 2.0, ["ratio"] = 0.5 },
        };
        var record = BenchRecord.Build(machine, rows, peak,
            new Dictionary<string, int> { ["sgemm_1024_gflops"] = 2, ["mlp_step_ms"] = 1 },
            new Dictionary<string, int> { ["sgemm_1024_gflops"] = 1, ["mlp_step_ms"] = 2 },
            new Dictionary<string, (double, double)> { ["mlp_step_ms"] = (4096.0, 0.25) });
        var json = JsonNode.Parse(record.ToJsonString())!;
        Assert.Equal("OpenBLAS", (string)json["machine"]!["pytorch"]!["blas"]!);
        Assert.Equal(DeepSharp.Kernels.Gemm.MicroKernel, (string)json["machine"]!["gemm_micro_kernel"]!);
        Assert.Equal(512, (int)json["machine"]!["fma_peak"]!["vector_bits"]!);
        Assert.False(string.IsNullOrEmpty((string)json["machine"]!["cpu_model"]!));
        Assert.Equal(0.5, (double)json["machine"]!["load_average_before"]![0]!);
        var gemm = json["workloads"]![0]!;
        Assert.Equal(0.75, (double)gemm["deepsharp_fraction_of_peak"]!);   // 150 of 200 at 2 threads
        Assert.Equal(1.2, (double)gemm["pytorch_fraction_of_peak"]!);      // 120 of 100 at 1 thread
        var mlp = json["workloads"]![1]!;
        Assert.Equal(4096.0, (double)mlp["deepsharp_bytes_per_step"]!);
        Assert.Equal(0.25, (double)mlp["deepsharp_gen0_per_step"]!);
        Assert.Equal(2, (int)mlp["pytorch_threads"]!);
        Assert.Null(mlp["deepsharp_fraction_of_peak"]);
    }

    [Fact]
    public void MicroKernelNamesTheInstructionSet()
    {
        var expected = Avx512F.IsSupported ? "avx512 8x32" : Avx2.IsSupported && Fma.IsSupported ? "avx2 6x16" : "portable";
        Assert.StartsWith(expected, DeepSharp.Kernels.Gemm.MicroKernel);
    }
}
