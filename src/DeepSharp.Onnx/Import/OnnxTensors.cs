using System.Runtime.InteropServices;
using DeepSharp.Onnx.Proto;
using DataType = DeepSharp.Onnx.Proto.TensorProto.Types.DataType;

namespace DeepSharp.Onnx;

/// <summary>
/// Reads ONNX TensorProto values (initializers, Constant nodes) into DeepSharp tensors: float32 and float64 keep their
/// type, float16 / bfloat16 widen to float32, int64 stays int64, the smaller integers become int32 (as safetensors
/// loading does), bool stays bool. Data comes from little-endian raw_data or the typed repeated fields.
/// </summary>
internal static class OnnxTensors
{
    /// <summary>The tensor <paramref name="proto"/> holds; <paramref name="what"/> names it in errors.</summary>
    public static Tensor Read(TensorProto proto, string what)
    {
        var shape = proto.Dims.Select(d => d is >= 0 and <= int.MaxValue ? (int)d
            : throw new InvalidDataException($"ONNX import: {what} has a dimension of {d}")).ToArray();
        long count = shape.Aggregate(1L, (a, d) => a * d);
        if (count > int.MaxValue) throw new InvalidDataException($"ONNX import: {what} has {count} elements, more than a tensor holds");
        int n = (int)count;
        bool hasRaw = !proto.RawData.IsEmpty;
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX import reads raw_data as little-endian and needs a little-endian machine");
        var type = (DataType)proto.DataType;
        Tensor Make<T>(T[] data, DType dtype) where T : unmanaged =>
            data.Length == n ? Create(data, shape).To(dtype)
                : throw new InvalidDataException($"ONNX import: {what} of shape ({string.Join(", ", shape)}) holds {data.Length} {type} values, not {n}" +
                    (n > 0 && data.Length == 0 ? " (external data files are not supported)" : ""));
        T[] FromRaw<T>(int size) where T : unmanaged
        {
            var raw = proto.RawData.Span;
            if (raw.Length != (long)n * size) throw new InvalidDataException($"ONNX import: {what} has {raw.Length} bytes of raw_data, expected {(long)n * size}");
            return MemoryMarshal.Cast<byte, T>(raw).ToArray();
        }
        return type switch
        {
            DataType.Float => Make(hasRaw ? FromRaw<float>(4) : proto.FloatData.ToArray(), DType.Float32),
            DataType.Double => Make(hasRaw ? FromRaw<double>(8) : proto.DoubleData.ToArray(), DType.Float64),
            DataType.Int64 => Make(hasRaw ? FromRaw<long>(8) : proto.Int64Data.ToArray(), DType.Int64),
            DataType.Int32 => Make(hasRaw ? FromRaw<int>(4) : proto.Int32Data.ToArray(), DType.Int32),
            DataType.Int16 => Make(hasRaw ? FromRaw<short>(2).Select(v => (int)v).ToArray() : proto.Int32Data.ToArray(), DType.Int32),
            DataType.Int8 => Make(hasRaw ? FromRaw<sbyte>(1).Select(v => (int)v).ToArray() : proto.Int32Data.ToArray(), DType.Int32),
            DataType.Uint8 => Make(hasRaw ? FromRaw<byte>(1).Select(v => (int)v).ToArray() : proto.Int32Data.ToArray(), DType.Int32),
            DataType.Bool => Make(hasRaw ? FromRaw<byte>(1).Select(v => v != 0).ToArray() : proto.Int32Data.Select(v => v != 0).ToArray(), DType.Bool),
            DataType.Float16 => Make(hasRaw ? FromRaw<ushort>(2).Select(IO.HalfConversion.HalfToSingle).ToArray()
                : proto.Int32Data.Select(v => IO.HalfConversion.HalfToSingle((ushort)v)).ToArray(), DType.Float32),
            DataType.Bfloat16 => Make(hasRaw ? FromRaw<ushort>(2).Select(BFloat16ToSingle).ToArray()
                : proto.Int32Data.Select(v => BFloat16ToSingle((ushort)v)).ToArray(), DType.Float32),
            _ => throw new NotSupportedException($"ONNX import: {what} has element type {type}, which DeepSharp has no tensor type for"),
        };
    }

    /// <summary>A tensor of <paramref name="shape"/> holding <paramref name="data"/>; an empty shape gives a 0-d tensor (FromArray's would be 1-D).</summary>
    public static Tensor Create<T>(T[] data, int[] shape) where T : unmanaged =>
        shape.Length == 0 ? Tensor.FromArray(data, 1).Reshape() : Tensor.FromArray(data, shape);

    static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The DeepSharp dtype of an ONNX element type named by Cast's "to" attribute, or null when there is none.</summary>
    public static DType? DTypeOf(long onnxType) => (DataType)onnxType switch
    {
        DataType.Float or DataType.Float16 or DataType.Bfloat16 => DType.Float32,
        DataType.Double => DType.Float64,
        DataType.Int64 or DataType.Uint32 or DataType.Uint64 => DType.Int64,
        DataType.Int32 or DataType.Int16 or DataType.Int8 or DataType.Uint8 or DataType.Uint16 => DType.Int32,
        DataType.Bool => DType.Bool,
        _ => null,
    };

    /// <summary>The values of a small integer tensor (a shape, axes, pads): any integer or float dtype, as int64.</summary>
    public static long[] Longs(Tensor t) => t.DType == DType.Int64 ? t.ToArray<long>() : t.To(DType.Int64).ToArray<long>();

    /// <summary>The one value of a scalar or 1-element tensor, as double.</summary>
    public static double Scalar(Tensor t, string what) =>
        t.NumEl == 1 ? t.To(DType.Float64).ToArray<double>()[0]
            : throw new ArgumentException($"ONNX import: {what} must hold one value, got shape ({string.Join(", ", t.Shape)})");

    /// <summary>Clamps an int64 from a file (ends of INT64_MAX) into the int range.</summary>
    public static int ClampToInt(long v) => (int)Math.Clamp(v, int.MinValue, int.MaxValue);
}
