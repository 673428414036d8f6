using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSharp.Vision.Datasets;

/// <summary>
/// Reader for the IDX format of MNIST and Fashion-MNIST (gzipped or not): a big-endian magic number giving the
/// element type and rank, the dimension sizes, then the data (torchvision.datasets.mnist.read_sn3_pascalvincent_file).
/// </summary>
public static class Idx
{
    /// <summary>Reads an IDX file of unsigned bytes; a ".gz" file (or one starting with the gzip magic) is decompressed.</summary>
    public static (byte[] Data, int[] Shape) ReadBytes(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        using var file = File.OpenRead(path);
        return ReadBytes(file, path);
    }

    /// <summary>Reads an IDX stream of unsigned bytes (gzip detected from the first two bytes).</summary>
    public static (byte[] Data, int[] Shape) ReadBytes(Stream stream, string name = "stream") => Parse(ReadContent(stream, name), name);

    /// <summary>
    /// The IDX content of a file, decompressed when it is gzipped: the bytes whose checksum identifies a dataset file
    /// however it was compressed (Debian's packages recompress the official files).
    /// </summary>
    public static byte[] ReadContent(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"IDX file not found: {path}", path);
        using var file = File.OpenRead(path);
        return ReadContent(file, path);
    }

    static byte[] ReadContent(Stream stream, string name)
    {
        var raw = stream is FileStream { CanSeek: true } file && file.Length <= Array.MaxLength ? ReadFile(file) : ReadAll(stream);
        if (raw.Length < 2 || raw[0] != 0x1f || raw[1] != 0x8b) return raw;
        try { return Gunzip(raw); }
        catch (InvalidDataException e) { throw new InvalidDataException($"IDX {name}: corrupt gzip data ({e.Message})", e); }
    }

    /// <summary>
    /// Decompresses into an array of the size the gzip trailer states (ISIZE, RFC 1952), so the 47 MB of Fashion-MNIST's
    /// training images are not grown by doubling through a MemoryStream and copied once more; a wrong size (several
    /// members, or 4 GiB or more) falls back to reading the rest.
    /// </summary>
    static byte[] Gunzip(byte[] raw)
    {
        using var gz = new GZipStream(new MemoryStream(raw), CompressionMode.Decompress);
        uint size = raw.Length >= 18 ? BinaryPrimitives.ReadUInt32LittleEndian(raw.AsSpan(raw.Length - 4)) : 0;
        if (size == 0 || size > Array.MaxLength) return ReadAll(gz);
        var buffer = GC.AllocateUninitializedArray<byte>((int)size);
        int read = gz.ReadAtLeast(buffer, buffer.Length, throwOnEndOfStream: false);
        int next = read == buffer.Length ? gz.ReadByte() : -1;
        if (read == buffer.Length && next < 0) return buffer;
        using var rest = new MemoryStream();
        rest.Write(buffer, 0, read);
        if (next >= 0) { rest.WriteByte((byte)next); gz.CopyTo(rest); }
        return rest.ToArray();
    }

    static byte[] ReadFile(FileStream file)
    {
        var bytes = GC.AllocateUninitializedArray<byte>((int)file.Length);
        file.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>Parses IDX content of unsigned bytes (see <see cref="ReadContent(string)"/>): the values and the shape.</summary>
    public static (byte[] Data, int[] Shape) Parse(byte[] raw, string name = "stream")
    {
        var (start, shape) = ParseHeader(raw, name);
        return (raw.AsSpan(start).ToArray(), shape);
    }

    /// <summary>Checks the header of IDX content: where the values start in <paramref name="raw"/> and their shape.</summary>
    internal static (int Start, int[] Shape) ParseHeader(byte[] raw, string name)
    {
        ArgumentNullException.ThrowIfNull(raw);
        if (raw.Length < 4) throw new InvalidDataException($"IDX {name}: file too short ({raw.Length} bytes) for an IDX header");
        if (raw[0] != 0 || raw[1] != 0) throw new InvalidDataException($"IDX {name}: bad magic number (first bytes {raw[0]:x2} {raw[1]:x2}, expected 00 00)");
        if (raw[2] != 0x08) throw new InvalidDataException($"IDX {name}: element type 0x{raw[2]:x2} is not unsigned byte (0x08)");
        int rank = raw[3];
        if (raw.Length < 4 + 4 * rank) throw new InvalidDataException($"IDX {name}: header truncated (rank {rank})");
        var shape = new int[rank];
        long count = 1;
        for (int i = 0; i < rank; i++) { shape[i] = BinaryPrimitives.ReadInt32BigEndian(raw.AsSpan(4 + 4 * i)); count *= shape[i]; }
        int start = 4 + 4 * rank;
        if (raw.Length - start != count)
            throw new InvalidDataException($"IDX {name}: header promises {count} values of shape ({string.Join(", ", shape)}) but the file holds {raw.Length - start}");
        return (start, shape);
    }

    static byte[] ReadAll(Stream s)
    {
        using var ms = new MemoryStream();
        s.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Writes unsigned bytes in IDX format (optionally gzipped); used by tests and tools.</summary>
    public static void WriteBytes(string path, byte[] data, int[] shape, bool gzip = false)
    {
        using var file = File.Create(path);
        using Stream s = gzip ? new GZipStream(file, CompressionLevel.Fastest) : file;
        Span<byte> header = stackalloc byte[4];
        header[0] = 0; header[1] = 0; header[2] = 8; header[3] = (byte)shape.Length;
        s.Write(header);
        foreach (var d in shape) { BinaryPrimitives.WriteInt32BigEndian(header, d); s.Write(header); }
        s.Write(data);
    }
}
