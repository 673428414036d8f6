using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>
/// Runs the softmax kernels over chunks of the outer dimension on <see cref="KernelThreadPool"/>. Each chunk is an
/// independent set of rows, so results do not depend on the thread count.
/// </summary>
internal unsafe struct SoftmaxParallel<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
{
    const int MinElementsPerTask = 32 * 1024;
    T* x, g, y; int outer, n, inner, chunk; bool log, backward;

    public void Invoke(int index)
    {
        int start = index * chunk, count = Math.Min(chunk, outer - start), block = n * inner;
        var ys = new ReadOnlySpan<T>(y + (long)start * block, count * block);
        if (backward)
            SoftmaxKernels.Backward(new ReadOnlySpan<T>(g + (long)start * block, count * block), ys,
                new Span<T>(x + (long)start * block, count * block), count, n, inner, log);
        else
            SoftmaxKernels.Forward(new ReadOnlySpan<T>(x + (long)start * block, count * block),
                new Span<T>(y + (long)start * block, count * block), count, n, inner, log);
    }

    /// <summary>Forward (x -> y) or backward ((g, y) -> gx, written to x's slot) over (outer, n, inner).</summary>
    public static void Run(T[] xArr, int xOff, T[]? gArr, int gOff, T[] yArr, int yOff, int outer, int n, int inner, bool log, bool backward)
    {
        long total = (long)outer * n * inner;
        int tasks = (int)Math.Min(outer, Math.Min(4L * KernelThreadPool.ThreadCount, Math.Max(1, total / MinElementsPerTask)));
        fixed (T* px = xArr) fixed (T* pg = gArr) fixed (T* py = yArr)
        {
            var body = new SoftmaxParallel<T>
            {
                x = px + xOff, g = pg == null ? null : pg + gOff, y = py + yOff,
                outer = outer, n = n, inner = inner, chunk = (outer + tasks - 1) / tasks, log = log, backward = backward,
            };
            int count = (outer + body.chunk - 1) / body.chunk;
            if (count <= 1) body.Invoke(0);
            else KernelThreadPool.ParallelFor(count, ref body);
        }
    }
}

/// <summary>
/// Fused softmax / log-softmax kernels over a contiguous block viewed as (outer, n, inner), normalising along n.
/// inner == 1 (the dim is last) runs one row at a time; otherwise whole rows of length inner are combined with
/// vector ops, so no transpose is ever needed. Every row subtracts its max first, so large inputs do not overflow.
/// </summary>
internal static class SoftmaxKernels
{
    public static void Forward<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var row = x.Slice(o * n, n); var dst = y.Slice(o * n, n);
                T max = TensorPrimitives.Max(row);
                TensorPrimitives.Subtract(row, max, dst);
                TensorPrimitives.Exp(dst, dst);
                T sum = TensorPrimitives.Sum<T>(dst);
                if (log) TensorPrimitives.Subtract(row, max + T.Log(sum), dst);
                else TensorPrimitives.Divide(dst, sum, dst);
            }
            return;
        }
        var buffer = ArrayPool<T>.Shared.Rent(2 * inner);
        try
        {
            var max = buffer.AsSpan(0, inner); var sum = buffer.AsSpan(inner, inner);
            int block = n * inner;
            for (int o = 0; o < outer; o++)
            {
                var xb = x.Slice(o * block, block); var yb = y.Slice(o * block, block);
                xb.Slice(0, inner).CopyTo(max);
                for (int r = 1; r < n; r++) TensorPrimitives.Max(max, xb.Slice(r * inner, inner), max);
                sum.Clear();
                for (int r = 0; r < n; r++)
                {
                    var dst = yb.Slice(r * inner, inner);
                    TensorPrimitives.Subtract(xb.Slice(r * inner, inner), max, dst);
                    TensorPrimitives.Exp(dst, dst);
                    TensorPrimitives.Add(sum, dst, sum);
                }
                if (log)
                {
                    TensorPrimitives.Log(sum, sum);
                    TensorPrimitives.Add(sum, max, sum);            // log-sum-exp per column
                    for (int r = 0; r < n; r++) TensorPrimitives.Subtract(xb.Slice(r * inner, inner), sum, yb.Slice(r * inner, inner));
                }
                else
                {
                    for (int r = 0; r < n; r++) TensorPrimitives.Divide(yb.Slice(r * inner, inner), sum, yb.Slice(r * inner, inner));
                }
            }
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }

    /// <summary>softmax: gx = y·(g - Σ g·y); log-softmax: gx = g - e^y·Σ g (sums along n).</summary>
    public static void Backward<T>(ReadOnlySpan<T> g, ReadOnlySpan<T> y, Span<T> gx, int outer, int n, int inner, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) return;
        if (inner == 1)
        {
            for (int o = 0; o < outer; o++)
            {
                var gr = g.Slice(o * n, n); var yr = y.Slice(o * n, n); var dst = gx.Slice(o * n, n);
                if (log)
                {
                    T sum = TensorPrimitives.Sum(gr);
                    TensorPrimitives.Exp(yr, dst);
                    TensorPrimitives.MultiplyAdd(dst, -sum, gr, dst);
                }
                else
                {
                    T dot = TensorPrimitives.Dot(gr, yr);
                    TensorPrimitives.Subtract(gr, dot, dst);
                    TensorPrimitives.Multiply(dst, yr, dst);
                }
            }
            return;
        }
        var buffer = ArrayPool<T>.Shared.Rent(inner);
        try
        {
            var sum = buffer.AsSpan(0, inner);
            int block = n * inner;
            for (int o = 0; o < outer; o++)
            {
                var gb = g.Slice(o * block, block); var yb = y.Slice(o * block, block); var db = gx.Slice(o * block, block);
                sum.Clear();
                for (int r = 0; r < n; r++)
                {
                    if (log) TensorPrimitives.Add(sum, gb.Slice(r * inner, inner), sum);
                    else TensorPrimitives.MultiplyAdd(gb.Slice(r * inner, inner), yb.Slice(r * inner, inner), sum, sum);
                }
                for (int r = 0; r < n; r++)
                {
                    var dst = db.Slice(r * inner, inner);
                    if (log)
                    {
                        TensorPrimitives.Exp(yb.Slice(r * inner, inner), dst);
                        TensorPrimitives.Multiply(dst, sum, dst);
                        TensorPrimitives.Subtract(gb.Slice(r * inner, inner), dst, dst);
                    }
                    else
                    {
                        TensorPrimitives.Subtract(gb.Slice(r * inner, inner), sum, dst);
                        TensorPrimitives.Multiply(dst, yb.Slice(r * inner, inner), dst);
                    }
                }
            }
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }

    /// <summary>log Σ e^x over each contiguous row of length n; a row's max is treated as 0 when it is infinite (as PyTorch does).</summary>
    public static void LogSumExpRows<T>(ReadOnlySpan<T> x, Span<T> dst, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (n == 0) { dst.Fill(T.NegativeInfinity); return; }
        var buffer = ArrayPool<T>.Shared.Rent(n);
        try
        {
            var tmp = buffer.AsSpan(0, n);
            for (int r = 0; r < rows; r++)
            {
                var row = x.Slice(r * n, n);
                T max = TensorPrimitives.Max(row);
                if (T.IsInfinity(max)) max = T.Zero;
                TensorPrimitives.Subtract(row, max, tmp);
                TensorPrimitives.Exp(tmp, tmp);
                dst[r] = T.Log(TensorPrimitives.Sum<T>(tmp)) + max;
            }
        }
        finally { ArrayPool<T>.Shared.Return(buffer); }
    }
}

// Softmax, log-softmax and log-sum-exp: fused, numerically stable kernels; backward kernels that are themselves
// differentiable (with createGraph they are replaced by the same formula written in differentiable ops).
public sealed partial class Tensor
{
    /// <summary>
    /// e^x / Σ e^x along <paramref name="dim"/> (torch.softmax, nn.Softmax). Stable for large inputs; integer inputs
    /// are promoted to float32.
    /// </summary>
    public Tensor Softmax(int dim) => SoftmaxOp(dim, log: false, "Softmax");

    /// <summary>x - log Σ e^x along <paramref name="dim"/> (torch.log_softmax, nn.LogSoftmax), stable for any input range.</summary>
    public Tensor LogSoftmax(int dim) => SoftmaxOp(dim, log: true, "LogSoftmax");

    Tensor SoftmaxOp(int dim, bool log, string op)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, op);
        var src = Elementwise.RequireFloat(this, op).Contiguous();
        var (outer, n, inner) = SplitAt(src.shape, d);
        var result = AllocUninit(src.DType, (int[])src.shape.Clone());
        if (result.NumEl > 0)
        {
            if (src.DType == DType.Float32) SoftmaxParallel<float>.Run(src.Array<float>(), src.offset, null, 0, result.Array<float>(), 0, outer, n, inner, log, backward: false);
            else SoftmaxParallel<double>.Run(src.Array<double>(), src.offset, null, 0, result.Array<double>(), 0, outer, n, inner, log, backward: false);
        }
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, log ? "LogSoftmaxBackward" : "SoftmaxBackward", [this], g => [SoftmaxBackward(g, result, d, log)], result);
        return result;
    }

    /// <summary>The gradient of softmax / log-softmax given the output y; differentiable in both g and y.</summary>
    internal static Tensor SoftmaxBackward(Tensor g, Tensor y, int dim, bool log)
    {
        if (Autograd.IsGradEnabled && (g.RequiresGrad || y.RequiresGrad))
        {
            // createGraph: the same formula in differentiable ops, so second derivatives flow through g and y
            return log ? g.Sub(y.Exp().Mul(g.Sum(dim, keepDim: true))) : y.Mul(g.Sub(g.Mul(y).Sum(dim, keepDim: true)));
        }
        var gc = (g.DType == y.DType ? g : g.To(y.DType)).Contiguous();
        var yc = y.Contiguous();
        var (outer, n, inner) = SplitAt(yc.shape, y.Rank == 0 ? 0 : dim);
        var gx = AllocUninit(y.DType, (int[])y.shape.Clone());
        if (gx.NumEl > 0)
        {
            if (y.DType == DType.Float32) SoftmaxParallel<float>.Run(gx.Array<float>(), 0, gc.Array<float>(), gc.offset, yc.Array<float>(), yc.offset, outer, n, inner, log, backward: true);
            else SoftmaxParallel<double>.Run(gx.Array<double>(), 0, gc.Array<double>(), gc.offset, yc.Array<double>(), yc.offset, outer, n, inner, log, backward: true);
        }
        return gx;
    }

    /// <summary>Views a shape as (product of dims before d, size of d, product of dims after d); a 0-d tensor is (1, 1, 1).</summary>
    static (int Outer, int N, int Inner) SplitAt(int[] shape, int d)
    {
        if (shape.Length == 0) return (1, 1, 1);
        int outer = 1, inner = 1;
        for (int i = 0; i < d; i++) outer *= shape[i];
        for (int i = d + 1; i < shape.Length; i++) inner *= shape[i];
        return (outer, shape[d], inner);
    }

    /// <summary>log Σ e^x over one dimension, computed stably (torch.logsumexp).</summary>
    public Tensor LogSumExp(int dim, bool keepDim = false) => LogSumExp([dim], keepDim);

    /// <summary>log Σ e^x over the given dimensions (all when null or empty), computed stably (torch.logsumexp).</summary>
    public Tensor LogSumExp(int[]? dims, bool keepDim = false)
    {
        var src = Elementwise.RequireFloat(this, "LogSumExp");
        var reduce = src.ReducedDims(dims, "LogSumExp");
        var kept = new List<int>(); var red = new List<int>();
        for (int i = 0; i < Rank; i++) (reduce[i] ? red : kept).Add(i);
        int redCount = 1; foreach (var i in red) redCount *= shape[i];
        var moved = (red.Count == 0 || red[0] == kept.Count ? src : src.Permute(kept.Concat(red).ToArray())).Detach().Contiguous();
        var keptShape = src.ReducedShape(reduce, keepDim: true);
        var result = AllocUninit(src.DType, src.ReducedShape(reduce, keepDim));
        int rows = result.NumEl;
        if (src.DType == DType.Float32) SoftmaxKernels.LogSumExpRows(moved.Span<float>(), result.Span<float>(), rows, redCount);
        else SoftmaxKernels.LogSumExpRows(moved.Span<double>(), result.Span<double>(), rows, redCount);
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            // d/dx lse = softmax(x) = e^{x - lse}, broadcast over the reduced dims
            Autograd.Record(result, "LogSumExpBackward", [this], g =>
                [g.Reshape(keptShape).Mul(self.Sub(result.Reshape(keptShape)).Exp())], this, result);
        }
        return result;
    }
}
