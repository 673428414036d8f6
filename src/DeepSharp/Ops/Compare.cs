using System.Numerics;

namespace DeepSharp;

/// <summary>An elementwise comparison written once for every numeric element type.</summary>
internal interface ICompareFamily
{
    static abstract bool Apply<T>(T a, T b) where T : INumber<T>;
}

internal struct EqCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a == b; }
internal struct NeCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a != b; }
internal struct LtCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a < b; }
internal struct LeCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a <= b; }
internal struct GtCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a > b; }
internal struct GeCompare : ICompareFamily { public static bool Apply<T>(T a, T b) where T : INumber<T> => a >= b; }

// Comparisons (bool results, broadcasting), logical ops, any/all, equal/allclose.
// == and != are deliberately not overloaded: they keep reference equality; use Eq/Ne.
public sealed partial class Tensor
{
    static Tensor Compare<TOp>(Tensor a, Tensor b, string op) where TOp : ICompareFamily
    {
        ArgumentNullException.ThrowIfNull(b);
        var dtype = DTypeExtensions.Promote(a.DType, b.DType);
        if (dtype == DType.Bool) dtype = DType.Int32;
        if (dtype.IsReducedPrecision()) dtype = DType.Float32; // widening is exact: compare the float32 values
        if (a.DType != dtype) a = a.To(dtype);
        if (b.DType != dtype) b = b.To(dtype);
        var outShape = ShapeUtil.SameShape(a.shape, b.shape) ? a.shape : ShapeUtil.Broadcast(a.shape, b.shape, op);
        var result = AllocUninit(DType.Bool, outShape);
        switch (dtype)
        {
            case DType.Float32: CompareKernel<float, TOp>(a, b, result.Array<bool>(), outShape); break;
            case DType.Float64: CompareKernel<double, TOp>(a, b, result.Array<bool>(), outShape); break;
            case DType.Int64: CompareKernel<long, TOp>(a, b, result.Array<bool>(), outShape); break;
            case DType.Int32: CompareKernel<int, TOp>(a, b, result.Array<bool>(), outShape); break;
        }
        return result;
    }

    static void CompareKernel<T, TOp>(Tensor a, Tensor b, bool[] dst, int[] outShape) where T : unmanaged, INumber<T> where TOp : ICompareFamily
    {
        int n = dst.Length;
        if (n == 0) return;
        if (b.NumEl == 1)
        {
            var av = IndexUtil.Dense<T>(a, outShape, out int aS); T bv = b.Array<T>()[b.offset];
            for (int i = 0; i < n; i++) dst[i] = TOp.Apply(av[aS + i], bv);
            return;
        }
        if (a.NumEl == 1)
        {
            T av = a.Array<T>()[a.offset]; var bv = IndexUtil.Dense<T>(b, outShape, out int bS);
            for (int i = 0; i < n; i++) dst[i] = TOp.Apply(av, bv[bS + i]);
            return;
        }
        var x = IndexUtil.Dense<T>(a, outShape, out int xS);
        var y = IndexUtil.Dense<T>(b, outShape, out int yS);
        for (int i = 0; i < n; i++) dst[i] = TOp.Apply(x[xS + i], y[yS + i]);
    }

    /// <summary>A 0-d scalar to compare this tensor with: the tensor's own dtype where exact, else int64/float64.</summary>
    Tensor CompareScalar(double value) =>
        IsFloatingPoint ? Scalar(value, DType) : value == Math.Floor(value) && Math.Abs(value) < 9e18 ? Scalar(value, DType.Int64) : Scalar(value, DType.Float64);

    /// <summary>Elementwise this == other with broadcasting, as a bool tensor (torch.eq).</summary>
    public Tensor Eq(Tensor other) => Compare<EqCompare>(this, other, "Eq");
    /// <summary>Elementwise this != other with broadcasting (torch.ne).</summary>
    public Tensor Ne(Tensor other) => Compare<NeCompare>(this, other, "Ne");
    /// <summary>Elementwise this &lt; other with broadcasting (torch.lt).</summary>
    public Tensor Lt(Tensor other) => Compare<LtCompare>(this, other, "Lt");
    /// <summary>Elementwise this &lt;= other with broadcasting (torch.le).</summary>
    public Tensor Le(Tensor other) => Compare<LeCompare>(this, other, "Le");
    /// <summary>Elementwise this &gt; other with broadcasting (torch.gt).</summary>
    public Tensor Gt(Tensor other) => Compare<GtCompare>(this, other, "Gt");
    /// <summary>Elementwise this &gt;= other with broadcasting (torch.ge).</summary>
    public Tensor Ge(Tensor other) => Compare<GeCompare>(this, other, "Ge");
    /// <summary>Elementwise this == value (torch.eq with a scalar).</summary>
    public Tensor Eq(double value) => Eq(CompareScalar(value));
    /// <summary>Elementwise this != value (torch.ne with a scalar).</summary>
    public Tensor Ne(double value) => Ne(CompareScalar(value));
    /// <summary>Elementwise this &lt; value (torch.lt with a scalar).</summary>
    public Tensor Lt(double value) => Lt(CompareScalar(value));
    /// <summary>Elementwise this &lt;= value (torch.le with a scalar).</summary>
    public Tensor Le(double value) => Le(CompareScalar(value));
    /// <summary>Elementwise this &gt; value (torch.gt with a scalar).</summary>
    public Tensor Gt(double value) => Gt(CompareScalar(value));
    /// <summary>Elementwise this &gt;= value (torch.ge with a scalar).</summary>
    public Tensor Ge(double value) => Ge(CompareScalar(value));

#pragma warning disable CS1591 // operators mirror Lt/Le/Gt/Ge and the logical ops, which are documented
    public static Tensor operator <(Tensor a, Tensor b) => a.Lt(b);
    public static Tensor operator >(Tensor a, Tensor b) => a.Gt(b);
    public static Tensor operator <=(Tensor a, Tensor b) => a.Le(b);
    public static Tensor operator >=(Tensor a, Tensor b) => a.Ge(b);
    public static Tensor operator <(Tensor a, double b) => a.Lt(b);
    public static Tensor operator >(Tensor a, double b) => a.Gt(b);
    public static Tensor operator <=(Tensor a, double b) => a.Le(b);
    public static Tensor operator >=(Tensor a, double b) => a.Ge(b);
    public static Tensor operator <(double a, Tensor b) => b.Gt(a);
    public static Tensor operator >(double a, Tensor b) => b.Lt(a);
    public static Tensor operator <=(double a, Tensor b) => b.Ge(a);
    public static Tensor operator >=(double a, Tensor b) => b.Le(a);
    public static Tensor operator &(Tensor a, Tensor b) => a.LogicalAnd(b);
    public static Tensor operator |(Tensor a, Tensor b) => a.LogicalOr(b);
    public static Tensor operator ^(Tensor a, Tensor b) => a.LogicalXor(b);
    public static Tensor operator ~(Tensor a) => a.LogicalNot();
    public static Tensor operator !(Tensor a) => a.LogicalNot();
#pragma warning restore CS1591

    enum LogicalOp { And, Or, Xor }

    Tensor Logical(Tensor other, LogicalOp op, string name)
    {
        ArgumentNullException.ThrowIfNull(other);
        var outShape = ShapeUtil.SameShape(shape, other.shape) ? shape : ShapeUtil.Broadcast(shape, other.shape, name);
        var a = IndexUtil.Dense<bool>(Bool(), outShape, out int aS);
        var b = IndexUtil.Dense<bool>(other.Bool(), outShape, out int bS);
        var result = AllocUninit(DType.Bool, outShape);
        var d = result.Array<bool>();
        switch (op)
        {
            case LogicalOp.And: for (int i = 0; i < d.Length; i++) d[i] = a[aS + i] & b[bS + i]; break;
            case LogicalOp.Or: for (int i = 0; i < d.Length; i++) d[i] = a[aS + i] | b[bS + i]; break;
            default: for (int i = 0; i < d.Length; i++) d[i] = a[aS + i] ^ b[bS + i]; break;
        }
        return result;
    }

    /// <summary>Elementwise logical and (non-zero is true), with broadcasting (torch.logical_and; operator &amp;).</summary>
    public Tensor LogicalAnd(Tensor other) => Logical(other, LogicalOp.And, "LogicalAnd");
    /// <summary>Elementwise logical or, with broadcasting (torch.logical_or; operator |).</summary>
    public Tensor LogicalOr(Tensor other) => Logical(other, LogicalOp.Or, "LogicalOr");
    /// <summary>Elementwise logical exclusive or, with broadcasting (torch.logical_xor; operator ^).</summary>
    public Tensor LogicalXor(Tensor other) => Logical(other, LogicalOp.Xor, "LogicalXor");

    /// <summary>Elementwise logical not (torch.logical_not; operators ~ and !).</summary>
    public Tensor LogicalNot()
    {
        var a = IndexUtil.Dense<bool>(Bool(), shape, out int aS);
        var result = AllocUninit(DType.Bool, shape);
        var d = result.Array<bool>();
        for (int i = 0; i < d.Length; i++) d[i] = !a[aS + i];
        return result;
    }

    /// <summary>True (as a 0-d bool tensor) when any element is non-zero (torch.any).</summary>
    public Tensor Any() => Scalar(AnyCore(true) ? 1 : 0, DType.Bool);

    /// <summary>True (as a 0-d bool tensor) when every element is non-zero; true for an empty tensor (torch.all).</summary>
    public Tensor All() => Scalar(AnyCore(false) ? 0 : 1, DType.Bool);

    /// <summary>Whether any element is non-zero along <paramref name="dim"/> (torch.any(dim, keepdim)).</summary>
    public Tensor Any(int dim, bool keepDim = false) => Bool().Sum([dim], keepDim).Gt(0);

    /// <summary>Whether every element is non-zero along <paramref name="dim"/> (torch.all(dim, keepdim)).</summary>
    public Tensor All(int dim, bool keepDim = false) => LogicalNot().Sum([dim], keepDim).Eq(0);

    /// <summary>True when some element, read as a bool, equals <paramref name="value"/>.</summary>
    bool AnyCore(bool value)
    {
        var b = Bool().Contiguous();
        return b.Span<bool>().Contains(value);
    }

    /// <summary>True when both tensors have the same shape and equal elements (torch.equal).</summary>
    public bool Equal(Tensor other)
    {
        ArgumentNullException.ThrowIfNull(other);
        return ShapeUtil.SameShape(shape, other.shape) && !Ne(other).AnyCore(true);
    }

    /// <summary>
    /// Elementwise |this - other| &lt;= atol + rtol * |other|, with broadcasting; infinities are close to themselves and NaN
    /// only to NaN when <paramref name="equalNan"/> (torch.isclose).
    /// </summary>
    public Tensor IsClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false)
    {
        ArgumentNullException.ThrowIfNull(other);
        var outShape = ShapeUtil.Broadcast(shape, other.shape, "IsClose");
        var a = IndexUtil.Dense<double>(To(DType.Float64), outShape, out int aS);
        var b = IndexUtil.Dense<double>(other.To(DType.Float64), outShape, out int bS);
        var result = AllocUninit(DType.Bool, outShape);
        var d = result.Array<bool>();
        for (int i = 0; i < d.Length; i++)
        {
            double x = a[aS + i], y = b[bS + i];
            d[i] = x == y || (equalNan && double.IsNaN(x) && double.IsNaN(y))
                || (double.IsFinite(x) && double.IsFinite(y) && Math.Abs(x - y) <= atol + rtol * Math.Abs(y));
        }
        return result;
    }

    /// <summary>True when every pair of elements is close (see <see cref="IsClose"/>) (torch.allclose).</summary>
    public bool AllClose(Tensor other, double rtol = 1e-5, double atol = 1e-8, bool equalNan = false) =>
        !IsClose(other, rtol, atol, equalNan).AnyCore(false);
}
