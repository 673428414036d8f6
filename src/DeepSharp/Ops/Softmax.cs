using DeepSharp.Kernels;

namespace DeepSharp;

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

    const string LogSoftmaxBackwardName = "LogSoftmaxBackward";

    // the 16-bit path in a method of its own: a lambda capturing a parameter is allocated on entry to its method
    static Tensor SoftmaxReduced(Tensor x, int dim, bool log, string op) => ReducedFloat.Apply(x, t => t.SoftmaxOp(dim, log, op));

    Tensor SoftmaxOp(int dim, bool log, string op)
    {
        int d = ShapeUtil.NormalizeDim(dim, Rank, op);
        if (DType.IsReducedPrecision()) return SoftmaxReduced(this, dim, log, op);
        var src = Elementwise.RequireFloat(this, op).Contiguous();
        var (outer, n, inner) = SplitAt(src.shape, d);
        var result = AllocUninit(src.DType, src.shape);
        if (result.NumEl > 0)
        {
            if (src.DType == DType.Float32) SoftmaxParallel<float>.Run(src.Array<float>(), src.offset, null, 0, result.Array<float>(), 0, outer, n, inner, log, backward: false);
            else SoftmaxParallel<double>.Run(src.Array<double>(), src.offset, null, 0, result.Array<double>(), 0, outer, n, inner, log, backward: false);
        }
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, log ? LogSoftmaxBackwardName : "SoftmaxBackward", [this],
                static (n, g) => [SoftmaxBackward(g, n.Saved(0), (int)n.State!, n.Name == LogSoftmaxBackwardName)], Autograd.BoxedDim(d), result);
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
        var gx = AllocUninit(y.DType, y.shape);
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

    static Tensor LogSumExpReduced(Tensor x, int[]? dims, bool keepDim) => ReducedFloat.Apply(x, t => t.LogSumExp(dims, keepDim));

    /// <summary>log Σ e^x over the given dimensions (all when null or empty), computed stably (torch.logsumexp).</summary>
    public Tensor LogSumExp(int[]? dims, bool keepDim = false)
    {
        if (DType.IsReducedPrecision()) return LogSumExpReduced(this, dims, keepDim);
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
