using System.Numerics;
using DeepSharp.Kernels;

namespace DeepSharp;

internal struct ErfFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => ErrorFunction.Erf(x, d);
}

internal struct NormalCdfFamily : IUnaryFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T> => ErrorFunction.NormalCdf(x, d, timesX: false);
}

// erf and the normal CDF (used by GELU's backward, so that GELU can be differentiated twice).
public sealed partial class Tensor
{
    const double TwoOverSqrtPi = 1.1283791670955126;
    internal const double InvSqrt2Pi = 0.3989422804014327;

    /// <summary>Elementwise Gauss error function (torch.erf). Integer inputs are promoted to float32.</summary>
    public Tensor Erf()
    {
        var result = Elementwise.Unary<ErfFamily>(this, "Erf");
        var self = this;
        // d/dx erf(x) = 2/√π e^{-x²}
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "ErfBackward", [this], g => [g.Mul(self.Mul(self).Neg().Exp().Mul(TwoOverSqrtPi))], this);
        return result;
    }

    /// <summary>Φ(x), the standard normal cumulative distribution (torch.special.ndtr).</summary>
    internal Tensor NormalCdf()
    {
        var result = Elementwise.Unary<NormalCdfFamily>(this, "NormalCdf");
        var self = this;
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "NdtrBackward", [this], g => [g.Mul(self.NormalPdf())], this);
        return result;
    }

    /// <summary>φ(x) = e^{-x²/2}/√(2π), composed from differentiable ops.</summary>
    internal Tensor NormalPdf() => Mul(this).Mul(-0.5).Exp().Mul(InvSqrt2Pi);
}
