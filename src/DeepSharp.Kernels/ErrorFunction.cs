using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// Scalar error functions. float64 uses a series (|z| &lt; 3) and a continued fraction (|z| ≥ 3), accurate to a few
/// ulps; float32 uses a Chebyshev fit of erfc (relative error ~1e-7, one exp per element). PyTorch equivalent: the
/// kernels behind torch.erf, torch.erfc and torch.special.ndtr.
/// </summary>
public static class ErrorFunction
{
    const double TwoOverSqrtPi = 1.1283791670955126;
    const double InvSqrtPi = 0.5641895835477563;

    /// <summary>erf(z) to double precision.</summary>
    public static double Erf(double z)
    {
        double a = Math.Abs(z);
        if (a < 3) return ErfSeries(z);
        if (double.IsNaN(z)) return z;
        return Math.CopySign(1 - ErfcContinuedFraction(a), z);
    }

    /// <summary>erfc(z) = 1 - erf(z) to double precision, without cancellation in the right tail.</summary>
    public static double Erfc(double z)
    {
        if (double.IsNaN(z)) return z;
        if (z < 0) return 2 - Erfc(-z);
        return z < 3 ? 1 - ErfSeries(z) : ErfcContinuedFraction(z);
    }

    // erf(z) = 2/√π e^{-z²} Σ (2z²)^n z / (1·3···(2n+1)): every term positive, so no cancellation.
    static double ErfSeries(double z)
    {
        double z2 = z * z, term = z, sum = z;
        for (int n = 1; n < 200; n++)
        {
            term *= 2 * z2 / (2 * n + 1);
            sum += term;
            if (Math.Abs(term) <= Math.Abs(sum) * 1e-17) break;
        }
        return TwoOverSqrtPi * Math.Exp(-z2) * sum;
    }

    // erfc(z) = e^{-z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + ...)))), evaluated bottom-up; z ≥ 3.
    static double ErfcContinuedFraction(double z)
    {
        double f = z;
        for (int k = 50; k >= 1; k--) f = z + k * 0.5 / f;
        // split z² so that the rounding of z*z is not magnified by exp (Cody's trick)
        double zt = Math.Floor(z * 16) / 16, del = (z - zt) * (z + zt);
        return Math.Exp(-zt * zt) * Math.Exp(-del) * InvSqrtPi / f;
    }

    /// <summary>erfc(z) with relative error below ~1.2e-7 everywhere (Numerical Recipes' erfcc): the scalar reference of the float32 SIMD path.</summary>
    public static double ErfcFast(double z)
    {
        double a = Math.Abs(z);
        double t = 1 / (1 + 0.5 * a);
        double r = t * Math.Exp(-a * a - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
            + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
        return z >= 0 ? r : 2 - r;
    }

    /// <summary>erf(z), float32 accuracy: a Taylor series near 0 (keeps relative accuracy for tiny z), else 1 - erfc. Scalar reference of the SIMD path.</summary>
    public static double ErfFast(double z)
    {
        if (Math.Abs(z) < 0.5)
        {
            double z2 = z * z;
            return TwoOverSqrtPi * z * (1 + z2 * (-1.0 / 3 + z2 * (1.0 / 10 + z2 * (-1.0 / 42 + z2 * (1.0 / 216 + z2 * (-1.0 / 1320))))));
        }
        return 1 - ErfcFast(z);
    }

    const int Chunk = 512;

    // Numerical Recipes' erfcc coefficients, highest order first (Horner), for the vectorised float32 path.
    static readonly float[] ErfccCoefficients =
        [0.17087277f, -0.82215223f, 1.48851587f, -1.13520398f, 0.27886807f, -0.18628806f, 0.09678418f, 0.37409196f, 1.00002368f, -1.26551223f];

    // 2/√π (1 - z²/3 + z⁴/10 - z⁶/42 + z⁸/216 - z¹⁰/1320), highest order first, z² as the variable
    static readonly float[] ErfSeriesCoefficients =
        [(float)(-TwoOverSqrtPi / 1320), (float)(TwoOverSqrtPi / 216), (float)(-TwoOverSqrtPi / 42), (float)(TwoOverSqrtPi / 10), (float)(-TwoOverSqrtPi / 3), (float)TwoOverSqrtPi];

    /// <summary>r = erfc(a) for a ≥ 0 in float32, vectorised: t·exp(-a² + P(t)), t = 1/(1 + a/2).</summary>
    static void ErfcNonNegative(ReadOnlySpan<float> a, Span<float> r, Span<float> t)
    {
        TensorPrimitives.Multiply(a, 0.5f, t);
        TensorPrimitives.Add(t, 1f, t);
        TensorPrimitives.Reciprocal(t, t);
        r.Fill(ErfccCoefficients[0]);
        for (int k = 1; k < ErfccCoefficients.Length; k++) TensorPrimitives.MultiplyAdd(r, t, ErfccCoefficients[k], r);
        TensorPrimitives.Negate(r, r);                      // -P(t)
        TensorPrimitives.MultiplyAdd(a, a, r, r);           // a² - P(t)
        TensorPrimitives.Negate(r, r);
        TensorPrimitives.Exp(r, r);
        TensorPrimitives.Multiply(r, t, r);
    }

    /// <summary>dst = erf(x) elementwise.</summary>
    public static void Erf<T>(ReadOnlySpan<T> x, Span<T> d) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float)) ErfFloat(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(d));
        else
        {
            var xs = MemoryMarshal.Cast<T, double>(x); var ds = MemoryMarshal.Cast<T, double>(d);
            for (int i = 0; i < xs.Length; i++) ds[i] = Erf(xs[i]);
        }
    }

    /// <summary>dst = Φ(x) = ½·erfc(-x/√2), the standard normal CDF, elementwise; times x when <paramref name="timesX"/> (GELU).</summary>
    public static void NormalCdf<T>(ReadOnlySpan<T> x, Span<T> d, bool timesX) where T : unmanaged, IFloatingPointIeee754<T>
    {
        const double InvSqrt2 = 0.70710678118654752;
        if (typeof(T) == typeof(float)) NormalCdfFloat(MemoryMarshal.Cast<T, float>(x), MemoryMarshal.Cast<T, float>(d), timesX);
        else
        {
            var xs = MemoryMarshal.Cast<T, double>(x); var ds = MemoryMarshal.Cast<T, double>(d);
            for (int i = 0; i < xs.Length; i++)
            {
                double v = xs[i];
                double cdf = 0.5 * Erfc(-v * InvSqrt2);
                ds[i] = timesX ? v * cdf : cdf;
            }
        }
    }

    static void NormalCdfFloat(ReadOnlySpan<float> x, Span<float> d, bool timesX)
    {
        Span<float> a = stackalloc float[Chunk], r = stackalloc float[Chunk], t = stackalloc float[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n); var ds = d.Slice(start, n);
            var an = a.Slice(0, n); var rn = r.Slice(0, n); var tn = t.Slice(0, n);
            TensorPrimitives.Abs(xs, an);
            TensorPrimitives.Multiply(an, 0.70710678f, an);          // |x|/√2
            ErfcNonNegative(an, rn, tn);                              // erfc(|x|/√2)
            TensorPrimitives.Multiply(rn, 0.5f, rn);                  // Φ(-|x|)
            TensorPrimitives.Subtract(1f, rn, tn);                    // Φ(|x|)
            SelectPositive(xs, tn, rn, ds);                           // Φ(x)
            if (timesX) TensorPrimitives.Multiply(ds, xs, ds);
        }
    }

    static void ErfFloat(ReadOnlySpan<float> x, Span<float> d)
    {
        Span<float> a = stackalloc float[Chunk], r = stackalloc float[Chunk], t = stackalloc float[Chunk];
        for (int start = 0; start < x.Length; start += Chunk)
        {
            int n = Math.Min(Chunk, x.Length - start);
            var xs = x.Slice(start, n); var ds = d.Slice(start, n);
            var an = a.Slice(0, n); var rn = r.Slice(0, n); var tn = t.Slice(0, n);
            TensorPrimitives.Abs(xs, an);
            ErfcNonNegative(an, rn, tn);
            TensorPrimitives.Subtract(1f, rn, rn);                    // erf(|x|)
            TensorPrimitives.CopySign(rn, xs, ds);
            // near 0, 1 - erfc loses relative accuracy: use the Taylor series there
            TensorPrimitives.Multiply(xs, xs, tn);
            rn.Fill(ErfSeriesCoefficients[0]);
            for (int k = 1; k < ErfSeriesCoefficients.Length; k++) TensorPrimitives.MultiplyAdd(rn, tn, ErfSeriesCoefficients[k], rn);
            TensorPrimitives.Multiply(rn, xs, rn);
            int i = 0;
            if (Vector.IsHardwareAccelerated)
            {
                var half = new Vector<float>(0.5f);
                for (; i <= n - Vector<float>.Count; i += Vector<float>.Count)
                {
                    var small = Vector.LessThan(Vector.Abs(new Vector<float>(xs.Slice(i))), half);
                    Vector.ConditionalSelect(small, new Vector<float>(rn.Slice(i)), new Vector<float>(ds.Slice(i))).CopyTo(ds.Slice(i));
                }
            }
            for (; i < n; i++) if (MathF.Abs(xs[i]) < 0.5f) ds[i] = rn[i];
        }
    }

    /// <summary>d = x &gt; 0 ? whenPositive : otherwise.</summary>
    static void SelectPositive(ReadOnlySpan<float> x, ReadOnlySpan<float> whenPositive, ReadOnlySpan<float> otherwise, Span<float> d)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated)
            for (; i <= x.Length - Vector<float>.Count; i += Vector<float>.Count)
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<float>(x.Slice(i)), Vector<float>.Zero),
                    new Vector<float>(whenPositive.Slice(i)), new Vector<float>(otherwise.Slice(i))).CopyTo(d.Slice(i));
        for (; i < x.Length; i++) d[i] = x[i] > 0 ? whenPositive[i] : otherwise[i];
    }
}
