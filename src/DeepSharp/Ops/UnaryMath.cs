using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

internal struct SqrtFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sqrt(x, d);
}

internal struct RsqrtFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.ReciprocalSqrt(x, d);
}

internal struct SinFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sin(x, d);
}

internal struct CosFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Cos(x, d);
}

internal struct TanhFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Tanh(x, d);
}

internal struct SigmoidFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Sigmoid(x, d);
}

internal struct ReciprocalFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.Reciprocal(x, d);
}

internal struct Log1pFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.LogP1(x, d);
}

internal struct Expm1Family : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => TensorPrimitives.ExpM1(x, d);
}

internal struct AbsFamily : INumericArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, INumber<T> => TensorPrimitives.Abs(x, d);
}

/// <summary>sign(x) = (x &gt; 0) - (x &lt; 0): 0 for 0 and for NaN, as PyTorch's kernel computes it.</summary>
internal struct SignFamily : INumericArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, INumber<T>
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var one = Vector<T>.One; var zero = Vector<T>.Zero;
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(i));
                var pos = Vector.ConditionalSelect(Vector.GreaterThan(v, zero), one, zero);
                var neg = Vector.ConditionalSelect(Vector.LessThan(v, zero), one, zero);
                (pos - neg).CopyTo(d.Slice(i));
            }
        }
        for (; i < x.Length; i++) d[i] = (x[i] > T.Zero ? T.One : T.Zero) - (x[i] < T.Zero ? T.One : T.Zero);
    }
}

// Unary maths: sqrt, rsqrt, abs, sign, sin, cos, tanh, sigmoid, reciprocal, log1p, expm1, square.
// Backwards are written with differentiable ops, so second derivatives work.
public sealed partial class Tensor
{
    /// <summary>Elementwise square root (torch.sqrt). Integer inputs are promoted to float32.</summary>
    public Tensor Sqrt()
    {
        var result = Elementwise.Unary<SqrtFamily>(this, "Sqrt");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "SqrtBackward", [this], g => [g.Div(result.Mul(2))], result);
        return result;
    }

    /// <summary>Elementwise reciprocal square root 1/√x (torch.rsqrt).</summary>
    public Tensor Rsqrt()
    {
        var result = Elementwise.Unary<RsqrtFamily>(this, "Rsqrt");
        // d/dx x^{-1/2} = -½ y³
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "RsqrtBackward", [this], g => [g.Mul(result.Mul(result).Mul(result)).Mul(-0.5)], result);
        return result;
    }

    /// <summary>Elementwise absolute value (torch.abs). Keeps integer dtypes.</summary>
    public Tensor Abs()
    {
        var result = MathKernels.Numeric<AbsFamily>(this, 0, 0, "Abs");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "AbsBackward", [this], g => [g.Mul(self.Sign())], this);
        return result;
    }

    /// <summary>
    /// Elementwise sign: -1, 0 or 1 (torch.sign); 0 for NaN. Keeps integer dtypes. Not differentiable: the
    /// result never requires grad (PyTorch's gradient of sign is zero everywhere).
    /// </summary>
    public Tensor Sign()
    {
        using (Autograd.NoGrad()) return MathKernels.Numeric<SignFamily>(Detach(), 0, 0, "Sign");
    }

    /// <summary>Elementwise sine (torch.sin).</summary>
    public Tensor Sin()
    {
        var result = Elementwise.Unary<SinFamily>(this, "Sin");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "SinBackward", [this], g => [g.Mul(self.Cos())], this);
        return result;
    }

    /// <summary>Elementwise cosine (torch.cos).</summary>
    public Tensor Cos()
    {
        var result = Elementwise.Unary<CosFamily>(this, "Cos");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "CosBackward", [this], g => [g.Mul(self.Sin()).Neg()], this);
        return result;
    }

    /// <summary>Elementwise hyperbolic tangent (torch.tanh, nn.Tanh).</summary>
    public Tensor Tanh()
    {
        var result = Elementwise.Unary<TanhFamily>(this, "Tanh");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "TanhBackward", [this], g => [g.Mul(result.Mul(result).RSub(1))], result);
        return result;
    }

    /// <summary>Elementwise logistic sigmoid 1/(1+e^{-x}) (torch.sigmoid, nn.Sigmoid).</summary>
    public Tensor Sigmoid()
    {
        var result = Elementwise.Unary<SigmoidFamily>(this, "Sigmoid");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "SigmoidBackward", [this], g => [g.Mul(result.Mul(result.RSub(1)))], result);
        return result;
    }

    /// <summary>Elementwise 1/x (torch.reciprocal). Integer inputs are promoted to float32.</summary>
    public Tensor Reciprocal()
    {
        var result = Elementwise.Unary<ReciprocalFamily>(this, "Reciprocal");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "ReciprocalBackward", [this], g => [g.Mul(result.Mul(result)).Neg()], result);
        return result;
    }

    /// <summary>Elementwise log(1 + x), accurate for small x (torch.log1p).</summary>
    public Tensor Log1p()
    {
        var result = Elementwise.Unary<Log1pFamily>(this, "Log1p");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "Log1pBackward", [this], g => [g.Div(self.Add(1))], this);
        return result;
    }

    /// <summary>Elementwise e^x - 1, accurate for small x (torch.expm1).</summary>
    public Tensor Expm1()
    {
        var result = Elementwise.Unary<Expm1Family>(this, "Expm1");
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "Expm1Backward", [this], g => [g.Mul(result.Add(1))], result);
        return result;
    }

    /// <summary>Elementwise x² (torch.square). Keeps integer dtypes.</summary>
    public Tensor Square() => Mul(this);
}
