using System.Numerics;

namespace DeepSharp;

/// <summary>The reduction of <see cref="Tensor.ScatterReduce"/> (the reduce argument of torch.scatter_reduce).</summary>
public enum ScatterReduction
{
    /// <summary>"sum": add every scattered value.</summary>
    Sum,
    /// <summary>"prod": multiply every scattered value.</summary>
    Prod,
    /// <summary>"mean": average of the scattered values (and self when includeSelf).</summary>
    Mean,
    /// <summary>"amax": largest scattered value; the gradient is shared evenly among ties.</summary>
    Amax,
    /// <summary>"amin": smallest scattered value; the gradient is shared evenly among ties.</summary>
    Amin,
}

// scatter_reduce (PyTorch 1.13): out[i][index[i][j]] = reduce(self[i][index[i][j]] (when include_self), src[i][j], ...).
// The forward is one pass over the index by precomputed storage positions; the backward follows
// FunctionsManual.cpp's scatter_reduce_backward, written with gather / scatter_add / scatter / where, so it records.
public sealed partial class Tensor
{
    /// <summary>
    /// Reduces the values of <paramref name="src"/> into a copy of this tensor at the positions <paramref name="index"/>
    /// gives along <paramref name="dim"/> (torch.scatter_reduce(input, dim, index, src, reduce, include_self)).
    /// Positions no index points at keep this tensor's value. With <paramref name="includeSelf"/> false, the values
    /// already at a scattered position are left out of the reduction. Integer "mean" rounds down, as PyTorch does.
    /// </summary>
    public Tensor ScatterReduce(int dim, Tensor index, Tensor src, ScatterReduction reduce, bool includeSelf = true)
    {
        ArgumentNullException.ThrowIfNull(index); ArgumentNullException.ThrowIfNull(src);
        const string op = "ScatterReduce";
        int d = ShapeUtil.NormalizeDim(dim, Rank, op);
        if (src.DType != DType)
            throw new ArgumentException($"{op}: src has dtype {src.DType.TorchName()} but self has {DType.TorchName()}", nameof(src));
        if (DType == DType.Bool) throw new ArgumentException($"{op}: bool tensors are not supported", nameof(src));
        if (DType.IsReducedPrecision()) throw ReducedFloat.Unsupported(op, DType);
        CheckScatterShapes(op, d, index, src);
        var idx = IndexUtil.Values(index, op, "index", out int idxStart);
        int size = Rank == 0 ? 1 : shape[d];
        foreach (var v in idx.AsSpan(idxStart, index.NumEl))
            if ((ulong)v >= (ulong)size)
                throw new ArgumentException($"{op}: index value {v} is out of range for dimension {d} of size {size} (self {ShapeUtil.Format(shape)}, index {ShapeUtil.Format(index.shape)}, src {ShapeUtil.Format(src.shape)})", nameof(index));
        var result = CopyToContiguous(this);
        var dstPos = Positions(index.shape, result.strides, result.offset, d);
        var srcPos = Positions(index.shape, src.strides, src.offset, -1);
        int dimStride = Rank == 0 ? 0 : result.strides[d];
        switch (DType)
        {
            case DType.Float32: ScatterReduceKernel(result.Array<float>(), src.Array<float>(), dstPos, srcPos, dimStride, idx, idxStart, reduce, includeSelf); break;
            case DType.Float64: ScatterReduceKernel(result.Array<double>(), src.Array<double>(), dstPos, srcPos, dimStride, idx, idxStart, reduce, includeSelf); break;
            case DType.Int64: ScatterReduceKernel(result.Array<long>(), src.Array<long>(), dstPos, srcPos, dimStride, idx, idxStart, reduce, includeSelf); break;
            case DType.Int32: ScatterReduceKernel(result.Array<int>(), src.Array<int>(), dstPos, srcPos, dimStride, idx, idxStart, reduce, includeSelf); break;
        }
        ReturnPositions(dstPos); ReturnPositions(srcPos);
        if (Autograd.ShouldRecord(this, src))
        {
            var self = this;
            Autograd.Record(result, "ScatterReduceBackward", [this, src], g =>
            {
                var (gSelf, gSrc) = ScatterReduceBackward(g, self, d, index, src, reduce, includeSelf, result);
                return [self.RequiresGrad ? gSelf : null, src.RequiresGrad ? PadTo(gSrc, src.shape) : null];
            }, this, src);
        }
        return result;
    }

    static void ScatterReduceKernel<T>(T[] dst, T[] src, int[] dstPos, int[] srcPos, int dimStride, long[] idx, int idxStart,
        ScatterReduction reduce, bool includeSelf) where T : unmanaged, INumber<T>, IMinMaxValue<T>
    {
        int n = dstPos.Length;
        var counts = reduce == ScatterReduction.Mean ? new int[dst.Length] : null;
        if (!includeSelf)
        {
            T identity = reduce switch
            {
                ScatterReduction.Prod => T.One,
                ScatterReduction.Amax => LowestOf<T>(),
                ScatterReduction.Amin => HighestOf<T>(),
                _ => T.Zero,
            };
            for (int e = 0; e < n; e++) dst[dstPos[e] + (int)idx[idxStart + e] * dimStride] = identity;
        }
        for (int e = 0; e < n; e++)
        {
            int t = dstPos[e] + (int)idx[idxStart + e] * dimStride;
            T v = src[srcPos[e]];
            switch (reduce)
            {
                case ScatterReduction.Sum: dst[t] += v; break;
                case ScatterReduction.Mean:
                    dst[t] += v;
                    counts![t]++;
                    break;
                case ScatterReduction.Prod: dst[t] *= v; break;
                case ScatterReduction.Amax: dst[t] = T.IsNaN(v) || T.IsNaN(dst[t]) ? (T.IsNaN(v) ? v : dst[t]) : T.Max(dst[t], v); break;
                case ScatterReduction.Amin: dst[t] = T.IsNaN(v) || T.IsNaN(dst[t]) ? (T.IsNaN(v) ? v : dst[t]) : T.Min(dst[t], v); break;
            }
        }
        if (counts != null)
            for (int t = 0; t < counts.Length; t++)
                if (counts[t] > 0) dst[t] = DivFloor(dst[t], T.CreateChecked(counts[t] + (includeSelf ? 1 : 0)));
    }

    static T LowestOf<T>() where T : INumber<T>, IMinMaxValue<T>
        => typeof(T) == typeof(double) ? (T)(object)double.NegativeInfinity : typeof(T) == typeof(float) ? (T)(object)float.NegativeInfinity : T.MinValue;

    static T HighestOf<T>() where T : INumber<T>, IMinMaxValue<T>
        => typeof(T) == typeof(double) ? (T)(object)double.PositiveInfinity : typeof(T) == typeof(float) ? (T)(object)float.PositiveInfinity : T.MaxValue;

    /// <summary>a / b for floating types; floor division for integers (PyTorch's integer scatter mean).</summary>
    static T DivFloor<T>(T a, T b) where T : INumber<T>
    {
        T q = a / b;
        if (typeof(T) == typeof(double) || typeof(T) == typeof(float)) return q;
        if (a % b != T.Zero && (T.IsNegative(a) != T.IsNegative(b))) q -= T.One;
        return q;
    }

    /// <summary>PyTorch 1.13's scatter_reduce_backward (sum, prod, mean, amax, amin; include_self masking).</summary>
    static (Tensor GradSelf, Tensor GradSrc) ScatterReduceBackward(Tensor g, Tensor self, int d, Tensor index, Tensor src,
        ScatterReduction reduce, bool includeSelf, Tensor result)
    {
        var srcUsed = NarrowTo(src, index.shape);
        Tensor gSelf, gSrc;
        switch (reduce)
        {
            case ScatterReduction.Sum:
                gSelf = g; gSrc = g.Gather(d, index); break;
            case ScatterReduction.Mean:
            {
                var n = (includeSelf ? OnesLike(g) : ZerosLike(g)).ScatterAdd(d, index, OnesLike(srcUsed));
                n = n.MaskedFill(n.Eq(0), 1);
                gSelf = g.Div(n); gSrc = g.Gather(d, index).Div(n.Gather(d, index)); break;
            }
            case ScatterReduction.Prod:
                (gSelf, gSrc) = ProdBackward(g, self, d, index, srcUsed, includeSelf, result); break;
            default:
            {
                var value = result.Gather(d, index);
                var selfIsResult = self.Eq(result).To(self.DType);
                var srcIsResult = srcUsed.Eq(value).To(self.DType);
                var distributed = g.Div(selfIsResult.ScatterAdd(d, index, srcIsResult));
                gSelf = selfIsResult.Mul(distributed);
                gSrc = srcIsResult.Mul(distributed.Gather(d, index)); break;
            }
        }
        if (!includeSelf) gSelf = gSelf.Scatter(d, index, 0.0);
        return (gSelf, gSrc);
    }

    static (Tensor, Tensor) ProdBackward(Tensor g, Tensor self, int d, Tensor index, Tensor src, bool includeSelf, Tensor result)
    {
        // the product without each element, computed so that single zeros still get their (non-zero) gradient
        var maskedSelf = self.MaskedFill(self.Eq(0), 1);
        var maskedSelfResult = maskedSelf.ScatterReduce(d, index, src, ScatterReduction.Prod, includeSelf);
        var gSelf = g.Mul(maskedSelfResult).Div(maskedSelf);
        var srcZero = src.Eq(0);
        var srcZeros = ZerosLike(self).ScatterAdd(d, index, srcZero.To(self.DType)).Gather(d, index);
        var singleZero = srcZero.LogicalAnd(srcZeros.Eq(1));
        var maskedSrcResult = self.ScatterReduce(d, index, src.MaskedFill(singleZero, 1), ScatterReduction.Prod, includeSelf);
        var gSrc = Where(singleZero, g.Mul(maskedSrcResult).Gather(d, index), g.Mul(result).Gather(d, index).Div(src.MaskedFill(srcZero, 1)));
        return (gSelf, gSrc);
    }

    /// <summary>The leading part of t that has <paramref name="target"/>'s sizes (src may be larger than index).</summary>
    static Tensor NarrowTo(Tensor t, int[] target)
    {
        for (int k = 0; k < target.Length && k < t.Rank; k++)
            if (t.shape[k] != target[k]) t = t.Narrow(k, 0, target[k]);
        return t;
    }

    /// <summary>Zero-pads t at the end of each dimension up to <paramref name="target"/>.</summary>
    static Tensor PadTo(Tensor t, int[] target)
    {
        if (t.NumEl == ShapeUtil.Numel(target) && t.Rank != target.Length) return t.Reshape(target);
        for (int k = 0; k < target.Length; k++)
            if (t.shape[k] != target[k]) t = t.NarrowScatter(IndexUtil.With(t.shape, k, target[k]), k, 0);
        return t;
    }
}
