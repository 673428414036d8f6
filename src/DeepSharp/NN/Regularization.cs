using System.Numerics.Tensors;

namespace DeepSharp.NN;

/// <summary>
/// Penalty terms to add to a loss (what PyTorch users write by hand as sum(p.abs().sum() for p in ...)).
/// Both are differentiable scalars in the dtype of the first parameter.
/// <code>var loss = F.CrossEntropy(model.Call(x), y) + 1e-4 * Regularization.L2(Regularization.Weights(model));</code>
/// </summary>
public static class Regularization
{
    /// <summary>Σ ‖p‖₁ = Σ |p| over all elements of all <paramref name="parameters"/> (L1 / lasso penalty).</summary>
    public static Tensor L1(IEnumerable<Tensor> parameters) => Total(parameters, AbsSum, "L1");

    /// <summary>Σ ‖p‖₂² = Σ p² over all elements of all <paramref name="parameters"/> (L2 penalty; no ½ factor).</summary>
    public static Tensor L2(IEnumerable<Tensor> parameters) => Total(parameters, p => p.Mul(p).Sum(), "L2");

    /// <summary>
    /// The parameters of <paramref name="module"/> that are usually regularised: those with two or more dimensions
    /// (weights of Linear/Conv/Embedding), leaving out biases and normalisation scales.
    /// </summary>
    public static IEnumerable<Tensor> Weights(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module.Parameters().Where(p => p.Rank >= 2);
    }

    static Tensor Total(IEnumerable<Tensor> parameters, Func<Tensor, Tensor> term, string op)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        Tensor? total = null;
        foreach (var p in parameters)
        {
            if (!p.IsFloatingPoint) throw new ArgumentException($"Regularization.{op}: parameters must be floating point, got {p.DType.TorchName()} of shape {ShapeUtil.Format(p.shape)}", nameof(parameters));
            var t = term(p);
            total = total == null ? t : total.Add(t.DType == total.DType ? t : t.To(total.DType));
        }
        return total ?? Tensor.Scalar(0);
    }

    /// <summary>Σ|p| with gradient g·sign(p) (0 at 0, as torch.abs).</summary>
    static Tensor AbsSum(Tensor p)
    {
        var c = p.Contiguous();
        var result = p.DType == DType.Float32
            ? Tensor.Scalar(TensorPrimitives.SumOfMagnitudes<float>(c.Span<float>()), DType.Float32)
            : Tensor.Scalar(TensorPrimitives.SumOfMagnitudes<double>(c.Span<double>()), DType.Float64);
        if (Autograd.ShouldRecord(p))
            Autograd.Record(result, "AbsSumBackward", [p], g => [g.Mul(Sign(c))], p);
        return result;
    }

    static Tensor Sign(Tensor c)
    {
        var s = Tensor.AllocUninit(c.DType, c.shape);
        if (c.DType == DType.Float32) { var src = c.Span<float>(); var d = s.Span<float>(); for (int i = 0; i < d.Length; i++) d[i] = src[i] > 0 ? 1 : src[i] < 0 ? -1 : 0; }
        else { var src = c.Span<double>(); var d = s.Span<double>(); for (int i = 0; i < d.Length; i++) d[i] = src[i] > 0 ? 1 : src[i] < 0 ? -1 : 0; }
        return s;
    }
}
