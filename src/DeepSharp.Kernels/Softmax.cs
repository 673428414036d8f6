using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp.Kernels;

/// <summary>
/// Runs the softmax kernels over chunks of the outer dimension on <see cref="KernelThreadPool"/>. Each chunk is an
/// independent set of rows, so results do not depend on the thread count.
/// </summary>
public unsafe struct SoftmaxParallel<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
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
/// PyTorch equivalent: the CPU kernels behind torch.softmax, torch.log_softmax and torch.logsumexp.
/// </summary>
public static class SoftmaxKernels
{
    /// <summary>y = softmax(x) (log-softmax when <paramref name="log"/>) along n (torch.softmax / torch.log_softmax).</summary>
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
