using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace DeepSharp.IO;

/// <summary>
/// Reads and writes the safetensors format (the Hugging Face safetensors library, safetensors.torch.save_file /
/// load_file): an 8-byte little-endian header length, a JSON header
/// <c>{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}</c> padded with spaces to a
/// multiple of 8 bytes, then the tensors' row-major little-endian bytes, back to back. Files written here load in
/// PyTorch with safetensors.torch.load_file.
/// </summary>
/// <remarks>
/// Saving: Float32 → F32, Float64 → F64, Int64 → I64, Int32 → I32, Bool → BOOL; <c>storeAs</c> (F16, BF16, F32 or F64)
/// converts every floating-point tensor (round to nearest even). Loading: F16/BF16 become Float32, U8/I8/I16/U16
/// become Int32 and U32 becomes Int64 (DeepSharp has no narrower types), so a U8 tensor saved back is written as I32.
/// Malformed input raises <see cref="InvalidDataException"/> naming the tensor and the problem.
/// </remarks>
public static partial class SafeTensors
{
    /// <summary>The reserved header key of the free-form string metadata.</summary>
    public const string MetadataKey = "__metadata__";

    const int ChunkBytes = 1 << 20;

    /// <summary>
    /// Saves tensors (and optional string metadata) to <paramref name="path"/> atomically: a crash mid-save leaves any
    /// previous file intact (safetensors.torch.save_file(tensors, path, metadata)).
    /// </summary>
    public static void Save(string path, IEnumerable<KeyValuePair<string, Tensor>> tensors,
                            IEnumerable<KeyValuePair<string, string>>? metadata = null, SafeTensorsDType? storeAs = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        var plan = Plan(tensors, metadata, storeAs);   // validate before touching the file system
        AtomicFile.Write(path, stream => WritePlan(stream, plan));
    }

    /// <summary>Writes tensors in safetensors format to <paramref name="stream"/> (safetensors.torch.save + write).</summary>
    public static void Save(Stream stream, IEnumerable<KeyValuePair<string, Tensor>> tensors,
                            IEnumerable<KeyValuePair<string, string>>? metadata = null, SafeTensorsDType? storeAs = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        WritePlan(stream, Plan(tensors, metadata, storeAs));
    }

    /// <summary>The safetensors bytes of <paramref name="tensors"/> (safetensors.torch.save(tensors, metadata)).</summary>
    public static byte[] Serialize(IEnumerable<KeyValuePair<string, Tensor>> tensors,
                                   IEnumerable<KeyValuePair<string, string>>? metadata = null, SafeTensorsDType? storeAs = null)
    {
        using var stream = new MemoryStream();
        Save(stream, tensors, metadata, storeAs);
        return stream.ToArray();
    }

    sealed record Entry(string Name, Tensor Tensor, SafeTensorsDType DType, long Begin, long End);

    sealed record WritePlanData(List<Entry> HeaderOrder, List<Entry> DataOrder, byte[] Header);

    static WritePlanData Plan(IEnumerable<KeyValuePair<string, Tensor>> tensors, IEnumerable<KeyValuePair<string, string>>? metadata, SafeTensorsDType? storeAs)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        CheckEndianness();
        if (storeAs is { } s && s is not (SafeTensorsDType.F16 or SafeTensorsDType.BF16 or SafeTensorsDType.F32 or SafeTensorsDType.F64))
            throw new ArgumentException($"SafeTensors.Save: storeAs must be F16, BF16, F32 or F64 (it applies to floating-point tensors), got {s.SpecName()}", nameof(storeAs));
        var names = new HashSet<string>();
        var entries = new List<(string Name, Tensor Tensor, SafeTensorsDType DType)>();
        foreach (var (name, tensor) in tensors)
        {
            if (string.IsNullOrEmpty(name)) throw new ArgumentException("SafeTensors.Save: a tensor name is empty", nameof(tensors));
            if (name == MetadataKey) throw new ArgumentException($"SafeTensors.Save: \"{MetadataKey}\" is reserved and cannot name a tensor", nameof(tensors));
            if (tensor is null) throw new ArgumentException($"SafeTensors.Save: tensor '{name}' is null", nameof(tensors));
            if (!names.Add(name)) throw new ArgumentException($"SafeTensors.Save: tensor name '{name}' appears twice", nameof(tensors));
            var dtype = tensor.IsFloatingPoint && storeAs is { } target ? target : tensor.DType.SavedAs();
            entries.Add((name, tensor, dtype));
        }
        var metadataMap = new List<KeyValuePair<string, string>>();
        if (metadata != null)
            foreach (var entry in metadata)
            {
                if (entry.Key is null || entry.Value is null) throw new ArgumentException("SafeTensors.Save: metadata keys and values must not be null", nameof(metadata));
                metadataMap.Add(entry);
            }

        // Data order: by element size, largest first (stable), so every tensor's data stays aligned to its element size.
        var dataOrder = new List<Entry>(entries.Count);
        long offset = 0;
        var byName = new Dictionary<string, Entry>();
        foreach (var (name, tensor, dtype) in entries.OrderByDescending(e => e.DType.ElementSize()))
        {
            long size = (long)tensor.NumEl * dtype.ElementSize();
            var entry = new Entry(name, tensor, dtype, offset, offset + size);
            dataOrder.Add(entry); byName[name] = entry;
            offset += size;
        }
        var headerOrder = entries.Select(e => byName[e.Name]).ToList();
        return new WritePlanData(headerOrder, dataOrder, BuildHeader(headerOrder, metadataMap));
    }

    static byte[] BuildHeader(List<Entry> entries, List<KeyValuePair<string, string>> metadata)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            if (metadata.Count > 0)
            {
                json.WriteStartObject(MetadataKey);
                foreach (var (key, value) in metadata) json.WriteString(key, value);
                json.WriteEndObject();
            }
            foreach (var entry in entries)
            {
                json.WriteStartObject(entry.Name);
                json.WriteString("dtype", entry.DType.SpecName());
                json.WriteStartArray("shape");
                foreach (int dim in entry.Tensor.shape) json.WriteNumberValue(dim);
                json.WriteEndArray();
                json.WriteStartArray("data_offsets");
                json.WriteNumberValue(entry.Begin); json.WriteNumberValue(entry.End);
                json.WriteEndArray();
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        int length = (int)buffer.Length;
        int padded = (length + 7) / 8 * 8;   // pad with spaces so the data section starts 8-byte aligned
        var header = new byte[padded];
        buffer.GetBuffer().AsSpan(0, length).CopyTo(header);
        header.AsSpan(length).Fill((byte)' ');
        return header;
    }

    static void WritePlan(Stream stream, WritePlanData plan)
    {
        Span<byte> prefix = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)plan.Header.Length);
        stream.Write(prefix);
        stream.Write(plan.Header);
        foreach (var entry in plan.DataOrder) WriteTensor(stream, entry);
        stream.Flush();
    }

    /// <summary>Writes <paramref name="tensor"/>'s elements in row-major order as little-endian bytes of its own dtype (bool as
    /// one byte each): the data layout that safetensors and PyTorch's storages share (used by <see cref="TorchFile"/>).</summary>
    internal static void WriteData(Stream stream, Tensor tensor) => WriteTensor(stream, new Entry("", tensor, tensor.DType.SavedAs(), 0, 0));

    static void WriteTensor(Stream stream, Entry entry)
    {
        var tensor = entry.Tensor.IsContiguous ? entry.Tensor : Tensor.CopyToContiguous(entry.Tensor);
        switch (entry.DType)
        {
            case SafeTensorsDType.F32 when tensor.DType == DType.Float32: WriteRaw(stream, tensor.Span<float>()); break;
            case SafeTensorsDType.F64 when tensor.DType == DType.Float64: WriteRaw(stream, tensor.Span<double>()); break;
            case SafeTensorsDType.F16 when tensor.DType == DType.Float16: WriteRaw(stream, MemoryMarshal.Cast<Half, ushort>(tensor.Span<Half>())); break;
            case SafeTensorsDType.BF16 when tensor.DType == DType.BFloat16: WriteRaw(stream, MemoryMarshal.Cast<BFloat16, ushort>(tensor.Span<BFloat16>())); break;
            case SafeTensorsDType.F16 or SafeTensorsDType.BF16 when tensor.DType.IsReducedPrecision():
                WriteTensor(stream, entry with { Tensor = ReducedFloat.Narrow(ReducedFloat.Widen(tensor), entry.DType == SafeTensorsDType.F16 ? DType.Float16 : DType.BFloat16) }); break;
            case SafeTensorsDType.F32 or SafeTensorsDType.F64 when tensor.DType.IsReducedPrecision(): WriteTensor(stream, entry with { Tensor = ReducedFloat.Widen(tensor) }); break;
            case SafeTensorsDType.I64: WriteRaw(stream, tensor.Span<long>()); break;
            case SafeTensorsDType.I32: WriteRaw(stream, tensor.Span<int>()); break;
            case SafeTensorsDType.Bool: WriteConverted<bool>(stream, tensor.Span<bool>(), 1, static (src, dst) => { for (int i = 0; i < src.Length; i++) dst[i] = src[i] ? (byte)1 : (byte)0; }); break;
            case SafeTensorsDType.F32: WriteConverted<double>(stream, tensor.Span<double>(), 4, static (src, dst) => { var d = MemoryMarshal.Cast<byte, float>(dst); for (int i = 0; i < src.Length; i++) d[i] = (float)src[i]; }); break;
            case SafeTensorsDType.F64: WriteConverted<float>(stream, tensor.Span<float>(), 8, static (src, dst) => { var d = MemoryMarshal.Cast<byte, double>(dst); for (int i = 0; i < src.Length; i++) d[i] = src[i]; }); break;
            case SafeTensorsDType.F16 when tensor.DType == DType.Float32:
                WriteConverted<float>(stream, tensor.Span<float>(), 2, static (src, dst) => HalfConversion.SingleToHalf(src, MemoryMarshal.Cast<byte, ushort>(dst))); break;
            case SafeTensorsDType.F16:
                WriteConverted<double>(stream, tensor.Span<double>(), 2, static (src, dst) => HalfConversion.DoubleToHalf(src, MemoryMarshal.Cast<byte, ushort>(dst))); break;
            case SafeTensorsDType.BF16 when tensor.DType == DType.Float32:
                WriteConverted<float>(stream, tensor.Span<float>(), 2, static (src, dst) => HalfConversion.SingleToBFloat16(src, MemoryMarshal.Cast<byte, ushort>(dst))); break;
            case SafeTensorsDType.BF16:
                WriteConverted<double>(stream, tensor.Span<double>(), 2, static (src, dst) => HalfConversion.DoubleToBFloat16(src, MemoryMarshal.Cast<byte, ushort>(dst))); break;
            default: throw new InvalidOperationException($"SafeTensors.Save: cannot write {tensor.DType.TorchName()} as {entry.DType.SpecName()}");
        }
    }

    static void WriteRaw<T>(Stream stream, ReadOnlySpan<T> data) where T : unmanaged
    {
        int chunk = ChunkBytes / Marshal.SizeOf<T>();
        for (int start = 0; start < data.Length; start += chunk)
            stream.Write(MemoryMarshal.AsBytes(data.Slice(start, Math.Min(chunk, data.Length - start))));
    }

    delegate void Encoder<T>(ReadOnlySpan<T> source, Span<byte> destination);

    static void WriteConverted<T>(Stream stream, ReadOnlySpan<T> data, int elementSize, Encoder<T> encode)
    {
        int chunk = ChunkBytes / elementSize;
        var buffer = new byte[Math.Min(data.Length, chunk) * elementSize];
        for (int start = 0; start < data.Length; start += chunk)
        {
            int count = Math.Min(chunk, data.Length - start);
            var bytes = buffer.AsSpan(0, count * elementSize);
            encode(data.Slice(start, count), bytes);
            stream.Write(bytes);
        }
    }

    static void CheckEndianness()
    {
        if (!BitConverter.IsLittleEndian)
            throw new PlatformNotSupportedException("SafeTensors: only little-endian machines are supported");
    }

    static string FormatShape(int[] shape) => ShapeUtil.Format(shape);
}
