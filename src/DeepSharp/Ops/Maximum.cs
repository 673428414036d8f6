using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

internal struct MaximumFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => T.Max(a, b);
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Max(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Max(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Max(b, a, d);
}

internal struct MinimumFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => T.Min(a, b);
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Min(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Min(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Min(b, a, d);
}

// Elementwise maximum / minimum of two tensors with broadcasting. NaN propagates (either operand NaN gives NaN), and
// the gradient follows PyTorch 1.13's derivatives.yaml: the larger (smaller) operand gets the gradient, ties split it
// in halves between the two.
public sealed partial class Tensor
{
    /// <summary>Elementwise maximum with broadcasting; NaN propagates; ties share the gradient equally (torch.maximum).</summary>
    public Tensor Maximum(Tensor other) => MinMaxBinary(other, max: true);

    /// <summary>Elementwise minimum with broadcasting; NaN propagates; ties share the gradient equally (torch.minimum).</summary>
    public Tensor Minimum(Tensor other) => MinMaxBinary(other, max: false);

    /// <summary>Elementwise maximum of two tensors (torch.maximum(input, other)).</summary>
    public static Tensor Maximum(Tensor input, Tensor other) => input.Maximum(other);

    /// <summary>Elementwise minimum of two tensors (torch.minimum(input, other)).</summary>
    public static Tensor Minimum(Tensor input, Tensor other) => input.Minimum(other);

    Tensor MinMaxBinary(Tensor other, bool max)
    {
        ArgumentNullException.ThrowIfNull(other);
        string op = max ? "Maximum" : "Minimum";
        if (DType == DType.Bool && other.DType == DType.Bool)
            return (max ? LogicalOr(other) : LogicalAnd(other));
        var result = max ? Elementwise.Binary<MaximumFamily>(this, other, op) : Elementwise.Binary<MinimumFamily>(this, other, op);
        if (Autograd.ShouldRecord(this, other))
        {
            var self = this;
            Autograd.Record(result, op + "Backward", [this, other], g =>
            {
                // where(self == other, g / 2, g), zeroed where this operand lost
                var shared = Where(self.Eq(other), g.Mul(0.5), g);
                var selfLost = max ? self.Lt(other) : self.Gt(other);
                var otherLost = max ? self.Gt(other) : self.Lt(other);
                return [self.RequiresGrad ? shared.MaskedFill(selfLost, 0).SumToShape(self.shape) : null,
                        other.RequiresGrad ? shared.MaskedFill(otherLost, 0).SumToShape(other.shape) : null];
            }, this, other);
        }
        return result;
    }
}
