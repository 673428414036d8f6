using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

// Index-driven reads and writes along one dimension: index_select, index_add, gather, scatter, scatter_add.
// Forward kernels move data by precomputed storage positions; backwards are written with these same ops
// (gather <-> scatter_add, index_select <-> index_add), so double backward works.
public sealed partial class Tensor
{
    /// <summary>
    /// Picks entries <paramref name="index"/> (a 1-D int64/int32 tensor) along <paramref name="dim"/>; always copies
    /// (torch.index_select).
    /// </summary>
    public Tensor IndexSelect(int dim, Tensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = ShapeUtil.NormalizeDim(dim, Rank, "IndexSelect");
        if (index.Rank > 1) throw new ArgumentException($"IndexSelect: index must be 1-D (or 0-D), got shape {ShapeUtil.Format(index.shape)}", nameof(index));
        var idx = IndexUtil.Values(index, "IndexSelect", "index", out int idxStart);
        int n = index.NumEl;
        var (outer, size, inner) = IndexUtil.Split(shape, d);
        IndexUtil.CheckRange(idx.AsSpan(idxStart, n), size, d, "IndexSelect");
        var outShape = Rank == 0 ? [] : IndexUtil.With(shape, d, n);
        if (Rank == 0 && n != 1) outShape = [n];
        var result = AllocUninit(DType, outShape);
        var src = Contiguous();
        switch (DType)
        {
            case DType.Float32: IndexSelectKernel(src.Array<float>(), src.offset, result.Array<float>(), idx, idxStart, n, outer, size, inner); break;
            case DType.Float64: IndexSelectKernel(src.Array<double>(), src.offset, result.Array<double>(), idx, idxStart, n, outer, size, inner); break;
            case DType.Int64: IndexSelectKernel(src.Array<long>(), src.offset, result.Array<long>(), idx, idxStart, n, outer, size, inner); break;
            case DType.Int32: IndexSelectKernel(src.Array<int>(), src.offset, result.Array<int>(), idx, idxStart, n, outer, size, inner); break;
            case DType.Bool: IndexSelectKernel(src.Array<bool>(), src.offset, result.Array<bool>(), idx, idxStart, n, outer, size, inner); break;
            case DType.Float16: IndexSelectKernel(src.Array<Half>(), src.offset, result.Array<Half>(), idx, idxStart, n, outer, size, inner); break;
            case DType.BFloat16: IndexSelectKernel(src.Array<BFloat16>(), src.offset, result.Array<BFloat16>(), idx, idxStart, n, outer, size, inner); break;
        }
        if (Autograd.ShouldRecord(this))
        {
            var inputShape = shape; var dtype = DType;
            Autograd.Record(result, "IndexSelectBackward", [this], g => [Zeros(inputShape, dtype).IndexAdd(d, index, g.Reshape(IndexAddSourceShape(inputShape, d, n)))]);
        }
        return result;
    }

    static int[] IndexAddSourceShape(int[] selfShape, int d, int n) => selfShape.Length == 0 ? (n == 1 ? [] : [n]) : IndexUtil.With(selfShape, d, n);

    static void IndexSelectKernel<T>(T[] src, int srcStart, T[] dst, long[] idx, int idxStart, int n, int outer, int size, int inner)
    {
        int e = 0;
        for (int o = 0; o < outer; o++)
        {
            int rowBase = srcStart + o * size * inner;
            if (inner == 1)
                for (int j = 0; j < n; j++) dst[e++] = src[rowBase + (int)idx[idxStart + j]];
            else
                for (int j = 0; j < n; j++, e += inner)
                    System.Array.Copy(src, rowBase + (int)idx[idxStart + j] * inner, dst, e, inner);
        }
    }

    /// <summary>
    /// Returns a copy of this tensor with alpha * source[..., j, ...] added to entry index[j] of <paramref name="dim"/>;
    /// repeated indices accumulate (torch.index_add).
    /// </summary>
    public Tensor IndexAdd(int dim, Tensor index, Tensor source, double alpha = 1)
    {
        var result = CopyToContiguous(this);
        IndexAddCore(result, dim, index, source, alpha, "IndexAdd");
        if (Autograd.ShouldRecord(this, source))
        {
            var self = this;
            int d = ShapeUtil.NormalizeDim(dim, Rank, "IndexAdd");
            Autograd.Record(result, "IndexAddBackward", [this, source], g =>
                [self.RequiresGrad ? g : null,
                 source.RequiresGrad ? Scaled(g.IndexSelect(d, index).Reshape(source.shape), alpha) : null]);
        }
        return result;
    }

    /// <summary>In-place <see cref="IndexAdd"/> (torch.Tensor.index_add_).</summary>
    public Tensor IndexAddInPlace(int dim, Tensor index, Tensor source, double alpha = 1)
    {
        CheckInPlace("IndexAddInPlace");
        CheckInPlaceOperand(source, "IndexAddInPlace");
        IndexAddCore(this, dim, index, source, alpha, "IndexAddInPlace");
        BumpVersion();
        return this;
    }

    static Tensor Scaled(Tensor t, double alpha) => alpha == 1 ? t : t.Mul(alpha);

    void CheckInPlaceOperand(Tensor operand, string op)
    {
        if (Autograd.IsGradEnabled && operand.RequiresGrad)
            throw new InvalidOperationException($"{op}: the operand requires grad but this tensor does not track gradients; use the out-of-place op");
    }

    static void IndexAddCore(Tensor self, int dim, Tensor index, Tensor source, double alpha, string op)
    {
        ArgumentNullException.ThrowIfNull(index); ArgumentNullException.ThrowIfNull(source);
        int d = ShapeUtil.NormalizeDim(dim, self.Rank, op);
        if (index.Rank > 1) throw new ArgumentException($"{op}: index must be 1-D (or 0-D), got shape {ShapeUtil.Format(index.shape)}", nameof(index));
        if (source.DType != self.DType)
            throw new ArgumentException($"{op}: source has dtype {source.DType.TorchName()} but self has {self.DType.TorchName()}", nameof(source));
        if (self.DType == DType.Bool) throw new ArgumentException($"{op}: bool tensors are not supported");
        if (self.DType.IsReducedPrecision()) throw ReducedFloat.Unsupported(op, self.DType);
        int n = index.NumEl;
        var expected = IndexAddSourceShape(self.shape, d, n);
        if (!ShapeUtil.SameShape(source.shape, expected) && !(self.Rank == 0 && source.NumEl == n))
            throw new ArgumentException($"{op}: source of shape {ShapeUtil.Format(source.shape)} does not match self {ShapeUtil.Format(self.shape)} with dimension {d} of size {n} (the index length); expected {ShapeUtil.Format(expected)}", nameof(source));
        var idx = IndexUtil.Values(index, op, "index", out int idxStart);
        var (outer, size, inner) = IndexUtil.Split(self.shape, d);
        IndexUtil.CheckRange(idx.AsSpan(idxStart, n), size, d, op);
        var dst = self.IsContiguous ? self : CopyToContiguous(self);
        var src = source.Contiguous();
        switch (self.DType)
        {
            case DType.Float32: IndexAddKernel(src.Array<float>(), src.offset, dst.Array<float>(), dst.offset, idx, idxStart, n, outer, size, inner, (float)alpha); break;
            case DType.Float64: IndexAddKernel(src.Array<double>(), src.offset, dst.Array<double>(), dst.offset, idx, idxStart, n, outer, size, inner, alpha); break;
            case DType.Int64: IndexAddKernel(src.Array<long>(), src.offset, dst.Array<long>(), dst.offset, idx, idxStart, n, outer, size, inner, (long)alpha); break;
            case DType.Int32: IndexAddKernel(src.Array<int>(), src.offset, dst.Array<int>(), dst.offset, idx, idxStart, n, outer, size, inner, (int)alpha); break;
        }
        if (!ReferenceEquals(dst, self)) CopyInto(dst, self);
    }

    static void IndexAddKernel<T>(T[] src, int srcStart, T[] dst, int dstStart, long[] idx, int idxStart, int n, int outer, int size, int inner, T alpha)
        where T : unmanaged, INumber<T>
    {
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < n; j++)
            {
                var from = new ReadOnlySpan<T>(src, srcStart + (o * n + j) * inner, inner);
                var to = new Span<T>(dst, dstStart + (o * size + (int)idx[idxStart + j]) * inner, inner);
                if (alpha == T.One) TensorPrimitives.Add(to, from, to);
                else TensorPrimitives.MultiplyAdd(from, alpha, to, to);
            }
    }

    /// <summary>
    /// out[i][j][k] = this[i][index[i][j][k]][k] for dim 1, and likewise for any dim; the result has index's shape
    /// (torch.gather).
    /// </summary>
    public Tensor Gather(int dim, Tensor index)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = ShapeUtil.NormalizeDim(dim, Rank, "Gather");
        CheckScatterShapes("Gather", d, index, null);
        var idx = IndexUtil.Values(index, "Gather", "index", out int idxStart);
        int n = index.NumEl;
        int size = Rank == 0 ? 1 : shape[d];
        IndexUtil.CheckRange(idx.AsSpan(idxStart, n), size, d, "Gather");
        var result = AllocUninit(DType, index.shape);
        var selfPos = Positions(index.shape, strides, offset, d);
        int dimStride = Rank == 0 ? 0 : strides[d];
        switch (DType)
        {
            case DType.Float32: GatherKernel(Array<float>(), selfPos, dimStride, idx, idxStart, result.Array<float>()); break;
            case DType.Float64: GatherKernel(Array<double>(), selfPos, dimStride, idx, idxStart, result.Array<double>()); break;
            case DType.Int64: GatherKernel(Array<long>(), selfPos, dimStride, idx, idxStart, result.Array<long>()); break;
            case DType.Int32: GatherKernel(Array<int>(), selfPos, dimStride, idx, idxStart, result.Array<int>()); break;
            case DType.Bool: GatherKernel(Array<bool>(), selfPos, dimStride, idx, idxStart, result.Array<bool>()); break;
            case DType.Float16: GatherKernel(Array<Half>(), selfPos, dimStride, idx, idxStart, result.Array<Half>()); break;
            case DType.BFloat16: GatherKernel(Array<BFloat16>(), selfPos, dimStride, idx, idxStart, result.Array<BFloat16>()); break;
        }
        ReturnPositions(selfPos);
        if (Autograd.ShouldRecord(this))
        {
            var inputShape = shape; var dtype = DType;
            Autograd.Record(result, "GatherBackward", [this], g => [Zeros(inputShape, dtype).ScatterAdd(d, index, g)]);
        }
        return result;
    }

    static void GatherKernel<T>(T[] src, int[] srcPos, int dimStride, long[] idx, int idxStart, T[] dst)
    {
        for (int e = 0; e < dst.Length; e++) dst[e] = src[srcPos[e] + (int)idx[idxStart + e] * dimStride];
    }

    /// <summary>
    /// Storage positions, in row-major order over <paramref name="iterShape"/>, of a tensor with the given strides and offset;
    /// dimension <paramref name="skipDim"/> contributes nothing (the index supplies it). Pass -1 to skip none.
    /// </summary>
    /// The array is rented from <see cref="ArrayCache"/> (exactly n elements); give it back with <see cref="ReturnPositions"/>
    /// once the kernel that reads it has run.
    static int[] Positions(int[] iterShape, int[] tensorStrides, int start, int skipDim)
    {
        int n = ShapeUtil.Numel(iterShape), rank = iterShape.Length;
        var pos = (int[])ArrayCache.Rent(DType.Int32, n, clear: false);
        if (n == 0) return pos;
        if (rank == 0) { pos[0] = start; return pos; }
        Span<int> eff = stackalloc int[rank];
        for (int k = 0; k < rank; k++) eff[k] = k == skipDim ? 0 : tensorStrides[k];
        Span<int> counter = stackalloc int[rank];
        int inner = iterShape[rank - 1], innerStride = eff[rank - 1], rowBase = start, e = 0;
        for (int r = 0, rows = n / inner; r < rows; r++)
        {
            for (int j = 0, p = rowBase; j < inner; j++, p += innerStride) pos[e++] = p;
            for (int k = rank - 2; k >= 0; k--)
            {
                counter[k]++; rowBase += eff[k];
                if (counter[k] < iterShape[k]) break;
                rowBase -= eff[k] * iterShape[k]; counter[k] = 0;
            }
        }
        return pos;
    }

    static void ReturnPositions(int[] pos) => ArrayCache.Return(DType.Int32, pos);

    /// <summary>PyTorch's gather/scatter shape rule: same rank, index no larger than self (except in dim) and than src.</summary>
    void CheckScatterShapes(string op, int d, Tensor index, Tensor? src)
    {
        if (index.Rank != Rank && !(index.Rank <= 1 && Rank <= 1))
            throw new ArgumentException($"{op}: index of shape {ShapeUtil.Format(index.shape)} must have the same number of dimensions as self {ShapeUtil.Format(shape)}", nameof(index));
        if (src != null && src.Rank != index.Rank && !(index.Rank <= 1 && src.Rank <= 1))
            throw new ArgumentException($"{op}: index of shape {ShapeUtil.Format(index.shape)} must have the same number of dimensions as src {ShapeUtil.Format(src.shape)}", nameof(index));
        for (int k = 0; k < index.Rank; k++)
        {
            int selfSize = Rank == 0 ? 1 : shape[k];
            if (k != d && index.shape[k] > selfSize)
                throw new ArgumentException($"{op}: index of shape {ShapeUtil.Format(index.shape)} is larger than self {ShapeUtil.Format(shape)} in dimension {k} ({index.shape[k]} > {selfSize})", nameof(index));
            int srcSize = src == null ? int.MaxValue : src.Rank == 0 ? 1 : src.shape[k];
            if (index.shape[k] > srcSize)
                throw new ArgumentException($"{op}: index of shape {ShapeUtil.Format(index.shape)} is larger than src {ShapeUtil.Format(src!.shape)} in dimension {k} ({index.shape[k]} > {srcSize})", nameof(index));
        }
    }

    /// <summary>
    /// A copy of this tensor with src values written at the positions index gives along <paramref name="dim"/>:
    /// out[i][index[i][j][k]][k] = src[i][j][k] for dim 1 (torch.scatter). With repeated indices the last write wins.
    /// </summary>
    public Tensor Scatter(int dim, Tensor index, Tensor src)
    {
        var result = CopyToContiguous(this);
        ScatterCore(result, dim, index, src, 0, ScatterMode.Copy, "Scatter");
        if (Autograd.ShouldRecord(this, src))
        {
            var self = this;
            int d = ShapeUtil.NormalizeDim(dim, Rank, "Scatter");
            Autograd.Record(result, "ScatterBackward", [this, src], g =>
                [self.RequiresGrad ? g.Scatter(d, index, 0.0) : null,
                 src.RequiresGrad ? GatherIntoShape(g, d, index, src.shape) : null]);
        }
        return result;
    }

    /// <summary>A copy of this tensor with <paramref name="value"/> written at the positions index gives (torch.scatter with a scalar).</summary>
    public Tensor Scatter(int dim, Tensor index, double value)
    {
        var result = CopyToContiguous(this);
        ScatterCore(result, dim, index, null, value, ScatterMode.Value, "Scatter");
        if (Autograd.ShouldRecord(this))
        {
            int d = ShapeUtil.NormalizeDim(dim, Rank, "Scatter");
            Autograd.Record(result, "ScatterBackward", [this], g => [g.Scatter(d, index, 0.0)]);
        }
        return result;
    }

    /// <summary>
    /// A copy of this tensor with src values added at the positions index gives along <paramref name="dim"/>;
    /// repeated indices accumulate (torch.scatter_add).
    /// </summary>
    public Tensor ScatterAdd(int dim, Tensor index, Tensor src)
    {
        var result = CopyToContiguous(this);
        ScatterCore(result, dim, index, src, 0, ScatterMode.Add, "ScatterAdd");
        if (Autograd.ShouldRecord(this, src))
        {
            var self = this;
            int d = ShapeUtil.NormalizeDim(dim, Rank, "ScatterAdd");
            Autograd.Record(result, "ScatterAddBackward", [this, src], g =>
                [self.RequiresGrad ? g : null,
                 src.RequiresGrad ? GatherIntoShape(g, d, index, src.shape) : null]);
        }
        return result;
    }

    /// <summary>The gradient of src in scatter: g gathered at index, zero-padded where src is larger than index.</summary>
    static Tensor GatherIntoShape(Tensor g, int d, Tensor index, int[] srcShape)
    {
        var gathered = g.Gather(d, index);
        if (ShapeUtil.SameShape(gathered.shape, srcShape)) return gathered;
        if (gathered.NumEl == ShapeUtil.Numel(srcShape)) return gathered.Reshape(srcShape);
        var padded = gathered;
        for (int k = 0; k < srcShape.Length; k++)
            if (padded.shape[k] != srcShape[k]) padded = padded.NarrowScatter(IndexUtil.With(padded.shape, k, srcShape[k]), k, 0);
        return padded;
    }

    /// <summary>In-place <see cref="Scatter(int, Tensor, Tensor)"/> (torch.Tensor.scatter_).</summary>
    public Tensor ScatterInPlace(int dim, Tensor index, Tensor src)
    {
        CheckInPlace("ScatterInPlace"); CheckInPlaceOperand(src, "ScatterInPlace");
        ScatterCore(this, dim, index, src, 0, ScatterMode.Copy, "ScatterInPlace");
        BumpVersion();
        return this;
    }

    /// <summary>In-place <see cref="Scatter(int, Tensor, double)"/> (torch.Tensor.scatter_ with a scalar).</summary>
    public Tensor ScatterInPlace(int dim, Tensor index, double value)
    {
        CheckInPlace("ScatterInPlace");
        ScatterCore(this, dim, index, null, value, ScatterMode.Value, "ScatterInPlace");
        BumpVersion();
        return this;
    }

    /// <summary>In-place <see cref="ScatterAdd"/> (torch.Tensor.scatter_add_).</summary>
    public Tensor ScatterAddInPlace(int dim, Tensor index, Tensor src)
    {
        CheckInPlace("ScatterAddInPlace"); CheckInPlaceOperand(src, "ScatterAddInPlace");
        ScatterCore(this, dim, index, src, 0, ScatterMode.Add, "ScatterAddInPlace");
        BumpVersion();
        return this;
    }

    enum ScatterMode { Copy, Value, Add }

    static void ScatterCore(Tensor self, int dim, Tensor index, Tensor? src, double value, ScatterMode mode, string op)
    {
        ArgumentNullException.ThrowIfNull(index);
        int d = ShapeUtil.NormalizeDim(dim, self.Rank, op);
        if (mode != ScatterMode.Value)
        {
            ArgumentNullException.ThrowIfNull(src);
            if (src.DType != self.DType)
                throw new ArgumentException($"{op}: src has dtype {src.DType.TorchName()} but self has {self.DType.TorchName()}", nameof(src));
        }
        if (mode == ScatterMode.Add && self.DType == DType.Bool) throw new ArgumentException($"{op}: bool tensors are not supported");
        if (self.DType.IsReducedPrecision()) throw ReducedFloat.Unsupported(op, self.DType);
        self.CheckScatterShapes(op, d, index, src);
        var idx = IndexUtil.Values(index, op, "index", out int idxStart);
        int n = index.NumEl;
        int size = self.Rank == 0 ? 1 : self.shape[d];
        IndexUtil.CheckRange(idx.AsSpan(idxStart, n), size, d, op);
        var dstPos = Positions(index.shape, self.strides, self.offset, d);
        var srcPos = src == null ? dstPos : Positions(index.shape, src.strides, src.offset, -1);
        int dimStride = self.Rank == 0 ? 0 : self.strides[d];
        switch (self.DType)
        {
            case DType.Float32: ScatterDispatch(self.Array<float>(), src?.Array<float>(), (float)value, dstPos, srcPos, dimStride, idx, idxStart, mode); break;
            case DType.Float64: ScatterDispatch(self.Array<double>(), src?.Array<double>(), value, dstPos, srcPos, dimStride, idx, idxStart, mode); break;
            case DType.Int64: ScatterDispatch(self.Array<long>(), src?.Array<long>(), (long)value, dstPos, srcPos, dimStride, idx, idxStart, mode); break;
            case DType.Int32: ScatterDispatch(self.Array<int>(), src?.Array<int>(), (int)value, dstPos, srcPos, dimStride, idx, idxStart, mode); break;
            case DType.Bool:
            case DType.Float16:
            case DType.BFloat16:
                if (mode == ScatterMode.Copy) ScatterCopyKernel(self.Array<bool>(), src!.Array<bool>(), dstPos, srcPos, dimStride, idx, idxStart);
                else ScatterValueKernel(self.Array<bool>(), value != 0, dstPos, dimStride, idx, idxStart);
                break;
        }
        ReturnPositions(dstPos);
        if (!ReferenceEquals(srcPos, dstPos)) ReturnPositions(srcPos);
    }

    static void ScatterDispatch<T>(T[] dst, T[]? src, T value, int[] dstPos, int[] srcPos, int dimStride, long[] idx, int idxStart, ScatterMode mode)
        where T : unmanaged, INumber<T>
    {
        switch (mode)
        {
            case ScatterMode.Copy: ScatterCopyKernel(dst, src!, dstPos, srcPos, dimStride, idx, idxStart); break;
            case ScatterMode.Value: ScatterValueKernel(dst, value, dstPos, dimStride, idx, idxStart); break;
            default:
                for (int e = 0; e < dstPos.Length; e++) dst[dstPos[e] + (int)idx[idxStart + e] * dimStride] += src![srcPos[e]];
                break;
        }
    }

    static void ScatterCopyKernel<T>(T[] dst, T[] src, int[] dstPos, int[] srcPos, int dimStride, long[] idx, int idxStart)
    {
        for (int e = 0; e < dstPos.Length; e++) dst[dstPos[e] + (int)idx[idxStart + e] * dimStride] = src[srcPos[e]];
    }

    static void ScatterValueKernel<T>(T[] dst, T value, int[] dstPos, int dimStride, long[] idx, int idxStart)
    {
        for (int e = 0; e < dstPos.Length; e++) dst[dstPos[e] + (int)idx[idxStart + e] * dimStride] = value;
    }
}
