using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using DeepSharp.Kernels;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp info`: version, runtime, SIMD level and threads.</summary>
public static class InfoCommand
{
    /// <summary>Prints the facts and returns 0.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("info", args, []);
        if (p.Help) { output.WriteLine("usage: deepsharp info\n  Prints the DeepSharp version, the .NET runtime, the SIMD level and thread counts."); return 0; }
        var version = typeof(InfoCommand).Assembly.GetName().Version;
        output.WriteLine($"DeepSharp {version?.ToString(3)}");
        output.WriteLine($"runtime   .NET {Environment.Version} on {System.Runtime.InteropServices.RuntimeInformation.OSDescription} ({System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture})");
        output.WriteLine($"simd      {SimdLevel()}");
        output.WriteLine($"threads   {KernelThreadPool.ThreadCount} kernel threads, {Environment.ProcessorCount} logical processors");
        return 0;
    }

    /// <summary>The widest vector instruction set the kernels use on this machine.</summary>
    public static string SimdLevel()
    {
        if (Avx512F.IsSupported && Vector512.IsHardwareAccelerated) return "AVX-512 (Vector512) + FMA";
        if (Avx2.IsSupported && Fma.IsSupported) return "AVX2 + FMA (Vector256)";
        if (Vector.IsHardwareAccelerated) return $"Vector<T> ({Vector<byte>.Count * 8}-bit)";
        return "scalar";
    }
}
