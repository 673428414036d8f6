using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

/// <summary>The (values, indices) pair returned by Max/Min/Sort/TopK along a dimension (torch.return_types.max etc.).</summary>
/// <param name="Values">The selected values (differentiable).</param>
/// <param name="Indices">Their int64 positions along the reduced or sorted dimension.</param>
public readonly record struct ValuesIndices(Tensor Values, Tensor Indices);

// Max/min reductions (values with indices, amax/amin, argmax/argmin), sort, topk, cumsum.
// NaN propagates as in PyTorch: a NaN is the max and the min of any row holding one.
public sealed partial class Tensor
{
    /// <summary>The largest element as a 0-d tensor; the gradient is shared evenly among ties (torch.max()).</summary>
    public Tensor Max() => Amax(null, false, "Max", max: true);

    /// <summary>The smallest element as a 0-d tensor; the gradient is shared evenly among ties (torch.min()).</summary>
    public Tensor Min() => Amax(null, false, "Min", max: false);

    /// <summary>
    /// Largest values along <paramref name="dim"/> and their indices (first occurrence on ties); the gradient goes to the
    /// returned index (torch.max(dim, keepdim)).
    /// </summary>
    public ValuesIndices Max(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: true, "Max", wantValues: true);

    /// <summary>Smallest values along <paramref name="dim"/> and their indices (torch.min(dim, keepdim)).</summary>
    public ValuesIndices Min(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: false, "Min", wantValues: true);

    /// <summary>Maximum over the given dims (all when null); the gradient is shared evenly among ties (torch.amax).</summary>
    public Tensor Amax(int[]? dims = null, bool keepDim = false) => Amax(dims, keepDim, "Amax", max: true);

    /// <summary>Maximum over one dim (torch.amax(dim)).</summary>
    public Tensor Amax(int dim, bool keepDim = false) => Amax([dim], keepDim, "Amax", max: true);

    /// <summary>Minimum over the given dims (all when null); the gradient is shared evenly among ties (torch.amin).</summary>
    public Tensor Amin(int[]? dims = null, bool keepDim = false) => Amax(dims, keepDim, "Amin", max: false);

    /// <summary>Minimum over one dim (torch.amin(dim)).</summary>
    public Tensor Amin(int dim, bool keepDim = false) => Amax([dim], keepDim, "Amin", max: false);

    /// <summary>Flat (row-major) index of the largest element, as a 0-d int64 tensor (torch.argmax()).</summary>
    public Tensor ArgMax() => Reshape(-1).ArgReduce(0, false, max: true, "ArgMax", wantValues: false).Indices;

    /// <summary>Flat index of the smallest element (torch.argmin()).</summary>
    public Tensor ArgMin() => Reshape(-1).ArgReduce(0, false, max: false, "ArgMin", wantValues: false).Indices;

    /// <summary>Indices (int64) of the largest values along <paramref name="dim"/> (torch.argmax(dim, keepdim)).</summary>
    public Tensor ArgMax(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: true, "ArgMax", wantValues: false).Indices;

    /// <summary>Indices (int64) of the smallest values along <paramref name="dim"/> (torch.argmin(dim, keepdim)).</summary>
    public Tensor ArgMin(int dim, bool keepDim = false) => ArgReduce(dim, keepDim, max: false, "ArgMin", wantValues: false).Indices;

    void CheckReducible(string op, bool[] reduce)
    {
        if (DType == DType.Bool) throw new ArgumentException($"{op}: bool tensors are not supported; convert with Long() first");
        for (int i = 0; i < Rank; i++)
            if (reduce[i] && shape[i] == 0)
                throw new ArgumentException($"{op}: cannot reduce over dimension {i} of size 0 (shape {ShapeUtil.Format(shape)}): the operation has no identity");
        if (NumEl == 0 && Rank == 0) throw new ArgumentException($"{op}: cannot reduce an empty tensor");
    }

    ValuesIndices ArgReduce(int dim, bool keepDim, bool max, string op, bool wantValues)
    {
        if (DType.IsReducedPrecision())
        {
            var wide = To(DType.Float32).ArgReduce(dim, keepDim, max, op, wantValues);
            return new ValuesIndices(wide.Values.To(DType), wide.Indices);
        }
        int d = ShapeUtil.NormalizeDim(dim, Rank, op);
        var reduce = ReducedDims([d], op);
        CheckReducible(op, reduce);
        var (outer, size, inner) = IndexUtil.Split(shape, d);
        var outShape = ReducedShape(reduce, keepDim);
        var values = AllocUninit(DType, outShape);
        var indices = AllocUninit(DType.Int64, outShape);
        var src = Contiguous();
        switch (DType)
        {
            case DType.Float32: ArgReduceKernel(src.Array<float>(), src.offset, values.Array<float>(), indices.Array<long>(), outer, size, inner, max); break;
            case DType.Float64: ArgReduceKernel(src.Array<double>(), src.offset, values.Array<double>(), indices.Array<long>(), outer, size, inner, max); break;
            case DType.Int64: ArgReduceKernel(src.Array<long>(), src.offset, values.Array<long>(), indices.Array<long>(), outer, size, inner, max); break;
            case DType.Int32: ArgReduceKernel(src.Array<int>(), src.offset, values.Array<int>(), indices.Array<long>(), outer, size, inner, max); break;
        }
        if (wantValues && Autograd.ShouldRecord(this))
        {
            var inputShape = shape; var keptShape = ReducedShape(reduce, true); var dtype = DType;
            var keptIndex = indices.Reshape(keptShape);
            Autograd.Record(values, max ? "MaxBackward" : "MinBackward", [this], g =>
                [Zeros(inputShape, dtype).ScatterAdd(d, keptIndex, g.Reshape(keptShape))]);
        }
        return new ValuesIndices(values, indices);
    }

    /// <summary>Over (outer, size, inner) rows: the extreme value along size and its first index; NaN wins.</summary>
    static void ArgReduceKernel<T>(T[] src, int start, T[] values, long[] indices, int outer, int size, int inner, bool max)
        where T : unmanaged, INumber<T>
    {
        for (int o = 0; o < outer; o++)
        {
            int rowBase = start + o * size * inner;
            if (inner == 1)
            {
                var row = new ReadOnlySpan<T>(src, rowBase, size);
                int k = max ? TensorPrimitives.IndexOfMax(row) : TensorPrimitives.IndexOfMin(row);
                values[o] = row[k]; indices[o] = k;
                continue;
            }
            int outBase = o * inner;
            for (int i = 0; i < inner; i++) { values[outBase + i] = src[rowBase + i]; indices[outBase + i] = 0; }
            for (int k = 1; k < size; k++)
            {
                int b = rowBase + k * inner;
                for (int i = 0; i < inner; i++)
                {
                    T v = src[b + i], best = values[outBase + i];
                    if (T.IsNaN(best)) continue;
                    if ((max ? v > best : v < best) || T.IsNaN(v)) { values[outBase + i] = v; indices[outBase + i] = k; }
                }
            }
        }
    }

    // the 16-bit path in a method of its own: a lambda capturing a parameter is allocated on entry to its method
    static Tensor AmaxReduced(Tensor x, int[]? dims, bool keepDim, string op, bool max) => ReducedFloat.Apply(x, t => t.Amax(dims, keepDim, op, max));

    Tensor Amax(int[]? dims, bool keepDim, string op, bool max)
    {
        var reduce = ReducedDims(dims, op);
        CheckReducible(op, reduce);
        if (NumEl == 0 && reduce.Any(r => r)) throw new ArgumentException($"{op}: cannot reduce an empty tensor of shape {ShapeUtil.Format(shape)}");
        if (DType.IsReducedPrecision()) return AmaxReduced(this, dims, keepDim, op, max);
        var result = DType switch
        {
            DType.Float32 => AmaxKernel<float>(this, reduce, keepDim, max),
            DType.Float64 => AmaxKernel<double>(this, reduce, keepDim, max),
            DType.Int64 => AmaxKernel<long>(this, reduce, keepDim, max),
            _ => AmaxKernel<int>(this, reduce, keepDim, max),
        };
        if (Autograd.ShouldRecord(this))
        {
            var self = this; var keptShape = ReducedShape(reduce, true);
            int[] reducedDims = Enumerable.Range(0, Rank).Where(i => reduce[i]).ToArray();
            Autograd.Record(result, op + "Backward", [this], g =>
            {
                // evenly distributed among ties: g * (x == m) / count(x == m)
                var mask = self.Eq(result.Reshape(keptShape)).To(g.DType);
                var count = mask.Sum(reducedDims, keepDim: true);
                return [g.Reshape(keptShape).Div(count).Mul(mask)];
            }, this, result);
        }
        return result;
    }

    static Tensor AmaxKernel<T>(Tensor x, bool[] reduce, bool keepDim, bool max) where T : unmanaged, INumber<T>
    {
        var outShape = x.ReducedShape(reduce, keepDim);
        var result = AllocUninit(x.DType, outShape);
        var dst = result.Span<T>();
        var kept = new List<int>(); var red = new List<int>();
        for (int i = 0; i < x.Rank; i++) (reduce[i] ? red : kept).Add(i);
        int redCount = 1; foreach (var i in red) redCount *= x.shape[i];
        var moved = kept.Count == 0 ? x.Detach().Contiguous() : x.Detach().Permute(kept.Concat(red).ToArray()).Contiguous();
        var s = moved.Span<T>();
        for (int k = 0; k < dst.Length; k++)
        {
            var row = s.Slice(k * redCount, redCount);
            dst[k] = max ? TensorPrimitives.Max<T>(row) : TensorPrimitives.Min<T>(row);
        }
        return result;
    }

    /// <summary>
    /// Sorts along <paramref name="dim"/> (stable; NaN sorts as the largest value) and returns the sorted values and their
    /// original indices (torch.sort(dim, descending, stable=True)). Values are differentiable.
    /// </summary>
    public ValuesIndices Sort(int dim = -1, bool descending = false)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Sort");
        if (DType == DType.Bool) throw new ArgumentException("Sort: bool tensors are not supported; convert with Long() first");
        var indices = SortIndices(d, descending);
        return new ValuesIndices(Rank == 0 ? this.Clone() : Gather(d, indices), indices);
    }

    /// <summary>
    /// The <paramref name="k"/> largest (or smallest) elements along <paramref name="dim"/> and their indices, in sorted
    /// order (torch.topk). Values are differentiable.
    /// </summary>
    public ValuesIndices TopK(int k, int dim = -1, bool largest = true)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "TopK");
        int size = Rank == 0 ? 1 : shape[d];
        if (k < 0 || k > size)
            throw new ArgumentOutOfRangeException(nameof(k), $"TopK: k ({k}) is out of range for dimension {d} of size {size} (shape {ShapeUtil.Format(shape)})");
        if (DType == DType.Bool) throw new ArgumentException("TopK: bool tensors are not supported; convert with Long() first");
        var indices = SortIndices(d, largest);
        if (Rank > 0) indices = indices.Narrow(d, 0, k).Contiguous();
        return new ValuesIndices(Rank == 0 ? this.Clone() : Gather(d, indices), indices);
    }

    Tensor SortIndices(int d, bool descending)
    {
        var src = ToFloat64Dense(out int start);
        var (outer, size, inner) = IndexUtil.Split(shape, d);
        var indices = AllocUninit(DType.Int64, shape);
        var idx = indices.Array<long>();
        var keys = new double[size];
        var order = new int[size];
        var comparer = new SortComparer(keys, descending);
        for (int o = 0; o < outer; o++)
            for (int i = 0; i < inner; i++)
            {
                int b = start + o * size * inner + i;
                for (int k = 0; k < size; k++) { keys[k] = src[b + k * inner]; order[k] = k; }
                System.Array.Sort(order, comparer);
                int ob = o * size * inner + i;
                for (int k = 0; k < size; k++) idx[ob + k * inner] = order[k];
            }
        return indices;
    }

    double[] ToFloat64Dense(out int start)
    {
        var t = DType == DType.Float64 ? Contiguous() : To(DType.Float64);
        start = t.offset;
        return t.Array<double>();
    }

    /// <summary>Orders positions by key (NaN largest), then by position, which makes the sort stable.</summary>
    sealed class SortComparer(double[] keys, bool descending) : IComparer<int>
    {
        public int Compare(int a, int b)
        {
            double x = keys[a], y = keys[b];
            int c = double.IsNaN(x) ? (double.IsNaN(y) ? 0 : 1) : double.IsNaN(y) ? -1 : x.CompareTo(y);
            if (descending) c = -c;
            return c != 0 ? c : a.CompareTo(b);
        }
    }

    /// <summary>
    /// Cumulative sum along <paramref name="dim"/> (torch.cumsum). Integer and bool inputs give int64, as in PyTorch.
    /// </summary>
    public Tensor CumSum(int dim)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, "CumSum");
        var src = (DType is DType.Bool or DType.Int32 ? To(DType.Int64) : this).Contiguous();
        var (outer, size, inner) = IndexUtil.Split(shape, d);
        var result = AllocUninit(src.DType, shape);
        switch (src.DType)
        {
            case DType.Float32: CumSumKernel(src.Array<float>(), src.offset, result.Array<float>(), outer, size, inner); break;
            case DType.Float64: CumSumKernel(src.Array<double>(), src.offset, result.Array<double>(), outer, size, inner); break;
            default: CumSumKernel(src.Array<long>(), src.offset, result.Array<long>(), outer, size, inner); break;
        }
        if (Autograd.ShouldRecord(this))
            // d/dx_i sum_{j>=i} g_j = total - cumsum(g) + g
            Autograd.Record(result, "CumSumBackward", [this], g => [g.Sum(d, keepDim: true).Sub(g.CumSum(d)).Add(g)]);
        return result;
    }

    static void CumSumKernel<T>(T[] src, int start, T[] dst, int outer, int size, int inner) where T : unmanaged, INumber<T>
    {
        for (int o = 0; o < outer; o++)
        {
            int b = o * size * inner;
            if (size == 0) continue;
            System.Array.Copy(src, start + b, dst, b, inner);
            for (int k = 1; k < size; k++)
                TensorPrimitives.Add(new ReadOnlySpan<T>(dst, b + (k - 1) * inner, inner), new ReadOnlySpan<T>(src, start + b + k * inner, inner),
                    new Span<T>(dst, b + k * inner, inner));
        }
    }
}
