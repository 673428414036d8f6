namespace DeepSharp.Data;

/// <summary>The items of <see cref="Dataset"/> at <see cref="Indices"/>, in that order (torch.utils.data.Subset).</summary>
public sealed class Subset<T> : IDataset<T>
{
    readonly int[] indices;

    /// <summary>Selects <paramref name="indices"/> of <paramref name="dataset"/> (torch.utils.data.Subset(dataset, indices)).</summary>
    public Subset(IDataset<T> dataset, IEnumerable<int> indices)
    {
        ArgumentNullException.ThrowIfNull(dataset); ArgumentNullException.ThrowIfNull(indices);
        Dataset = dataset;
        this.indices = indices.ToArray();
        foreach (int index in this.indices)
            if ((uint)index >= (uint)dataset.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"Subset: index {index} is out of range for a dataset of {dataset.Count} items");
    }

    /// <summary>The underlying dataset (Subset.dataset).</summary>
    public IDataset<T> Dataset { get; }

    /// <summary>The selected indices into <see cref="Dataset"/> (Subset.indices).</summary>
    public IReadOnlyList<int> Indices => indices;

    /// <summary>Number of selected items (len(subset)).</summary>
    public int Count => indices.Length;

    /// <summary>Item <paramref name="index"/> of the subset, i.e. item Indices[index] of the dataset (subset[index]).</summary>
    public T Get(int index)
    {
        Data.Dataset.CheckIndex(index, indices.Length, "Subset");
        return Dataset.Get(indices[index]);
    }

    /// <summary>Item <paramref name="index"/> of the subset (subset[index]).</summary>
    public T this[int index] => Get(index);

    internal int MapIndex(int index)
    {
        Data.Dataset.CheckIndex(index, indices.Length, "Subset");
        return indices[index];
    }
}
