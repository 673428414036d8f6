namespace DeepSharp;

// View ops: each returns a tensor sharing storage with its input (when the layout allows) and records
// a backward that maps the gradient back to the input's shape.
public sealed partial class Tensor
{
    /// <summary>
    /// Same data with a new shape; one dimension may be -1 and is inferred. Returns a view when the layout allows,
    /// otherwise a copy (torch.Tensor.reshape).
    /// </summary>
    public Tensor Reshape(params int[] newShape)
    {
        var target = InferShape(newShape, "Reshape");
        if (IsContiguous) return ViewUnchecked(target);
        return Contiguous().ViewUnchecked(target);
    }

    /// <summary>A view with a new shape; the tensor must be contiguous (torch.Tensor.view).</summary>
    public Tensor View(params int[] newShape)
    {
        var target = InferShape(newShape, "View");
        if (!IsContiguous)
            throw new InvalidOperationException($"View: the tensor of shape {ShapeUtil.Format(shape)} with strides {ShapeUtil.Format(strides)} is not contiguous; use Reshape() or Contiguous() first");
        return ViewUnchecked(target);
    }

    Tensor ViewUnchecked(int[] target)
    {
        var result = MakeView(target, ShapeUtil.SharedContiguousStrides(target), offset);
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "ViewBackward", [this], ReshapeBackward, shape);
        return result;
    }

    /// <summary>The backward of the reshaping views: the gradient reshaped to the input's shape (the node's state).</summary>
    static InputGrads ReshapeBackward(Node node, Tensor g) => [g.Reshape((int[])node.State!)];

    int[] InferShape(int[] newShape, string op)
    {
        int numel = NumEl, infer = -1; long known = 1;
        Span<int> target = newShape.Length <= 16 ? stackalloc int[newShape.Length] : new int[newShape.Length];
        newShape.CopyTo(target);
        for (int i = 0; i < target.Length; i++)
        {
            if (target[i] == -1)
            {
                if (infer >= 0) throw new ArgumentException($"{op}: only one dimension can be inferred (-1) in {ShapeUtil.Format(newShape)}");
                infer = i;
            }
            else if (target[i] < 0) throw new ArgumentException($"{op}: invalid dimension {target[i]} in {ShapeUtil.Format(newShape)}");
            else known *= target[i];
        }
        if (infer >= 0)
        {
            if (known == 0 || numel % known != 0)
                throw new ArgumentException($"{op}: shape {ShapeUtil.Format(newShape)} is invalid for input of shape {ShapeUtil.Format(shape)} ({numel} elements)");
            target[infer] = (int)(numel / known);
        }
        else if (known != numel)
            throw new ArgumentException($"{op}: shape {ShapeUtil.Format(newShape)} is invalid for input of shape {ShapeUtil.Format(shape)} ({numel} elements)");
        return ShapeUtil.Interned(target);
    }

    /// <summary>Reorders dimensions (torch.Tensor.permute).</summary>
    public Tensor Permute(params int[] dims) => PermuteCore(dims);

    /// <summary><see cref="Permute"/> on a span: the views' shape and strides come from the per-thread table of shared arrays.</summary>
    internal Tensor PermuteCore(ReadOnlySpan<int> dims)
    {
        if (dims.Length != Rank) throw new ArgumentException($"Permute: {dims.Length} dims given for a tensor of rank {Rank}", nameof(dims));
        Span<bool> seen = Rank <= 64 ? stackalloc bool[Rank] : new bool[Rank];
        Span<int> newShape = Rank <= 16 ? stackalloc int[Rank] : new int[Rank], newStrides = Rank <= 16 ? stackalloc int[Rank] : new int[Rank];
        for (int i = 0; i < dims.Length; i++)
        {
            int d = ShapeUtil.NormalizeDim(dims[i], Rank, "Permute", nameof(dims));
            if (seen[d]) throw new ArgumentException($"Permute: dimension {d} repeated in ({string.Join(", ", dims.ToArray())})", nameof(dims));
            seen[d] = true; newShape[i] = shape[d]; newStrides[i] = strides[d];
        }
        var result = MakeView(ShapeUtil.Interned(newShape), ShapeUtil.Interned(newStrides), offset);
        if (Autograd.ShouldRecord(this))
        {
            Span<int> inverse = Rank <= 16 ? stackalloc int[Rank] : new int[Rank];
            for (int i = 0; i < dims.Length; i++) inverse[ShapeUtil.NormalizeDim(dims[i], Rank, "Permute", nameof(dims))] = i;
            Autograd.Record(result, "PermuteBackward", [this], static (n, g) => [g.PermuteCore((int[])n.State!)], ShapeUtil.Interned(inverse));
        }
        return result;
    }

    /// <summary>Swaps two dimensions (torch.Tensor.transpose).</summary>
    public Tensor Transpose(int dim0, int dim1)
    {
        int a = ShapeUtil.NormalizeDim(dim0, Rank, "Transpose", nameof(dim0)), b = ShapeUtil.NormalizeDim(dim1, Rank, "Transpose", nameof(dim1));
        Span<int> perm = Rank <= 16 ? stackalloc int[Rank] : new int[Rank];
        for (int i = 0; i < Rank; i++) perm[i] = i;
        (perm[a], perm[b]) = (perm[b], perm[a]);
        return PermuteCore(perm);
    }

    /// <summary>Transpose of a matrix (≤ 2-D) (torch.Tensor.t() / .T).</summary>
    public Tensor T
    {
        get
        {
            if (Rank > 2) throw new InvalidOperationException($"T: expects a tensor with at most 2 dimensions, got shape {ShapeUtil.Format(shape)}; use Transpose or MT");
            return Rank < 2 ? this : Transpose(0, 1);
        }
    }

    /// <summary>Transposes the last two dimensions (torch.Tensor.mT).</summary>
    public Tensor MT => Rank < 2 ? throw new InvalidOperationException($"MT: needs at least 2 dimensions, got shape {ShapeUtil.Format(shape)}") : Transpose(-2, -1);

    /// <summary>A view of <paramref name="length"/> elements of <paramref name="dim"/> starting at <paramref name="start"/> (torch.Tensor.narrow).</summary>
    public Tensor Narrow(int dim, int start, int length)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Narrow");
        if (start < 0) start += shape[d];
        if (start < 0 || length < 0 || start + length > shape[d])
            throw new ArgumentOutOfRangeException(nameof(start), $"Narrow: range [{start}, {start + length}) is out of bounds for dimension {d} of size {shape[d]} (shape {ShapeUtil.Format(shape)})");
        Span<int> newShape = Rank <= 16 ? stackalloc int[Rank] : new int[Rank];
        shape.CopyTo(newShape); newShape[d] = length;
        var result = MakeView(ShapeUtil.Interned(newShape), strides, offset + start * strides[d]);   // strides arrays are never written: shared
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "NarrowBackward", [this],
                static (n, g) => { var (dim, start) = (DimIndex)n.State!; return [g.NarrowScatter(n.Input(0)!.shape, dim, start)]; }, new DimIndex(d, start));
        return result;
    }

    /// <summary>The dim and start (or index) a narrowing view's backward needs, as its node's state.</summary>
    internal sealed record DimIndex(int Dim, int Index);

    /// <summary>
    /// Slice of <paramref name="dim"/> from start (inclusive) to end (exclusive) with a step (x[:, start:end:step]).
    /// Negative indices count from the end; out-of-range bounds are clamped as in Python.
    /// </summary>
    public Tensor Slice(int dim, int? start = null, int? end = null, int step = 1)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Slice");
        if (step <= 0) throw new ArgumentException($"Slice: step must be positive, got {step}", nameof(step));
        int size = shape[d];
        int s = start ?? 0, e = end ?? size;
        if (s < 0) s += size; if (e < 0) e += size;
        s = Math.Clamp(s, 0, size); e = Math.Clamp(e, s, size);
        if (step == 1) return Narrow(d, s, e - s);
        int len = (e - s + step - 1) / step;
        var newShape = ShapeUtil.Copy(shape); newShape[d] = len;
        var newStrides = (int[])strides.Clone(); newStrides[d] = strides[d] * step;
        var result = MakeView(newShape, newStrides, offset + s * strides[d]);
        if (Autograd.ShouldRecord(this))
        {
            var inputShape = shape;
            Autograd.Record(result, "SliceBackward", [this], g =>
            {
                return [StepScatter(g, inputShape, d, s, step)];
            });
        }
        return result;
    }

    static Tensor StepScatter(Tensor g, int[] inputShape, int d, int start, int step)
    {
        // The rows start, start+step, ... receive g; IndexAdd is differentiable in g, so double backward works.
        var rows = new long[g.shape[d]];
        for (int i = 0; i < rows.Length; i++) rows[i] = start + (long)i * step;
        return Zeros(inputShape, g.DType).IndexAdd(d, FromArray(rows, rows.Length), g);
    }

    /// <summary>
    /// The inverse of <see cref="Narrow"/>: a zero tensor of <paramref name="fullShape"/> with this tensor written at
    /// <paramref name="start"/> along <paramref name="dim"/> (torch.narrow's backward; like torch.slice_scatter on zeros).
    /// </summary>
    internal Tensor NarrowScatter(int[] fullShape, int dim, int start)
    {
        var result = Alloc(DType, fullShape);
        var window = result.Narrow(dim, start, shape[dim]);
        CopyInto(this, window);
        if (Autograd.ShouldRecord(this))
        {
            int len = shape[dim];
            Autograd.Record(result, "NarrowScatterBackward", [this], g => [g.Narrow(dim, start, len)]);
        }
        return result;
    }

    /// <summary>Removes <paramref name="dim"/> by taking element <paramref name="index"/> of it (torch.Tensor.select, x[:, i]).</summary>
    public Tensor Select(int dim, int index)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Select");
        int i = index < 0 ? index + shape[d] : index;
        if ((uint)i >= (uint)shape[d])
            throw new IndexOutOfRangeException($"Select: index {index} is out of range for dimension {d} of size {shape[d]} (shape {ShapeUtil.Format(shape)})");
        Span<int> newShape = Rank <= 16 ? stackalloc int[Rank - 1] : new int[Rank - 1], newStrides = Rank <= 16 ? stackalloc int[Rank - 1] : new int[Rank - 1];
        for (int k = 0, j = 0; k < Rank; k++) if (k != d) { newShape[j] = shape[k]; newStrides[j++] = strides[k]; }
        var result = MakeView(ShapeUtil.Interned(newShape), ShapeUtil.Interned(newStrides), offset + i * strides[d]);
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "SelectBackward", [this],
                static (n, g) => { var (dim, index) = (DimIndex)n.State!; return [g.Unsqueeze(dim).NarrowScatter(n.Input(0)!.shape, dim, index)]; }, new DimIndex(d, i));
        return result;
    }

    /// <summary>
    /// Broadcasts size-1 dimensions to the given sizes without copying; -1 keeps a size (torch.Tensor.expand).
    /// </summary>
    public Tensor Expand(params int[] sizes)
    {
        if (sizes.Length < Rank)
            throw new ArgumentException($"Expand: the number of sizes ({sizes.Length}) must be at least the tensor's rank ({Rank}); shape {ShapeUtil.Format(shape)}");
        Span<int> newShape = sizes.Length <= 16 ? stackalloc int[sizes.Length] : new int[sizes.Length];
        Span<int> newStrides = sizes.Length <= 16 ? stackalloc int[sizes.Length] : new int[sizes.Length];
        int lead = sizes.Length - Rank;
        for (int i = 0; i < sizes.Length; i++)
        {
            int target = sizes[i];
            if (i < lead)
            {
                if (target < 0) throw new ArgumentException($"Expand: size -1 is not allowed in a new leading dimension ({ShapeUtil.Format(sizes)})");
                newShape[i] = target; newStrides[i] = 0; continue;
            }
            int cur = shape[i - lead];
            if (target == -1) target = cur;
            if (cur != target && cur != 1)
                throw new ArgumentException($"Expand: the expanded size {target} must match the existing size {cur} at dimension {i} (shape {ShapeUtil.Format(shape)} to {ShapeUtil.Format(sizes)})");
            newShape[i] = target; newStrides[i] = cur == target ? strides[i - lead] : 0;
        }
        var result = MakeView(ShapeUtil.Interned(newShape), ShapeUtil.Interned(newStrides), offset);
        if (Autograd.ShouldRecord(this))
        {
            var inputShape = shape;
            Autograd.Record(result, "ExpandBackward", [this], g => [g.SumToShape(inputShape)]);
        }
        return result;
    }

    /// <summary>Expands to the shape of <paramref name="other"/> (torch.Tensor.expand_as).</summary>
    public Tensor ExpandAs(Tensor other) => Expand(other.shape);

    /// <summary>Inserts a size-1 dimension at <paramref name="dim"/> (torch.Tensor.unsqueeze).</summary>
    public Tensor Unsqueeze(int dim)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank + 1, "Unsqueeze");
        Span<int> newShape = Rank < 16 ? stackalloc int[Rank + 1] : new int[Rank + 1], newStrides = Rank < 16 ? stackalloc int[Rank + 1] : new int[Rank + 1];
        for (int i = 0, j = 0; i <= Rank; i++)
        {
            if (i == d) { newShape[i] = 1; newStrides[i] = j < Rank ? strides[j] * shape[j] : 1; continue; }
            newShape[i] = shape[j]; newStrides[i] = strides[j]; j++;
        }
        return ReshapeView(ShapeUtil.Interned(newShape), ShapeUtil.Interned(newStrides), "UnsqueezeBackward");
    }

    /// <summary>Removes size-1 dimensions: all of them, or only <paramref name="dim"/> (torch.Tensor.squeeze).</summary>
    public Tensor Squeeze(int? dim = null)
    {
        int? d = dim is int dd ? ShapeUtil.NormalizeDim(dd, Rank, "Squeeze") : null;
        int kept = 0;
        for (int i = 0; i < Rank; i++)
            if (!(shape[i] == 1 && (d == null || d == i))) kept++;
        Span<int> newShape = kept <= 16 ? stackalloc int[kept] : new int[kept], newStrides = kept <= 16 ? stackalloc int[kept] : new int[kept];
        for (int i = 0, j = 0; i < Rank; i++)
            if (!(shape[i] == 1 && (d == null || d == i))) { newShape[j] = shape[i]; newStrides[j++] = strides[i]; }
        return ReshapeView(ShapeUtil.Interned(newShape), ShapeUtil.Interned(newStrides), "SqueezeBackward");
    }

    Tensor ReshapeView(int[] newShape, int[] newStrides, string name)
    {
        var result = MakeView(newShape, newStrides, offset);
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, name, [this], ReshapeBackward, shape);
        return result;
    }

    /// <summary>Flattens dimensions <paramref name="startDim"/>..<paramref name="endDim"/> into one (torch.flatten).</summary>
    public Tensor Flatten(int startDim = 0, int endDim = -1)
    {
        if (Rank == 0) return Reshape(1);
        int s = ShapeUtil.NormalizeDim(startDim, Rank, "Flatten", nameof(startDim)), e = ShapeUtil.NormalizeDim(endDim, Rank, "Flatten", nameof(endDim));
        if (s > e) throw new ArgumentException($"Flatten: startDim ({startDim}) must not come after endDim ({endDim})");
        Span<int> flat = Rank <= 16 ? stackalloc int[Rank - (e - s)] : new int[Rank - (e - s)];
        for (int i = 0; i < s; i++) flat[i] = shape[i];
        int merged = 1; for (int i = s; i <= e; i++) merged *= shape[i];
        flat[s] = merged;
        for (int i = e + 1; i < Rank; i++) flat[i - (e - s)] = shape[i];
        var newShape = ShapeUtil.Interned(flat);
        return IsContiguous ? ViewUnchecked(newShape) : Contiguous().ViewUnchecked(newShape);   // Reshape without its copy of the shape
    }

    /// <summary>Splits dimension <paramref name="dim"/> into the given sizes (torch.Tensor.unflatten).</summary>
    public Tensor Unflatten(int dim, params int[] sizes)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Unflatten");
        var newShape = new List<int>();
        for (int i = 0; i < d; i++) newShape.Add(shape[i]);
        newShape.AddRange(sizes);
        for (int i = d + 1; i < Rank; i++) newShape.Add(shape[i]);
        return Reshape(newShape.ToArray());
    }
}
