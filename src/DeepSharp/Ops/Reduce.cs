using System.Numerics;
using System.Numerics.Tensors;
using DeepSharp.Kernels;

namespace DeepSharp;

// Sum and mean over all or chosen dimensions, and SumToShape (the backward of broadcasting).
public sealed partial class Tensor
{
    /// <summary>Normalises a list of dims (negative allowed, no repeats); null or empty means all dims.</summary>
    internal bool[] ReducedDims(int[]? dims, string op)
    {
        var reduce = new bool[Rank];
        MarkReducedDims(dims, dims == null || dims.Length == 0, reduce, op);
        return reduce;
    }

    /// <summary>Sets <paramref name="reduce"/> (one flag per dim, all false on entry) for <paramref name="dims"/>, or every dim when <paramref name="all"/>.</summary>
    void MarkReducedDims(ReadOnlySpan<int> dims, bool all, Span<bool> reduce, string op)
    {
        if (all) { reduce.Fill(true); return; }
        foreach (var dim in dims)
        {
            int d = ShapeUtil.NormalizeDim(dim, Rank, op, "dims");
            if (Rank == 0) continue;
            if (reduce[d]) throw new ArgumentException($"{op}: dimension {d} appears more than once in the list of dims", "dims");
            reduce[d] = true;
        }
    }

    internal int[] ReducedShape(ReadOnlySpan<bool> reduce, bool keepDim)
    {
        int rank = 0;
        for (int i = 0; i < Rank; i++) if (!reduce[i] || keepDim) rank++;
        Span<int> result = rank <= 16 ? stackalloc int[rank] : new int[rank];
        for (int i = 0, j = 0; i < Rank; i++)
            if (!reduce[i]) result[j++] = shape[i];
            else if (keepDim) result[j++] = 1;
        return ShapeUtil.Interned(result);   // shared: never written
    }

    /// <summary>Sum of all elements (torch.sum).</summary>
    public Tensor Sum() => Sum(default, all: true, keepDim: false);

    /// <summary>Sum over one dimension (torch.sum(dim, keepdim)).</summary>
    public Tensor Sum(int dim, bool keepDim = false) => Sum([dim], all: false, keepDim);

    /// <summary>Sum over the given dimensions, all when null (torch.sum(dims, keepdim)).</summary>
    public Tensor Sum(int[]? dims, bool keepDim = false) => Sum(dims, dims == null || dims.Length == 0, keepDim);

    Tensor Sum(ReadOnlySpan<int> dims, bool all, bool keepDim)
    {
        if (DType.IsReducedPrecision()) return SumReduced(this, all ? null : dims.ToArray(), keepDim); // float32 accumulation, one rounding
        Span<bool> reduce = Rank <= 64 ? stackalloc bool[Rank] : new bool[Rank];
        MarkReducedDims(dims, all, reduce, "Sum");
        var src = DType == DType.Bool ? To(DType.Int64) : DType == DType.Int32 ? To(DType.Int64) : this;
        var result = src.DType switch
        {
            DType.Float32 => SumKernel<float>(src, reduce, keepDim),
            DType.Float64 => SumKernel<double>(src, reduce, keepDim),
            _ => SumKernel<long>(src, reduce, keepDim),
        };
        if (Autograd.ShouldRecord(this))
        {
            var keptShape = keepDim ? result.shape : ReducedShape(reduce, true);
            Autograd.Record(result, "SumBackward", [this], static (n, g) => [g.Reshape((int[])n.State!).Expand(n.Input(0)!.shape)], keptShape);
        }
        return result;
    }

    // the 16-bit paths in methods of their own: a lambda capturing a parameter is allocated on entry to its method
    static Tensor SumReduced(Tensor x, int[]? dims, bool keepDim) => ReducedFloat.Apply(x, t => t.Sum(dims, keepDim));
    static Tensor MeanReduced(Tensor x, int[]? dims, bool keepDim) => ReducedFloat.Apply(x, t => t.Mean(dims, keepDim));

    /// <summary>Mean of all elements (torch.mean).</summary>
    public Tensor Mean() => Mean(null, false);

    /// <summary>Mean over one dimension (torch.mean(dim, keepdim)).</summary>
    public Tensor Mean(int dim, bool keepDim = false) => Mean([dim], keepDim);

    /// <summary>Mean over the given dimensions, all when null (torch.mean(dims, keepdim)).</summary>
    public Tensor Mean(int[]? dims, bool keepDim = false)
    {
        if (!IsFloatingPoint) throw new ArgumentException($"Mean: needs a floating point tensor, got {DType.TorchName()}; convert with Float() first");
        if (DType.IsReducedPrecision()) return MeanReduced(this, dims, keepDim);
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

    static Tensor SumKernel<T>(Tensor x, ReadOnlySpan<bool> reduce, bool keepDim) where T : unmanaged, INumber<T>
    {
        var outShape = x.ReducedShape(reduce, keepDim);
        var result = Alloc(x.DType, outShape);
        var dst = result.Span<T>();
        if (x.NumEl == 0) return result;
        if (x.IsContiguous)
        {
            SumContiguous(x.Span<T>(), x.shape, reduce, dst);
            return result;
        }
        // Move reduced dims last: (kept..., reduced...), then sum each row.
        var kept = new List<int>(); var red = new List<int>();
        for (int i = 0; i < x.Rank; i++) (reduce[i] ? red : kept).Add(i);
        int keptCount = 1; foreach (var i in kept) keptCount *= x.shape[i];
        int redCount = 1; foreach (var i in red) redCount *= x.shape[i];
        var perm = kept.Concat(red).ToArray();
        var moved = x.Permute(perm).Detach().Contiguous();
        var s = moved.Span<T>();
        for (int k = 0; k < keptCount; k++) dst[k] = TensorPrimitives.Sum<T>(s.Slice(k * redCount, redCount));
        return result;
    }

    /// <summary>Adds the sums of the contiguous <paramref name="x"/> over the flagged dims into <paramref name="dst"/> (zeroed: what Sum computes).</summary>
    internal static void SumContiguousInto<T>(Tensor x, ReadOnlySpan<bool> reduce, Span<T> dst) where T : unmanaged, INumber<T>
    {
        if (x.NumEl > 0) SumContiguous(x.Span<T>(), x.shape, reduce, dst);
    }

    /// <summary>
    /// Sums a contiguous tensor over the flagged dims into a zeroed <paramref name="dst"/> without moving its data: adjacent
    /// dims of the same kind merge into runs (a channel sum over (N, C, H, W) is runs N·C·HW), and the innermost run is
    /// either summed (reduced) or added as a vector into the output (kept), walking the outer runs in memory order.
    /// </summary>
    static void SumContiguous<T>(ReadOnlySpan<T> src, int[] shape, ReadOnlySpan<bool> reduce, Span<T> dst) where T : unmanaged, INumber<T>
    {
        Span<int> sizes = shape.Length <= 64 ? stackalloc int[shape.Length] : new int[shape.Length];
        Span<bool> reduced = shape.Length <= 64 ? stackalloc bool[shape.Length] : new bool[shape.Length];
        int runs = 0;
        for (int i = 0; i < shape.Length; i++)
        {
            if (shape[i] == 1) continue;
            if (runs > 0 && reduced[runs - 1] == reduce[i]) sizes[runs - 1] *= shape[i];
            else { sizes[runs] = shape[i]; reduced[runs] = reduce[i]; runs++; }
        }
        if (runs == 0) { dst[0] = src[0]; return; }
        int inner = sizes[runs - 1];
        bool innerReduced = reduced[runs - 1];
        // per-row sums (kept, reduced) and per-channel sums (reduced, kept, reduced: a bias gradient over (N, C, H, W)):
        // each output element is one part's, summed in the same order as below, so the split changes no bit
        if (innerReduced && src.Length >= ParallelSumElements && KernelThreadPool.ThreadCount > 1
            && ((runs == 2 && !reduced[0]) || (runs == 3 && reduced[0] && !reduced[1])))
        {
            int batches = runs == 3 ? sizes[0] : 1, kept = sizes[runs - 2];
            SumsInParallel(src, dst, batches, kept, inner);
            return;
        }
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

    /// <summary>Contiguous sums of at least this many elements split their output elements over the kernel thread pool.</summary>
    const int ParallelSumElements = 1 << 16;

    static unsafe void SumsInParallel<T>(ReadOnlySpan<T> src, Span<T> dst, int batches, int kept, int inner) where T : unmanaged, INumber<T>
    {
        fixed (T* s = src, d = dst)
        {
            var body = new KeptSums<T>(s, d, batches, kept, inner);
            ParallelChunks.Shares(kept, ref body);
        }
    }

    // dst[k] += sum of row (b, k) for b = 0, 1, ..., over the kept elements [first, first + count)
    readonly unsafe struct KeptSums<T>(T* src, T* dst, int batches, int kept, int inner) : IChunkBody where T : unmanaged, INumber<T>
    {
        public void Invoke(int first, int count)
        {
            for (int k = first; k < first + count; k++)
                for (int b = 0; b < batches; b++)
                    dst[k] += TensorPrimitives.Sum(new ReadOnlySpan<T>(src + ((long)b * kept + k) * inner, inner));
        }
    }
}
