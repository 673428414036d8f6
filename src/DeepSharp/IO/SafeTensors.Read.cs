using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace DeepSharp.IO;

public static partial class SafeTensors
{
    /// <summary>Headers larger than this are refused as corrupt (the reference implementation's limit).</summary>
    internal const long MaxHeaderLength = 100_000_000;

    /// <summary>Loads every tensor of a safetensors file (safetensors.torch.load_file(path)), in header order.</summary>
    public static Dictionary<string, Tensor> Load(string path) => LoadWithMetadata(path).Tensors;

    /// <summary>Loads every tensor from a stream positioned at the start of safetensors data (safetensors.torch.load).</summary>
    public static Dictionary<string, Tensor> Load(Stream stream) => LoadWithMetadata(stream).Tensors;

    /// <summary>Loads every tensor from safetensors bytes (safetensors.torch.load(data)).</summary>
    public static Dictionary<string, Tensor> Load(byte[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        using var stream = new MemoryStream(data, writable: false);
        return Load(stream);
    }

    /// <summary>
    /// Loads every tensor of a safetensors file; with <paramref name="keepReducedPrecision"/> F16 and BF16 tensors load as
    /// <see cref="DType.Float16"/> / <see cref="DType.BFloat16"/> tensors (2 bytes per element, as PyTorch loads them)
    /// instead of being widened to float32.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string path, bool keepReducedPrecision)
    {
        if (!keepReducedPrecision) return Load(path);
        var tensors = Load(path);
        var header = ReadHeader(path);
        foreach (var info in header.Tensors)
            if (info.DType is SafeTensorsDType.F16 or SafeTensorsDType.BF16)
            {
                var wide = tensors[info.Name]; // widened exactly, so narrowing gives the stored bits back
                tensors[info.Name] = ReducedFloat.Narrow(wide, info.DType == SafeTensorsDType.F16 ? DType.Float16 : DType.BFloat16);
            }
        return tensors;
    }

    /// <summary>Loads the tensors and the "__metadata__" map of a safetensors file.</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        AtomicFile.RemoveStaleTemporaries(path);   // left by a save that was killed
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1 << 16);
        return WithSource(path, () => LoadWithMetadata(stream));
    }

    /// <summary>Loads the tensors and the "__metadata__" map from a stream (non-seekable streams are fine).</summary>
    public static (Dictionary<string, Tensor> Tensors, Dictionary<string, string> Metadata) LoadWithMetadata(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        CheckEndianness();
        var header = ReadHeader(stream);
        var tensors = new Dictionary<string, Tensor>(header.Tensors.Count);
        // Data is read in file order (validated to be contiguous), so a plain sequential stream suffices.
        foreach (var info in header.Tensors.OrderBy(t => t.Begin).ThenBy(t => t.End))
        {
            try { tensors[info.Name] = ReadTensor(stream, info); }
            catch (EndOfStreamException)
            {
                throw new InvalidDataException($"SafeTensors: the data is truncated: tensor '{info.Name}' needs bytes [{info.Begin}, {info.End}) of the data section but the input ends before");
            }
        }
        // Return in header order.
        var ordered = new Dictionary<string, Tensor>(tensors.Count);
        foreach (var info in header.Tensors) ordered[info.Name] = tensors[info.Name];
        return (ordered, new Dictionary<string, string>(header.Metadata));
    }

    /// <summary>Reads and validates only the header of a safetensors file (names, dtypes, shapes, metadata).</summary>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 4096);
        return WithSource(path, () => ReadHeader(stream));
    }

    /// <summary>
    /// Reads and validates the header at the stream's position, leaving the stream at the start of the data section.
    /// On a seekable stream the data section's length is checked against the header too.
    /// </summary>
    public static SafeTensorsHeader ReadHeader(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        long? available = stream.CanSeek ? stream.Length - stream.Position : null;
        Span<byte> prefix = stackalloc byte[8];
        int got = stream.ReadAtLeast(prefix, 8, throwOnEndOfStream: false);
        if (got < 8)
            throw new InvalidDataException($"SafeTensors: the input is truncated: {got} bytes, fewer than the 8-byte header length prefix");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
        if (available is long size && headerLength > (ulong)(size - 8))
            throw new InvalidDataException($"SafeTensors: header length {headerLength} exceeds the {size} bytes of the input (truncated or not a safetensors file)");
        if (headerLength > MaxHeaderLength)
            throw new InvalidDataException($"SafeTensors: header length {headerLength} is larger than the {MaxHeaderLength}-byte limit (corrupt or not a safetensors file)");
        var headerBytes = new byte[headerLength];
        got = stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
        if (got < headerBytes.Length)
            throw new InvalidDataException($"SafeTensors: the input is truncated inside the header: {got} of its {headerLength} bytes");
        var header = ParseHeader(headerBytes);
        long dataLength = header.DataLength;
        if (available is long total && dataLength != total - 8 - (long)headerLength)
        {
            long actual = total - 8 - (long)headerLength;
            var last = header.Tensors.OrderBy(t => t.End).LastOrDefault();
            throw new InvalidDataException(actual < dataLength
                ? $"SafeTensors: the data is truncated: tensor '{last!.Name}' ends at byte {last.End} of the data section but only {actual} bytes follow the header"
                : $"SafeTensors: {actual - dataLength} unexpected bytes after the last tensor (the data section has {actual} bytes, the header describes {dataLength})");
        }
        return header;
    }

    static SafeTensorsHeader ParseHeader(byte[] headerBytes)
    {
        JsonDocument document;
        try { document = JsonDocument.Parse(headerBytes); }
        catch (JsonException e) { throw new InvalidDataException($"SafeTensors: the header is not valid JSON ({e.Message})", e); }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw new InvalidDataException($"SafeTensors: the header must be a JSON object, got a {root.ValueKind}");
            var tensors = new List<SafeTensorInfo>();
            var metadata = new Dictionary<string, string>();
            var seen = new HashSet<string>();
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name)) throw new InvalidDataException($"SafeTensors: the header names '{property.Name}' twice");
                if (property.Name == MetadataKey) ParseMetadata(property.Value, metadata);
                else tensors.Add(ParseTensorInfo(property.Name, property.Value));
            }
            ValidateLayout(tensors);
            return new SafeTensorsHeader(tensors, metadata, headerBytes.Length);
        }
    }

    static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind == JsonValueKind.Null) return;
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"SafeTensors: \"{MetadataKey}\" must be an object of strings, got a {value.ValueKind}");
        foreach (var entry in value.EnumerateObject())
        {
            if (entry.Value.ValueKind != JsonValueKind.String)
                throw new InvalidDataException($"SafeTensors: metadata value '{entry.Name}' must be a string, got a {entry.Value.ValueKind}");
            metadata[entry.Name] = entry.Value.GetString()!;
        }
    }

    static SafeTensorInfo ParseTensorInfo(string name, JsonElement value)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': its header entry must be an object, got a {value.ValueKind}");
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': missing or non-string \"dtype\"");
        string dtypeName = dtypeElement.GetString()!;
        if (!SafeTensorsDTypeExtensions.TryParse(dtypeName, out var dtype))
            throw new InvalidDataException($"SafeTensors: tensor '{name}': unknown or unsupported dtype \"{dtypeName}\" (supported: BOOL, U8, I8, I16, U16, I32, U32, I64, F16, BF16, F32, F64)");

        if (!value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': missing or non-array \"shape\"");
        var shape = new int[shapeElement.GetArrayLength()];
        int d = 0;
        long numel = 1;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt32(out int size) || size < 0)
                throw new InvalidDataException($"SafeTensors: tensor '{name}': shape entry {d} ({dim.GetRawText()}) is not a non-negative 32-bit integer");
            shape[d++] = size;
            numel *= size;
            if (numel > int.MaxValue)
                throw new InvalidDataException($"SafeTensors: tensor '{name}': shape {FormatShape(shape)} has more than {int.MaxValue} elements, too many for one DeepSharp tensor");
        }

        if (!value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array || offsetsElement.GetArrayLength() != 2)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': \"data_offsets\" must be an array [begin, end]");
        if (!offsetsElement[0].TryGetInt64(out long begin) || !offsetsElement[1].TryGetInt64(out long end) || begin < 0 || end < begin)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': invalid data_offsets {offsetsElement.GetRawText()} (need 0 <= begin <= end)");
        long expected = numel * dtype.ElementSize();
        if (end - begin != expected)
            throw new InvalidDataException($"SafeTensors: tensor '{name}': shape {FormatShape(shape)} of {dtypeName} needs {expected} bytes but data_offsets [{begin}, {end}] span {end - begin}");
        return new SafeTensorInfo(name, dtype, shape, begin, end);
    }

    /// <summary>Tensors must tile the data section: sorted by offset, each starts where the previous one ends.</summary>
    static void ValidateLayout(List<SafeTensorInfo> tensors)
    {
        var sorted = tensors.OrderBy(t => t.Begin).ThenBy(t => t.End).ToList();
        long position = 0;
        SafeTensorInfo? previous = null;
        foreach (var info in sorted)
        {
            if (info.Begin < position)
                throw new InvalidDataException($"SafeTensors: tensor '{info.Name}' (bytes [{info.Begin}, {info.End})) overlaps tensor '{previous!.Name}' (bytes [{previous.Begin}, {previous.End}))");
            if (info.Begin > position)
                throw new InvalidDataException($"SafeTensors: tensor '{info.Name}' starts at byte {info.Begin} but the previous data ends at {position}: the data_offsets leave a gap");
            position = info.End;
            previous = info;
        }
    }

    internal static Tensor ReadTensor(Stream stream, SafeTensorInfo info)
    {
        var result = Tensor.AllocUninit(info.DType.LoadedAs(), ShapeUtil.Copy(info.Shape));
        switch (info.DType)
        {
            case SafeTensorsDType.F32: ReadRaw(stream, result.Array<float>()); break;
            case SafeTensorsDType.F64: ReadRaw(stream, result.Array<double>()); break;
            case SafeTensorsDType.I32: ReadRaw(stream, result.Array<int>()); break;
            case SafeTensorsDType.I64: ReadRaw(stream, result.Array<long>()); break;
            case SafeTensorsDType.Bool:
                ReadConverted(stream, result.Array<bool>(), 1, static (src, dst) => { for (int i = 0; i < dst.Length; i++) dst[i] = src[i] != 0; }); break;
            case SafeTensorsDType.U8:
                ReadConverted(stream, result.Array<int>(), 1, static (src, dst) => { for (int i = 0; i < dst.Length; i++) dst[i] = src[i]; }); break;
            case SafeTensorsDType.I8:
                ReadConverted(stream, result.Array<int>(), 1, static (src, dst) => { for (int i = 0; i < dst.Length; i++) dst[i] = (sbyte)src[i]; }); break;
            case SafeTensorsDType.I16:
                ReadConverted(stream, result.Array<int>(), 2, static (src, dst) => { var s = MemoryMarshal.Cast<byte, short>(src); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; }); break;
            case SafeTensorsDType.U16:
                ReadConverted(stream, result.Array<int>(), 2, static (src, dst) => { var s = MemoryMarshal.Cast<byte, ushort>(src); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; }); break;
            case SafeTensorsDType.U32:
                ReadConverted(stream, result.Array<long>(), 4, static (src, dst) => { var s = MemoryMarshal.Cast<byte, uint>(src); for (int i = 0; i < dst.Length; i++) dst[i] = s[i]; }); break;
            case SafeTensorsDType.F16:
                ReadConverted(stream, result.Array<float>(), 2, static (src, dst) => HalfConversion.HalfToSingle(MemoryMarshal.Cast<byte, ushort>(src), dst)); break;
            case SafeTensorsDType.BF16:
                ReadConverted(stream, result.Array<float>(), 2, static (src, dst) => HalfConversion.BFloat16ToSingle(MemoryMarshal.Cast<byte, ushort>(src), dst)); break;
            default: throw new InvalidDataException($"SafeTensors: tensor '{info.Name}': dtype {info.DType.SpecName()} cannot be loaded");
        }
        return result;
    }

    /// <summary>Reads elements straight into the array's bytes, in chunks so huge tensors work.</summary>
    static void ReadRaw<T>(Stream stream, T[] destination) where T : unmanaged
    {
        int chunk = ChunkBytes / Marshal.SizeOf<T>();
        for (int start = 0; start < destination.Length; start += chunk)
            stream.ReadExactly(MemoryMarshal.AsBytes(destination.AsSpan(start, Math.Min(chunk, destination.Length - start))));
    }

    delegate void Converter<T>(ReadOnlySpan<byte> source, Span<T> destination);

    static void ReadConverted<T>(Stream stream, T[] destination, int elementSize, Converter<T> convert)
    {
        int chunk = ChunkBytes / elementSize;
        var buffer = new byte[Math.Min(destination.Length, chunk) * elementSize];
        for (int start = 0; start < destination.Length; start += chunk)
        {
            int count = Math.Min(chunk, destination.Length - start);
            var bytes = buffer.AsSpan(0, count * elementSize);
            stream.ReadExactly(bytes);
            convert(bytes, destination.AsSpan(start, count));
        }
    }

    static T WithSource<T>(string path, Func<T> read)
    {
        try { return read(); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{e.Message} [file: {path}]", e); }
    }
}
