namespace DeepSharp;

// The C# subscript x[...]: PyTorch's basic indexing (ints, slices, ..., None) as views, plus one advanced
// (int or bool tensor) index per subscript. The getter is differentiable through Select/Slice/IndexSelect.
public sealed partial class Tensor
{
    /// <summary>
    /// PyTorch-style subscript (torch.Tensor.__getitem__ / __setitem__): <c>x[0]</c>, <c>x[.., 1..3]</c>, <c>x[^1, ..]</c>,
    /// <c>x[TensorIndex.Ellipsis, 0]</c>, <c>x[TensorIndex.Slice(0, null, 2)]</c>, <c>x[TensorIndex.NewAxis]</c>,
    /// <c>x[indexTensor]</c>, <c>x[mask]</c>. Integers, ranges, slices, ellipsis and new axes give views; one int64/int32
    /// or bool tensor per subscript is allowed (advanced indexing, which copies). Setting copies <c>value</c>
    /// (broadcast, converted to this dtype) into the selected elements, under the same rules as other in-place ops.
    /// </summary>
    [System.Runtime.CompilerServices.IndexerName("Subscript")] // the default name "Item" is taken by Item()
    public Tensor this[params TensorIndex[] indices]
    {
        get => IndexGet(indices);
        set => IndexSet(indices, value);
    }

    Tensor IndexGet(TensorIndex[] indices)
    {
        var view = BasicIndex(indices, out int advDim, out var advanced);
        if (advanced is not { } adv) return view;
        var index = adv.TensorValue!;
        if (index.DType == DType.Bool)
        {
            int k = index.Rank;
            var flat = TrueIndices(index, index.shape);
            var merged = k == 1 ? view : view.Flatten(advDim, advDim + k - 1);
            return merged.IndexSelect(advDim, flat);
        }
        var values = WrappedIndexValues(index, view.shape[advDim], advDim);
        if (index.Rank == 0) return view.Select(advDim, (int)values.Array<long>()[0]);
        var picked = view.IndexSelect(advDim, values.Reshape(-1));
        return index.Rank == 1 ? picked : picked.Unflatten(advDim, index.shape);
    }

    void IndexSet(TensorIndex[] indices, Tensor value)
    {
        ArgumentNullException.ThrowIfNull(value);
        CheckInPlace("Index set");
        CheckInPlaceOperand(value, "Index set");
        using var noGrad = Autograd.NoGrad();
        var view = BasicIndex(indices, out int p, out var advanced);
        if (advanced is not { } adv) { view.CopyFrom(value); return; }
        var index = adv.TensorValue!;
        var src = value.DType == DType ? value : value.To(DType);
        if (index.DType == DType.Bool)
        {
            int k = index.Rank;
            if (src.NumEl == 1)
            {
                // x[mask] = scalar: fill in place through a mask aligned with dims p..p+k-1 of the view
                var aligned = index.Reshape([.. index.shape, .. Enumerable.Repeat(1, view.Rank - p - k)]);
                view.MaskedFillInPlace(aligned, src.Item());
                return;
            }
            var flat = TrueIndices(index, index.shape).Array<long>();
            int[] targetShape = [.. view.shape[..p], flat.Length, .. view.shape[(p + k)..]];
            var expanded = ExpandForSet(src, targetShape);
            var coords = new int[k];
            for (int j = 0; j < flat.Length; j++)
            {
                long rem = flat[j];
                for (int c = k - 1; c >= 0; c--) { coords[c] = (int)(rem % index.shape[c]); rem /= index.shape[c]; }
                var dst = view;
                foreach (var c in coords) dst = dst.Select(p, c);
                dst.CopyFrom(expanded.Select(p, j));
            }
            return;
        }
        var values = WrappedIndexValues(index, view.shape[p], p).Array<long>();
        if (index.Rank == 0) { view.Select(p, (int)values[0]).CopyFrom(src); return; }
        int[] shapeWithIndex = [.. view.shape[..p], .. index.shape, .. view.shape[(p + 1)..]];
        var flatValue = ExpandForSet(src, shapeWithIndex);
        if (index.Rank > 1) flatValue = flatValue.Flatten(p, p + index.Rank - 1);
        for (int j = 0; j < values.Length; j++) view.Select(p, (int)values[j]).CopyFrom(flatValue.Select(p, j));
    }

    static Tensor ExpandForSet(Tensor value, int[] target)
    {
        try { return ShapeUtil.SameShape(value.shape, target) ? value : value.Expand(target); }
        catch (ArgumentException)
        {
            throw new ArgumentException($"Index set: a value of shape {ShapeUtil.Format(value.shape)} cannot be broadcast to the indexed shape {ShapeUtil.Format(target)}", nameof(value));
        }
    }

    /// <summary>An index tensor's values as a dense int64 tensor with negatives wrapped, range-checked against <paramref name="size"/>.</summary>
    static Tensor WrappedIndexValues(Tensor index, int size, int dim)
    {
        var raw = IndexUtil.Values(index, "Index", "index", out int start);
        var values = new long[index.NumEl];
        for (int i = 0; i < values.Length; i++)
        {
            long v = raw[start + i];
            if (v < -size || v >= size)
                throw new IndexOutOfRangeException($"Index: index {v} is out of bounds for dimension {dim} with size {size}");
            values[i] = v < 0 ? v + size : v;
        }
        return new Tensor(new Storage(values, DType.Int64), index.shape);
    }

    /// <summary>
    /// Applies the basic part of a subscript (ints, slices, ellipsis, new axes) and returns the view. An advanced (tensor)
    /// entry is left in place as full slices; its first dimension in the returned view is <paramref name="advancedDim"/>.
    /// </summary>
    Tensor BasicIndex(TensorIndex[] indices, out int advancedDim, out TensorIndex? advanced)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int consumed = 0, ellipses = 0, tensors = 0;
        foreach (var ix in indices)
            switch (ix.Kind)
            {
                case TensorIndex.IndexKind.Select or TensorIndex.IndexKind.Slice: consumed++; break;
                case TensorIndex.IndexKind.Ellipsis: ellipses++; break;
                case TensorIndex.IndexKind.Tensor:
                    tensors++;
                    var t = ix.TensorValue!;
                    if (t.DType == DType.Bool)
                    {
                        if (t.Rank == 0) throw new NotSupportedException("Index: a 0-dimensional bool index is not supported");
                        consumed += t.Rank;
                    }
                    else if (t.DType is DType.Int64 or DType.Int32) consumed++;
                    else throw new ArgumentException($"Index: tensors used as indices must be int64, int32 or bool, got {t.DType.TorchName()}");
                    break;
            }
        string Subscript() => "[" + string.Join(", ", indices.Select(i => i.ToString())) + "]";
        if (ellipses > 1) throw new ArgumentException($"Index: an index can only have a single ellipsis (...), got {Subscript()}");
        if (tensors > 1) throw new NotSupportedException($"Index: only one tensor index per subscript is supported, got {Subscript()}; apply them one after another or use Gather");
        if (consumed > Rank) throw new IndexOutOfRangeException($"Index: too many indices for a tensor of rank {Rank} (shape {ShapeUtil.Format(shape)}): {Subscript()}");

        var result = this;
        int dim = 0, original = 0;
        advancedDim = -1; advanced = null;
        foreach (var ix in indices)
        {
            switch (ix.Kind)
            {
                case TensorIndex.IndexKind.Select:
                {
                    int size = shape[original];
                    if (ix.PastEnd || ix.Index < -size || ix.Index >= size)
                        throw new IndexOutOfRangeException($"Index: index {ix} is out of range for dimension {original} with size {size} (shape {ShapeUtil.Format(shape)})");
                    result = result.Select(dim, ix.Index);
                    original++;
                    break;
                }
                case TensorIndex.IndexKind.Slice:
                    result = result.Slice(dim, ix.Start, ix.End, ix.Step);
                    dim++; original++;
                    break;
                case TensorIndex.IndexKind.NewAxis:
                    result = result.Unsqueeze(dim);
                    dim++;
                    break;
                case TensorIndex.IndexKind.Ellipsis:
                    dim += Rank - consumed; original += Rank - consumed;
                    break;
                default:
                {
                    var t = ix.TensorValue!;
                    int k = t.DType == DType.Bool ? t.Rank : 1;
                    if (t.DType == DType.Bool)
                        for (int c = 0; c < k; c++)
                            if (t.shape[c] != shape[original + c])
                                throw new IndexOutOfRangeException($"Index: the bool mask of shape {ShapeUtil.Format(t.shape)} does not match dimension {original + c} of the indexed tensor {ShapeUtil.Format(shape)} ({t.shape[c]} vs {shape[original + c]})");
                    advancedDim = dim; advanced = ix;
                    dim += k; original += k;
                    break;
                }
            }
        }
        return result;
    }
}
