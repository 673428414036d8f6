using System.Diagnostics;
using System.Runtime.CompilerServices;

namespace DeepSharp.Kernels;

/// <summary>
/// Body of a <see cref="KernelThreadPool.ParallelFor{TBody}(int, ref TBody)"/> loop. Implement it on a struct
/// that carries the loop's inputs (pointers, sizes), so a parallel loop allocates nothing.
/// </summary>
public interface IParallelBody
{
    /// <summary>Runs iteration <paramref name="index"/> (0 ≤ index &lt; count). Iterations may run in any order on any thread.</summary>
    void Invoke(int index);
}

/// <summary>
/// A persistent pool of spinning worker threads for compute kernels (GEMM, convolution, elementwise ops).
/// A fork/join costs on the order of a microsecond while the workers are awake, against several microseconds
/// for <see cref="Parallel.For(int, int, Action{int})"/>. Workers spin for a short while after each loop and then
/// block, so an idle process does not burn CPU. The calling thread always takes part in the loop.
/// PyTorch equivalent: the intra-op thread pool behind <c>torch.set_num_threads</c> / <c>at::parallel_for</c>.
/// </summary>
/// <remarks>
/// Iterations are handed out dynamically (an atomic counter), so which thread runs an iteration varies between
/// runs. A kernel stays bitwise reproducible by making the work of each iteration a fixed function of its index
/// (every output element written by exactly one iteration, with a fixed summation order), as the GEMM does.
/// A loop started while the pool is busy (another thread's loop, or a nested loop inside a body) runs inline on
/// the calling thread, so nesting and concurrent callers are safe.
/// </remarks>
public static unsafe class KernelThreadPool
{
    const long SpinMicroseconds = 500;

    static readonly object ConfigLock = new();
    static Worker[] workers = [];
    static int threadCount = Math.Max(1, Environment.ProcessorCount);
    static int busy;

    // The loop being run. Written only by the thread that holds `busy`, before workers are released.
    static delegate*<void*, int, void> jobInvoke;
    static void* jobState;
    static int jobCount;
    static int jobNext;
    static int loopNumber;

    /// <summary>
    /// Number of threads a parallel loop uses, the caller included (PyTorch: <c>torch.get_num_threads()</c>).
    /// Defaults to <see cref="Environment.ProcessorCount"/>.
    /// </summary>
    public static int ThreadCount => Volatile.Read(ref threadCount);

    /// <summary>
    /// Sets the number of threads a parallel loop uses, the caller included (PyTorch: <c>torch.set_num_threads</c>).
    /// 1 runs every loop on the calling thread.
    /// </summary>
    public static void SetThreadCount(int count)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), count, "KernelThreadPool: thread count must be at least 1");
        lock (ConfigLock)
        {
            // Wait for a running loop to finish before the worker set changes.
            var spin = new SpinWait();
            while (Interlocked.CompareExchange(ref busy, 1, 0) != 0) spin.SpinOnce();
            try
            {
                StopWorkers();
                Volatile.Write(ref threadCount, count);
            }
            finally { Volatile.Write(ref busy, 0); }
        }
    }

    /// <summary>
    /// Runs <c>body.Invoke(i)</c> for every i in [0, count) on the pool's threads and returns when all are done.
    /// The struct is passed by reference and read in place by all threads; it must not be changed during the loop.
    /// PyTorch equivalent: <c>at::parallel_for</c>.
    /// </summary>
    public static void ParallelFor<TBody>(int count, ref TBody body) where TBody : struct, IParallelBody
    {
        if (count <= 0) return;
        if (count == 1 || ThreadCount == 1 || Interlocked.CompareExchange(ref busy, 1, 0) != 0)
        {
            for (int i = 0; i < count; i++) body.Invoke(i);
            return;
        }
        try
        {
            // `body` may live on the heap; copy it to this frame so its address is stable for the workers.
            TBody local = body;
            Run(&InvokeBody<TBody>, Unsafe.AsPointer(ref local), count);
        }
        finally { Volatile.Write(ref busy, 0); }
    }

    /// <summary>
    /// Convenience overload taking a delegate (may allocate a closure; kernels in hot paths should use the
    /// struct overload). PyTorch equivalent: <c>at::parallel_for</c>.
    /// </summary>
    public static void ParallelFor(int count, Action<int> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var wrapper = new ActionBody(body);
        ParallelFor(count, ref wrapper);
    }

    readonly struct ActionBody(Action<int> action) : IParallelBody
    {
        public void Invoke(int index) => action(index);
    }

    static void InvokeBody<TBody>(void* state, int index) where TBody : struct, IParallelBody
        => Unsafe.AsRef<TBody>(state).Invoke(index);

    static void Run(delegate*<void*, int, void> invoke, void* state, int count)
    {
        int participants = Math.Min(ThreadCount, count);
        var pool = EnsureWorkers();
        jobInvoke = invoke;
        jobState = state;
        jobCount = count;
        jobNext = 0;
        int helpers = Math.Min(participants - 1, pool.Length);
        loopNumber = loopNumber == int.MaxValue - 1 ? 1 : loopNumber + 1;
        int loop = loopNumber;
        for (int w = 0; w < helpers; w++) pool[w].Start(loop);
        Exception? error = null;
        try { RunIterations(); }
        catch (Exception e) { error = e; Volatile.Write(ref jobNext, int.MaxValue / 2); }
        for (int w = 0; w < helpers; w++)
        {
            var e = pool[w].Join(loop);
            error ??= e;
        }
        jobInvoke = null;
        jobState = null;
        if (error != null) throw new AggregateException("KernelThreadPool: a parallel loop body threw", error);
    }

    static void RunIterations()
    {
        var invoke = jobInvoke;
        var state = jobState;
        int count = jobCount;
        while (true)
        {
            int i = Interlocked.Increment(ref jobNext) - 1;
            if (i >= count) return;
            invoke(state, i);
        }
    }

    static Worker[] EnsureWorkers()
    {
        int needed = ThreadCount - 1;
        var pool = workers;
        if (pool.Length == needed) return pool;
        StopWorkers();
        pool = new Worker[needed];
        for (int i = 0; i < needed; i++) pool[i] = new Worker(i + 1);
        workers = pool;
        return pool;
    }

    static void StopWorkers()
    {
        foreach (var w in workers) w.Stop();
        workers = [];
    }

    /// <summary>
    /// A worker thread. The caller offers it each loop through <c>ticket</c> (a positive loop number); the worker
    /// takes the offer by negating it. If the caller runs out of iterations before the worker took the offer
    /// (the worker was descheduled by another process), the caller withdraws it and returns at once: the worker
    /// then never touches that loop. A taken loop is waited for, first spinning, then blocking.
    /// </summary>
    sealed class Worker
    {
        const int Spinning = 0, Sleeping = 1;
        readonly SemaphoreSlim wake = new(0);
        readonly SemaphoreSlim finished = new(0);
        readonly Thread thread;
        int ticket;          // > 0: loop offered; -loop: taken by the worker; 0: nothing offered
        int done;            // last loop the worker finished
        int sleepState;
        int callerWaiting;
        volatile bool stopping;
        Exception? error;

        public Worker(int index)
        {
            thread = new Thread(Loop) { IsBackground = true, Name = $"DeepSharp kernel worker {index}" };
            thread.UnsafeStart();   // no ExecutionContext: a persistent worker must not keep its creator's async-locals
        }

        public void Start(int loop)
        {
            error = null;
            Interlocked.Exchange(ref ticket, loop);
            if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) == Sleeping) wake.Release();
        }

        public Exception? Join(int loop)
        {
            if (Interlocked.CompareExchange(ref ticket, 0, loop) == loop) return null; // never taken: withdrawn
            // Spin briefly: the worker normally finishes within microseconds of the caller. If it was preempted
            // (another process on its core), block instead of spinning so the two do not fight for one core.
            for (int spin = 0; spin < 4000; spin++)
            {
                if (Volatile.Read(ref done) == loop) return error;
                Thread.SpinWait(8);
            }
            Interlocked.Exchange(ref callerWaiting, 1);
            if (Volatile.Read(ref done) == loop)
            {
                if (Interlocked.CompareExchange(ref callerWaiting, 0, 1) != 1) finished.Wait(); // consume the release
                return error;
            }
            finished.Wait();
            return error;
        }

        public void Stop()
        {
            stopping = true;
            Interlocked.Exchange(ref ticket, int.MaxValue);
            if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) == Sleeping) wake.Release();
            thread.Join();
        }

        void Loop()
        {
            while (true)
            {
                int loop = WaitForOffer();
                if (stopping) return;
                if (Interlocked.CompareExchange(ref ticket, -loop, loop) != loop) continue; // withdrawn meanwhile
                try { RunIterations(); }
                catch (Exception e) { error = e; Volatile.Write(ref jobNext, int.MaxValue / 2); }
                Volatile.Write(ref done, loop);
                if (Interlocked.CompareExchange(ref callerWaiting, 0, 1) == 1) finished.Release();
            }
        }

        int WaitForOffer()
        {
            long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            while (true)
            {
                for (int i = 0; i < 64; i++)
                {
                    int offer = Volatile.Read(ref ticket);
                    if (offer > 0) return offer;
                    Thread.SpinWait(4);
                }
                if (Stopwatch.GetTimestamp() < deadline) continue;
                // Announce sleep, then re-check so a Start() between the check and the wait is not lost.
                Interlocked.Exchange(ref sleepState, Sleeping);
                int pending = Volatile.Read(ref ticket);
                if (pending > 0)
                {
                    if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) != Sleeping) wake.Wait(); // consume the release
                    return pending;
                }
                wake.Wait();
                deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            }
        }
    }
}
