using System.Numerics.Tensors;

namespace DeepSharp.Optim;

/// <summary>Gradient clipping (torch.nn.utils.clip_grad_norm_ and clip_grad_value_). Both modify the Grad of each parameter in place.</summary>
public static class GradClip
{
    /// <summary>
    /// Scales all gradients together so that their combined <paramref name="normType"/>-norm is at most
    /// <paramref name="maxNorm"/>, and returns the norm before clipping (torch.nn.utils.clip_grad_norm_). The norm is
    /// taken over all gradients as if concatenated into one vector; <paramref name="normType"/> may be any p &gt; 0,
    /// 0 (PyTorch's count of non-zeros) or ±infinity (largest/smallest magnitude). Gradients are multiplied by
    /// min(1, maxNorm / (total + 1e-6)), as in PyTorch. Parameters without a gradient are skipped; with none at all
    /// the result is 0.
    /// </summary>
    /// <exception cref="InvalidOperationException">The total norm is NaN or infinite and <paramref name="errorIfNonfinite"/> is set.</exception>
    public static double ClipGradNorm(IEnumerable<Tensor> parameters, double maxNorm, double normType = 2.0, bool errorIfNonfinite = false)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (double.IsNaN(normType)) throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: normType is NaN");
        if (normType < 0 && !double.IsNegativeInfinity(normType))
            throw new ArgumentOutOfRangeException(nameof(normType), normType, "ClipGradNorm: normType must be >= 0 or ±infinity");
        var grads = new List<Tensor>();
        foreach (var p in parameters) if (p?.Grad is { } g) grads.Add(g);
        if (grads.Count == 0) return 0;
        var norms = new double[grads.Count];
        for (int i = 0; i < grads.Count; i++) norms[i] = Norm(grads[i], normType);
        double total = VectorNorm(norms, normType);
        if (errorIfNonfinite && !double.IsFinite(total))
            throw new InvalidOperationException($"ClipGradNorm: the total norm of order {normType} for gradients from the parameters is non-finite ({total}), so it cannot be clipped; pass errorIfNonfinite: false to scale the gradients by it anyway");
        double coef = Math.Min(maxNorm / (total + 1e-6), 1.0);
        foreach (var g in grads) Scale(g, coef);
        return total;
    }

    /// <summary>Clamps every gradient element to [−clipValue, clipValue] in place (torch.nn.utils.clip_grad_value_).</summary>
    public static void ClipGradValue(IEnumerable<Tensor> parameters, double clipValue)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        foreach (var p in parameters)
        {
            if (p?.Grad is not { } g) continue;
            if (!g.IsFloatingPoint) throw new ArgumentException($"ClipGradValue: gradient of dtype {g.DType.TorchName()} is not floating point", nameof(parameters));
            var work = g.IsContiguous ? g : Tensor.CopyToContiguous(g);
            if (work.DType == DType.Float32)
            {
                var s = work.Span<float>();
                TensorPrimitives.Min(s, (float)clipValue, s);
                TensorPrimitives.Max(s, (float)-clipValue, s);
            }
            else
            {
                var s = work.Span<double>();
                TensorPrimitives.Min(s, clipValue, s);
                TensorPrimitives.Max(s, -clipValue, s);
            }
            if (!ReferenceEquals(work, g)) Tensor.CopyInto(work, g);
            g.BumpVersion();
        }
    }

    static double Norm(Tensor g, double p)
    {
        if (!g.IsFloatingPoint) throw new ArgumentException($"ClipGradNorm: gradient of dtype {g.DType.TorchName()} is not floating point");
        var c = g.IsContiguous ? g : Tensor.CopyToContiguous(g);
        if (c.DType == DType.Float64) return VectorNorm(c.Span<double>(), p);
        var s = c.Span<float>();
        if (p == 2) { double sum = 0; foreach (float v in s) sum += (double)v * v; return Math.Sqrt(sum); }
        if (p == 1) { double sum = 0; foreach (float v in s) sum += Math.Abs(v); return sum; }
        if (double.IsPositiveInfinity(p)) return s.Length == 0 ? 0 : Math.Abs(TensorPrimitives.MaxMagnitude(s));
        if (double.IsNegativeInfinity(p)) return s.Length == 0 ? double.PositiveInfinity : Math.Abs(TensorPrimitives.MinMagnitude(s));
        var d = new double[s.Length];
        for (int i = 0; i < s.Length; i++) d[i] = s[i];
        return VectorNorm(d, p);
    }

    static double VectorNorm(ReadOnlySpan<double> x, double p)
    {
        if (p == 2) return Math.Sqrt(TensorPrimitives.SumOfSquares(x));
        if (p == 1) return TensorPrimitives.SumOfMagnitudes(x);
        if (double.IsPositiveInfinity(p)) return x.Length == 0 ? 0 : Math.Abs(TensorPrimitives.MaxMagnitude(x));
        if (double.IsNegativeInfinity(p)) return x.Length == 0 ? double.PositiveInfinity : Math.Abs(TensorPrimitives.MinMagnitude(x));
        if (p == 0) { int count = 0; foreach (var v in x) if (v != 0) count++; return count; }
        double sum = 0;
        foreach (var v in x) sum += Math.Pow(Math.Abs(v), p);
        return Math.Pow(sum, 1 / p);
    }

    static void Scale(Tensor g, double coef)
    {
        var work = g.IsContiguous ? g : Tensor.CopyToContiguous(g);
        if (work.DType == DType.Float32) TensorPrimitives.Multiply(work.Span<float>(), (float)coef, work.Span<float>());
        else TensorPrimitives.Multiply(work.Span<double>(), coef, work.Span<double>());
        if (!ReferenceEquals(work, g)) Tensor.CopyInto(work, g);
        g.BumpVersion();
    }
}
