namespace DeepSharp.IO;

/// <summary>
/// Element types of the safetensors format (the "dtype" strings of its header: "F32", "BF16", "BOOL", ...).
/// DeepSharp loads each into the nearest <see cref="DeepSharp.DType"/>: floats narrower than 32 bits become Float32,
/// small and unsigned 32-bit-fitting integers become Int32 (U32 becomes Int64).
/// </summary>
public enum SafeTensorsDType
{
    /// <summary>"BOOL": one byte per element, 0 or 1 (torch.bool). Loads as Bool.</summary>
    Bool,
    /// <summary>"U8": unsigned byte (torch.uint8). Loads as Int32.</summary>
    U8,
    /// <summary>"I8": signed byte (torch.int8). Loads as Int32.</summary>
    I8,
    /// <summary>"I16": 16-bit signed integer (torch.int16). Loads as Int32.</summary>
    I16,
    /// <summary>"U16": 16-bit unsigned integer. Loads as Int32.</summary>
    U16,
    /// <summary>"I32": 32-bit signed integer (torch.int32). Loads as Int32.</summary>
    I32,
    /// <summary>"U32": 32-bit unsigned integer. Loads as Int64.</summary>
    U32,
    /// <summary>"I64": 64-bit signed integer (torch.int64). Loads as Int64.</summary>
    I64,
    /// <summary>"F16": IEEE half precision (torch.float16). Loads as Float32.</summary>
    F16,
    /// <summary>"BF16": bfloat16, the upper half of a float32 (torch.bfloat16). Loads as Float32.</summary>
    BF16,
    /// <summary>"F32": IEEE single precision (torch.float32). Loads as Float32.</summary>
    F32,
    /// <summary>"F64": IEEE double precision (torch.float64). Loads as Float64.</summary>
    F64,
}

/// <summary>Facts about <see cref="SafeTensorsDType"/> values.</summary>
public static class SafeTensorsDTypeExtensions
{
    /// <summary>The header spelling of <paramref name="dtype"/>, e.g. "BF16".</summary>
    public static string SpecName(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => "BOOL", SafeTensorsDType.U8 => "U8", SafeTensorsDType.I8 => "I8", SafeTensorsDType.I16 => "I16",
        SafeTensorsDType.U16 => "U16", SafeTensorsDType.I32 => "I32", SafeTensorsDType.U32 => "U32", SafeTensorsDType.I64 => "I64",
        SafeTensorsDType.F16 => "F16", SafeTensorsDType.BF16 => "BF16", SafeTensorsDType.F32 => "F32", SafeTensorsDType.F64 => "F64",
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>Parses a header dtype string; false for dtypes DeepSharp cannot load (U64, F8_E4M3, ...).</summary>
    public static bool TryParse(string name, out SafeTensorsDType dtype)
    {
        dtype = name switch
        {
            "BOOL" => SafeTensorsDType.Bool, "U8" => SafeTensorsDType.U8, "I8" => SafeTensorsDType.I8, "I16" => SafeTensorsDType.I16,
            "U16" => SafeTensorsDType.U16, "I32" => SafeTensorsDType.I32, "U32" => SafeTensorsDType.U32, "I64" => SafeTensorsDType.I64,
            "F16" => SafeTensorsDType.F16, "BF16" => SafeTensorsDType.BF16, "F32" => SafeTensorsDType.F32, "F64" => SafeTensorsDType.F64,
            _ => (SafeTensorsDType)(-1),
        };
        return (int)dtype >= 0;
    }

    /// <summary>Bytes per element in the file.</summary>
    public static int ElementSize(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool or SafeTensorsDType.U8 or SafeTensorsDType.I8 => 1,
        SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.F16 or SafeTensorsDType.BF16 => 2,
        SafeTensorsDType.I32 or SafeTensorsDType.U32 or SafeTensorsDType.F32 => 4,
        SafeTensorsDType.I64 or SafeTensorsDType.F64 => 8,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The DeepSharp dtype a tensor stored as <paramref name="dtype"/> is loaded as.</summary>
    public static DType LoadedAs(this SafeTensorsDType dtype) => dtype switch
    {
        SafeTensorsDType.Bool => DType.Bool,
        SafeTensorsDType.U8 or SafeTensorsDType.I8 or SafeTensorsDType.I16 or SafeTensorsDType.U16 or SafeTensorsDType.I32 => DType.Int32,
        SafeTensorsDType.U32 or SafeTensorsDType.I64 => DType.Int64,
        SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F32 => DType.Float32,
        SafeTensorsDType.F64 => DType.Float64,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };

    /// <summary>The safetensors dtype a DeepSharp tensor of <paramref name="dtype"/> is saved as by default.</summary>
    public static SafeTensorsDType SavedAs(this DType dtype) => dtype switch
    {
        DType.Float32 => SafeTensorsDType.F32, DType.Float64 => SafeTensorsDType.F64, DType.Int64 => SafeTensorsDType.I64,
        DType.Int32 => SafeTensorsDType.I32, DType.Bool => SafeTensorsDType.Bool,
        DType.Float16 => SafeTensorsDType.F16, DType.BFloat16 => SafeTensorsDType.BF16,
        _ => throw new ArgumentOutOfRangeException(nameof(dtype)),
    };
}

/// <summary>One tensor's entry in a safetensors header: its dtype, shape and byte range within the data section.</summary>
/// <param name="Name">The tensor's key.</param>
/// <param name="DType">Element type in the file.</param>
/// <param name="Shape">Dimensions (empty for a scalar).</param>
/// <param name="Begin">First byte of its data, counted from the start of the data section.</param>
/// <param name="End">One past its last byte.</param>
public sealed record SafeTensorInfo(string Name, SafeTensorsDType DType, int[] Shape, long Begin, long End)
{
    /// <summary>Number of elements (product of the shape).</summary>
    public long NumEl => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>The parsed header of a safetensors file (safetensors.safe_open(...).keys() and .metadata()).</summary>
public sealed class SafeTensorsHeader
{
    internal SafeTensorsHeader(List<SafeTensorInfo> tensors, Dictionary<string, string> metadata, long headerLength)
    {
        Tensors = tensors; Metadata = metadata; HeaderLength = headerLength;
    }

    /// <summary>The tensors in header order.</summary>
    public IReadOnlyList<SafeTensorInfo> Tensors { get; }

    /// <summary>The "__metadata__" string map (empty when the file has none).</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; }

    /// <summary>Length of the JSON header in bytes (the data section starts at 8 + HeaderLength).</summary>
    public long HeaderLength { get; }

    /// <summary>Size of the data section: the end of the last tensor.</summary>
    public long DataLength => Tensors.Count == 0 ? 0 : Tensors.Max(t => t.End);
}
