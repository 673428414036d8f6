namespace DeepSharp;

/// <summary>
/// One entry of a tensor subscript, as in PyTorch's <c>x[0, 1:3, ..., None, idx]</c>: an integer (select), a range or
/// slice, <see cref="Ellipsis"/>, <see cref="NewAxis"/> (None), or an int64/int32/bool tensor (advanced indexing).
/// Converts implicitly from <see cref="int"/>, <see cref="System.Index"/> (<c>^1</c>), <see cref="System.Range"/>
/// (<c>1..3</c>, <c>..</c>) and <see cref="Tensor"/> (torch's TensorIndex in the C++ API).
/// </summary>
public readonly struct TensorIndex
{
    /// <summary>What kind of subscript this is.</summary>
    public enum IndexKind
    {
        /// <summary>An integer: removes the dimension (x[i]).</summary>
        Select,
        /// <summary>A slice start:end:step (x[1:3], x[::2]).</summary>
        Slice,
        /// <summary>... : as many full slices as needed.</summary>
        Ellipsis,
        /// <summary>None: inserts a size-1 dimension.</summary>
        NewAxis,
        /// <summary>An integer or bool tensor (advanced indexing).</summary>
        Tensor,
    }

    /// <summary>The kind of subscript.</summary>
    public IndexKind Kind { get; }

    /// <summary>The integer of a <see cref="IndexKind.Select"/> (negative counts from the end).</summary>
    public int Index { get; }

    /// <summary>Slice start (null: from the beginning; negative counts from the end).</summary>
    public int? Start { get; }

    /// <summary>Slice end, exclusive (null: to the end; negative counts from the end).</summary>
    public int? End { get; }

    /// <summary>Slice step (positive).</summary>
    public int Step { get; }

    /// <summary>The index tensor of a <see cref="IndexKind.Tensor"/> entry.</summary>
    public Tensor? TensorValue { get; }

    /// <summary>True for an Index of <c>^0</c> used as a select, which is always out of range.</summary>
    internal bool PastEnd { get; }

    TensorIndex(IndexKind kind, int index = 0, int? start = null, int? end = null, int step = 1, Tensor? tensor = null, bool pastEnd = false)
    {
        Kind = kind; Index = index; Start = start; End = end; Step = step; TensorValue = tensor; PastEnd = pastEnd;
    }

    /// <summary>The <c>...</c> subscript (Python's Ellipsis).</summary>
    public static TensorIndex Ellipsis => new(IndexKind.Ellipsis);

    /// <summary>Inserts a new size-1 dimension (Python's None / numpy.newaxis).</summary>
    public static TensorIndex NewAxis => new(IndexKind.NewAxis);

    /// <summary>Same as <see cref="NewAxis"/> (Python's None).</summary>
    public static TensorIndex None => NewAxis;

    /// <summary>The full slice <c>:</c>; same as <c>..</c>.</summary>
    public static TensorIndex All => new(IndexKind.Slice);

    /// <summary>A Python slice start:end:step (null bounds mean the ends; negative bounds count from the end).</summary>
    public static TensorIndex Slice(int? start = null, int? end = null, int step = 1)
    {
        if (step <= 0) throw new ArgumentException($"TensorIndex.Slice: step must be positive, got {step}", nameof(step));
        return new(IndexKind.Slice, start: start, end: end, step: step);
    }

    /// <summary>An integer subscript: selects entry <paramref name="index"/> and removes the dimension.</summary>
    public static TensorIndex Single(int index) => new(IndexKind.Select, index);

    /// <summary>An integer subscript (x[i]).</summary>
    public static implicit operator TensorIndex(int index) => new(IndexKind.Select, index);

    /// <summary>A System.Index subscript: <c>^1</c> is the last entry.</summary>
    public static implicit operator TensorIndex(Index index) =>
        !index.IsFromEnd ? new(IndexKind.Select, index.Value) : index.Value == 0 ? new(IndexKind.Select, 0, pastEnd: true) : new(IndexKind.Select, -index.Value);

    /// <summary>A System.Range subscript: <c>1..3</c>, <c>..^1</c>, <c>..</c> (bounds are clamped as in Python).</summary>
    public static implicit operator TensorIndex(Range range) =>
        new(IndexKind.Slice, start: Bound(range.Start, isStart: true), end: Bound(range.End, isStart: false), step: 1);

    /// <summary>An int64/int32 tensor (selects those entries) or a bool tensor (selects where true).</summary>
    public static implicit operator TensorIndex(Tensor tensor) =>
        new(IndexKind.Tensor, tensor: tensor ?? throw new ArgumentNullException(nameof(tensor)));

    static int? Bound(Index i, bool isStart)
    {
        if (!i.IsFromEnd) return i.Value;
        if (i.Value == 0) return isStart ? int.MaxValue : null; // ^0 is the end
        return -i.Value;
    }

    /// <inheritdoc/>
    public override string ToString() => Kind switch
    {
        IndexKind.Select => PastEnd ? "^0" : Index.ToString(),
        IndexKind.Slice => $"{Start}:{End}" + (Step != 1 ? $":{Step}" : ""),
        IndexKind.Ellipsis => "...",
        IndexKind.NewAxis => "None",
        _ => $"tensor{ShapeUtil.Format(TensorValue!.shape)}",
    };
}
