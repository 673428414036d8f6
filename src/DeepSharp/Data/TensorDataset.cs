namespace DeepSharp.Data;

/// <summary>
/// A dataset wrapping tensors that share their first dimension; item i is the i-th row of each
/// (torch.utils.data.TensorDataset). Whole batches are gathered with contiguous row copies (<see cref="GetBatch"/>),
/// which is what <see cref="DataLoader"/> uses. The tensors are treated as data: no gradient flows into them.
/// </summary>
public sealed class TensorDataset : IBatchDataset
{
    readonly Tensor[] tensors;

    /// <summary>Wraps <paramref name="tensors"/> (each of shape (N, ...)) (torch.utils.data.TensorDataset(*tensors)).</summary>
    public TensorDataset(params Tensor[] tensors)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Length == 0) throw new ArgumentException("TensorDataset: at least one tensor is required", nameof(tensors));
        for (int i = 0; i < tensors.Length; i++)
        {
            if (tensors[i] is null) throw new ArgumentNullException(nameof(tensors), $"TensorDataset: tensor {i} is null");
            if (tensors[i].Rank == 0) throw new ArgumentException($"TensorDataset: tensor {i} is a scalar (shape ()); every tensor needs a first dimension", nameof(tensors));
            if (tensors[i].shape[0] != tensors[0].shape[0])
                throw new ArgumentException($"TensorDataset: size mismatch between tensors: tensor 0 has shape {ShapeUtil.Format(tensors[0].shape)} " +
                                            $"but tensor {i} has shape {ShapeUtil.Format(tensors[i].shape)} (first dimensions must agree)", nameof(tensors));
        }
        this.tensors = new Tensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++)
            this.tensors[i] = tensors[i].IsContiguous ? tensors[i].Detach() : Tensor.CopyToContiguous(tensors[i]);
        Count = tensors[0].shape[0];
    }

    /// <summary>The wrapped tensors (TensorDataset.tensors), contiguous.</summary>
    public IReadOnlyList<Tensor> Tensors => tensors;

    /// <summary>Number of rows N (len(dataset)).</summary>
    public int Count { get; }

    /// <summary>Row <paramref name="index"/> of each tensor, as views (dataset[index]).</summary>
    public Tensor[] Get(int index)
    {
        Dataset.CheckIndex(index, Count, "TensorDataset");
        var item = new Tensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++) item[i] = tensors[i].Select(0, index);
        return item;
    }

    /// <summary>Row <paramref name="index"/> of each tensor (dataset[index]).</summary>
    public Tensor[] this[int index] => Get(index);

    /// <summary>
    /// Rows <paramref name="indices"/> of each tensor gathered into fresh contiguous (B, ...) tensors
    /// (dataset[indices] with an index tensor). Runs of consecutive indices are copied as one block.
    /// </summary>
    public Tensor[] GetBatch(ReadOnlySpan<int> indices)
    {
        foreach (int index in indices) Dataset.CheckIndex(index, Count, "TensorDataset.GetBatch");
        var batch = new Tensor[tensors.Length];
        for (int i = 0; i < tensors.Length; i++) batch[i] = Gather(tensors[i], indices);
        return batch;
    }

    /// <summary>Gathers rows of a contiguous tensor (no bounds checks beyond the array's own).</summary>
    internal static Tensor Gather(Tensor source, ReadOnlySpan<int> indices)
    {
        var outShape = ShapeUtil.Copy(source.shape);
        outShape[0] = indices.Length;
        var result = Tensor.AllocUninit(source.DType, outShape);
        int rowSize = source.shape[0] == 0 ? 0 : source.NumEl / source.shape[0];
        switch (source.DType)
        {
            case DType.Float32: GatherRows(source.Array<float>(), source.offset, rowSize, indices, result.Array<float>()); break;
            case DType.Float64: GatherRows(source.Array<double>(), source.offset, rowSize, indices, result.Array<double>()); break;
            case DType.Int64: GatherRows(source.Array<long>(), source.offset, rowSize, indices, result.Array<long>()); break;
            case DType.Int32: GatherRows(source.Array<int>(), source.offset, rowSize, indices, result.Array<int>()); break;
            case DType.Bool: GatherRows(source.Array<bool>(), source.offset, rowSize, indices, result.Array<bool>()); break;
            case DType.Float16: GatherRows(source.Array<Half>(), source.offset, rowSize, indices, result.Array<Half>()); break;
            case DType.BFloat16: GatherRows(source.Array<BFloat16>(), source.offset, rowSize, indices, result.Array<BFloat16>()); break;
            default: throw new NotSupportedException($"TensorDataset: dtype {source.DType} is not supported");
        }
        return result;
    }

    static void GatherRows<T>(T[] source, int sourceOffset, int rowSize, ReadOnlySpan<int> indices, T[] destination)
    {
        if (rowSize == 0) return;
        if (rowSize == 1)
        {
            for (int b = 0; b < indices.Length; b++) destination[b] = source[sourceOffset + indices[b]];
            return;
        }
        int start = 0;
        while (start < indices.Length)
        {
            int end = start + 1;   // extend the run of consecutive indices
            while (end < indices.Length && indices[end] == indices[end - 1] + 1) end++;
            System.Array.Copy(source, sourceOffset + (long)indices[start] * rowSize, destination, (long)start * rowSize, (long)(end - start) * rowSize);
            start = end;
        }
    }
}
