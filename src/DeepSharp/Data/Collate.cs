namespace DeepSharp.Data;

/// <summary>Collate functions: they merge a list of items into one batch (torch.utils.data.default_collate).</summary>
public static class Collate
{
    /// <summary>
    /// Stacks same-shaped tensors into one (B, ...) tensor (torch.stack(items) as default_collate does for tensors).
    /// </summary>
    public static Tensor Stack(IReadOnlyList<Tensor> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("Collate.Stack: cannot collate an empty batch", nameof(items));
        var first = items[0];
        for (int b = 1; b < items.Count; b++) CheckSame(first, items[b], b, null);
        return StackChecked(items.Count, b => items[b]);
    }

    /// <summary>
    /// Collates items that are tuples of tensors field by field: field j of the batch is the stack of field j of every
    /// item, of shape (B, ...) (default_collate on a list of tuples).
    /// </summary>
    public static Tensor[] StackFields(IReadOnlyList<Tensor[]> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0) throw new ArgumentException("Collate.StackFields: cannot collate an empty batch", nameof(items));
        int fields = items[0].Length;
        for (int b = 1; b < items.Count; b++)
            if (items[b].Length != fields)
                throw new ArgumentException($"Collate: item {b} of the batch has {items[b].Length} tensors but item 0 has {fields}", nameof(items));
        var batch = new Tensor[fields];
        for (int j = 0; j < fields; j++)
        {
            for (int b = 1; b < items.Count; b++) CheckSame(items[0][j], items[b][j], b, j);
            int field = j;
            batch[j] = StackChecked(items.Count, b => items[b][field]);
        }
        return batch;
    }

    static void CheckSame(Tensor first, Tensor other, int b, int? field)
    {
        string where = field is int f ? $"tensor {f} of item" : "item";
        if (other is null || first is null) throw new ArgumentException($"Collate: {where} {b} of the batch is null");
        if (!first.shape.AsSpan().SequenceEqual(other.shape))
            throw new ArgumentException($"Collate: {where} {b} has shape {ShapeUtil.Format(other.shape)} but {where} 0 has shape " +
                                        $"{ShapeUtil.Format(first.shape)}; items must have equal shapes to be stacked (use a custom collate function)");
        if (first.DType != other.DType)
            throw new ArgumentException($"Collate: {where} {b} has dtype {other.DType.TorchName()} but {where} 0 has {first.DType.TorchName()}");
    }

    static Tensor StackChecked(int count, Func<int, Tensor> item)
    {
        var first = item(0);
        var outShape = new int[first.Rank + 1];
        outShape[0] = count;
        first.shape.CopyTo(outShape, 1);
        var result = Tensor.AllocUninit(first.DType, outShape);
        int rowSize = first.NumEl;
        for (int b = 0; b < count; b++)
        {
            var source = item(b);
            switch (source.DType)
            {
                case DType.Float32: CopyRow<float>(source, result, b * rowSize); break;
                case DType.Float64: CopyRow<double>(source, result, b * rowSize); break;
                case DType.Int64: CopyRow<long>(source, result, b * rowSize); break;
                case DType.Int32: CopyRow<int>(source, result, b * rowSize); break;
                case DType.Bool: CopyRow<bool>(source, result, b * rowSize); break;
                case DType.Float16: CopyRow<Half>(source, result, b * rowSize); break;
                case DType.BFloat16: CopyRow<BFloat16>(source, result, b * rowSize); break;
                default: throw new NotSupportedException($"Collate: dtype {source.DType} is not supported");
            }
        }
        return result;
    }

    static void CopyRow<T>(Tensor source, Tensor destination, int destinationOffset)
    {
        if (source.IsContiguous)
            System.Array.Copy(source.Array<T>(), source.offset, destination.Array<T>(), destinationOffset, source.NumEl);
        else
            StridedCopy.Copy(source.Array<T>(), source.offset, source.strides, destination.Array<T>(), destinationOffset,
                             ShapeUtil.ContiguousStrides(source.shape), source.shape);
    }
}

/// <summary>
/// Deconstruction of a batch of tensors, so <c>foreach (var (xb, yb) in loader)</c> works on a loader that yields
/// <c>Tensor[]</c> (Python's tuple unpacking of a batch).
/// </summary>
public static class BatchExtensions
{
    /// <summary>Unpacks a batch of exactly two tensors, e.g. (inputs, targets).</summary>
    public static void Deconstruct(this Tensor[] batch, out Tensor first, out Tensor second)
    {
        CheckArity(batch, 2);
        first = batch[0]; second = batch[1];
    }

    /// <summary>Unpacks a batch of exactly three tensors.</summary>
    public static void Deconstruct(this Tensor[] batch, out Tensor first, out Tensor second, out Tensor third)
    {
        CheckArity(batch, 3);
        first = batch[0]; second = batch[1]; third = batch[2];
    }

    /// <summary>Unpacks a batch of exactly four tensors.</summary>
    public static void Deconstruct(this Tensor[] batch, out Tensor first, out Tensor second, out Tensor third, out Tensor fourth)
    {
        CheckArity(batch, 4);
        first = batch[0]; second = batch[1]; third = batch[2]; fourth = batch[3];
    }

    static void CheckArity(Tensor[] batch, int names)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Length != names)
            throw new ArgumentException($"Deconstruct: the batch has {batch.Length} tensors but {names} names were given", nameof(batch));
    }
}
