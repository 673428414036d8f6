using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

/// <summary>
/// Small differentiable elementwise helpers the statistics ops need (abs, sign, sqrt, pow with a scalar exponent).
/// Internal so they do not clash with the public elementwise-math API; backwards use these same helpers, so
/// double backward works.
/// </summary>
internal static class StatMath
{
    internal struct AbsFamily : IUnaryFamily
    {
        public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Abs(x, d);
    }

    internal struct SqrtFamily : IUnaryFamily
    {
        public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, d);
    }

    internal struct SignFamily : IUnaryFamily
    {
        public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (int i = 0; i < x.Length; i++) d[i] = x[i] > T.Zero ? T.One : x[i] < T.Zero ? -T.One : x[i] == T.Zero ? T.Zero : x[i];
        }
    }

    /// <summary>|x|; gradient g * sign(x).</summary>
    public static Tensor Abs(Tensor x)
    {
        var result = Elementwise.Unary<AbsFamily>(x, "Abs");
        if (Autograd.ShouldRecord(x)) Autograd.Record(result, "AbsBackward", [x], g => [g.Mul(Sign(x))], x);
        return result;
    }

    /// <summary>sign(x) in {-1, 0, 1}; a constant for autograd (zero gradient).</summary>
    public static Tensor Sign(Tensor x) => Elementwise.Unary<SignFamily>(x.Detach(), "Sign");

    /// <summary>sqrt(x); gradient g / (2 sqrt(x)).</summary>
    public static Tensor Sqrt(Tensor x)
    {
        var result = Elementwise.Unary<SqrtFamily>(x, "Sqrt");
        if (Autograd.ShouldRecord(x)) Autograd.Record(result, "SqrtBackward", [x], g => [g.Div(result.Mul(2))], result);
        return result;
    }

    /// <summary>x^p for a scalar p; gradient g * p * x^(p-1).</summary>
    public static Tensor Pow(Tensor x, double p)
    {
        if (p == 1) return x;
        var src = Elementwise.RequireFloat(x, "Pow").Contiguous();
        var result = Tensor.AllocUninit(src.DType, src.shape);
        if (src.DType == DType.Float32) TensorPrimitives.Pow(src.Span<float>(), (float)p, result.Span<float>());
        else TensorPrimitives.Pow(src.Span<double>(), p, result.Span<double>());
        if (Autograd.ShouldRecord(x)) Autograd.Record(result, "PowBackward", [x], g => [g.Mul(Pow(x, p - 1).Mul(p))], x);
        return result;
    }
}

// Variance, standard deviation and vector norms.
public sealed partial class Tensor
{
    /// <summary>Variance of all elements, with Bessel's correction when <paramref name="unbiased"/> (torch.var).</summary>
    public Tensor Var(bool unbiased = true) => Var(null, unbiased, false);

    /// <summary>Variance along one dimension (torch.var(dim, unbiased, keepdim)).</summary>
    public Tensor Var(int dim, bool unbiased = true, bool keepDim = false) => Var([dim], unbiased, keepDim);

    /// <summary>
    /// Variance over the given dims (all when null): sum((x - mean)²) / (N - 1) when <paramref name="unbiased"/>, else / N
    /// (torch.var(dims, unbiased, keepdim)). N - 1 = 0 gives NaN, as in PyTorch.
    /// </summary>
    public Tensor Var(int[]? dims, bool unbiased = true, bool keepDim = false)
    {
        if (!IsFloatingPoint) throw new ArgumentException($"Var: needs a floating point tensor, got {DType.TorchName()}; convert with Float() first");
        var reduce = ReducedDims(dims, "Var");
        long count = 1;
        for (int i = 0; i < Rank; i++) if (reduce[i]) count *= shape[i];
        var centered = Sub(Mean(dims, keepDim: true));
        return centered.Mul(centered).Sum(dims, keepDim).Div(Math.Max(0, count - (unbiased ? 1 : 0)));
    }

    /// <summary>Standard deviation of all elements (torch.std).</summary>
    public Tensor Std(bool unbiased = true) => Std(null, unbiased, false);

    /// <summary>Standard deviation along one dimension (torch.std(dim, unbiased, keepdim)).</summary>
    public Tensor Std(int dim, bool unbiased = true, bool keepDim = false) => Std([dim], unbiased, keepDim);

    /// <summary>
    /// Standard deviation over the given dims (all when null), sqrt of <see cref="Var(int[], bool, bool)"/>
    /// (torch.std(dims, unbiased, keepdim)). Where the deviation is zero the gradient is zero, as in PyTorch.
    /// </summary>
    public Tensor Std(int[]? dims, bool unbiased = true, bool keepDim = false)
    {
        var variance = Var(dims, unbiased, keepDim);
        var result = Elementwise.Unary<StatMath.SqrtFamily>(variance, "Std");
        if (Autograd.ShouldRecord(variance))
            Autograd.Record(result, "StdBackward", [variance], g => [g.Div(result.Mul(2)).MaskedFill(result.Eq(0), 0)], result);
        return result;
    }

    /// <summary>
    /// Vector p-norm over the given dims (all when null): (sum |x|^p)^(1/p); p may be 1, 2 (default), any positive value,
    /// 0 (count of non-zeros), or ±infinity (max/min of |x|) (torch.linalg.vector_norm, torch.norm).
    /// The gradient at a zero norm is zero, not NaN.
    /// </summary>
    public Tensor Norm(double p = 2, int[]? dims = null, bool keepDim = false)
    {
        if (!IsFloatingPoint) throw new ArgumentException($"Norm: needs a floating point tensor, got {DType.TorchName()}; convert with Float() first");
        if (double.IsNaN(p) || (p < 0 && !double.IsNegativeInfinity(p)))
            throw new ArgumentException($"Norm: p must be non-negative or ±infinity, got {p}", nameof(p));
        var reduce = ReducedDims(dims, "Norm");
        var keptShape = ReducedShape(reduce, true);
        int[] reducedDims = Enumerable.Range(0, Rank).Where(i => reduce[i]).ToArray();
        Tensor result;
        using (Autograd.NoGrad())
        {
            var abs = StatMath.Abs(this);
            if (p == 2) result = StatMath.Sqrt(Mul(this).Sum(reducedDims, keepDim));
            else if (p == 1) result = abs.Sum(reducedDims, keepDim);
            else if (p == 0) result = Ne(0).To(DType).Sum(reducedDims, keepDim);
            else if (double.IsPositiveInfinity(p)) result = NumEl == 0 ? Zeros(ReducedShape(reduce, keepDim), DType) : abs.Amax(reducedDims, keepDim);
            else if (double.IsNegativeInfinity(p)) result = abs.Amin(reducedDims, keepDim);
            else result = StatMath.Pow(StatMath.Pow(abs, p).Sum(reducedDims, keepDim), 1 / p);
        }
        if (Autograd.ShouldRecord(this) && p != 0)
        {
            var x = this;
            Autograd.Record(result, "NormBackward", [this], g =>
            {
                var gk = g.Reshape(keptShape);
                var norm = result.Reshape(keptShape);
                if (p == 1) return [gk.Mul(StatMath.Sign(x))];
                if (p == 2) return [x.Mul(gk.Div(norm).MaskedFill(norm.Eq(0), 0))];
                if (double.IsInfinity(p))
                {
                    // shared evenly among the entries that reach the max (min) of |x|
                    var mask = StatMath.Abs(x).Eq(norm).To(g.DType);
                    var count = mask.Sum(reducedDims, keepDim: true);
                    return [StatMath.Sign(x).Mul(mask).Mul(gk.Div(count))];
                }
                var scale = gk.Div(StatMath.Pow(norm, p - 1)).MaskedFill(norm.Eq(0), 0);
                var scaled = p < 2 ? StatMath.Sign(x).Mul(StatMath.Pow(StatMath.Abs(x), p - 1)) : x.Mul(StatMath.Pow(StatMath.Abs(x), p - 2));
                if (p < 1) scaled = scaled.MaskedFill(x.Eq(0), 0);
                return [scaled.Mul(scale)];
            }, this, result);
        }
        return result;
    }

    /// <summary>Vector p-norm along one dimension (torch.norm(p, dim, keepdim)).</summary>
    public Tensor Norm(double p, int dim, bool keepDim = false) => Norm(p, [dim], keepDim);
}
