using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

// Sum and mean over all or chosen dimensions, and SumToShape (the backward of broadcasting).
public sealed partial class Tensor
{
    /// <summary>Normalises a list of dims (negative allowed, no repeats); null or empty means all dims.</summary>
    internal bool[] ReducedDims(int[]? dims, string op)
    {
        var reduce = new bool[Rank];
        if (dims == null || dims.Length == 0) { System.Array.Fill(reduce, true); return reduce; }
        foreach (var dim in dims)
        {
            int d = ShapeUtil.NormalizeDim(dim, Rank, op, "dims");
            if (Rank == 0) continue;
            if (reduce[d]) throw new ArgumentException($"{op}: dimension {d} appears more than once in the list of dims", "dims");
            reduce[d] = true;
        }
        return reduce;
    }

    internal int[] ReducedShape(bool[] reduce, bool keepDim)
    {
        var result = new List<int>(Rank);
        for (int i = 0; i < Rank; i++)
            if (!reduce[i]) result.Add(shape[i]);
            else if (keepDim) result.Add(1);
        return result.ToArray();
    }

    /// <summary>Sum of all elements (torch.sum).</summary>
    public Tensor Sum() => Sum(null, false);

    /// <summary>Sum over one dimension (torch.sum(dim, keepdim)).</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], keepDim);

    /// <summary>Sum over the given dimensions, all when null (torch.sum(dims, keepdim)).</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false)
    {
        if (DType.IsReducedPrecision()) return ReducedFloat.Apply(this, t => t.Sum(dims, keepDim)); // float32 accumulation, one rounding
        var reduce = ReducedDims(dims, "Sum");
        var src = DType == DType.Bool ? To(DType.Int64) : DType == DType.Int32 ? To(DType.Int64) : this;
        var result = src.DType switch
        {
            DType.Float32 => SumKernel<float>(src, reduce, keepDim),
            DType.Float64 => SumKernel<double>(src, reduce, keepDim),
            _ => SumKernel<long>(src, reduce, keepDim),
        };
        if (Autograd.ShouldRecord(this))
        {
            var inputShape = shape; var keptShape = ReducedShape(reduce, true);
            Autograd.Record(result, "SumBackward", [this], g => [g.Reshape(keptShape).Expand(inputShape)]);
        }
        return result;
    }

    /// <summary>Mean of all elements (torch.mean).</summary>
    public Tensor Mean() => Mean(null, false);

    /// <summary>Mean over one dimension (torch.mean(dim, keepdim)).</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Mean over the given dimensions, all when null (torch.mean(dims, keepdim)).</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        if (!IsFloatingPoint) throw new ArgumentException($"Mean: needs a floating point tensor, got {DType.TorchName()}; convert with Float() first");
        if (DType.IsReducedPrecision()) return ReducedFloat.Apply(this, t => t.Mean(dims, keepDim));
        var reduce = ReducedDims(dims, "Mean");
        long count = 1;
        for (int i = 0; i < Rank; i++) if (reduce[i]) count *= shape[i];
        return Sum(dims, keepDim).Div(count);
    }

    /// <summary>Sums broadcast dimensions away so the result has <paramref name="target"/>'s shape (the backward of broadcasting).</summary>
    internal Tensor SumToShape(int[] target)
    {
        if (ShapeUtil.SameShape(shape, target)) return this;
        int lead = Rank - target.Length;
        if (lead < 0) throw new InvalidOperationException($"internal: SumToShape from {ShapeUtil.Format(shape)} to {ShapeUtil.Format(target)}");
        var dims = new List<int>();
        for (int i = 0; i < Rank; i++)
            if (i < lead || (target[i - lead] == 1 && shape[i] != 1)) dims.Add(i);
        var summed = dims.Count > 0 ? Sum(dims.ToArray(), keepDim: true) : this;
        return summed.Reshape(target);
    }

    static Tensor SumKernel<T>(Tensor x, bool[] reduce, bool keepDim) where T : unmanaged, INumber<T>
    {
        var outShape = x.ReducedShape(reduce, keepDim);
        var result = Alloc(x.DType, outShape);
        var dst = result.Span<T>();
        if (x.NumEl == 0) return result;
        // Move reduced dims last: (kept..., reduced...), then sum each row.
        var kept = new List<int>(); var red = new List<int>();
        for (int i = 0; i < x.Rank; i++) (reduce[i] ? red : kept).Add(i);
        int keptCount = 1; foreach (var i in kept) keptCount *= x.shape[i];
        int redCount = 1; foreach (var i in red) redCount *= x.shape[i];

        if (x.IsContiguous)
        {
            SumContiguous(x.Span<T>(), x.shape, reduce, dst);
            return result;
        }
        var perm = kept.Concat(red).ToArray();
        var moved = x.Permute(perm).Detach().Contiguous();
        var s = moved.Span<T>();
        for (int k = 0; k < keptCount; k++) dst[k] = TensorPrimitives.Sum<T>(s.Slice(k * redCount, redCount));
        return result;
    }

    /// <summary>
    /// Sums a contiguous tensor over the flagged dims into a zeroed <paramref name="dst"/> without moving its data: adjacent
    /// dims of the same kind merge into runs (a channel sum over (N, C, H, W) is runs N·C·HW), and the innermost run is
    /// either summed (reduced) or added as a vector into the output (kept), walking the outer runs in memory order.
    /// </summary>
    static void SumContiguous<T>(ReadOnlySpan<T> src, int[] shape, bool[] reduce, Span<T> dst) where T : unmanaged, INumber<T>
    {
        var sizes = new List<int>(shape.Length); var reduced = new List<bool>(shape.Length);
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (reduced.Count > 0 && reduced[^1] == reduce[i]) sizes[^1] *= shape[i];
            else { sizes.Add(shape[i]); reduced.Add(reduce[i]); }
        }
        if (sizes.Count == 0) { dst[0] = src[0]; return; }
        int runs = sizes.Count, inner = sizes[^1];
        bool innerReduced = reduced[^1];
        // output stride of each run (0 for reduced runs)
        Span<long> dstStride = stackalloc long[runs];
        long stride = innerReduced ? 1 : inner;
        for (int r = runs - 2; r >= 0; r--)
        {
            dstStride[r] = reduced[r] ? 0 : stride;
            if (!reduced[r]) stride *= sizes[r];
        }
        Span<int> index = stackalloc int[runs];
        long outer = src.Length / inner, dstOffset = 0;
        for (long o = 0; o < outer; o++)
        {
            var row = src.Slice((int)(o * inner), inner);
            if (innerReduced) dst[(int)dstOffset] += TensorPrimitives.Sum(row);
            else { var d = dst.Slice((int)dstOffset, inner); TensorPrimitives.Add(d, row, d); }
            // odometer over the outer runs
            for (int r = runs - 2; r >= 0; r--)
            {
                dstOffset += dstStride[r];
                if (++index[r] < sizes[r]) break;
                dstOffset -= dstStride[r] * sizes[r];
                index[r] = 0;
            }
        }
    }
}
