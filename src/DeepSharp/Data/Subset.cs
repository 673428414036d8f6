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

/// <summary>Several datasets one after another (torch.utils.data.ConcatDataset).</summary>
public sealed class ConcatDataset<T> : IDataset<T>
{
    readonly IDataset<T>[] datasets;
    readonly int[] cumulativeSizes;

    /// <summary>Concatenates <paramref name="datasets"/> (torch.utils.data.ConcatDataset(datasets)).</summary>
    public ConcatDataset(params IDataset<T>[] datasets)
    {
        ArgumentNullException.ThrowIfNull(datasets);
        if (datasets.Length == 0) throw new ArgumentException("ConcatDataset: at least one dataset is required", nameof(datasets));
        this.datasets = (IDataset<T>[])datasets.Clone();
        cumulativeSizes = new int[datasets.Length];
        long total = 0;
        for (int i = 0; i < datasets.Length; i++)
        {
            if (datasets[i] is null) throw new ArgumentNullException(nameof(datasets), $"ConcatDataset: dataset {i} is null");
            total += datasets[i].Count;
            if (total > int.MaxValue) throw new ArgumentException("ConcatDataset: more than int.MaxValue items in all", nameof(datasets));
            cumulativeSizes[i] = (int)total;
        }
    }

    /// <summary>The concatenated datasets (ConcatDataset.datasets).</summary>
    public IReadOnlyList<IDataset<T>> Datasets => datasets;

    /// <summary>Running totals of the dataset sizes (ConcatDataset.cumulative_sizes).</summary>
    public IReadOnlyList<int> CumulativeSizes => cumulativeSizes;

    /// <summary>Total number of items (len(concat)).</summary>
    public int Count => cumulativeSizes[^1];

    /// <summary>Item <paramref name="index"/> counted across all datasets (concat[index]).</summary>
    public T Get(int index)
    {
        Dataset.CheckIndex(index, Count, "ConcatDataset");
        int d = Array.BinarySearch(cumulativeSizes, index);
        d = d >= 0 ? d + 1 : ~d;          // first dataset whose cumulative size exceeds index
        while (cumulativeSizes[d] == index) d++;  // skip empty datasets
        int start = d == 0 ? 0 : cumulativeSizes[d - 1];
        return datasets[d].Get(index - start);
    }

    /// <summary>Item <paramref name="index"/> counted across all datasets (concat[index]).</summary>
    public T this[int index] => Get(index);
}
