using System.Collections;
using DeepSharp.Data;

namespace DeepSharp.Distributed;

/// <summary>
/// Gives each rank its own share of a dataset's indices (torch.utils.data.distributed.DistributedSampler): every epoch
/// the indices are shuffled with a generator seeded by seed + epoch (the same order on every rank), padded by repeating
/// the first ones until they divide evenly (or, with dropLast, cut to a multiple of the number of replicas), and rank r
/// takes positions r, r + N, r + 2N, ... Call <see cref="SetEpoch"/> before each epoch (or add
/// <see cref="SetEpochCallback"/> to the Trainer), or every epoch has the same order, as in PyTorch. The shuffle uses
/// DeepSharp's generator, so the order differs from PyTorch's while following the same rules.
/// </summary>
public sealed class DistributedSampler : ISampler
{
    readonly int datasetCount;
    readonly bool shuffle, dropLast;
    readonly long seed;

    /// <summary>
    /// A sampler over <paramref name="datasetCount"/> items (DistributedSampler(dataset, num_replicas=None, rank=None,
    /// shuffle=True, seed=0, drop_last=False)); numReplicas and rank default to the world group's.
    /// </summary>
    public DistributedSampler(int datasetCount, int? numReplicas = null, int? rank = null, bool shuffle = true, long seed = 0, bool dropLast = false)
    {
        if (datasetCount < 0) throw new ArgumentOutOfRangeException(nameof(datasetCount), $"DistributedSampler: datasetCount must be non-negative, got {datasetCount}");
        NumReplicas = numReplicas ?? ProcessGroup.World.WorldSize;
        Rank = rank ?? ProcessGroup.World.Rank;
        if (NumReplicas < 1) throw new ArgumentOutOfRangeException(nameof(numReplicas), $"DistributedSampler: numReplicas must be at least 1, got {NumReplicas}");
        if (Rank < 0 || Rank >= NumReplicas)
            throw new ArgumentOutOfRangeException(nameof(rank), $"DistributedSampler: invalid rank {Rank}, rank should be in the interval [0, {NumReplicas - 1}]");
        this.datasetCount = datasetCount; this.shuffle = shuffle; this.seed = seed; this.dropLast = dropLast;
        Count = dropLast && datasetCount % NumReplicas != 0
            ? (datasetCount - NumReplicas + NumReplicas - 1) / NumReplicas   // ceil((len - N) / N)
            : (datasetCount + NumReplicas - 1) / NumReplicas;                // ceil(len / N)
        if (Count < 0) Count = 0;
    }

    /// <summary>The number of ranks sharing the data (num_replicas).</summary>
    public int NumReplicas { get; }

    /// <summary>The rank whose share this sampler yields (rank).</summary>
    public int Rank { get; }

    /// <summary>The epoch whose order is yielded (set_epoch's argument).</summary>
    public int Epoch { get; private set; }

    /// <summary>The indices one epoch yields on this rank (num_samples).</summary>
    public int Count { get; }

    /// <summary>The indices of one epoch over all ranks (total_size).</summary>
    public int TotalSize => Count * NumReplicas;

    /// <summary>Selects the epoch whose shuffle the next enumeration uses (set_epoch).</summary>
    public void SetEpoch(int epoch) => Epoch = epoch;

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator()
    {
        var order = Order();
        for (int i = Rank; i < TotalSize; i += NumReplicas) yield return order[i];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>The whole epoch's order before subsampling: shuffled or not, padded or cut to <see cref="TotalSize"/>.</summary>
    int[] Order()
    {
        var indices = new int[datasetCount];
        for (int i = 0; i < indices.Length; i++) indices[i] = i;
        if (shuffle)
        {
            var g = new Generator(seed + Epoch);
            for (int i = indices.Length - 1; i > 0; i--)
            {
                int j = (int)g.NextInt64(0, i + 1);
                (indices[i], indices[j]) = (indices[j], indices[i]);
            }
        }
        var order = new int[TotalSize];
        for (int i = 0; i < order.Length; i++) order[i] = indices[i % Math.Max(1, datasetCount)];   // padding repeats from the start
        return order;
    }
}
