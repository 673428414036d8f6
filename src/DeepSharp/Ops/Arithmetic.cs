using System.Numerics;
using System.Numerics.Tensors;

namespace DeepSharp;

internal struct AddFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => a + b;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Add(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Add(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Add(b, a, d);
}

internal struct SubFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => a - b;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Subtract(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Subtract(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Subtract(a, b, d);
}

internal struct MulFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => a * b;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Multiply(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Multiply(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Multiply(b, a, d);
}

internal struct DivFamily : IBinaryFamily
{
    public static T Scalar<T>(T a, T b) where T : unmanaged, INumber<T> => a / b;
    public static void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Divide(a, b, d);
    public static void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Divide(a, b, d);
    public static void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> d) where T : unmanaged, INumber<T> => TensorPrimitives.Divide(a, b, d);
}

// Arithmetic: add, sub, mul, div, neg, with broadcasting, scalars, operators and in-place forms.
public sealed partial class Tensor
{
    /// <summary>Elementwise sum with broadcasting (torch.add).</summary>
    public Tensor Add(Tensor other)
    {
        var result = Elementwise.Binary<AddFamily>(this, other, "Add");
        // backward functions read the inputs' shapes from the node's edges (an input without an edge needs no gradient)
        if (Autograd.ShouldRecord(this, other))
            Autograd.Record(result, "AddBackward", [this, other], static (n, g) =>
                [n.Input(0) is { } a ? g.SumToShape(a.shape) : null, n.Input(1) is { } b ? g.SumToShape(b.shape) : null], null);
        return result;
    }

    /// <summary>this + alpha * other (torch.add(input, other, alpha=alpha)).</summary>
    public Tensor Add(Tensor other, double alpha) => alpha == 1 ? Add(other) : Add(other.Mul(alpha));

    /// <summary>Elementwise difference with broadcasting (torch.sub).</summary>
    public Tensor Sub(Tensor other)
    {
        var result = Elementwise.Binary<SubFamily>(this, other, "Sub");
        if (Autograd.ShouldRecord(this, other))
            Autograd.Record(result, "SubBackward", [this, other], static (n, g) =>
                [n.Input(0) is { } a ? g.SumToShape(a.shape) : null, n.Input(1) is { } b ? g.Neg().SumToShape(b.shape) : null], null);
        return result;
    }

    /// <summary>Elementwise product with broadcasting (torch.mul).</summary>
    public Tensor Mul(Tensor other)
    {
        var result = Elementwise.Binary<MulFamily>(this, other, "Mul");
        if (Autograd.ShouldRecord(this, other))
            Autograd.Record(result, "MulBackward", [this, other], static (n, g) =>
            {
                Tensor a = n.Saved(0), b = n.Saved(1);
                return [n.Input(0) != null ? g.Mul(b).SumToShape(a.shape) : null, n.Input(1) != null ? g.Mul(a).SumToShape(b.shape) : null];
            }, null, this, other);
        return result;
    }

    /// <summary>Elementwise quotient with broadcasting (torch.div, true division).</summary>
    public Tensor Div(Tensor other)
    {
        var a = IsFloatingPoint || other.IsFloatingPoint ? this : To(DType.Float32);
        var result = Elementwise.Binary<DivFamily>(a, other, "Div");
        if (Autograd.ShouldRecord(this, other))
            Autograd.Record(result, "DivBackward", [this, other], static (n, g) =>
            {
                Tensor a = n.Saved(0), b = n.Saved(1);
                return [n.Input(0) != null ? g.Div(b).SumToShape(a.shape) : null,
                        n.Input(1) != null ? g.Neg().Mul(a).Div(b.Mul(b)).SumToShape(b.shape) : null];
            }, null, this, other);
        return result;
    }

    /// <summary>Elementwise negation (torch.neg).</summary>
    public Tensor Neg()
    {
        var result = DType == DType.Bool ? Elementwise.Binary<MulFamily>(this, ScalarLike(-1, this), "Neg")
            : Elementwise.BinaryScalar<MulFamily>(this, -1, "Neg");                // ScalarLike(-1) has this dtype here
        if (Autograd.ShouldRecord(this)) Autograd.Record(result, "NegBackward", [this], static (_, g) => [g.Neg()], null);
        return result;
    }

    /// <summary>A 0-d constant with a dtype suited to combine with <paramref name="t"/> (Python-scalar promotion rules).</summary>
    internal static Tensor ScalarLike(double value, Tensor t)
    {
        var dtype = t.IsFloatingPoint ? t.DType : value == Math.Floor(value) && t.DType != DType.Bool ? t.DType : DType.Float32;
        if (t.DType == DType.Bool && value == Math.Floor(value)) dtype = DType.Int64;
        return Scalar(value, dtype);
    }

    /// <summary>this + scalar (torch.add).</summary>
    public Tensor Add(double scalar) => KeepsDType(scalar) && !Autograd.ShouldRecord(this)
        ? Elementwise.BinaryScalar<AddFamily>(this, scalar, "Add") : Add(ScalarLike(scalar, this));
    /// <summary>this - scalar (torch.sub).</summary>
    public Tensor Sub(double scalar) => KeepsDType(scalar) && !Autograd.ShouldRecord(this)
        ? Elementwise.BinaryScalar<SubFamily>(this, scalar, "Sub") : Sub(ScalarLike(scalar, this));
    /// <summary>this * scalar (torch.mul).</summary>
    public Tensor Mul(double scalar) => KeepsDType(scalar) && !Autograd.ShouldRecord(this)
        ? Elementwise.BinaryScalar<MulFamily>(this, scalar, "Mul") : Mul(ScalarLike(scalar, this));
    /// <summary>this / scalar (torch.div).</summary>
    public Tensor Div(double scalar) => IsFloatingPoint && !Autograd.ShouldRecord(this)
        ? Elementwise.BinaryScalar<DivFamily>(this, scalar, "Div") : Div(Scalar(scalar, IsFloatingPoint ? DType : DType.Float32));

    /// <summary>
    /// Whether <see cref="ScalarLike"/> gives this tensor's own dtype for <paramref name="scalar"/>, so that an unrecorded
    /// op with it can skip the 0-d tensor (<see cref="Elementwise.BinaryScalar{TOp}"/>).
    /// </summary>
    bool KeepsDType(double scalar) => IsFloatingPoint || (DType != DType.Bool && scalar == Math.Floor(scalar));
    /// <summary>scalar - this (torch.rsub).</summary>
    public Tensor RSub(double scalar) => ScalarLike(scalar, this).Sub(this);
    /// <summary>scalar / this (torch.reciprocal scaled).</summary>
    public Tensor RDiv(double scalar) => Scalar(scalar, IsFloatingPoint ? DType : DType.Float32).Div(this);

#pragma warning disable CS1591
    public static Tensor operator +(Tensor a, Tensor b) => a.Add(b);
    public static Tensor operator -(Tensor a, Tensor b) => a.Sub(b);
    public static Tensor operator *(Tensor a, Tensor b) => a.Mul(b);
    public static Tensor operator /(Tensor a, Tensor b) => a.Div(b);
    public static Tensor operator -(Tensor a) => a.Neg();
    public static Tensor operator +(Tensor a, double b) => a.Add(b);
    public static Tensor operator +(double a, Tensor b) => b.Add(a);
    public static Tensor operator -(Tensor a, double b) => a.Sub(b);
    public static Tensor operator -(double a, Tensor b) => b.RSub(a);
    public static Tensor operator *(Tensor a, double b) => a.Mul(b);
    public static Tensor operator *(double a, Tensor b) => b.Mul(a);
    public static Tensor operator /(Tensor a, double b) => a.Div(b);
    public static Tensor operator /(double a, Tensor b) => b.RDiv(a);
#pragma warning restore CS1591

    // ---- in-place forms --------------------------------------------------------------------------------

    /// <summary>
    /// Checks an in-place write is allowed: a leaf that requires grad may only be modified under NoGrad
    /// (PyTorch: "a leaf Variable that requires grad is being used in an in-place operation").
    /// </summary>
    internal void CheckInPlace(string op)
    {
        if (Autograd.IsGradEnabled && requiresGrad)
        {
            if (IsLeaf)
                throw new InvalidOperationException($"{op}: a leaf tensor that requires grad (shape {ShapeUtil.Format(shape)}) cannot be modified in place while gradients are recorded; wrap the update in Autograd.NoGrad()");
            throw new InvalidOperationException($"{op}: in-place modification of a tensor that is part of the autograd graph (produced by {GradFn?.Name}) is not supported; use the out-of-place op");
        }
    }

    Tensor InPlace<TOp>(Tensor other, string op) where TOp : IBinaryFamily
    {
        CheckInPlace(op);
        if (Autograd.IsGradEnabled && other.RequiresGrad)
            throw new InvalidOperationException($"{op}: the operand requires grad but this tensor does not track gradients; use the out-of-place op");
        Elementwise.BinaryInto<TOp>(this, other, op);
        BumpVersion();
        return this;
    }

    /// <summary>In-place add: this += other (torch.Tensor.add_).</summary>
    public Tensor AddInPlace(Tensor other) => InPlace<AddFamily>(other, "AddInPlace");
    /// <summary>In-place add of alpha * other (torch.Tensor.add_(other, alpha=alpha)).</summary>
    public Tensor AddInPlace(Tensor other, double alpha)
    {
        if (alpha == 1) return AddInPlace(other);
        if (DType is DType.Float32 or DType.Float64 && other.DType == DType && IsContiguous && other.IsContiguous && ShapeUtil.SameShape(shape, other.shape)
            && !(Autograd.IsGradEnabled && (requiresGrad || other.RequiresGrad)) && NumEl < Kernels.ParallelChunks.MinParallelLength)
        {
            // other·alpha into a rented buffer, then added: the two roundings of AddInPlace(other.Mul(alpha)), without the tensor
            // (short tensors only, which those ops also pass serially: running statistics, biases)
            if (DType == DType.Float32) AddScaledInPlace<float>(this, other, (float)alpha);
            else AddScaledInPlace<double>(this, other, alpha);
            BumpVersion();
            return this;
        }
        return AddInPlace(other.MulNoGrad(alpha));
    }

    static void AddScaledInPlace<T>(Tensor dst, Tensor other, T alpha) where T : unmanaged, INumber<T>
    {
        int n = dst.NumEl;
        var scaled = (T[])ArrayCache.Rent(dst.DType, n, clear: false);
        try
        {
            var d = new Span<T>(dst.Array<T>(), dst.offset, n);
            TensorPrimitives.Multiply(new ReadOnlySpan<T>(other.Array<T>(), other.offset, n), alpha, scaled.AsSpan(0, n));
            TensorPrimitives.Add(d, scaled.AsSpan(0, n), d);
        }
        finally { ArrayCache.Return(dst.DType, scaled); }
    }
    /// <summary>In-place subtract (torch.Tensor.sub_).</summary>
    public Tensor SubInPlace(Tensor other) => InPlace<SubFamily>(other, "SubInPlace");
    /// <summary>In-place multiply (torch.Tensor.mul_).</summary>
    public Tensor MulInPlace(Tensor other) => InPlace<MulFamily>(other, "MulInPlace");
    /// <summary>In-place divide (torch.Tensor.div_).</summary>
    public Tensor DivInPlace(Tensor other) => InPlace<DivFamily>(other, "DivInPlace");
    /// <summary>In-place add of a scalar (torch.Tensor.add_).</summary>
    public Tensor AddInPlace(double scalar) => InPlaceScalar<AddFamily>(scalar, "AddInPlace");
    /// <summary>In-place subtract of a scalar (torch.Tensor.sub_).</summary>
    public Tensor SubInPlace(double scalar) => InPlaceScalar<SubFamily>(scalar, "SubInPlace");
    /// <summary>In-place multiply by a scalar (torch.Tensor.mul_).</summary>
    public Tensor MulInPlace(double scalar) => InPlaceScalar<MulFamily>(scalar, "MulInPlace");
    /// <summary>In-place divide by a scalar (torch.Tensor.div_).</summary>
    public Tensor DivInPlace(double scalar) => InPlaceScalar<DivFamily>(scalar, "DivInPlace");

    /// <summary><see cref="InPlace{TOp}"/> with <c>Scalar(scalar, DType)</c> as the operand, without building that tensor.</summary>
    Tensor InPlaceScalar<TOp>(double scalar, string op) where TOp : IBinaryFamily
    {
        CheckInPlace(op);
        Elementwise.BinaryScalarInto<TOp>(this, scalar, op);
        BumpVersion();
        return this;
    }

    Tensor MulNoGrad(double s) { using (Autograd.NoGrad()) return Mul(s); }

    /// <summary>Fills every element with <paramref name="value"/> in place (torch.Tensor.fill_).</summary>
    public Tensor FillInPlace(double value)
    {
        CheckInPlace("FillInPlace");
        if (IsContiguous) FillRaw(value);
        else CopyInto(Full(shape, value, DType).Expand(shape), this);
        BumpVersion();
        return this;
    }

    /// <summary>Sets every element to zero in place (torch.Tensor.zero_).</summary>
    public Tensor ZeroInPlace() => FillInPlace(0);

    /// <summary>Copies <paramref name="src"/> (broadcast to this shape, converted to this dtype) into this tensor (torch.Tensor.copy_).</summary>
    public Tensor CopyFrom(Tensor src)
    {
        CheckInPlace("CopyFrom");
        var s = src.DType == DType ? src : src.To(DType);
        if (!ShapeUtil.SameShape(s.shape, shape)) s = s.Expand(shape);
        CopyInto(s, this);
        BumpVersion();
        return this;
    }
}
