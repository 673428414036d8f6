using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace DeepSharp;

/// <summary>A unary elementwise op on floating-point types that takes up to two scalar parameters (slope, bounds...).</summary>
internal interface IFloatArgsFamily
{
    static abstract void Apply<T>(ReadOnlySpan<T> x, Span<T> dst, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A unary elementwise op on every numeric type (it keeps integer dtypes) with up to two scalar parameters.</summary>
internal interface INumericArgsFamily
{
    static abstract void Apply<T>(ReadOnlySpan<T> x, Span<T> dst, T a, T b) where T : unmanaged, INumber<T>;
}

/// <summary>
/// Drivers for the parameterised unary families, plus the branch-free mask kernels that the backward passes of
/// piecewise ops (relu, clamp, hardtanh, leaky relu, softplus...) multiply the incoming gradient with.
/// </summary>
internal static class MathKernels
{
    /// <summary>Applies a float-only op with scalar parameters to a new contiguous tensor (integer inputs become float32).</summary>
    public static Tensor Float<TOp>(Tensor x, double a, double b, string opName) where TOp : IFloatArgsFamily
    {
        var src = Elementwise.RequireFloat(x, opName).Contiguous();
        if (src.DType.IsReducedPrecision()) return FloatReduced<TOp>(src, a, b, opName);
        var result = Tensor.AllocUninit(src.DType, src.shape);
        if (src.DType == DType.Float32) TOp.Apply(src.Span<float>(), result.Span<float>(), (float)a, (float)b);
        else TOp.Apply(src.Span<double>(), result.Span<double>(), a, b);
        return result;
    }

    /// <summary>Applies a numeric op with scalar parameters to a new contiguous tensor of the same dtype (bool becomes int64).</summary>
    public static Tensor Numeric<TOp>(Tensor x, double a, double b, string opName) where TOp : INumericArgsFamily
    {
        var src = (x.DType == DType.Bool ? x.To(DType.Int64) : x).Contiguous();
        if (src.DType.IsReducedPrecision()) return NumericReduced<TOp>(src, a, b, opName);
        var result = Tensor.AllocUninit(src.DType, src.shape);
        NumericSpans<TOp>(src, result, a, b, opName);
        return result;
    }

    // methods of their own, so that the closure is allocated only on the 16-bit path (a lambda capturing a parameter is
    // allocated on entry to the method that declares it)
    static Tensor FloatReduced<TOp>(Tensor src, double a, double b, string opName) where TOp : IFloatArgsFamily
        => ReducedFloat.Compute(src.DType, t => Float<TOp>(t[0]!, a, b, opName), src);

    static Tensor NumericReduced<TOp>(Tensor src, double a, double b, string opName) where TOp : INumericArgsFamily
        => ReducedFloat.Compute(src.DType, t => Numeric<TOp>(t[0]!, a, b, opName), src);

    /// <summary>Applies a numeric op with scalar parameters in place (no autograd, no checks: callers do those).</summary>
    public static void NumericInPlace<TOp>(Tensor x, double a, double b, string opName) where TOp : INumericArgsFamily
    {
        if (x.IsContiguous && !x.DType.IsReducedPrecision()) { NumericSpans<TOp>(x, x, a, b, opName); return; }
        var tmp = Numeric<TOp>(x, a, b, opName);
        Tensor.CopyInto(tmp, x);
    }

    /// <summary>Applies a float op with scalar parameters in place; the tensor must be floating point.</summary>
    public static void FloatInPlace<TOp>(Tensor x, double a, double b, string opName) where TOp : IFloatArgsFamily
    {
        if (!x.IsFloatingPoint) throw new ArgumentException($"{opName}: needs a floating point tensor to work in place, got {x.DType.TorchName()}");
        if (!x.IsContiguous || x.DType.IsReducedPrecision()) { Tensor.CopyInto(Float<TOp>(x, a, b, opName), x); return; }
        if (x.DType == DType.Float32) TOp.Apply<float>(x.Span<float>(), x.Span<float>(), (float)a, (float)b);
        else TOp.Apply<double>(x.Span<double>(), x.Span<double>(), a, b);
    }

    static void NumericSpans<TOp>(Tensor src, Tensor dst, double a, double b, string opName) where TOp : INumericArgsFamily
    {
        switch (src.DType)
        {
            case DType.Float32: TOp.Apply(src.Span<float>(), dst.Span<float>(), (float)a, (float)b); break;
            case DType.Float64: TOp.Apply(src.Span<double>(), dst.Span<double>(), a, b); break;
            case DType.Int64: TOp.Apply(src.Span<long>(), dst.Span<long>(), SaturateLong(a), SaturateLong(b)); break;
            case DType.Int32: TOp.Apply(src.Span<int>(), dst.Span<int>(), SaturateInt(a), SaturateInt(b)); break;
            default: throw new NotSupportedException($"{opName}: dtype {src.DType.TorchName()} is not supported");
        }
    }

    static long SaturateLong(double v) => double.IsNaN(v) ? 0 : v >= long.MaxValue ? long.MaxValue : v <= long.MinValue ? long.MinValue : (long)v;
    static int SaturateInt(double v) => double.IsNaN(v) ? 0 : v >= int.MaxValue ? int.MaxValue : v <= int.MinValue ? int.MinValue : (int)v;

    /// <summary>A constant 0/1 tensor of x's (float) dtype: 1 where the family's condition holds for x.</summary>
    public static Tensor Mask<TOp>(Tensor x, double a, double b) where TOp : IFloatArgsFamily
    {
        using (Autograd.NoGrad()) return Float<TOp>(x.Detach(), a, b, "mask");
    }

    /// <summary>Vectorised select: dst[i] = cond(x[i]) ? whenTrue : whenFalse, for a comparison written once as TCmp.</summary>
    public static void Select<T, TCmp>(ReadOnlySpan<T> x, Span<T> dst, T a, T b, T whenTrue, T whenFalse)
        where T : unmanaged, IFloatingPointIeee754<T> where TCmp : ICompare
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var va = new Vector<T>(a); var vb = new Vector<T>(b);
            var vt = new Vector<T>(whenTrue); var vf = new Vector<T>(whenFalse);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(i));
                Vector.ConditionalSelect(TCmp.Vector(v, va, vb), vt, vf).CopyTo(dst.Slice(i));
            }
        }
        for (; i < x.Length; i++) dst[i] = TCmp.Scalar(x[i], a, b) ? whenTrue : whenFalse;
    }

    /// <summary>Vectorised pass-through: dst[i] = cond(x[i]) ? x[i] : other[i] (other may alias dst).</summary>
    public static void KeepWhere<T, TCmp>(ReadOnlySpan<T> x, ReadOnlySpan<T> other, Span<T> dst, T a, T b)
        where T : unmanaged, IFloatingPointIeee754<T> where TCmp : ICompare
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && x.Length >= Vector<T>.Count)
        {
            var va = new Vector<T>(a); var vb = new Vector<T>(b);
            for (; i <= x.Length - Vector<T>.Count; i += Vector<T>.Count)
            {
                var v = new Vector<T>(x.Slice(i));
                Vector.ConditionalSelect(TCmp.Vector(v, va, vb), v, new Vector<T>(other.Slice(i))).CopyTo(dst.Slice(i));
            }
        }
        for (; i < x.Length; i++) dst[i] = TCmp.Scalar(x[i], a, b) ? x[i] : other[i];
    }

    /// <summary>Reinterprets a span of T as float/double where T is known to be that type (the JIT removes the check).</summary>
    public static ReadOnlySpan<TTo> As<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged => MemoryMarshal.Cast<TFrom, TTo>(s);
    public static Span<TTo> As<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged => MemoryMarshal.Cast<TFrom, TTo>(s);
}

/// <summary>A comparison of x against parameters a and b, in scalar and vector form.</summary>
internal interface ICompare
{
    static abstract bool Scalar<T>(T x, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>;
    static abstract Vector<T> Vector<T>(Vector<T> x, Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>a &lt; x &lt; b (strict: relu, hardtanh backward).</summary>
internal struct OpenRange : ICompare
{
    public static bool Scalar<T>(T x, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => x > a && x < b;
    public static Vector<T> Vector<T>(Vector<T> x, Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => System.Numerics.Vector.BitwiseAnd(System.Numerics.Vector.GreaterThan(x, a), System.Numerics.Vector.LessThan(x, b));
}

/// <summary>a ≤ x ≤ b (inclusive: clamp backward, as PyTorch lets the gradient through at the bounds).</summary>
internal struct ClosedRange : ICompare
{
    public static bool Scalar<T>(T x, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => x >= a && x <= b;
    public static Vector<T> Vector<T>(Vector<T> x, Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => System.Numerics.Vector.BitwiseAnd(System.Numerics.Vector.GreaterThanOrEqual(x, a), System.Numerics.Vector.LessThanOrEqual(x, b));
}

/// <summary>x &gt; a (b unused).</summary>
internal struct Above : ICompare
{
    public static bool Scalar<T>(T x, T a, T b) where T : unmanaged, IFloatingPointIeee754<T> => x > a;
    public static Vector<T> Vector<T>(Vector<T> x, Vector<T> a, Vector<T> b) where T : unmanaged, IFloatingPointIeee754<T>
        => System.Numerics.Vector.GreaterThan(x, a);
}

/// <summary>Mask families: 1 where the comparison holds, else 0.</summary>
internal struct OpenRangeMask : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
        => MathKernels.Select<T, OpenRange>(x, d, a, b, T.One, T.Zero);
}

internal struct ClosedRangeMask : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
        => MathKernels.Select<T, ClosedRange>(x, d, a, b, T.One, T.Zero);
}

/// <summary>dst = x &gt; 0 ? a : b (leaky relu's derivative, and 0/1 masks).</summary>
internal struct PositiveSelect : IFloatArgsFamily
{
    public static void Apply<T>(ReadOnlySpan<T> x, Span<T> d, T a, T b) where T : unmanaged, IFloatingPointIeee754<T>
        => MathKernels.Select<T, Above>(x, d, T.Zero, T.Zero, a, b);
}
