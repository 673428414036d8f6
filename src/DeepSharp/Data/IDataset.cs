namespace DeepSharp.Data;

/// <summary>
/// A map-style dataset: <see cref="Count"/> items addressed by index 0..Count-1
/// (torch.utils.data.Dataset with __len__ and __getitem__).
/// </summary>
/// <typeparam name="T">The item type, e.g. <c>Tensor[]</c> for (input, target) pairs.</typeparam>
public interface IDataset<out T>
{
    /// <summary>Number of items (len(dataset)).</summary>
    int Count { get; }

    /// <summary>The item at <paramref name="index"/> (dataset[index]); throws ArgumentOutOfRangeException outside 0..Count-1.</summary>
    T Get(int index);
}

/// <summary>
/// A tensor dataset that can fetch a whole batch at once, already collated into (B, ...) tensors, faster than
/// fetching items one by one. <see cref="DataLoader"/> uses it when no custom collate function is given.
/// (PyTorch has no such interface; it is the analogue of a dataset with __getitems__.)
/// </summary>
public interface IBatchDataset : IDataset<Tensor[]>
{
    /// <summary>The items at <paramref name="indices"/> stacked along a new first dimension (dataset.__getitems__ + default_collate).</summary>
    Tensor[] GetBatch(ReadOnlySpan<int> indices);
}

/// <summary>Helpers that build, transform and split datasets (torch.utils.data.random_split and friends).</summary>
public static partial class Dataset
{
    /// <summary>A dataset of <paramref name="count"/> items computed by <paramref name="get"/> on demand.</summary>
    public static IDataset<T> From<T>(int count, Func<int, T> get)
    {
        ArgumentNullException.ThrowIfNull(get);
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"Dataset.From: count must be non-negative, got {count}");
        return new FuncDataset<T>(count, get);
    }

    /// <summary>
    /// A dataset whose items are <paramref name="transform"/> applied to the items of <paramref name="dataset"/>, lazily on
    /// each access (like a torchvision dataset's transform= argument).
    /// </summary>
    public static IDataset<TOut> Map<TIn, TOut>(this IDataset<TIn> dataset, Func<TIn, TOut> transform)
    {
        ArgumentNullException.ThrowIfNull(dataset); ArgumentNullException.ThrowIfNull(transform);
        return new FuncDataset<TOut>(dataset.Count, i => transform(dataset.Get(i)));
    }

    /// <summary>
    /// Like <see cref="Map{TIn, TOut}(IDataset{TIn}, Func{TIn, TOut})"/> for a random transform: it is given the
    /// generator of the batch being fetched (<see cref="WorkerInfo.Generator"/>), so augmentations are reproducible for
    /// a fixed seed whatever the number of loader workers; outside a loader it gets a generator seeded from the global one.
    /// </summary>
    public static IDataset<TOut> Map<TIn, TOut>(this IDataset<TIn> dataset, Func<TIn, Generator, TOut> transform)
    {
        ArgumentNullException.ThrowIfNull(dataset); ArgumentNullException.ThrowIfNull(transform);
        return new FuncDataset<TOut>(dataset.Count, i =>
            transform(dataset.Get(i), WorkerInfo.Current?.Generator ?? new Generator(DeepSharp.Random.NextSeed())));
    }

    internal static void CheckIndex(int index, int count, string op)
    {
        if ((uint)index >= (uint)count)
            throw new ArgumentOutOfRangeException(nameof(index), $"{op}: index {index} is out of range for a dataset of {count} items");
    }

    sealed class FuncDataset<T>(int count, Func<int, T> get) : IDataset<T>
    {
        public int Count => count;
        public T Get(int index) { CheckIndex(index, count, "Dataset"); return get(index); }
    }
}
