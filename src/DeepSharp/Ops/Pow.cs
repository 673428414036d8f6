using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

/// <summary>a^b with broadcasting. float32/float64 go through TensorPrimitives.Pow; integer types through Math.Pow.</summary>
internal struct PowFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T>
        => T.CreateSaturating(Math.Pow(double.CreateTruncating(a), double.CreateTruncating(b)));

    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow(MathKernels.As<T, float>(a), MathKernels.As<T, float>(b), MathKernels.As<T, float>(d));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow(MathKernels.As<T, double>(a), MathKernels.As<T, double>(b), MathKernels.As<T, double>(d));
        else for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b[i]);
    }

    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow(MathKernels.As<T, float>(a), float.CreateTruncating(b), MathKernels.As<T, float>(d));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow(MathKernels.As<T, double>(a), double.CreateTruncating(b), MathKernels.As<T, double>(d));
        else for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b);
    }

    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float)) TensorPrimitives.Pow(float.CreateTruncating(a), MathKernels.As<T, float>(b), MathKernels.As<T, float>(d));
        else if (typeof(T) == typeof(double)) TensorPrimitives.Pow(double.CreateTruncating(a), MathKernels.As<T, double>(b), MathKernels.As<T, double>(d));
        else for (int i = 0; i < d.Length; i++) d[i] = Scalar(a, b[i]);
    }
}

/// <summary>x^p for a scalar exponent, with fast paths for the common exponents.</summary>
internal struct PowScalarFamily : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T p, T unused) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (p == T.One) x.CopyTo(d);
        else if (p == T.CreateTruncating(2)) TensorPrimitives.Multiply(x, x, d);
        else if (p == T.CreateTruncating(0.5)) TensorPrimitives.Sqrt(x, d);
        else if (p == -T.One) TensorPrimitives.Reciprocal(x, d);
        else if (p == T.CreateTruncating(-0.5)) TensorPrimitives.ReciprocalSqrt(x, d);
        else TensorPrimitives.Pow(x, p, d);
    }
}

/// <summary>Masks used by pow's backward: 1 where the gradient must be forced to zero, as PyTorch does.</summary>
internal struct PowExponentZeroMask : IBinaryFamily
{
    // (a, b) -> b == 0: the gradient for the base is 0 there (avoids 0 * 0^-1 = NaN)
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => b == T.Zero ? T.One : T.Zero;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b[i]); }
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b); }
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a, b[i]); }
}

internal struct PowBaseZeroMask : IBinaryFamily
{
    // (a, b) -> a == 0 && b >= 0: the gradient for the exponent is 0 there (avoids 0 * log 0 = NaN)
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => a == T.Zero && b >= T.Zero ? T.One : T.Zero;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b[i]); }
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b); }
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a, b[i]); }
}

/// <summary>dst = mask != 0 ? 0 : x (same shapes).</summary>
internal struct ZeroWhereFamily : IBinaryFamily
{
    public static T Scalar<T>(T x, T mask) where T : unmanaged, INumber<T> => mask != T.Zero ? T.Zero : x;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b[i]); }
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a[i], b); }
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> { for (int i = 0; i < d.Length; i++) d[i] = Scalar(a, b[i]); }
}

// Pow with a tensor or scalar exponent (broadcasting), and the scalar-base form.
public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise this^exponent with broadcasting (torch.pow(input, exponent)). The gradient for the base is 0 where the
    /// exponent is 0, and for the exponent 0 where the base is 0 and the exponent ≥ 0, as in PyTorch.
    /// </summary>
    public Tensor Pow(Tensor exponent)
    {
        var result = Elementwise.Binary<PowFamily>(this, exponent, "Pow");
        if (Autograd.ShouldRecord(this, exponent))
        {
            var self = this;
            Autograd.Record(result, "PowBackward", [this, exponent], g =>
            {
                Tensor? gBase = null, gExp = null;
                if (self.RequiresGrad)
                {
                    // g · b · a^(b-1), zero where b == 0
                    var full = g.Mul(exponent).Mul(self.Pow(exponent.Sub(1)));
                    gBase = full.ZeroWhere(MaskOf<PowExponentZeroMask>(self, exponent)).SumToShape(self.shape);
                }
                if (exponent.RequiresGrad)
                {
                    // g · a^b · log a, zero where a == 0 and b ≥ 0
                    var full = g.Mul(result).Mul(self.Log());
                    gExp = full.ZeroWhere(MaskOf<PowBaseZeroMask>(self, exponent)).SumToShape(exponent.shape);
                }
                return [gBase, gExp];
            }, this, exponent, result);
        }
        return result;
    }

    /// <summary>
    /// Elementwise this^exponent for an integer exponent (torch.pow(input, exponent) with a Python int): as
    /// <see cref="Pow(double)"/>, except that an integer tensor raised to a negative integer power throws, as in PyTorch
    /// ("Integers to negative integer powers are not allowed"); pass a double (-1.0) for a float result.
    /// </summary>
    public Tensor Pow(long exponent)
    {
        if (!IsFloatingPoint && exponent < 0)
            throw new ArgumentException($"Pow: integers to negative integer powers are not allowed ({DType.TorchName()} tensor to the power {exponent}); " +
                                        "convert the tensor to a floating type or pass a floating exponent", nameof(exponent));
        return Pow((double)exponent);
    }

    /// <summary>
    /// Elementwise this^exponent for a scalar exponent (torch.pow(input, exponent), the ** operator). Integer tensors keep
    /// their dtype for non-negative integral exponents and become float32 otherwise.
    /// </summary>
    public Tensor Pow(double exponent)
    {
        if (!IsFloatingPoint)
        {
            if (exponent >= 0 && exponent == Math.Floor(exponent))
                using (Autograd.NoGrad()) return To(DType.Float64).Pow(exponent).To(DType == DType.Bool ? DType.Int64 : DType);
            return To(DType.Float32).Pow(exponent);
        }
        var result = MathKernels.Float<PowScalarFamily>(this, exponent, 0, "Pow");
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "PowBackward", [this], g =>
                [exponent == 0 ? ZerosLike(self) : g.Mul(self.Pow(exponent - 1).Mul(exponent))], this);
        }
        return result;
    }

    /// <summary>baseValue^exponent elementwise (torch.pow(self: Number, exponent: Tensor)).</summary>
    public static Tensor Pow(double baseValue, Tensor exponent)
        => Scalar(baseValue, exponent.IsFloatingPoint ? exponent.DType : DType.Float32).Pow(exponent);

    /// <summary>A constant 0/1 mask over the broadcast shape of a and b.</summary>
    static Tensor MaskOf<TMask>(Tensor a, Tensor b) where TMask : IBinaryFamily
    {
        using (Autograd.NoGrad()) return Elementwise.Binary<TMask>(a.Detach(), b.Detach(), "Pow");
    }

    /// <summary>this with the elements where <paramref name="mask"/> is nonzero set to 0 (mask has this shape); differentiable in this.</summary>
    internal Tensor ZeroWhere(Tensor mask)
    {
        var m = mask.DType == DType ? mask : mask.To(DType);
        var result = Elementwise.Binary<ZeroWhereFamily>(this, m, "ZeroWhere");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "MaskedFillBackward", [this], g => [g.ZeroWhere(m)]);
        return result;
    }
}
