using DeepSharp.Distributed.Mpi;

namespace DeepSharp.Distributed;

/// <summary>
/// The ranks of one MPI job and the collectives between them (torch.distributed's default process group with the
/// "mpi" backend). <see cref="Init"/> joins the job started by <c>mpirun -np N</c>: rank and world size come from the
/// launcher through MPI. Every operation takes contiguous float32, float64 or int64 tensors, works in place, and has an
/// <c>...Async</c> form returning a <see cref="Work"/> handle (async_op=True); the plain form waits. All of them give up
/// after <see cref="Timeout"/> with a <see cref="DistributedTimeoutException"/> instead of hanging when a peer dies.
/// Files: ProcessGroup.cs (lifetime), ProcessGroup.Collectives.cs (the operations).
/// </summary>
public sealed partial class ProcessGroup
{
    static ProcessGroup? world;
    static readonly object InitLock = new();
    bool broken, finalized;

    internal readonly object Sync = new();

    ProcessGroup(int rank, int worldSize, TimeSpan timeout) { Rank = rank; WorldSize = worldSize; Timeout = timeout; }

    /// <summary>This process's rank, 0 ≤ Rank &lt; <see cref="WorldSize"/> (torch.distributed.get_rank()).</summary>
    public int Rank { get; }

    /// <summary>The number of processes in the job (torch.distributed.get_world_size()).</summary>
    public int WorldSize { get; }

    /// <summary>How long a wait may last before a peer is declared dead (init_process_group's timeout=, default 5 minutes; DEEPSHARP_DIST_TIMEOUT in seconds overrides it).</summary>
    public TimeSpan Timeout { get; set; }

    /// <summary>True on rank 0, the rank that prints, logs and writes checkpoints.</summary>
    public bool IsMain => Rank == 0;

    /// <summary>The world group once <see cref="Init"/> has run (torch.distributed.group.WORLD).</summary>
    public static ProcessGroup World => world ?? throw new InvalidOperationException("ProcessGroup.World: call ProcessGroup.Init() first (torch.distributed.init_process_group)");

    /// <summary>True once <see cref="Init"/> has run in this process (torch.distributed.is_initialized()).</summary>
    public static bool IsInitialized => world != null;

    /// <summary>
    /// The rank the launcher gave this process, read from its environment without starting MPI (MPICH's PMI_RANK, Open
    /// MPI's OMPI_COMM_WORLD_RANK, PMIx's PMIX_RANK, Slurm's SLURM_PROCID), or null when not started by a launcher.
    /// </summary>
    public static int? LauncherRank => ReadEnvironment("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK", "SLURM_PROCID");

    /// <summary>The world size the launcher announced (PMI_SIZE, OMPI_COMM_WORLD_SIZE, SLURM_NTASKS), or null.</summary>
    public static int? LauncherWorldSize => ReadEnvironment("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "SLURM_NTASKS");

    static int? ReadEnvironment(params string[] names)
    {
        foreach (var name in names)
            if (int.TryParse(Environment.GetEnvironmentVariable(name), out int value)) return value;
        return null;
    }

    /// <summary>
    /// Starts MPI (once per process; later calls return the same group) and returns the world group
    /// (torch.distributed.init_process_group(backend="mpi", timeout=)). Run under <c>mpirun -np N</c>; started on its own
    /// the process is a world of one. MPI is finalized when the process exits, unless a timeout left the group unusable.
    /// </summary>
    public static unsafe ProcessGroup Init(TimeSpan? timeout = null)
    {
        lock (InitLock)
        {
            if (world != null) return world;
            MpiLibrary.Register();
            int initialized = 0, provided = 0, rank = 0, size = 0;
            MpiNative.Check(MpiNative.MPI_Initialized(&initialized), "MPI_Initialized");
            if (initialized == 0) MpiNative.Check(MpiNative.MPI_Init_thread(null, null, MpiNative.ThreadMultiple, &provided), "MPI_Init_thread");
            MpiNative.Check(MpiNative.MPI_Comm_set_errhandler(MpiNative.CommWorld, MpiNative.ErrorsReturn), "MPI_Comm_set_errhandler");
            MpiNative.Check(MpiNative.MPI_Comm_rank(MpiNative.CommWorld, &rank), "MPI_Comm_rank");
            MpiNative.Check(MpiNative.MPI_Comm_size(MpiNative.CommWorld, &size), "MPI_Comm_size");
            var group = new ProcessGroup(rank, size, timeout ?? DefaultTimeout());
            AppDomain.CurrentDomain.ProcessExit += (_, _) => group.FinalizeAtExit();
            return world = group;
        }
    }

    static TimeSpan DefaultTimeout() =>
        double.TryParse(Environment.GetEnvironmentVariable("DEEPSHARP_DIST_TIMEOUT"), System.Globalization.NumberStyles.Float,
            System.Globalization.CultureInfo.InvariantCulture, out double seconds) && seconds > 0
            ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(5);

    /// <summary>The MPI library's own version line (MPI_Get_library_version), e.g. "MPICH Version: 4.0.2 ...".</summary>
    public static unsafe string LibraryVersion()
    {
        MpiLibrary.Register();
        byte* text = stackalloc byte[8192];
        int length = 0;
        MpiNative.Check(MpiNative.MPI_Get_library_version(text, &length), "MPI_Get_library_version");
        return System.Text.Encoding.ASCII.GetString(text, length).Split('\n')[0].Trim();
    }

    /// <summary>
    /// Finalizes MPI (torch.distributed.destroy_process_group()); called at process exit. Skipped when a timeout has
    /// made the group unusable, since MPI_Finalize would wait for the dead peer.
    /// </summary>
    public void Destroy()
    {
        lock (Sync)
        {
            if (finalized || broken) return;
            finalized = true;
            MpiNative.MPI_Finalize();
        }
    }

    /// <summary>
    /// At process exit: MPI_Finalize only after a clean run (exit code 0), and for at most 10 s, because it waits for the
    /// peers and a rank that is failing must not hang on a peer that is stuck or dead; the launcher then sees the exit code.
    /// </summary>
    void FinalizeAtExit()
    {
        if (Environment.ExitCode != 0) return;
        var finalizer = new Thread(Destroy) { IsBackground = true };
        finalizer.Start();
        finalizer.Join(TimeSpan.FromSeconds(10));
    }

    /// <summary>
    /// Ends every rank of the job at once with <paramref name="exitCode"/> (MPI_Abort): for a rank that hits an error
    /// the others cannot know about.
    /// </summary>
    public void Abort(int exitCode = 1)
    {
        broken = true;
        MpiNative.MPI_Abort(MpiNative.CommWorld, exitCode);
    }

    internal void MarkBroken() { lock (Sync) broken = true; }

    internal void ThrowIfUnusable(string operation)
    {
        if (finalized) throw new InvalidOperationException($"{operation}: the process group was destroyed");
        if (broken) throw new DistributedException($"{operation}: the process group is unusable after an earlier timeout");
    }
}
