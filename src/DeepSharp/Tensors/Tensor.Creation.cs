using System.Numerics.Tensors;
namespace DeepSharp;

public sealed partial class Tensor
{
    internal enum RandomKind { Uniform, Normal }

    internal void SetRequiresGradInternal() => requiresGrad = true;

    static void CheckShape(int[] shape, string op)
    {
        ArgumentNullException.ThrowIfNull(shape);
        foreach (var d in shape)
            if (d < 0) throw new ArgumentException($"{op}: negative dimension in shape {ShapeUtil.Format(shape)}", nameof(shape));
    }

    static Tensor Fill(DType dtype, int[] shape, double value, bool requiresGrad)
    {
        CheckShape(shape, "Full");
        var t = value == 0 ? Alloc(dtype, ShapeUtil.Copy(shape)) : AllocUninit(dtype, ShapeUtil.Copy(shape));
        if (value != 0) t.FillRaw(value);
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    /// <summary>Writes <paramref name="value"/> into every element of this contiguous fresh tensor (no version bump, no checks).</summary>
    internal void FillRaw(double value)
    {
        switch (DType)
        {
            case DType.Float32: Span<float>().Fill((float)value); break;
            case DType.Float64: Span<double>().Fill(value); break;
            case DType.Int64: Span<long>().Fill((long)value); break;
            case DType.Int32: Span<int>().Fill((int)value); break;
            case DType.Bool: Span<bool>().Fill(value != 0); break;
            case DType.Float16: Span<Half>().Fill((Half)value); break;
            case DType.BFloat16: Span<BFloat16>().Fill((BFloat16)value); break;
        }
    }

    static Tensor RandomFill(DType dtype, int[] shape, bool requiresGrad, Generator? generator, RandomKind kind)
    {
        CheckShape(shape, kind == RandomKind.Uniform ? "Rand" : "Randn");
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"{(kind == RandomKind.Uniform ? "Rand" : "Randn")}: dtype must be floating point, got {dtype.TorchName()}", nameof(dtype));
        if (dtype.IsReducedPrecision())
        {
            var r = ReducedFloat.Narrow(RandomFill(DType.Float32, shape, false, generator, kind), dtype);
            if (requiresGrad) r.RequiresGrad = true;
            return r;
        }
        var t = AllocUninit(dtype, ShapeUtil.Copy(shape));
        t.DrawRandomInPlace(kind, generator);
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    /// <summary>
    /// Writes Rand's (<see cref="RandomKind.Uniform"/>) or Randn's values into this contiguous float32/float64 tensor,
    /// drawn from <paramref name="generator"/> (the global stream when null), then ·<paramref name="scale"/> and
    /// +<paramref name="shift"/> as two passes in the tensor's precision (what the initialisers compute). No version bump:
    /// the caller says whether the write is an in-place change.
    /// </summary>
    internal void DrawRandomInPlace(RandomKind kind, Generator? generator, double scale = 1, double shift = 0)
    {
        bool identity = scale == 1 && shift == 0;
        var self = this;
        DeepSharp.Random.With(generator, g =>
        {
            if (self.DType == DType.Float32)
            {
                var s = self.Span<float>();
                if (kind == RandomKind.Uniform) g.FillUniform(s);
                else g.FillNormal(s);
                if (!identity) { TensorPrimitives.Multiply(s, (float)scale, s); TensorPrimitives.Add(s, (float)shift, s); }
            }
            else
            {
                var s = self.Span<double>();
                if (kind == RandomKind.Uniform) g.FillUniform(s);
                else g.FillNormal(s);
                if (!identity) { TensorPrimitives.Multiply(s, scale, s); TensorPrimitives.Add(s, shift, s); }
            }
        });
    }

    /// <summary>Creates a tensor filled with <paramref name="value"/> (torch.full).</summary>
    public static Tensor Full(int[] shape, double value, DType dtype = DType.Float32, bool requiresGrad = false) => Fill(dtype, shape, value, requiresGrad);

    /// <summary>A 0-dimensional tensor holding one value (torch.tensor(value)).</summary>
    public static Tensor Scalar(double value, DType dtype = DType.Float32, bool requiresGrad = false) => Fill(dtype, [], value, requiresGrad);

    /// <summary>Zeros with the shape and dtype of <paramref name="like"/> (torch.zeros_like).</summary>
    public static Tensor ZerosLike(Tensor like, DType? dtype = null, bool requiresGrad = false) => Fill(dtype ?? like.DType, like.shape, 0, requiresGrad);

    /// <summary>Ones with the shape and dtype of <paramref name="like"/> (torch.ones_like).</summary>
    public static Tensor OnesLike(Tensor like, DType? dtype = null, bool requiresGrad = false) => Fill(dtype ?? like.DType, like.shape, 1, requiresGrad);

    /// <summary>A constant with the shape and dtype of <paramref name="like"/> (torch.full_like).</summary>
    public static Tensor FullLike(Tensor like, double value, DType? dtype = null, bool requiresGrad = false) => Fill(dtype ?? like.DType, like.shape, value, requiresGrad);

    /// <summary>An uninitialised tensor shaped like <paramref name="like"/> (torch.empty_like); here zero-filled.</summary>
    public static Tensor EmptyLike(Tensor like, DType? dtype = null) => Fill(dtype ?? like.DType, like.shape, 0, false);

    /// <summary>Uniform [0, 1) samples shaped like <paramref name="like"/> (torch.rand_like).</summary>
    public static Tensor RandLike(Tensor like, Generator? generator = null) => RandomFill(like.IsFloatingPoint ? like.DType : DType.Float32, like.shape, false, generator, RandomKind.Uniform);

    /// <summary>Standard normal samples shaped like <paramref name="like"/> (torch.randn_like).</summary>
    public static Tensor RandnLike(Tensor like, Generator? generator = null) => RandomFill(like.IsFloatingPoint ? like.DType : DType.Float32, like.shape, false, generator, RandomKind.Normal);

    /// <summary>Uniform random integers in [low, high) (torch.randint).</summary>
    public static Tensor RandInt(long low, long high, int[] shape, DType dtype = DType.Int64, Generator? generator = null)
    {
        CheckShape(shape, "RandInt");
        if (high <= low) throw new ArgumentException($"RandInt: high ({high}) must be greater than low ({low})", nameof(high));
        var values = new long[ShapeUtil.Numel(shape)];
        DeepSharp.Random.With(generator, g => { for (int i = 0; i < values.Length; i++) values[i] = g.NextInt64(low, high); });
        var t = new Tensor(new Storage(values, DType.Int64), ShapeUtil.Copy(shape));
        return dtype == DType.Int64 ? t : t.To(dtype);
    }

    /// <summary>A random permutation of 0..n-1 as int64 (torch.randperm).</summary>
    public static Tensor RandPerm(int n, Generator? generator = null)
    {
        if (n < 0) throw new ArgumentException($"RandPerm: n must be non-negative, got {n}", nameof(n));
        var values = new long[n];
        for (int i = 0; i < n; i++) values[i] = i;
        DeepSharp.Random.With(generator, g =>
        {
            for (int i = n - 1; i > 0; i--) { int j = (int)g.NextInt64(0, i + 1); (values[i], values[j]) = (values[j], values[i]); }
        });
        return new Tensor(new Storage(values, DType.Int64), [n]);
    }

    /// <summary>Values from <paramref name="start"/> up to (not including) <paramref name="end"/> by <paramref name="step"/> (torch.arange).</summary>
    public static Tensor Arange(double start, double end, double step = 1, DType? dtype = null, bool requiresGrad = false)
    {
        if (step == 0) throw new ArgumentException("Arange: step must be non-zero", nameof(step));
        if ((end - start) / step < 0) throw new ArgumentException($"Arange: the range [{start}, {end}) cannot be walked with step {step}", nameof(step));
        bool integral = start == Math.Floor(start) && end == Math.Floor(end) && step == Math.Floor(step);
        var dt = dtype ?? (integral ? DType.Int64 : DType.Float32);
        int n = (int)Math.Ceiling((end - start) / step);
        var t = AllocUninit(DType.Float64, [n]);
        var s = t.Span<double>();
        for (int i = 0; i < n; i++) s[i] = start + i * step;
        var r = dt == DType.Float64 ? t : t.To(dt);
        if (requiresGrad) r.RequiresGrad = true;
        return r;
    }

    /// <summary>Values 0..end-1 (torch.arange(end)), int64 unless a dtype is given.</summary>
    public static Tensor Arange(double end, DType? dtype = null) => Arange(0, end, 1, dtype);

    /// <summary><paramref name="steps"/> evenly spaced values from start to end inclusive (torch.linspace).</summary>
    public static Tensor Linspace(double start, double end, int steps, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        if (steps < 0) throw new ArgumentException($"Linspace: steps must be non-negative, got {steps}", nameof(steps));
        var t = AllocUninit(DType.Float64, [steps]);
        var s = t.Span<double>();
        double step = steps > 1 ? (end - start) / (steps - 1) : 0;
        for (int i = 0; i < steps; i++) s[i] = i < steps / 2 ? start + i * step : end - (steps - 1 - i) * step;
        var r = dtype == DType.Float64 ? t : t.To(dtype);
        if (requiresGrad) r.RequiresGrad = true;
        return r;
    }

    /// <summary>An n×m matrix with ones on the diagonal (torch.eye).</summary>
    public static Tensor Eye(int n, int? m = null, DType dtype = DType.Float32, bool requiresGrad = false)
    {
        int cols = m ?? n;
        if (n < 0 || cols < 0) throw new ArgumentException($"Eye: sizes must be non-negative, got ({n}, {cols})");
        var t = Alloc(DType.Float64, [n, cols]);
        var s = t.Span<double>();
        for (int i = 0; i < Math.Min(n, cols); i++) s[i * cols + i] = 1;
        var r = dtype == DType.Float64 ? t : t.To(dtype);
        if (requiresGrad) r.RequiresGrad = true;
        return r;
    }

    /// <summary>
    /// Wraps a copy of 1-D <paramref name="data"/> in a tensor of the given shape (torch.tensor(data).reshape(shape));
    /// with no shape, the tensor is 1-D. The element type picks the dtype (float → float32, double → float64, ...).
    /// </summary>
    public static Tensor FromArray<T>(T[] data, params int[] shape) where T : unmanaged
    {
        ArgumentNullException.ThrowIfNull(data);
        var dt = DTypeExtensions.FromClr<T>();
        int[] s = shape.Length == 0 ? [data.Length] : ShapeUtil.Copy(shape);
        CheckShape(s, "FromArray");
        if (ShapeUtil.Numel(s) != data.Length)
            throw new ArgumentException($"FromArray: {data.Length} values cannot fill shape {ShapeUtil.Format(s)} ({ShapeUtil.Numel(s)} elements)", nameof(shape));
        return new Tensor(new Storage((T[])data.Clone(), dt), s);
    }

    /// <summary>Like <see cref="FromArray{T}(T[], int[])"/> with gradient tracking and an optional target dtype.</summary>
    public static Tensor FromArray<T>(T[] data, int[] shape, DType? dtype = null, bool requiresGrad = false) where T : unmanaged
    {
        var t = FromArray(data, shape);
        if (dtype is { } d && d != t.DType) t = t.To(d);
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    /// <summary>
    /// Copies a multi-dimensional .NET array (e.g. <c>float[,]</c>, <c>double[,,]</c>) into a tensor of the same shape
    /// (torch.tensor(nested_list)).
    /// </summary>
    public static Tensor FromArray(Array data, DType? dtype = null, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(data);
        var shape = new int[data.Rank];
        for (int i = 0; i < data.Rank; i++) shape[i] = data.GetLength(i);
        var elementType = data.GetType().GetElementType()!;
        Tensor t = elementType switch
        {
            _ when elementType == typeof(float) => new Tensor(new Storage(Flatten<float>(data), DType.Float32), shape),
            _ when elementType == typeof(double) => new Tensor(new Storage(Flatten<double>(data), DType.Float64), shape),
            _ when elementType == typeof(long) => new Tensor(new Storage(Flatten<long>(data), DType.Int64), shape),
            _ when elementType == typeof(int) => new Tensor(new Storage(Flatten<int>(data), DType.Int32), shape),
            _ when elementType == typeof(bool) => new Tensor(new Storage(Flatten<bool>(data), DType.Bool), shape),
            _ when elementType == typeof(Half) => new Tensor(new Storage(Flatten<Half>(data), DType.Float16), shape),
            _ when elementType == typeof(BFloat16) => new Tensor(new Storage(Flatten<BFloat16>(data), DType.BFloat16), shape),
            _ => throw new ArgumentException($"FromArray: element type {elementType.Name} is not supported (float, double, long, int, bool, Half, BFloat16)", nameof(data)),
        };
        if (dtype is { } d && d != t.DType) t = t.To(d);
        if (requiresGrad) t.RequiresGrad = true;
        return t;
    }

    static T[] Flatten<T>(Array data)
    {
        var result = new T[data.Length];
        int i = 0;
        foreach (T v in data) result[i++] = v;
        return result;
    }

    /// <summary>A contiguous copy that stays in the graph (torch.Tensor.clone()).</summary>
    public Tensor Clone()
    {
        var result = CopyToContiguous(this);
        if (Autograd.ShouldRecord(this))
            Autograd.Record(result, "CloneBackward", [this], static (_, g) => [g], null);
        return result;
    }

    /// <summary>A tensor sharing this one's storage but cut from the graph (torch.Tensor.detach()).</summary>
    public Tensor Detach() => new(storage, shape, strides, offset) { IsView = IsView };
}
