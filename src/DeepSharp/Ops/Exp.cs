using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

internal struct ExpFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Exp(x, d);
}

internal struct LogFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Log(x, d);
}

// exp and log: the pattern for a unary op (forward kernel family + backward in terms of other ops).
public sealed partial class Tensor
{
    /// <summary>Elementwise e^x (torch.exp).</summary>
    public Tensor Exp()
    {
        var result = Elementwise.Unary<ExpFamily>(this, "Exp");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "ExpBackward", [this], g => [g.Mul(result)], result);
        return result;
    }

    /// <summary>Elementwise natural logarithm (torch.log).</summary>
    public Tensor Log()
    {
        var result = Elementwise.Unary<LogFamily>(this, "Log");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "LogBackward", [this], g => [g.Div(self)], this);
        return result;
    }
}
