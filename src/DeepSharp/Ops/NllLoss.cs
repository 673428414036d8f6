using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

// The default negative log-likelihood behind F.CrossEntropy and F.NllLoss (no class weights, no ignored target, mean
// reduction) as one recorded op instead of gather, sum, neg and div. It does the same arithmetic in the same order, so the
// loss and the gradient are the bits the composed ops gave:
//   loss = ((0 + Σ_i lp[i, t_i]) · −1) / N            (the sum is TensorPrimitives.Sum over the N picked values)
//   backward: a zero (N, C) gradient holding 0 + ((g / N) · −1) at each (i, t_i)
public sealed partial class Tensor
{
    /// <summary>
    /// −mean_i logProbs[i, target[i]] for contiguous float32/float64 log-probabilities (N, C) and a contiguous int64 target
    /// (N) whose values the caller has checked to lie in [0, C) (torch.nn.functional.nll_loss's default).
    /// </summary>
    internal static Tensor NllLossMean(Tensor logProbs, Tensor target)
    {
        var result = logProbs.DType == DType.Float32 ? NllLossMeanKernel<float>(logProbs, target) : NllLossMeanKernel<double>(logProbs, target);
        if (Autograd.ShouldRecord(logProbs))
            Autograd.Record(result, "NllLossBackward", [logProbs], NllLossMeanBackward, target);
        return result;
    }

    static Tensor NllLossMeanKernel<T>(Tensor logProbs, Tensor target) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = logProbs.shape[0], classes = logProbs.shape[1];
        var src = logProbs.Array<T>(); var index = target.Array<long>();
        int srcStart = logProbs.offset, indexStart = target.offset;
        T[]? rented = n > 512 ? (T[])ArrayCache.Rent(logProbs.DType, n, clear: false) : null;
        Span<T> picked = rented != null ? rented.AsSpan(0, n) : stackalloc T[n];
        for (int i = 0; i < n; i++) picked[i] = src[srcStart + i * classes + (int)index[indexStart + i]];
        T sum = T.Zero;
        sum += TensorPrimitives.Sum<T>(picked);
        if (rented != null) ArrayCache.Return(logProbs.DType, rented);
        var result = AllocUninit(logProbs.DType, []);
        result.Array<T>()[0] = sum * T.CreateTruncating(-1) / T.CreateTruncating(n);
        return result;
    }

    /// <summary>The backward of <see cref="NllLossMean"/>; the node's state is the target.</summary>
    static InputGrads NllLossMeanBackward(Node node, Tensor g)
    {
        var logProbs = node.Input(0)!;
        var target = (Tensor)node.State!;
        int n = logProbs.shape[0];
        if (Autograd.IsGradEnabled || g.DType != logProbs.DType) // createGraph: the composed ops' backward, recorded
            return [Zeros(logProbs.shape, logProbs.DType).ScatterAdd(1, target.Unsqueeze(1), g.Div(n).Neg().Reshape(1, 1).Expand(n, 1))];
        return [logProbs.DType == DType.Float32 ? NllLossMeanBackwardKernel<float>(logProbs.shape, target, g) : NllLossMeanBackwardKernel<double>(logProbs.shape, target, g)];
    }

    static Tensor NllLossMeanBackwardKernel<T>(int[] shape, Tensor target, Tensor g) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = shape[0], classes = shape[1];
        T value = g.Array<T>()[g.offset] / T.CreateTruncating(n) * T.CreateTruncating(-1);
        var grad = Alloc(g.DType, shape);
        var dst = grad.Array<T>(); var index = target.Array<long>();
        for (int i = 0; i < n; i++) dst[i * classes + (int)index[target.offset + i]] += value;
        return grad;
    }
}
