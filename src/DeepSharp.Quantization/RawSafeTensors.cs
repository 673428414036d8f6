using System.Buffers.Binary;
using System.Text.Json;
using DeepSharp.IO;

namespace DeepSharp.Quantization;

/// <summary>One tensor of a safetensors file as its dtype name ("I8", "U8", "F32", "I64"), shape and little-endian bytes.</summary>
public sealed record RawTensor(string DType, int[] Shape, byte[] Bytes)
{
    /// <summary>float32 values.</summary>
    public static RawTensor F32(float[] values, params int[] shape) => new("F32", shape, ToBytes(values));
    /// <summary>int64 values.</summary>
    public static RawTensor I64(long[] values, params int[] shape) => new("I64", shape, ToBytes(values));

    static byte[] ToBytes<T>(T[] values) where T : unmanaged =>
        System.Runtime.InteropServices.MemoryMarshal.AsBytes(values.AsSpan()).ToArray();

    /// <summary>The bytes read as float32.</summary>
    public float[] AsF32() => Check("F32", () => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Bytes).ToArray());
    /// <summary>The bytes read as int64.</summary>
    public long[] AsI64() => Check("I64", () => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(Bytes).ToArray());

    /// <summary>Elements of <see cref="Shape"/> (1 for a scalar).</summary>
    public long NumEl => Shape.Aggregate(1L, (a, d) => a * d);

    T[] Check<T>(string expected, Func<T[]> values) =>
        DType == expected ? values() : throw new InvalidDataException($"safetensors: expected a {expected} tensor, found {DType}");
}

/// <summary>
/// Reads and writes safetensors files with any element type, including I8/U8 which DeepSharp's float tensors lack
/// (format: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
/// then the tensors' bytes). Saving replaces the file atomically (<see cref="AtomicFile"/>); loading checks the header as
/// the safetensors library does (known dtype, byte count = elements · element size, offsets contiguous and covering the
/// data) and reports a malformed file as an <see cref="InvalidDataException"/> naming the file and the tensor.
/// </summary>
public static class RawSafeTensors
{
    /// <summary>Bytes per element of each safetensors dtype.</summary>
    static readonly Dictionary<string, int> ElementSizes = new(StringComparer.Ordinal)
    {
        ["BOOL"] = 1, ["U8"] = 1, ["I8"] = 1, ["F8_E5M2"] = 1, ["F8_E4M3"] = 1,
        ["I16"] = 2, ["U16"] = 2, ["F16"] = 2, ["BF16"] = 2,
        ["I32"] = 4, ["U32"] = 4, ["F32"] = 4,
        ["I64"] = 8, ["U64"] = 8, ["F64"] = 8,
    };

    const ulong MaxHeaderLength = 100_000_000;   // the safetensors library's limit

    /// <summary>
    /// Writes <paramref name="tensors"/> (sorted by name, as the safetensors library does) with string metadata. The file
    /// is replaced atomically: a save that fails (bad tensor, full disk, exception while writing) leaves the previous file
    /// as it was.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, RawTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentNullException.ThrowIfNull(metadata);
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
        foreach (var name in names)
        {
            var t = tensors[name];
            if (name == "__metadata__") throw new ArgumentException("RawSafeTensors.Save: '__metadata__' is reserved and cannot name a tensor", nameof(tensors));
            if (!ElementSizes.TryGetValue(t.DType, out int size))
                throw new ArgumentException($"RawSafeTensors.Save: tensor '{name}' has unknown dtype '{t.DType}'", nameof(tensors));
            if (t.Shape.Any(d => d < 0) || t.NumEl * size != t.Bytes.Length)
                throw new ArgumentException($"RawSafeTensors.Save: tensor '{name}' has shape ({string.Join(", ", t.Shape)}) of {t.DType} but {t.Bytes.Length} bytes", nameof(tensors));
        }
        var json = Header(names, tensors, metadata);
        int padded = (json.Length + 7) / 8 * 8;
        AtomicFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            file.Write(length);
            file.Write(json);
            for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
            foreach (var name in names) file.Write(tensors[name].Bytes);
        });
    }

    /// <summary>The header {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}, ...} written directly (no reflection).</summary>
    static byte[] Header(List<string> names, IReadOnlyDictionary<string, RawTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        using var headerStream = new MemoryStream();
        using (var writer = new Utf8JsonWriter(headerStream))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("__metadata__");
            foreach (var (key, value) in metadata) writer.WriteString(key, value);
            writer.WriteEndObject();
            long offset = 0;
            foreach (var name in names)
            {
                var t = tensors[name];
                writer.WriteStartObject(name);
                writer.WriteString("dtype", t.DType);
                writer.WriteStartArray("shape");
                foreach (var d in t.Shape) writer.WriteNumberValue(d);
                writer.WriteEndArray();
                writer.WriteStartArray("data_offsets");
                writer.WriteNumberValue(offset);
                writer.WriteNumberValue(offset + t.Bytes.Length);
                writer.WriteEndArray();
                writer.WriteEndObject();
                offset += t.Bytes.Length;
            }
            writer.WriteEndObject();
        }
        return headerStream.ToArray();
    }

    /// <summary>Only the metadata of a safetensors file (reads the header, not the tensors).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        if (file.ReadAtLeast(length, 8, throwOnEndOfStream: false) != 8) throw new InvalidDataException($"{path} is not a safetensors file (shorter than 8 bytes)");
        int headerLength = CheckHeaderLength(path, BinaryPrimitives.ReadUInt64LittleEndian(length), file.Length - 8);
        var header = new byte[headerLength];
        file.ReadExactly(header);
        using var doc = ParseHeader(path, header);
        return ReadMetadata(path, doc.RootElement);
    }

    /// <summary>Reads every tensor and the metadata of a safetensors file.</summary>
    public static (Dictionary<string, RawTensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        AtomicFile.RemoveStaleTemporaries(path);   // left by a save that was killed
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path} is not a safetensors file (shorter than 8 bytes)");
        int headerLength = CheckHeaderLength(path, BinaryPrimitives.ReadUInt64LittleEndian(bytes), bytes.Length - 8);
        using var doc = ParseHeader(path, bytes.AsSpan(8, headerLength).ToArray());
        var metadata = ReadMetadata(path, doc.RootElement);
        int dataStart = 8 + headerLength;
        long dataLength = bytes.Length - dataStart;
        var entries = new List<(string Name, string DType, int[] Shape, long Start, long End)>();
        foreach (var entry in doc.RootElement.EnumerateObject())
            if (entry.Name != "__metadata__") entries.Add(ReadEntry(path, entry));
        // as the safetensors library checks: the tensors, in offset order, tile the data section without gap or overlap
        long expectedStart = 0;
        foreach (var e in entries.OrderBy(e => e.Start).ThenBy(e => e.End))
        {
            if (e.Start != expectedStart)
                throw new InvalidDataException($"{path}: tensor '{e.Name}' starts at byte {e.Start} of the data, expected {expectedStart} (tensors overlap or leave a gap)");
            expectedStart = e.End;
        }
        if (expectedStart != dataLength)
            throw new InvalidDataException($"{path}: the tensors cover {expectedStart} bytes but the data section holds {dataLength} (truncated file or trailing bytes)");
        var tensors = new Dictionary<string, RawTensor>(StringComparer.Ordinal);
        foreach (var e in entries)
            tensors[e.Name] = new RawTensor(e.DType, e.Shape, bytes[(dataStart + (int)e.Start)..(dataStart + (int)e.End)]);
        return (tensors, metadata);
    }

    static int CheckHeaderLength(string path, ulong headerLength, long available)
    {
        if (headerLength < 2 || headerLength > MaxHeaderLength || headerLength > (ulong)Math.Max(0, available))
            throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength}, {available} bytes follow the length)");
        return (int)headerLength;
    }

    static JsonDocument ParseHeader(string path, byte[] header)
    {
        JsonDocument doc;
        try { doc = JsonDocument.Parse(header); }
        catch (JsonException e) { throw new InvalidDataException($"{path}: the safetensors header is not valid JSON ({e.Message})", e); }
        if (doc.RootElement.ValueKind != JsonValueKind.Object)
        {
            doc.Dispose();
            throw new InvalidDataException($"{path}: the safetensors header is not a JSON object");
        }
        return doc;
    }

    static Dictionary<string, string> ReadMetadata(string path, JsonElement root)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!root.TryGetProperty("__metadata__", out var m)) return metadata;
        if (m.ValueKind != JsonValueKind.Object) throw new InvalidDataException($"{path}: '__metadata__' is not a JSON object of strings");
        foreach (var e in m.EnumerateObject())
            metadata[e.Name] = e.Value.ValueKind == JsonValueKind.String ? e.Value.GetString()!
                : throw new InvalidDataException($"{path}: metadata '{e.Name}' is a {e.Value.ValueKind}, not a string");
        return metadata;
    }

    /// <summary>One header entry, checked: known dtype, non-negative dimensions, [start, end] with end − start = elements · size.</summary>
    static (string Name, string DType, int[] Shape, long Start, long End) ReadEntry(string path, JsonProperty entry)
    {
        string Bad(string what) => $"{path}: tensor '{entry.Name}' {what}";
        var value = entry.Value;
        if (value.ValueKind != JsonValueKind.Object) throw new InvalidDataException(Bad("is not a JSON object {dtype, shape, data_offsets}"));
        if (!value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String)
            throw new InvalidDataException(Bad("has no string 'dtype'"));
        string dtype = dtypeElement.GetString()!;
        if (!ElementSizes.TryGetValue(dtype, out int size))
            throw new InvalidDataException(Bad($"has unknown dtype '{dtype}' (known: {string.Join(", ", ElementSizes.Keys)})"));
        var shape = Integers(value, "shape", Bad).Select(d => d is >= 0 and <= int.MaxValue ? (int)d
            : throw new InvalidDataException(Bad($"has dimension {d} in its shape"))).ToArray();
        var offsets = Integers(value, "data_offsets", Bad);
        if (offsets.Length != 2) throw new InvalidDataException(Bad($"has {offsets.Length} data offsets, expected 2 [start, end]"));
        long start = offsets[0], end = offsets[1];
        if (start < 0 || end < start) throw new InvalidDataException(Bad($"has data offsets [{start}, {end}] out of order"));
        long elements = 1;
        foreach (var d in shape)
        {
            elements *= d;
            if (elements > int.MaxValue) throw new InvalidDataException(Bad($"has shape ({string.Join(", ", shape)}), too large"));
        }
        if (elements * size != end - start)
            throw new InvalidDataException(Bad($"has shape ({string.Join(", ", shape)}) of {dtype} ({elements * size} bytes) but data offsets [{start}, {end}] ({end - start} bytes)"));
        return (entry.Name, dtype, shape, start, end);
    }

    static long[] Integers(JsonElement value, string property, Func<string, string> bad)
    {
        if (!value.TryGetProperty(property, out var array) || array.ValueKind != JsonValueKind.Array)
            throw new InvalidDataException(bad($"has no '{property}' array"));
        return array.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt64(out long v) ? v
            : throw new InvalidDataException(bad($"has a non-integer '{property}' entry {e.GetRawText()}"))).ToArray();
    }
}
