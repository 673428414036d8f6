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
    /// <summary>IEEE 16-bit float (torch.float16), stored as <see cref="System.Half"/>; ops compute in float32 and round once.</summary>
    Float16,
    /// <summary>bfloat16 (torch.bfloat16), the upper half of a float32, stored as <see cref="DeepSharp.BFloat16"/>; ops compute in float32 and round once.</summary>
    BFloat16,
}

/// <summary>Facts about <see cref="DType"/> values.</summary>
public static class DTypeExtensions
{
    /// <summary>True for Float32, Float64, Float16 and BFloat16 (torch.is_floating_point).</summary>
    public static bool IsFloatingPoint(this DType dtype) => dtype is DType.Float32 or DType.Float64 or DType.Float16 or DType.BFloat16;

    /// <summary>True for the 16-bit float dtypes Float16 and BFloat16.</summary>
    public static bool IsReducedPrecision(this DType dtype) => dtype is DType.Float16 or DType.BFloat16;

    /// <summary>Size of one element in bytes (torch.dtype.itemsize).</summary>
    public static int ElementSize(this DType dtype) => dtype switch
    {
        DType.Float32 => 4, DType.Float64 => 8, DType.Int64 => 8, DType.Int32 => 4, DType.Bool => 1,
        DType.Float16 => 2, DType.BFloat16 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>PyTorch's spelling, e.g. "torch.float32".</summary>
    public static string TorchName(this DType dtype) => dtype switch
    {
        DType.Float32 => "torch.float32", DType.Float64 => "torch.float64", DType.Int64 => "torch.int64",
        DType.Int32 => "torch.int32", DType.Bool => "torch.bool", DType.Float16 => "torch.float16",
        DType.BFloat16 => "torch.bfloat16", _ => dtype.ToString(),
    };

    /// <summary>The result type of a binary op between two dtypes (torch.result_type for tensors).</summary>
    public static DType Promote(DType a, DType b) => a == b ? a : PromoteSlow(a, b);

    static DType PromoteSlow(DType a, DType b)
    {
        // float16 with bfloat16 has no common 16-bit type: torch.result_type gives float32
        if (a.IsReducedPrecision() && b.IsReducedPrecision()) return DType.Float32;
        if (a.IsReducedPrecision()) return b is DType.Float32 or DType.Float64 ? b : a;
        if (b.IsReducedPrecision()) return a is DType.Float32 or DType.Float64 ? a : b;
        static int Rank(DType d) => d switch { DType.Bool => 0, DType.Int32 => 1, DType.Int64 => 2, DType.Float32 => 3, DType.Float64 => 4, _ => 0 };
        return Rank(a) >= Rank(b) ? a : b;
    }

    internal static DType FromClr<T>() =>
        typeof(T) == typeof(float) ? DType.Float32 :
        typeof(T) == typeof(double) ? DType.Float64 :
        typeof(T) == typeof(long) ? DType.Int64 :
        typeof(T) == typeof(int) ? DType.Int32 :
        typeof(T) == typeof(bool) ? DType.Bool :
        typeof(T) == typeof(Half) ? DType.Float16 :
        typeof(T) == typeof(BFloat16) ? DType.BFloat16 :
        throw new NotSupportedException($"Element type {typeof(T).Name} is not a DeepSharp dtype (float, double, long, int, bool, Half, BFloat16)");
}
