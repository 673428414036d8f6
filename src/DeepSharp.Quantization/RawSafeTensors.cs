using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

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
    public float[] AsF32() => Check("F32", System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(Bytes).ToArray());
    /// <summary>The bytes read as int64.</summary>
    public long[] AsI64() => Check("I64", System.Runtime.InteropServices.MemoryMarshal.Cast<byte, long>(Bytes).ToArray());

    T[] Check<T>(string expected, T[] values) =>
        DType == expected ? values : throw new InvalidDataException($"safetensors: expected a {expected} tensor, found {DType}");
}

/// <summary>
/// Reads and writes safetensors files with any element type, including I8/U8 which DeepSharp's float tensors lack
/// (format: 8-byte little-endian header length, JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}},
/// then the tensors' bytes).
/// </summary>
public static class RawSafeTensors
{
    /// <summary>Writes <paramref name="tensors"/> (sorted by name, as the safetensors library does) with string metadata.</summary>
    public static void Save(string path, IReadOnlyDictionary<string, RawTensor> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        // the header {"__metadata__": {...}, name: {"dtype", "shape", "data_offsets"}, ...} written directly (no reflection)
        using var headerStream = new MemoryStream();
        var names = tensors.Keys.OrderBy(k => k, StringComparer.Ordinal).ToList();
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
        var json = headerStream.ToArray();
        int padded = (json.Length + 7) / 8 * 8;
        using var file = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
        file.Write(length);
        file.Write(json);
        for (int i = json.Length; i < padded; i++) file.WriteByte((byte)' ');
        foreach (var name in names) file.Write(tensors[name].Bytes);
    }

    /// <summary>Only the metadata of a safetensors file (reads the header, not the tensors).</summary>
    public static Dictionary<string, string> ReadMetadata(string path)
    {
        using var file = File.OpenRead(path);
        Span<byte> length = stackalloc byte[8];
        if (file.Read(length) != 8) throw new InvalidDataException($"{path} is not a safetensors file (too short)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(length);
        if (headerLength > (ulong)file.Length - 8 || headerLength > 100_000_000) throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength})");
        var header = new byte[headerLength];
        file.ReadExactly(header);
        using var doc = JsonDocument.Parse(header);
        var metadata = new Dictionary<string, string>();
        if (doc.RootElement.TryGetProperty("__metadata__", out var m))
            foreach (var e in m.EnumerateObject()) metadata[e.Name] = e.Value.GetString() ?? "";
        return metadata;
    }

    /// <summary>Reads every tensor and the metadata of a safetensors file.</summary>
    public static (Dictionary<string, RawTensor> Tensors, Dictionary<string, string> Metadata) Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 8) throw new InvalidDataException($"{path} is not a safetensors file (too short)");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        if (headerLength > (ulong)(bytes.Length - 8)) throw new InvalidDataException($"{path} is not a safetensors file (header length {headerLength})");
        using var doc = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        var tensors = new Dictionary<string, RawTensor>();
        var metadata = new Dictionary<string, string>();
        int dataStart = 8 + (int)headerLength;
        foreach (var entry in doc.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var m in entry.Value.EnumerateObject()) metadata[m.Name] = m.Value.GetString() ?? "";
                continue;
            }
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            if (offsets[0] < 0 || offsets[1] < offsets[0] || dataStart + offsets[1] > bytes.Length)
                throw new InvalidDataException($"{path}: tensor '{entry.Name}' has data offsets [{offsets[0]}, {offsets[1]}] beyond the file");
            tensors[entry.Name] = new RawTensor(entry.Value.GetProperty("dtype").GetString()!,
                entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray(),
                bytes[(dataStart + (int)offsets[0])..(dataStart + (int)offsets[1])]);
        }
        return (tensors, metadata);
    }
}
