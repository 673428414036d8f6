using System.Buffers;
using System.Diagnostics;
using DeepSharp.Distributed.Mpi;

namespace DeepSharp.Distributed;

/// <summary>
/// The handle of an operation started with one of the <c>...Async</c> methods of <see cref="ProcessGroup"/>
/// (torch.distributed.Work, returned with async_op=True). The tensors stay pinned, and must not be touched, until
/// <see cref="Wait"/> returns or <see cref="IsCompleted"/> says true. Waiting polls MPI, so it also drives the progress
/// of other operations in flight, and gives up after the group's <see cref="ProcessGroup.Timeout"/>.
/// </summary>
public sealed unsafe class Work
{
    readonly ProcessGroup group;
    readonly string description;
    MemoryHandle[] pins;
    Action? onComplete;
    int request = MpiNative.RequestNull;
    bool completed;

    internal unsafe delegate int Starter(int* request);

    Work(ProcessGroup group, string description, MemoryHandle[] pins, Action? onComplete)
    {
        this.group = group; this.description = description; this.pins = pins; this.onComplete = onComplete;
    }

    /// <summary>Starts an MPI nonblocking call; unpins at once if the start fails.</summary>
    internal static Work Start(ProcessGroup group, string description, MemoryHandle[] pins, Starter start, Action? onComplete = null)
    {
        var work = new Work(group, description, pins, onComplete);
        int code;
        lock (group.Sync)
        {
            group.ThrowIfUnusable(description);
            fixed (int* r = &work.request) code = start(r);
        }
        if (code != MpiNative.Success) { work.Unpin(); MpiNative.Check(code, description); }
        return work;
    }

    /// <summary>A handle that is already complete (a one-rank group has nothing to exchange).</summary>
    internal static Work Done(ProcessGroup group, string description, Action? onComplete = null)
    {
        var work = new Work(group, description, [], null) { completed = true };
        onComplete?.Invoke();
        return work;
    }

    /// <summary>True once the operation has finished, testing MPI once if not yet known (Work.is_completed()).</summary>
    public bool IsCompleted()
    {
        if (completed) return true;
        int flag = 0, code;
        lock (group.Sync)
        {
            group.ThrowIfUnusable(description);
            fixed (int* r = &request) code = MpiNative.MPI_Test(r, &flag, (MpiNative.Status*)1);   // MPI_STATUS_IGNORE
        }
        if (code != MpiNative.Success) { Unpin(); MpiNative.Check(code, description); }
        if (flag != 0) Finish();
        return completed;
    }

    /// <summary>
    /// Blocks until the operation has finished (Work.wait()). After <paramref name="timeout"/> (default: the group's
    /// <see cref="ProcessGroup.Timeout"/>) it throws <see cref="DistributedTimeoutException"/>: a peer rank has died or is
    /// stuck, and the group is marked unusable so the process can exit without hanging in MPI_Finalize.
    /// </summary>
    public void Wait(TimeSpan? timeout = null)
    {
        var limit = timeout ?? group.Timeout;
        long start = Stopwatch.GetTimestamp();
        for (int spins = 0; !IsCompleted(); spins++)
        {
            // MPI progresses only inside MPI calls (MPI_Test here), so poll without sleeping for the first 200 ms: a sleep
            // on either side stalls every chunk of a pipelined transfer. A wait that lasts longer backs off to 1 ms naps.
            var waited = Stopwatch.GetElapsedTime(start);
            if (spins < 64) Thread.SpinWait(16);
            else if (waited < TimeSpan.FromMilliseconds(200)) Thread.Yield();
            else Thread.Sleep(1);
            if ((spins & 15) == 0 && waited > limit)
            {
                group.MarkBroken();
                throw new DistributedTimeoutException(
                    $"{description} on rank {group.Rank} of {group.WorldSize} did not complete within {limit.TotalSeconds:0.#} s: " +
                    "another rank has probably died or is stuck (see its output); this process group can no longer be used");
            }
        }
    }

    /// <summary>Waits for every handle in turn (torch's pattern of waiting on a list of works).</summary>
    public static void WaitAll(IEnumerable<Work> works)
    {
        ArgumentNullException.ThrowIfNull(works);
        foreach (var w in works) w.Wait();
    }

    void Finish()
    {
        try { onComplete?.Invoke(); }
        finally { onComplete = null; Unpin(); completed = true; }
    }

    void Unpin()
    {
        foreach (var pin in pins) pin.Dispose();
        pins = [];
    }
}
