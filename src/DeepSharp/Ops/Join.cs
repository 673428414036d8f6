namespace DeepSharp;

// Joining and splitting: cat, stack, split, chunk, unbind, repeat.
public sealed partial class Tensor
{
    /// <summary>
    /// Concatenates tensors along an existing dimension (torch.cat). All tensors must have the same dtype and the same
    /// sizes except in <paramref name="dim"/>; 1-D empty tensors are skipped, as in PyTorch.
    /// </summary>
    public static Tensor Cat(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Cat: expected a non-empty list of tensors", nameof(tensors));
        int reference = -1;
        for (int i = 0; i < tensors.Count; i++)
        {
            if (tensors[i] is null) throw new ArgumentNullException(nameof(tensors), $"Cat: tensor {i} is null");
            if (reference < 0 && !IsSkippedInCat(tensors[i])) reference = i;
        }
        if (reference < 0) reference = 0;
        var first = tensors[reference];
        if (first.Rank == 0) throw new ArgumentException($"Cat: zero-dimensional tensor (at position {reference}) cannot be concatenated", nameof(tensors));
        int d = ShapeUtil.NormalizeDim(dim, first.Rank, "Cat");
        int total = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            if (t.DType != first.DType)
                throw new ArgumentException($"Cat: tensor {i} has dtype {t.DType.TorchName()} but tensor {reference} has {first.DType.TorchName()}; convert with To() first", nameof(tensors));
            if (i != reference && IsSkippedInCat(t)) continue;
            if (t.Rank != first.Rank)
                throw new ArgumentException($"Cat: tensor {i} has shape {ShapeUtil.Format(t.shape)} (rank {t.Rank}) but tensor {reference} has shape {ShapeUtil.Format(first.shape)} (rank {first.Rank})", nameof(tensors));
            for (int k = 0; k < t.Rank; k++)
                if (k != d && t.shape[k] != first.shape[k])
                    throw new ArgumentException($"Cat: sizes must match except in dimension {d}, but tensor {i} has shape {ShapeUtil.Format(t.shape)} and tensor {reference} has shape {ShapeUtil.Format(first.shape)} (dimension {k}: {t.shape[k]} vs {first.shape[k]})", nameof(tensors));
            total += t.shape[d];
        }
        var result = AllocUninit(first.DType, IndexUtil.With(first.shape, d, total));
        var offsets = new int[tensors.Count];
        int at = 0;
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i];
            offsets[i] = at;
            if (i != reference && IsSkippedInCat(t)) continue;
            int len = t.shape[d];
            var window = result.MakeView(IndexUtil.With(result.shape, d, len), result.strides, result.offset + at * result.strides[d]);
            CopyInto(t, window);
            at += len;
        }
        var inputs = tensors as Tensor[] ?? tensors.ToArray();
        if (Autograd.ShouldRecord(inputs))
            Autograd.Record(result, "CatBackward", inputs, static (n, g) =>
            {
                var (d, reference, offsets) = (CatState)n.State!;
                var grads = new Tensor?[n.InputCount];
                for (int i = 0; i < grads.Length; i++)
                {
                    if (n.Input(i) is not { } input) continue;   // the edges: inputs that require grad
                    grads[i] = i != reference && IsSkippedInCat(input) ? ZerosLike(input) : g.Narrow(d, offsets[i], input.shape[d]);
                }
                return grads;
            }, new CatState(d, reference, offsets));
        return result;
    }

    /// <summary>What <see cref="Cat"/>'s backward needs: the dim, the reference input and each input's start along the dim.</summary>
    sealed record CatState(int Dim, int Reference, int[] Offsets);

    static bool IsSkippedInCat(Tensor t) => t.Rank == 1 && t.shape[0] == 0;

    /// <summary>Concatenates tensors along a new dimension <paramref name="dim"/>; all must have the same shape (torch.stack).</summary>
    public static Tensor Stack(IReadOnlyList<Tensor> tensors, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        if (tensors.Count == 0) throw new ArgumentException("Stack: expected a non-empty list of tensors", nameof(tensors));
        var first = tensors[0] ?? throw new ArgumentNullException(nameof(tensors), "Stack: tensor 0 is null");
        int d = ShapeUtil.NormalizeDim(dim, first.Rank + 1, "Stack");
        for (int i = 0; i < tensors.Count; i++)
        {
            var t = tensors[i] ?? throw new ArgumentNullException(nameof(tensors), $"Stack: tensor {i} is null");
            if (!ShapeUtil.SameShape(t.shape, first.shape))
                throw new ArgumentException($"Stack: all tensors must have the same shape, but tensor {i} has shape {ShapeUtil.Format(t.shape)} and tensor 0 has shape {ShapeUtil.Format(first.shape)}", nameof(tensors));
            if (t.DType != first.DType)
                throw new ArgumentException($"Stack: tensor {i} has dtype {t.DType.TorchName()} but tensor 0 has {first.DType.TorchName()}; convert with To() first", nameof(tensors));
        }
        // the result (…, count, …) and each input copied into its slice: what unsqueezing every input and concatenating
        // them gives, without the unsqueezed views; the backward hands each input its slice of the gradient
        int rank = first.Rank;
        var shape = new int[rank + 1];
        for (int k = 0, j = 0; k <= rank; k++) shape[k] = k == d ? tensors.Count : first.shape[j++];
        var result = AllocUninit(first.DType, shape);
        var sliceStrides = new int[rank];
        for (int k = 0, j = 0; k <= rank; k++) if (k != d) sliceStrides[j++] = result.strides[k];
        for (int i = 0; i < tensors.Count; i++)
            CopyInto(tensors[i], result.MakeView(first.shape, sliceStrides, result.offset + i * result.strides[d]));
        var inputs = tensors as Tensor[] ?? tensors.ToArray();
        if (Autograd.ShouldRecord(inputs))
            Autograd.Record(result, "StackBackward", inputs, static (n, g) =>
            {
                int d = (int)n.State!;
                var grads = new Tensor?[n.InputCount];
                for (int i = 0; i < grads.Length; i++) if (n.Input(i) != null) grads[i] = g.Select(d, i);
                return grads;
            }, Autograd.BoxedDim(d));
        return result;
    }

    /// <summary>
    /// Splits into views of <paramref name="splitSize"/> elements along <paramref name="dim"/>; the last one may be smaller
    /// (torch.split with an int).
    /// </summary>
    public Tensor[] Split(int splitSize, int dim = 0)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Split");
        if (Rank == 0) throw new ArgumentException("Split: cannot split a zero-dimensional tensor");
        if (splitSize < 0 || (splitSize == 0 && shape[d] != 0))
            throw new ArgumentException($"Split: splitSize must be positive, got {splitSize} for dimension {d} of size {shape[d]}", nameof(splitSize));
        int size = shape[d];
        int count = size == 0 ? 1 : (size + splitSize - 1) / splitSize;
        var result = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            int start = i * splitSize;
            result[i] = Narrow(d, start, Math.Min(splitSize, size - start));
        }
        return result;
    }

    /// <summary>Splits into views with the given sizes along <paramref name="dim"/>; they must sum to its size (torch.split with a list).</summary>
    public Tensor[] Split(int[] sizes, int dim = 0)
    {
        ArgumentNullException.ThrowIfNull(sizes);
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Split");
        if (Rank == 0) throw new ArgumentException("Split: cannot split a zero-dimensional tensor");
        long sum = 0;
        foreach (var s in sizes)
        {
            if (s < 0) throw new ArgumentException($"Split: sizes must be non-negative, got ({string.Join(", ", sizes)})", nameof(sizes));
            sum += s;
        }
        if (sum != shape[d])
            throw new ArgumentException($"Split: sizes ({string.Join(", ", sizes)}) sum to {sum} but dimension {d} of shape {ShapeUtil.Format(shape)} has size {shape[d]}", nameof(sizes));
        var result = new Tensor[sizes.Length];
        for (int i = 0, start = 0; i < sizes.Length; start += sizes[i], i++) result[i] = Narrow(d, start, sizes[i]);
        return result;
    }

    /// <summary>
    /// Splits into at most <paramref name="chunks"/> views of equal size (the last may be smaller) along
    /// <paramref name="dim"/> (torch.chunk).
    /// </summary>
    public Tensor[] Chunk(int chunks, int dim = 0)
    {
        if (chunks <= 0) throw new ArgumentException($"Chunk: chunks must be positive, got {chunks}", nameof(chunks));
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Chunk");
        if (Rank == 0) throw new ArgumentException("Chunk: cannot chunk a zero-dimensional tensor");
        int size = shape[d];
        int splitSize = (size + chunks - 1) / chunks;
        return splitSize == 0 ? Split(new int[chunks], d) : Split(splitSize, d);
    }

    /// <summary>Removes <paramref name="dim"/> and returns the views of each of its entries (torch.unbind).</summary>
    public Tensor[] Unbind(int dim = 0)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Unbind");
        if (Rank == 0) throw new ArgumentException("Unbind: cannot unbind a zero-dimensional tensor");
        var result = new Tensor[shape[d]];
        for (int i = 0; i < result.Length; i++) result[i] = Select(d, i);
        return result;
    }

    /// <summary>
    /// Tiles the tensor: dimension i is repeated repeats[i] times; extra leading repeats add dimensions
    /// (torch.Tensor.repeat). Always copies.
    /// </summary>
    public Tensor Repeat(params int[] repeats)
    {
        ArgumentNullException.ThrowIfNull(repeats);
        if (repeats.Length < Rank)
            throw new ArgumentException($"Repeat: the number of repeats ({repeats.Length}) must be at least the tensor's rank ({Rank}); shape {ShapeUtil.Format(shape)}", nameof(repeats));
        foreach (var r in repeats)
            if (r < 0) throw new ArgumentException($"Repeat: repeats must be non-negative, got ({string.Join(", ", repeats)})", nameof(repeats));
        int n = repeats.Length, lead = n - Rank;
        // (s0, s1, ...) -> (1, s0, 1, s1, ...) -> expand (r0, s0, r1, s1, ...) -> (r0*s0, r1*s1, ...)
        var interleaved = new int[2 * n]; var expanded = new int[2 * n]; var final = new int[n];
        for (int i = 0; i < n; i++)
        {
            int s = i < lead ? 1 : shape[i - lead];
            interleaved[2 * i] = 1; interleaved[2 * i + 1] = s;
            expanded[2 * i] = repeats[i]; expanded[2 * i + 1] = s;
            final[i] = repeats[i] * s;
        }
        return Reshape(interleaved).Expand(expanded).Contiguous().Reshape(final);
    }
}
