using System.Runtime.InteropServices;

namespace DeepSharp.Distributed.Mpi;

/// <summary>
/// The MPI C calls DeepSharp uses, bound to the MPICH ABI (MPICH 3.1+, Intel MPI, MVAPICH, Cray MPICH): handles are
/// 32-bit integers with fixed values, taken from MPICH's mpi.h (see docs/distributed.md for why not MPI.NET and not
/// Open MPI). Every call returns an MPI error code; the world communicator is set to MPI_ERRORS_RETURN, so
/// <see cref="Check"/> turns a failure into an exception instead of an abort.
/// </summary>
internal static unsafe class MpiNative
{
    internal const string Library = "mpi";   // resolved by MpiLibrary to libmpich.so.12, libmpi.so.12, ...

    internal const int Success = 0;
    internal const int CommWorld = 0x44000000;
    internal const int RequestNull = 0x2c000000;
    internal const int ErrorsReturn = 0x54000001;
    internal const int ThreadMultiple = 3;
    internal const int AnySource = -2;
    internal const int MaxErrorString = 512;

    internal const int Float = 0x4c00040a;
    internal const int Double = 0x4c00080b;
    internal const int Int64 = 0x4c00083a;
    internal const int Byte = 0x4c00010d;

    internal const int OpMax = 0x58000001;
    internal const int OpMin = 0x58000002;
    internal const int OpSum = 0x58000003;

    /// <summary>MPI_Status in the MPICH ABI (5 ints).</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal struct Status { public int CountLow, CountHighAndCancelled, Source, Tag, Error; }

    [DllImport(Library)] internal static extern int MPI_Initialized(int* flag);
    [DllImport(Library)] internal static extern int MPI_Finalized(int* flag);
    [DllImport(Library)] internal static extern int MPI_Init_thread(int* argc, byte*** argv, int required, int* provided);
    [DllImport(Library)] internal static extern int MPI_Finalize();
    [DllImport(Library)] internal static extern int MPI_Abort(int comm, int errorCode);
    [DllImport(Library)] internal static extern int MPI_Comm_rank(int comm, int* rank);
    [DllImport(Library)] internal static extern int MPI_Comm_size(int comm, int* size);
    [DllImport(Library)] internal static extern int MPI_Comm_set_errhandler(int comm, int errhandler);
    [DllImport(Library)] internal static extern int MPI_Error_string(int code, byte* text, int* length);
    [DllImport(Library)] internal static extern int MPI_Get_library_version(byte* text, int* length);

    [DllImport(Library)] internal static extern int MPI_Iallreduce(void* send, void* recv, int count, int type, int op, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Ibcast(void* buffer, int count, int type, int root, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Iallgather(void* send, int sendCount, int sendType, void* recv, int recvCount, int recvType, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Ireduce_scatter_block(void* send, void* recv, int recvCount, int type, int op, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Ibarrier(int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Isend(void* buffer, int count, int type, int dest, int tag, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Irecv(void* buffer, int count, int type, int source, int tag, int comm, int* request);
    [DllImport(Library)] internal static extern int MPI_Test(int* request, int* flag, Status* status);

    /// <summary>The text MPI gives for an error code.</summary>
    internal static string ErrorString(int code)
    {
        byte* text = stackalloc byte[MaxErrorString];
        int length = 0;
        return MPI_Error_string(code, text, &length) == Success ? System.Text.Encoding.ASCII.GetString(text, length) : $"MPI error {code}";
    }

    /// <summary>Throws a <see cref="DistributedException"/> naming <paramref name="call"/> when <paramref name="code"/> is not MPI_SUCCESS.</summary>
    internal static void Check(int code, string call)
    {
        if (code != Success) throw new DistributedException($"{call} failed: {ErrorString(code)} (MPI error {code})");
    }
}
