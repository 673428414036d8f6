namespace DeepSharp.NN;

/// <summary>
/// A batch of variable-length sequences packed time step by time step (torch.nn.utils.rnn.PackedSequence).
/// <see cref="Data"/> holds, for t = 0, 1, …, the rows of the sequences still running at step t, in order of decreasing
/// length: (sum of lengths, *). <see cref="BatchSizes"/>[t] is how many sequences are running at step t. When the batch was
/// sorted by <see cref="RnnUtils.PackPaddedSequence(Tensor, Tensor, bool, bool)"/> (enforceSorted: false),
/// <see cref="SortedIndices"/>[p] is the original batch index of packed position p and <see cref="UnsortedIndices"/> its
/// inverse; both are null when the input was already sorted. Recurrent layers take and return packed sequences
/// directly; build them with <see cref="RnnUtils"/>.
/// </summary>
public sealed class PackedSequence
{
    readonly int[] batchSizes;

    /// <summary>The packed rows (PackedSequence.data), shape (sum of lengths, *).</summary>
    public Tensor Data { get; }

    /// <summary>Number of sequences running at each time step, a 1-D int64 tensor (PackedSequence.batch_sizes).</summary>
    public Tensor BatchSizes { get; }

    /// <summary>Original batch index of each packed position, or null when the batch was already sorted (PackedSequence.sorted_indices).</summary>
    public Tensor? SortedIndices { get; }

    /// <summary>Packed position of each original batch index, the inverse of <see cref="SortedIndices"/> (PackedSequence.unsorted_indices).</summary>
    public Tensor? UnsortedIndices { get; }

    /// <summary>
    /// Wraps already packed data (the PackedSequence constructor). <paramref name="batchSizes"/> must be a 1-D integer
    /// tensor of positive, non-increasing sizes summing to Data.Size(0); when <paramref name="sortedIndices"/> is given and
    /// <paramref name="unsortedIndices"/> is not, the inverse permutation is computed.
    /// </summary>
    public PackedSequence(Tensor data, Tensor batchSizes, Tensor? sortedIndices = null, Tensor? unsortedIndices = null)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(batchSizes);
        if (batchSizes.Rank != 1 || batchSizes.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"PackedSequence: batchSizes must be a 1-D int64 tensor, got {batchSizes.DType.TorchName()} of shape {ShapeUtil.Format(batchSizes.shape)}", nameof(batchSizes));
        if (data.Rank < 1) throw new ArgumentException("PackedSequence: data must have at least 1 dimension, got a scalar", nameof(data));
        var sizes = batchSizes.To(DType.Int64).ToArray<long>();
        if (sizes.Length == 0) throw new ArgumentException("PackedSequence: batchSizes is empty (no time steps)", nameof(batchSizes));
        long total = 0;
        for (int t = 0; t < sizes.Length; t++)
        {
            if (sizes[t] <= 0 || (t > 0 && sizes[t] > sizes[t - 1]))
                throw new ArgumentException($"PackedSequence: batchSizes must be positive and non-increasing, got [{string.Join(", ", sizes)}]", nameof(batchSizes));
            total += sizes[t];
        }
        if (total != data.shape[0])
            throw new ArgumentException($"PackedSequence: batchSizes sum to {total} but data has {data.shape[0]} rows (shape {ShapeUtil.Format(data.shape)})", nameof(batchSizes));
        this.batchSizes = sizes.Select(v => (int)v).ToArray();
        int batch = this.batchSizes[0];
        if (sortedIndices != null) CheckPermutation(sortedIndices, batch, nameof(sortedIndices));
        if (unsortedIndices != null) CheckPermutation(unsortedIndices, batch, nameof(unsortedIndices));
        Data = data;
        BatchSizes = batchSizes.DType == DType.Int64 ? batchSizes : batchSizes.To(DType.Int64);
        SortedIndices = sortedIndices;
        UnsortedIndices = unsortedIndices ?? (sortedIndices == null ? null : RnnUtils.InvertPermutation(sortedIndices));
    }

    static void CheckPermutation(Tensor p, int batch, string arg)
    {
        if (p.Rank != 1 || p.shape[0] != batch || p.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"PackedSequence: {arg} must be a 1-D int64 tensor of the batch size {batch}, got {p.DType.TorchName()} of shape {ShapeUtil.Format(p.shape)}", arg);
        var seen = new bool[batch];
        foreach (var v in p.To(DType.Int64).ToArray<long>())
        {
            if (v < 0 || v >= batch || seen[v]) throw new ArgumentException($"PackedSequence: {arg} is not a permutation of 0..{batch - 1}", arg);
            seen[v] = true;
        }
    }

    /// <summary>The batch sizes as integers (a copy).</summary>
    public int[] GetBatchSizes() => (int[])batchSizes.Clone();

    internal int[] BatchSizesArray => batchSizes;

    /// <summary>Number of sequences in the batch (batch_sizes[0]).</summary>
    public int BatchSize => batchSizes[0];

    /// <summary>Length of the longest sequence (len(batch_sizes)).</summary>
    public int MaxLength => batchSizes.Length;

    /// <summary>The same packing around other data, e.g. a layer's output (PackedSequence._replace(data=...)).</summary>
    public PackedSequence WithData(Tensor data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Rank < 1 || data.shape[0] != Data.shape[0])
            throw new ArgumentException($"PackedSequence.WithData: data must have {Data.shape[0]} rows, got shape {ShapeUtil.Format(data.shape)}", nameof(data));
        return new PackedSequence(data, BatchSizes, SortedIndices, UnsortedIndices, batchSizes);
    }

    PackedSequence(Tensor data, Tensor batchSizesTensor, Tensor? sorted, Tensor? unsorted, int[] sizes)
    {
        Data = data; BatchSizes = batchSizesTensor; SortedIndices = sorted; UnsortedIndices = unsorted; batchSizes = sizes;
    }

    internal static PackedSequence Create(Tensor data, int[] sizes, Tensor? sorted, Tensor? unsorted) =>
        new(data, Tensor.FromArray(sizes.Select(v => (long)v).ToArray(), sizes.Length), sorted, unsorted, sizes);

    /// <summary>Deconstructs into (data, batch sizes, sorted indices, unsorted indices), like unpacking the PyTorch namedtuple.</summary>
    public void Deconstruct(out Tensor data, out Tensor batchSizes, out Tensor? sortedIndices, out Tensor? unsortedIndices)
    {
        data = Data; batchSizes = BatchSizes; sortedIndices = SortedIndices; unsortedIndices = UnsortedIndices;
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"PackedSequence(data shape {ShapeUtil.Format(Data.shape)}, batch_sizes=[{string.Join(", ", batchSizes)}], sorted={SortedIndices == null})";
}
