namespace DeepSharp;

/// <summary>Checks and conversions shared by the indexing ops (index tensors, dense broadcast reads).</summary>
internal static class IndexUtil
{
    /// <summary>
    /// The values of an int64/int32 index tensor as a dense row-major long array (a copy only when needed).
    /// Any other dtype is refused with a message naming the op and the argument.
    /// </summary>
    public static long[] Values(Tensor index, string op, string arg, out int start)
    {
        if (index.DType == DType.Int64)
        {
            var c = index.Contiguous();
            start = c.offset;
            return c.Array<long>();
        }
        if (index.DType == DType.Int32)
        {
            start = 0;
            return index.To(DType.Int64).Array<long>();
        }
        throw new ArgumentException($"{op}: {arg} must be an int64 or int32 tensor, got {index.DType.TorchName()}", arg);
    }

    /// <summary>Throws IndexOutOfRangeException naming the first value outside [0, size).</summary>
    public static void CheckRange(ReadOnlySpan<long> values, int size, int dim, string op, string arg = "index")
    {
        foreach (var v in values)
            if ((ulong)v >= (ulong)size)
                throw new IndexOutOfRangeException($"{op}: {arg} {v} is out of bounds for dimension {dim} with size {size}");
    }

    /// <summary>
    /// Reads <paramref name="t"/> as a dense row-major array of <paramref name="outShape"/> (broadcasting); returns the
    /// tensor's own storage when it already is dense with that shape, otherwise a fresh copy.
    /// </summary>
    public static T[] Dense<T>(Tensor t, int[] outShape, out int start)
    {
        if (t.IsContiguous && ShapeUtil.SameShape(t.shape, outShape)) { start = t.offset; return t.Array<T>(); }
        var strides = ShapeUtil.BroadcastStrides(t.shape, t.strides, outShape);
        var dst = GC.AllocateUninitializedArray<T>(ShapeUtil.Numel(outShape));
        StridedCopy.Copy(t.Array<T>(), t.offset, strides, dst, 0, ShapeUtil.ContiguousStrides(outShape), outShape);
        start = 0;
        return dst;
    }

    /// <summary>(product of sizes before dim, size of dim, product of sizes after dim).</summary>
    public static (int Outer, int Size, int Inner) Split(IReadOnlyList<int> shape, int dim)
    {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= shape[i];
        for (int i = dim + 1; i < shape.Count; i++) inner *= shape[i];
        return (outer, shape.Count == 0 ? 1 : shape[dim], inner);
    }

    public static int[] With(int[] shape, int dim, int size)
    {
        var s = ShapeUtil.Copy(shape); s[dim] = size; return s;
    }
}
