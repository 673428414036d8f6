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
        for (int w = 0; w < helpers; w++) pool[w].Start();
        Exception? error = null;
        try { RunIterations(); }
        catch (Exception e) { error = e; Volatile.Write(ref jobNext, int.MaxValue / 2); }
        for (int w = 0; w < helpers; w++)
        {
            var e = pool[w].Join();
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

    sealed class Worker
    {
        const int Spinning = 0, Sleeping = 1;
        readonly SemaphoreSlim wake = new(0);
        readonly SemaphoreSlim finished = new(0);
        int callerWaiting;
        readonly Thread thread;
        int startGeneration;   // bumped by the caller to hand this worker a loop
        int doneGeneration;    // set by the worker when it has finished that loop
        int sleepState;
        volatile bool stopping;
        Exception? error;

        public Worker(int index)
        {
            thread = new Thread(Loop) { IsBackground = true, Name = $"DeepSharp kernel worker {index}" };
            thread.Start();
        }

        public void Start()
        {
            error = null;
            Interlocked.Increment(ref startGeneration);
            if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) == Sleeping) wake.Release();
        }

        public Exception? Join()
        {
            int target = Volatile.Read(ref startGeneration);
            // Spin briefly: the worker normally finishes within microseconds of the caller. If it was preempted
            // (another process on its core), block instead of spinning so the two do not fight for one core.
            for (int spin = 0; spin < 4000; spin++)
            {
                if (Volatile.Read(ref doneGeneration) == target) return error;
                Thread.SpinWait(8);
            }
            while (true)
            {
                Interlocked.Exchange(ref callerWaiting, 1);
                if (Volatile.Read(ref doneGeneration) == target)
                {
                    if (Interlocked.CompareExchange(ref callerWaiting, 0, 1) != 1) finished.Wait(); // consume the release
                    return error;
                }
                finished.Wait();
                if (Volatile.Read(ref doneGeneration) == target) return error;
            }
        }

        public void Stop()
        {
            stopping = true;
            Interlocked.Increment(ref startGeneration);
            if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) == Sleeping) wake.Release();
            thread.Join();
        }

        void Loop()
        {
            int seen = 0;
            while (true)
            {
                seen = WaitForWork(seen);
                if (stopping) return;
                try { RunIterations(); }
                catch (Exception e) { error = e; Volatile.Write(ref jobNext, int.MaxValue / 2); }
                Volatile.Write(ref doneGeneration, seen);
                if (Interlocked.CompareExchange(ref callerWaiting, 0, 1) == 1) finished.Release();
            }
        }

        int WaitForWork(int seen)
        {
            long deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            while (true)
            {
                for (int i = 0; i < 64; i++)
                {
                    int g = Volatile.Read(ref startGeneration);
                    if (g != seen) return g;
                    Thread.SpinWait(4);
                }
                if (Stopwatch.GetTimestamp() < deadline) continue;
                // Announce sleep, then re-check so a Start() between the check and the wait is not lost.
                Interlocked.Exchange(ref sleepState, Sleeping);
                int gen = Volatile.Read(ref startGeneration);
                if (gen != seen)
                {
                    if (Interlocked.CompareExchange(ref sleepState, Spinning, Sleeping) != Sleeping) wake.Wait(); // consume the release
                    return gen;
                }
                wake.Wait();
                deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * SpinMicroseconds / 1_000_000;
            }
        }
    }
}
