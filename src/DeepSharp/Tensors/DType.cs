namespace DeepSharp;

/// <summary>Element type of a tensor (torch.dtype).</summary>
public enum DType
{
    /// <summary>32-bit float (torch.float32), the default.</summary>
    Float32,
    /// <summary>64-bit float (torch.float64).</summary>
    Float64,
    /// <summary>64-bit signed integer (torch.int64); class indices and argmax results use it.</summary>
    Int64,
    /// <summary>32-bit signed integer (torch.int32).</summary>
    Int32,
    /// <summary>Boolean (torch.bool); comparisons and masks use it.</summary>
    Bool,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>True for Float32 and Float64 (torch.is_floating_point).</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64;

    /// <summary>Size of one element in bytes (torch.dtype.itemsize).</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4, DType.Float64 => 8, DType.Int64 => 8, DType.Int32 => 4, DType.Bool => 1,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>PyTorch's spelling, e.g. "torch.float32".</summary>
    public static string TorchName(this DType dtype) => dtype switch
    {
        DType.Float32 => "torch.float32", DType.Float64 => "torch.float64", DType.Int64 => "torch.int64",
        DType.Int32 => "torch.int32", DType.Bool => "torch.bool", _ => dtype.ToString(),
    };

    /// <summary>The result type of a binary op between two dtypes (torch.result_type for tensors).</summary>
    public static DType Promote(DType a, DType b) => a == b ? a : PromoteSlow(a, b);

    static DType PromoteSlow(DType a, DType b)
    {
        static int Rank(DType d) => d switch { DType.Bool => 0, DType.Int32 => 1, DType.Int64 => 2, DType.Float32 => 3, DType.Float64 => 4, _ => 0 };
        return Rank(a) >= Rank(b) ? a : b;
    }

    internal static DType FromClr<T>() =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(long) ? DType.Int64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(bool) ? DType.Bool :
        throw new NotSupportedException($"Element type {typeof(T).Name} is not a DeepSharp dtype (float, double, long, int, bool)");
}
