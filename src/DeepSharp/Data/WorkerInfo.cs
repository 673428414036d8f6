namespace DeepSharp.Data;

/// <summary>
/// Describes the batch being fetched on the current thread by a <see cref="DataLoader{TItem, TBatch}"/>
/// (torch.utils.data.get_worker_info()). Random transforms should draw from <see cref="Generator"/>: it is seeded from
/// the epoch's base seed and the batch index, so augmentations are the same for a fixed seed whatever
/// <c>numWorkers</c> is. While a batch is fetched, random ops given no generator (Tensor.Rand, ...) on that thread also
/// draw from it instead of the global generator.
/// </summary>
public sealed class WorkerInfo
{
    [ThreadStatic] static WorkerInfo? current;

    internal WorkerInfo(int id, int numWorkers, int batchIndex, long seed)
    {
        Id = id; NumWorkers = numWorkers; BatchIndex = batchIndex; Seed = seed; Generator = new Generator(seed);
    }

    /// <summary>The batch being fetched on this thread, or null outside a data loader's fetch (get_worker_info()).</summary>
    public static WorkerInfo? Current => current;

    /// <summary>Worker number, 0..NumWorkers-1; 0 when the loader fetches on the consumer thread (worker_info.id).</summary>
    public int Id { get; }

    /// <summary>The loader's number of workers; 0 means batches are fetched on the consumer thread (worker_info.num_workers).</summary>
    public int NumWorkers { get; }

    /// <summary>Index of the batch being fetched within the epoch.</summary>
    public int BatchIndex { get; }

    /// <summary>The seed of <see cref="Generator"/>, derived from the epoch's base seed and the batch index (worker_info.seed).</summary>
    public long Seed { get; }

    /// <summary>The generator random transforms should use for this batch.</summary>
    public Generator Generator { get; }

    internal static T Run<T>(WorkerInfo info, Func<T> fetch)
    {
        var previous = current;
        current = info;
        try
        {
            using (DeepSharp.Random.UseOnThisThread(info.Generator)) return fetch();
        }
        finally { current = previous; }
    }
}
