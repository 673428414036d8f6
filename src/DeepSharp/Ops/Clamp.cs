using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

/// <summary>min(max(x, lo), hi): when lo &gt; hi every element becomes hi, as in PyTorch. NaN propagates.</summary>
internal struct ClampFamily : INumericArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T lo, T hi) where T : unmanaged, INumber<T>
    {
        TensorPrimitives.Max(x, lo, d);
        TensorPrimitives.Min(d, hi, d);
    }
}

internal struct ClampMinFamily : INumericArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T lo, T unused) where T : unmanaged, INumber<T> => TensorPrimitives.Max(x, lo, d);
}

internal struct ClampMaxFamily : INumericArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T hi, T unused) where T : unmanaged, INumber<T> => TensorPrimitives.Min(x, hi, d);
}

// Clamp (clip) with optional bounds, its one-sided forms, and the in-place form for optimizers and clipping.
public sealed partial class Tensor
{
    /// <summary>
    /// Limits every element to [min, max] (torch.clamp / torch.clip); either bound may be null. The gradient passes
    /// where min ≤ x ≤ max (bounds included) and is 0 elsewhere, as in PyTorch. Integer tensors keep their dtype
    /// when the bounds are integral.
    /// </summary>
    public Tensor Clamp(double? min = null, double? max = null)
    {
        if (min == null && max == null) throw new ArgumentException("Clamp: at least one of 'min' or 'max' must be given");
        var src = !IsFloatingPoint && (IsFractional(min) || IsFractional(max)) ? To(DType.Float32) : this;
        var result = (min, max) switch
        {
            ({ } lo, { } hi) => MathKernels.Numeric<ClampFamily>(src, lo, hi, "Clamp"),
            ({ } lo, null) => MathKernels.Numeric<ClampMinFamily>(src, lo, 0, "Clamp"),
            _ => MathKernels.Numeric<ClampMaxFamily>(src, max!.Value, 0, "Clamp"),
        };
        if (Autograd.ShouldRecord(this))
        {
            var self = this;
            Autograd.Record(result, "ClampBackward", [this], g =>
                [g.Mul(MathKernels.Mask<ClosedRangeMask>(self, min ?? double.NegativeInfinity, max ?? double.PositiveInfinity))], this);
        }
        return result;
    }

    /// <summary>Limits every element to at least <paramref name="min"/> (torch.clamp_min, torch.clamp(min=...)).</summary>
    public Tensor ClampMin(double min) => Clamp(min, null);

    /// <summary>Limits every element to at most <paramref name="max"/> (torch.clamp_max, torch.clamp(max=...)).</summary>
    public Tensor ClampMax(double max) => Clamp(null, max);

    /// <summary>Alias of <see cref="Clamp"/> (torch.clip).</summary>
    public Tensor Clip(double? min = null, double? max = null) => Clamp(min, max);

    /// <summary>
    /// In-place clamp (torch.Tensor.clamp_), e.g. for weight clipping in an optimizer step under <see cref="Autograd.NoGrad"/>.
    /// The bounds are converted to this tensor's dtype.
    /// </summary>
    public Tensor ClampInPlace(double? min = null, double? max = null)
    {
        if (min == null && max == null) throw new ArgumentException("ClampInPlace: at least one of 'min' or 'max' must be given");
        CheckInPlace("ClampInPlace");
        if (DType == DType.Bool) throw new ArgumentException("ClampInPlace: bool tensors cannot be clamped in place");
        if (min is { } lo && max is { } hi) MathKernels.NumericInPlace<ClampFamily>(this, lo, hi, "ClampInPlace");
        else if (min is { } lo2) MathKernels.NumericInPlace<ClampMinFamily>(this, lo2, 0, "ClampInPlace");
        else MathKernels.NumericInPlace<ClampMaxFamily>(this, max!.Value, 0, "ClampInPlace");
        BumpVersion();
        return this;
    }

    /// <summary>In-place lower bound (torch.Tensor.clamp_min_).</summary>
    public Tensor ClampMinInPlace(double min) => ClampInPlace(min, null);

    /// <summary>In-place upper bound (torch.Tensor.clamp_max_).</summary>
    public Tensor ClampMaxInPlace(double max) => ClampInPlace(null, max);

    static bool IsFractional(double? v) => v is { } x && (x != Math.Floor(x) || double.IsInfinity(x));
}
