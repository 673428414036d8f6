namespace DeepSharp.Data;

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
