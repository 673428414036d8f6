using System.Collections;
using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace DeepSharp.Data;

/// <summary>
/// Iterates over a dataset in batches (torch.utils.data.DataLoader): a sampler picks the indices of each batch, the
/// items are fetched and merged by a collate function. With <c>numWorkers</c> &gt; 0 the next batches are prepared on
/// background threads while the consumer works; the order of batches is the same for any number of workers, and an
/// exception thrown while fetching batch k is rethrown (the same exception object) when the consumer reaches batch k.
/// Enumerating again starts a new epoch, reshuffled when <c>shuffle</c> is set. <see cref="Count"/> is the number of batches.
/// </summary>
/// <typeparam name="TItem">Type of a dataset item.</typeparam>
/// <typeparam name="TBatch">Type of a collated batch.</typeparam>
public class DataLoader<TItem, TBatch> : IEnumerable<TBatch>
{
    readonly Func<int[], TBatch> fetchBatch;
    readonly Generator? generator;

    /// <summary>
    /// A loader over <paramref name="dataset"/> whose batches are built by <paramref name="collate"/>
    /// (DataLoader(dataset, batch_size, shuffle, sampler, batch_sampler, num_workers, collate_fn, drop_last,
    /// generator=, prefetch_factor=)). <paramref name="sampler"/> and <paramref name="shuffle"/> exclude each other;
    /// <paramref name="batchSampler"/> excludes batchSize, shuffle, sampler and dropLast. Random choices (shuffle order,
    /// per-batch seeds) come from <paramref name="generator"/>, or from the global generator when null.
    /// </summary>
    public DataLoader(IDataset<TItem> dataset, Func<IReadOnlyList<TItem>, TBatch> collate, int batchSize = 1, bool shuffle = false,
                      ISampler? sampler = null, IBatchSampler? batchSampler = null, bool dropLast = false, int numWorkers = 0,
                      int prefetchFactor = 2, Generator? generator = null)
        : this(dataset, batchSize, shuffle, sampler, batchSampler, dropLast, numWorkers, prefetchFactor, generator,
               CollateFetch(dataset, collate))
    {
    }

    /// <summary>For subclasses that fetch whole batches themselves (e.g. the tensor fast path).</summary>
    private protected DataLoader(IDataset<TItem> dataset, int batchSize, bool shuffle, ISampler? sampler, IBatchSampler? batchSampler,
                                 bool dropLast, int numWorkers, int prefetchFactor, Generator? generator, Func<int[], TBatch> fetchBatch)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"DataLoader: batchSize must be positive, got {batchSize}");
        if (numWorkers < 0) throw new ArgumentOutOfRangeException(nameof(numWorkers), $"DataLoader: numWorkers must be non-negative, got {numWorkers}");
        if (prefetchFactor <= 0) throw new ArgumentOutOfRangeException(nameof(prefetchFactor), $"DataLoader: prefetchFactor must be positive, got {prefetchFactor}");
        if (sampler != null && shuffle) throw new ArgumentException("DataLoader: sampler and shuffle are mutually exclusive (shuffle with a RandomSampler instead)", nameof(shuffle));
        if (batchSampler != null && (batchSize != 1 || shuffle || sampler != null || dropLast))
            throw new ArgumentException("DataLoader: batchSampler is mutually exclusive with batchSize, shuffle, sampler and dropLast", nameof(batchSampler));
        Dataset = dataset;
        this.fetchBatch = fetchBatch;
        this.generator = generator;
        NumWorkers = numWorkers;
        PrefetchFactor = prefetchFactor;
        if (batchSampler != null)
        {
            BatchSampler = batchSampler;
            BatchSize = null;
        }
        else
        {
            Sampler = sampler ?? (shuffle ? new RandomSampler(dataset.Count, generator: generator) : new SequentialSampler(dataset.Count));
            BatchSampler = new BatchSampler(Sampler, batchSize, dropLast);
            BatchSize = batchSize;
        }
        DropLast = dropLast;
    }

    static Func<int[], TBatch> CollateFetch(IDataset<TItem> dataset, Func<IReadOnlyList<TItem>, TBatch> collate)
    {
        ArgumentNullException.ThrowIfNull(dataset); ArgumentNullException.ThrowIfNull(collate);
        return indices =>
        {
            var items = new TItem[indices.Length];
            for (int i = 0; i < indices.Length; i++) items[i] = dataset.Get(indices[i]);
            return collate(items);
        };
    }

    /// <summary>The dataset (DataLoader.dataset).</summary>
    public IDataset<TItem> Dataset { get; }

    /// <summary>Items per batch, or null when a custom batch sampler was given (DataLoader.batch_size).</summary>
    public int? BatchSize { get; }

    /// <summary>Whether a final short batch is dropped (DataLoader.drop_last).</summary>
    public bool DropLast { get; }

    /// <summary>Number of background worker threads; 0 fetches on the consumer thread (DataLoader.num_workers).</summary>
    public int NumWorkers { get; }

    /// <summary>Batches each worker prepares ahead (DataLoader.prefetch_factor).</summary>
    public int PrefetchFactor { get; }

    /// <summary>The index sampler, or null when a custom batch sampler was given (DataLoader.sampler).</summary>
    public ISampler? Sampler { get; }

    /// <summary>The batch sampler (DataLoader.batch_sampler).</summary>
    public IBatchSampler BatchSampler { get; }

    /// <summary>Number of batches per epoch (len(loader)).</summary>
    public int Count => BatchSampler.Count;

    /// <summary>The generator that shuffles and seeds the batches, or null for the global one (DataLoader.generator).</summary>
    public Generator? Generator => generator;

    /// <summary>Starts an epoch (iter(loader)): draws the epoch's indices and base seed, then yields batches in order.</summary>
    public IEnumerator<TBatch> GetEnumerator() => GetEnumerator(startBatch: 0);

    /// <summary>
    /// Starts an epoch as <see cref="GetEnumerator()"/> does (the same random draws) but yields its batches from
    /// <paramref name="startBatch"/> on without fetching the ones before: the batches are those the full epoch would give
    /// from that point, so a run resumed in the middle of an epoch sees the same data (torchdata's StatefulDataLoader
    /// resumes this way).
    /// </summary>
    public IEnumerator<TBatch> GetEnumerator(int startBatch)
    {
        var batches = BatchSampler.ToArray();
        if (startBatch < 0 || startBatch > batches.Length)
            throw new ArgumentOutOfRangeException(nameof(startBatch), $"DataLoader: startBatch must be in [0, {batches.Length}] (the batches of an epoch), got {startBatch}");
        long baseSeed = generator != null ? (long)generator.NextUInt64() : DeepSharp.Random.NextSeed();
        return NumWorkers == 0 ? Serial(batches, startBatch, baseSeed) : new ParallelEpoch(this, batches, startBatch, baseSeed);
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    IEnumerator<TBatch> Serial(int[][] batches, int startBatch, long baseSeed)
    {
        for (int k = startBatch; k < batches.Length; k++) yield return Fetch(batches, k, baseSeed, workerId: 0);
    }

    TBatch Fetch(int[][] batches, int k, long baseSeed, int workerId)
    {
        var info = new WorkerInfo(workerId, NumWorkers, k, BatchSeed(baseSeed, k));
        return WorkerInfo.Run(info, () => fetchBatch(batches[k]));
    }

    /// <summary>Mixes the epoch's base seed with a batch index (SplitMix64 finaliser) into that batch's seed.</summary>
    internal static long BatchSeed(long baseSeed, int batchIndex)
    {
        ulong z = (ulong)baseSeed + 0x9E3779B97F4A7C15UL * (ulong)(batchIndex + 1);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)(z ^ (z >> 31));
    }

    /// <summary>
    /// One epoch with background workers. Worker w fetches batches s + w, s + w + N, ... (s: the start batch) into its own
    /// bounded queue (PrefetchFactor deep); the consumer takes batch k from queue (k − s) mod N, so order never depends on timing.
    /// </summary>
    sealed class ParallelEpoch : IEnumerator<TBatch>
    {
        readonly record struct Result(TBatch? Batch, ExceptionDispatchInfo? Error);

        readonly BlockingCollection<Result>[] queues;
        readonly CancellationTokenSource cancellation = new();
        readonly int batchCount, startBatch;
        int next;
        bool disposed;

        public ParallelEpoch(DataLoader<TItem, TBatch> loader, int[][] batches, int startBatch, long baseSeed)
        {
            batchCount = batches.Length;
            this.startBatch = next = startBatch;
            int workers = Math.Min(loader.NumWorkers, Math.Max(1, batches.Length - startBatch));
            queues = new BlockingCollection<Result>[workers];
            for (int w = 0; w < workers; w++) queues[w] = new BlockingCollection<Result>(loader.PrefetchFactor);
            var token = cancellation.Token;
            for (int w = 0; w < workers; w++)
            {
                int workerId = w;
                var workerQueues = queues;   // the thread must not capture `this`, so an abandoned epoch can be finalized
                var thread = new Thread(() => Work(loader, batches, startBatch, baseSeed, workerId, workers, workerQueues, token))
                {
                    IsBackground = true, Name = $"DataLoader worker {workerId}",
                };
                thread.Start();
            }
        }

        static void Work(DataLoader<TItem, TBatch> loader, int[][] batches, int startBatch, long baseSeed, int workerId, int workers,
                         BlockingCollection<Result>[] queues, CancellationToken token)
        {
            try
            {
                for (int k = startBatch + workerId; k < batches.Length && !token.IsCancellationRequested; k += workers)
                {
                    Result result;
                    try { result = new Result(loader.Fetch(batches, k, baseSeed, workerId), null); }
                    catch (Exception e) { result = new Result(default, ExceptionDispatchInfo.Capture(e)); }
                    queues[workerId].Add(result, token);
                    if (result.Error != null) return;   // the consumer stops at this batch
                }
            }
            catch (OperationCanceledException) { }  // the consumer stopped early
        }

        public TBatch Current { get; private set; } = default!;
        object? IEnumerator.Current => Current;

        public bool MoveNext()
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            if (next >= batchCount) { Current = default!; return false; }
            var result = queues[(next - startBatch) % queues.Length].Take();
            next++;
            if (result.Error != null)
            {
                Dispose();
                result.Error.Throw();
            }
            Current = result.Batch!;
            return true;
        }

        public void Reset() => throw new NotSupportedException("DataLoader: an epoch cannot be reset; enumerate the loader again");

        public void Dispose()
        {
            if (disposed) return;
            disposed = true;
            cancellation.Cancel();   // workers blocked on a full queue stop; queues are left to the GC
            GC.SuppressFinalize(this);
        }

        /// <summary>An epoch enumerated by hand and dropped without Dispose still stops its workers.</summary>
        ~ParallelEpoch() => cancellation.Cancel();
    }
}

/// <summary>
/// The usual loader for tensor datasets (torch.utils.data.DataLoader with default_collate): items are
/// <c>Tensor[]</c> and each batch is a <c>Tensor[]</c> of (B, ...) tensors, so <c>foreach (var (xb, yb) in loader)</c>
/// works. A <see cref="TensorDataset"/> (or a <see cref="Subset{T}"/> of one) is gathered a whole batch at a time.
/// </summary>
public sealed class DataLoader : DataLoader<Tensor[], Tensor[]>
{
    /// <summary>
    /// A loader over <paramref name="dataset"/> (DataLoader(dataset, batch_size=1, shuffle=False, sampler=None,
    /// batch_sampler=None, num_workers=0, collate_fn=None, drop_last=False, generator=None, prefetch_factor=2)).
    /// With no <paramref name="collate"/>, field j of each batch is the stack of field j of its items.
    /// </summary>
    public DataLoader(IDataset<Tensor[]> dataset, int batchSize = 1, bool shuffle = false, ISampler? sampler = null,
                      IBatchSampler? batchSampler = null, bool dropLast = false, Func<IReadOnlyList<Tensor[]>, Tensor[]>? collate = null,
                      int numWorkers = 0, int prefetchFactor = 2, Generator? generator = null)
        : base(dataset, batchSize, shuffle, sampler, batchSampler, dropLast, numWorkers, prefetchFactor, generator, DefaultFetch(dataset, collate))
    {
    }

    static Func<int[], Tensor[]> DefaultFetch(IDataset<Tensor[]> dataset, Func<IReadOnlyList<Tensor[]>, Tensor[]>? collate)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (collate == null && BatchSource(dataset) is { } fast) return fast;
        collate ??= Collate.StackFields;
        return indices =>
        {
            var items = new Tensor[indices.Length][];
            for (int i = 0; i < indices.Length; i++) items[i] = dataset.Get(indices[i]);
            return collate(items);
        };
    }

    /// <summary>A whole-batch fetch for an <see cref="IBatchDataset"/>, seen through any chain of subsets; null otherwise.</summary>
    static Func<int[], Tensor[]>? BatchSource(IDataset<Tensor[]> dataset)
    {
        if (dataset is IBatchDataset direct) return indices => direct.GetBatch(indices);
        if (dataset is Subset<Tensor[]> subset && BatchSource(subset.Dataset) is { } inner)
            return indices =>
            {
                var mapped = new int[indices.Length];
                for (int i = 0; i < indices.Length; i++) mapped[i] = subset.MapIndex(indices[i]);
                return inner(mapped);
            };
        return null;
    }
}
