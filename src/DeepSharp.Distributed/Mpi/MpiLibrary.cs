using System.Reflection;
using System.Runtime.InteropServices;

namespace DeepSharp.Distributed.Mpi;

/// <summary>
/// Finds the system MPI library for <see cref="MpiNative"/>: the file named by DEEPSHARP_MPI_LIBRARY, else the first of
/// the MPICH-ABI sonames that loads. An Open MPI library (its handles are pointers to global symbols, not MPICH's
/// integers) is refused with a clear message rather than called with the wrong ABI.
/// </summary>
internal static class MpiLibrary
{
    static readonly string[] Candidates = ["libmpich.so.12", "libmpi.so.12", "libmpich.so", "libmpi.so", "libmpich.dylib", "msmpi.dll"];
    static int registered;

    /// <summary>Installs the resolver (once per process).</summary>
    internal static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 0)
            NativeLibrary.SetDllImportResolver(typeof(MpiLibrary).Assembly, Resolve);
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != MpiNative.Library) return IntPtr.Zero;
        var tried = new List<string>();
        var chosen = Environment.GetEnvironmentVariable("DEEPSHARP_MPI_LIBRARY");
        foreach (var candidate in string.IsNullOrEmpty(chosen) ? Candidates : [chosen])
        {
            tried.Add(candidate);
            if (!NativeLibrary.TryLoad(candidate, out var handle)) continue;
            if (NativeLibrary.TryGetExport(handle, "ompi_mpi_comm_world", out _))
                throw new DistributedException($"{candidate} is Open MPI, whose handles are not MPICH's integers; install MPICH (apt-get install mpich) " +
                    "or point DEEPSHARP_MPI_LIBRARY at an MPICH-ABI library (MPICH, Intel MPI, MVAPICH)");
            return handle;
        }
        throw new DistributedException($"no MPI library found (tried {string.Join(", ", tried)}); install MPICH (apt-get install mpich) " +
            "or set DEEPSHARP_MPI_LIBRARY to the path of an MPICH-ABI libmpi");
    }
}
