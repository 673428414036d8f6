namespace DeepSharp;

// Mask-driven selection: where, masked_fill, masked_select.
public sealed partial class Tensor
{
    /// <summary>
    /// Elementwise <c>condition ? x : y</c>, broadcasting all three (torch.where). x and y are promoted to a common dtype;
    /// gradients flow to x where the condition holds and to y elsewhere.
    /// </summary>
    public static Tensor Where(Tensor condition, Tensor x, Tensor y)
    {
        ArgumentNullException.ThrowIfNull(condition); ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(y);
        if (condition.DType != DType.Bool)
            throw new ArgumentException($"Where: condition must be a bool tensor, got {condition.DType.TorchName()}; compare first (e.g. t.Gt(0)) or convert with Bool()", nameof(condition));
        var outShape = BroadcastThree(condition.shape, x.shape, y.shape, "Where", "condition", "x", "y");
        var dtype = DTypeExtensions.Promote(x.DType, y.DType);
        var xs = x.DType == dtype ? x : x.To(dtype);
        var ys = y.DType == dtype ? y : y.To(dtype);
        var cond = IndexUtil.Dense<bool>(condition, outShape, out int cStart);
        var result = AllocUninit(dtype, outShape);
        switch (dtype)
        {
            case DType.Float32: WhereKernel(cond, cStart, xs, ys, result.Array<float>(), outShape); break;
            case DType.Float64: WhereKernel(cond, cStart, xs, ys, result.Array<double>(), outShape); break;
            case DType.Int64: WhereKernel(cond, cStart, xs, ys, result.Array<long>(), outShape); break;
            case DType.Int32: WhereKernel(cond, cStart, xs, ys, result.Array<int>(), outShape); break;
            case DType.Bool: WhereKernel(cond, cStart, xs, ys, result.Array<bool>(), outShape); break;
            case DType.Float16: WhereKernel(cond, cStart, xs, ys, result.Array<Half>(), outShape); break;
            case DType.BFloat16: WhereKernel(cond, cStart, xs, ys, result.Array<BFloat16>(), outShape); break;
        }
        if (Autograd.ShouldRecord(x, y))
        {
            var (xShape, yShape) = (x.shape, y.shape);
            Autograd.Record(result, "WhereBackward", [x, y], g =>
            {
                var zero = Scalar(0, g.DType);
                return [x.RequiresGrad ? Where(condition, g, zero).SumToShape(xShape) : null,
                        y.RequiresGrad ? Where(condition, zero, g).SumToShape(yShape) : null];
            });
        }
        return result;
    }

    /// <summary><c>condition ? x : y</c> with a scalar y (torch.where(condition, x, scalar)).</summary>
    public static Tensor Where(Tensor condition, Tensor x, double y) => Where(condition, x, ScalarLike(y, x));

    /// <summary><c>condition ? x : y</c> with a scalar x (torch.where(condition, scalar, y)).</summary>
    public static Tensor Where(Tensor condition, double x, Tensor y) => Where(condition, ScalarLike(x, y), y);

    static void WhereKernel<T>(bool[] cond, int cStart, Tensor x, Tensor y, T[] dst, int[] outShape)
    {
        int n = dst.Length;
        // A one-element operand is read once; anything else is read densely in the output's row-major order.
        bool xOne = x.NumEl == 1, yOne = y.NumEl == 1;
        int xs, ys;
        T[] xa, ya;
        if (xOne) { xa = x.Array<T>(); xs = x.offset; } else xa = IndexUtil.Dense<T>(x, outShape, out xs);
        if (yOne) { ya = y.Array<T>(); ys = y.offset; } else ya = IndexUtil.Dense<T>(y, outShape, out ys);
        if (xOne && yOne) { T a = xa[xs], b = ya[ys]; for (int i = 0; i < n; i++) dst[i] = cond[cStart + i] ? a : b; }
        else if (xOne) { T a = xa[xs]; for (int i = 0; i < n; i++) dst[i] = cond[cStart + i] ? a : ya[ys + i]; }
        else if (yOne) { T b = ya[ys]; for (int i = 0; i < n; i++) dst[i] = cond[cStart + i] ? xa[xs + i] : b; }
        else for (int i = 0; i < n; i++) dst[i] = cond[cStart + i] ? xa[xs + i] : ya[ys + i];
    }

    static int[] BroadcastThree(int[] a, int[] b, int[] c, string op, string na, string nb, string nc)
    {
        try { return ShapeUtil.Broadcast(ShapeUtil.Broadcast(a, b, op), c, op); }
        catch (ArgumentException)
        {
            throw new ArgumentException($"{op}: {na} of shape {ShapeUtil.Format(a)}, {nb} of shape {ShapeUtil.Format(b)} and {nc} of shape {ShapeUtil.Format(c)} cannot be broadcast together");
        }
    }

    static void CheckMask(Tensor mask, string op)
    {
        ArgumentNullException.ThrowIfNull(mask);
        if (mask.DType != DType.Bool)
            throw new ArgumentException($"{op}: mask must be a bool tensor, got {mask.DType.TorchName()}", nameof(mask));
    }

    /// <summary>
    /// A copy with <paramref name="value"/> wherever <paramref name="mask"/> (bool, broadcast) is true (torch.masked_fill).
    /// The gradient is zero at the filled positions.
    /// </summary>
    public Tensor MaskedFill(Tensor mask, double value)
    {
        CheckMask(mask, "MaskedFill");
        BroadcastThree(shape, mask.shape, [], "MaskedFill", "self", "mask", "value");
        return Where(mask, Scalar(value, DType), this);
    }

    /// <summary>A copy with the 0-d <paramref name="value"/> wherever <paramref name="mask"/> is true (torch.masked_fill with a tensor value).</summary>
    public Tensor MaskedFill(Tensor mask, Tensor value)
    {
        CheckMask(mask, "MaskedFill");
        ArgumentNullException.ThrowIfNull(value);
        if (value.Rank != 0)
            throw new ArgumentException($"MaskedFill: value must be a 0-dimensional tensor, got shape {ShapeUtil.Format(value.shape)}", nameof(value));
        BroadcastThree(shape, mask.shape, [], "MaskedFill", "self", "mask", "value");
        return Where(mask, value.DType == DType ? value : value.To(DType), this);
    }

    /// <summary>In-place <see cref="MaskedFill(Tensor, double)"/>; the mask must broadcast to this shape (torch.Tensor.masked_fill_).</summary>
    public Tensor MaskedFillInPlace(Tensor mask, double value)
    {
        CheckMask(mask, "MaskedFillInPlace");
        CheckInPlace("MaskedFillInPlace");
        var target = ShapeUtil.Broadcast(shape, mask.shape, "MaskedFillInPlace");
        if (!ShapeUtil.SameShape(target, shape))
            throw new ArgumentException($"MaskedFillInPlace: mask of shape {ShapeUtil.Format(mask.shape)} does not broadcast to self {ShapeUtil.Format(shape)}", nameof(mask));
        var m = IndexUtil.Dense<bool>(mask, shape, out int mStart);
        var pos = Positions(shape, strides, offset, -1);
        switch (DType)
        {
            case DType.Float32: FillWhere(Array<float>(), pos, m, mStart, (float)value); break;
            case DType.Float64: FillWhere(Array<double>(), pos, m, mStart, value); break;
            case DType.Int64: FillWhere(Array<long>(), pos, m, mStart, (long)value); break;
            case DType.Int32: FillWhere(Array<int>(), pos, m, mStart, (int)value); break;
            case DType.Bool: FillWhere(Array<bool>(), pos, m, mStart, value != 0); break;
            case DType.Float16: FillWhere(Array<Half>(), pos, m, mStart, (Half)value); break;
            case DType.BFloat16: FillWhere(Array<BFloat16>(), pos, m, mStart, (BFloat16)value); break;
        }
        ReturnPositions(pos);
        BumpVersion();
        return this;
    }

    static void FillWhere<T>(T[] dst, int[] pos, bool[] mask, int mStart, T value)
    {
        for (int i = 0; i < pos.Length; i++) if (mask[mStart + i]) dst[pos[i]] = value;
    }

    /// <summary>
    /// The elements where <paramref name="mask"/> (bool, broadcast with this tensor) is true, as a new 1-D tensor in
    /// row-major order (torch.masked_select).
    /// </summary>
    public Tensor MaskedSelect(Tensor mask)
    {
        CheckMask(mask, "MaskedSelect");
        var outShape = ShapeUtil.Broadcast(shape, mask.shape, "MaskedSelect");
        var flat = TrueIndices(mask, outShape);
        var source = ShapeUtil.SameShape(outShape, shape) ? this : Expand(outShape);
        return source.Reshape(-1).IndexSelect(0, flat);
    }

    /// <summary>Flat row-major positions (int64, 1-D) where the mask, broadcast to <paramref name="outShape"/>, is true.</summary>
    static Tensor TrueIndices(Tensor mask, int[] outShape)
    {
        var m = IndexUtil.Dense<bool>(mask, outShape, out int mStart);
        int n = ShapeUtil.Numel(outShape), count = 0;
        for (int i = 0; i < n; i++) if (m[mStart + i]) count++;
        var idx = new long[count];
        for (int i = 0, j = 0; i < n; i++) if (m[mStart + i]) idx[j++] = i;
        return new Tensor(new Storage(idx, DType.Int64), [count]);
    }

    /// <summary>
    /// Indices of the non-zero (true) elements as an (n, rank) int64 tensor, one row per element in row-major order
    /// (torch.nonzero).
    /// </summary>
    public Tensor Nonzero()
    {
        var flat = TrueIndices(Bool(), shape).Array<long>();
        var result = Alloc(DType.Int64, [flat.Length, Rank]);
        var dst = result.Array<long>();
        for (int i = 0; i < flat.Length; i++)
        {
            long rem = flat[i];
            for (int k = Rank - 1; k >= 0; k--) { dst[i * Rank + k] = rem % shape[k]; rem /= shape[k]; }
        }
        return result;
    }
}
