using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSharp.Vision.Imaging;

/// <summary>The row filter the PNG encoder uses (PNG spec 9.2); <see cref="Adaptive"/> picks one per row.</summary>
public enum PngFilter
{
    /// <summary>Bytes stored as they are (filter type 0).</summary>
    None = 0,
    /// <summary>Difference with the pixel to the left (type 1).</summary>
    Sub = 1,
    /// <summary>Difference with the pixel above (type 2).</summary>
    Up = 2,
    /// <summary>Difference with the mean of left and above (type 3).</summary>
    Average = 3,
    /// <summary>Difference with the Paeth predictor (type 4).</summary>
    Paeth = 4,
    /// <summary>Per row, the filter whose output has the smallest sum of absolute values (libpng's heuristic).</summary>
    Adaptive = 5,
}

public static partial class Png
{
    /// <summary>
    /// Encodes <paramref name="image"/> as a non-interlaced PNG (PIL Image.save(format="PNG")): grey, grey + alpha, RGB or
    /// RGBA by its channel count, 8 bits per sample when MaxValue ≤ 255 and 16 bits otherwise (samples are rescaled
    /// when MaxValue is not 255 or 65535).
    /// </summary>
    public static byte[] Encode(Image image, PngFilter filter = PngFilter.Adaptive, CompressionLevel level = CompressionLevel.Optimal)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (!Enum.IsDefined(filter)) throw new ArgumentException($"Png.Encode: unknown filter {filter}", nameof(filter));
        int depth = image.MaxValue <= 255 ? 8 : 16;
        int target = depth == 8 ? 255 : 65535;
        var colorType = image.Channels switch { 1 => ColorType.Grey, 2 => ColorType.GreyAlpha, 3 => ColorType.Rgb, _ => ColorType.Rgba };
        var header = new Header(image.Width, image.Height, depth, colorType, false);
        int rowBytes = (int)header.RowBytes(image.Width), bpp = header.FilterStride;
        int rowSamples = image.Width * image.Channels;

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, level, leaveOpen: true))
        {
            var previous = new byte[rowBytes];
            var current = new byte[rowBytes];
            var candidate = new byte[rowBytes];
            var best = new byte[rowBytes];
            for (int y = 0; y < image.Height; y++)
            {
                var src = image.Samples.AsSpan(y * rowSamples, rowSamples);
                for (int i = 0; i < rowSamples; i++)
                {
                    int v = image.MaxValue == target ? src[i] : (int)((src[i] * (long)target * 2 + image.MaxValue) / (2L * image.MaxValue));
                    if (depth == 8) current[i] = (byte)v;
                    else BinaryPrimitives.WriteUInt16BigEndian(current.AsSpan(2 * i), (ushort)v);
                }
                int chosen;
                if (filter != PngFilter.Adaptive) { chosen = (int)filter; ApplyFilter(chosen, current, previous, bpp, best); }
                else
                {
                    chosen = 0; long bestScore = long.MaxValue;
                    for (int f = 0; f <= 4; f++)
                    {
                        ApplyFilter(f, current, previous, bpp, candidate);
                        long score = 0;
                        foreach (var b in candidate) score += b < 128 ? b : 256 - b;
                        if (score < bestScore) { bestScore = score; chosen = f; (best, candidate) = (candidate, best); }
                    }
                }
                z.WriteByte((byte)chosen);
                z.Write(best);
                (previous, current) = (current, previous);
            }
        }

        using var png = new MemoryStream();
        png.Write(Signature);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteUInt32BigEndian(ihdr, (uint)image.Width);
        BinaryPrimitives.WriteUInt32BigEndian(ihdr[4..], (uint)image.Height);
        ihdr[8] = (byte)depth; ihdr[9] = (byte)colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
        WriteChunk(png, "IHDR", ihdr);
        var compressed = idat.GetBuffer().AsSpan(0, (int)idat.Length);
        const int maxChunk = 1 << 20;
        for (int start = 0; start < compressed.Length; start += maxChunk)
            WriteChunk(png, "IDAT", compressed.Slice(start, Math.Min(maxChunk, compressed.Length - start)));
        WriteChunk(png, "IEND", []);
        return png.ToArray();
    }

    /// <summary>Writes <paramref name="image"/> to <paramref name="path"/> as PNG.</summary>
    public static void Save(Image image, string path, PngFilter filter = PngFilter.Adaptive) => File.WriteAllBytes(path, Encode(image, filter));

    /// <summary>Reads a PNG file.</summary>
    public static Image Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Png.Load: file not found: {path}", path);
        try { return Decode(File.ReadAllBytes(path)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>Writes one chunk: length, type, data, CRC of type + data.</summary>
    internal static void WriteChunk(Stream s, string type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(word, (uint)data.Length);
        s.Write(word);
        Span<byte> typeBytes = stackalloc byte[4];
        System.Text.Encoding.ASCII.GetBytes(type, typeBytes);
        s.Write(typeBytes);
        s.Write(data);
        BinaryPrimitives.WriteUInt32BigEndian(word, Crc32.Compute(typeBytes, data));
        s.Write(word);
    }

    static void ApplyFilter(int filter, ReadOnlySpan<byte> row, ReadOnlySpan<byte> above, int bpp, Span<byte> output)
    {
        for (int i = 0; i < row.Length; i++)
        {
            byte left = i >= bpp ? row[i - bpp] : (byte)0, up = above[i], upperLeft = i >= bpp ? above[i - bpp] : (byte)0;
            output[i] = filter switch
            {
                0 => row[i],
                1 => (byte)(row[i] - left),
                2 => (byte)(row[i] - up),
                3 => (byte)(row[i] - ((left + up) >> 1)),
                _ => (byte)(row[i] - Paeth(left, up, upperLeft)),
            };
        }
    }
}
