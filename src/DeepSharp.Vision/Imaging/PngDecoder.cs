using System.Buffers.Binary;
using System.IO.Compression;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// PNG reading and writing with no external library (the PNG decoder behind PIL / torchvision.io.decode_png).
/// The decoder handles every standard format: colour types grey, RGB, palette, grey + alpha and RGBA; bit depths
/// 1, 2, 4, 8 and 16; all five row filters; Adam7 interlacing; tRNS transparency. Every chunk's CRC is checked, and
/// corrupt or truncated input gives an <see cref="InvalidDataException"/> saying what is wrong.
/// </summary>
public static partial class Png
{
    static ReadOnlySpan<byte> Signature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Whether <paramref name="data"/> starts with the 8-byte PNG signature.</summary>
    public static bool IsPng(ReadOnlySpan<byte> data) => data.Length >= 8 && data[..8].SequenceEqual(Signature);

    /// <summary>Colour types of the IHDR chunk (PNG spec 11.2.2).</summary>
    internal enum ColorType : byte { Grey = 0, Rgb = 2, Palette = 3, GreyAlpha = 4, Rgba = 6 }

    /// <summary>The header of a PNG file.</summary>
    internal readonly record struct Header(int Width, int Height, int BitDepth, ColorType ColorType, bool Interlaced)
    {
        public int SamplesPerPixel => ColorType switch { ColorType.Grey or ColorType.Palette => 1, ColorType.GreyAlpha => 2, ColorType.Rgb => 3, _ => 4 };
        public int BitsPerPixel => SamplesPerPixel * BitDepth;
        /// <summary>The filter's byte distance to the "previous" pixel: bytes per complete pixel, at least 1.</summary>
        public int FilterStride => Math.Max(1, BitsPerPixel / 8);
        public long RowBytes(int width) => ((long)width * BitsPerPixel + 7) / 8;
    }

    /// <summary>Decodes a PNG file into an <see cref="Image"/> (torchvision.io.decode_png with ImageReadMode.UNCHANGED).</summary>
    /// <remarks>
    /// Palette images become RGB, or RGBA when a tRNS chunk gives any entry transparency. A grey or RGB image with a tRNS
    /// colour key gains an alpha channel (opaque except where the key matches). Samples keep their bit depth: MaxValue is
    /// 2^depth − 1. A header over <paramref name="options"/>' MaxPixels (default <see cref="ImageDecodeOptions.Default"/>) is refused.
    /// </remarks>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null)
    {
        if (!IsPng(data))
            throw new InvalidDataException($"PNG: bad signature (first bytes {Convert.ToHexString(data[..Math.Min(8, data.Length)])}, expected 89504E470D0A1A0A)");
        Header? header = null;
        byte[]? palette = null;            // RGB triples
        byte[]? paletteAlpha = null;
        ushort[]? colorKey = null;         // tRNS for grey (1 value) or RGB (3 values)
        using var compressed = new MemoryStream();
        bool sawIdat = false, idatEnded = false, sawEnd = false;
        int pos = 8;
        while (pos < data.Length)
        {
            if (data.Length - pos < 12) throw new InvalidDataException($"PNG: truncated chunk header at byte {pos} (file ends after {data.Length} bytes)");
            uint length = BinaryPrimitives.ReadUInt32BigEndian(data[pos..]);
            var typeBytes = data.Slice(pos + 4, 4);
            string type = System.Text.Encoding.ASCII.GetString(typeBytes);
            if (length > int.MaxValue || pos + 12L + length > data.Length)
                throw new InvalidDataException($"PNG: chunk {type} at byte {pos} declares {length} bytes but the file ends after {data.Length - pos - 12} (truncated file?)");
            var body = data.Slice(pos + 8, (int)length);
            uint storedCrc = BinaryPrimitives.ReadUInt32BigEndian(data[(pos + 8 + (int)length)..]);
            uint actualCrc = Crc32.Compute(typeBytes, body);
            if (storedCrc != actualCrc)
                throw new InvalidDataException($"PNG: CRC mismatch in chunk {type} at byte {pos} (stored {storedCrc:x8}, computed {actualCrc:x8}); the file is corrupt");
            pos += 12 + (int)length;
            if (header == null && type != "IHDR") throw new InvalidDataException($"PNG: first chunk is {type}, expected IHDR");
            if (sawIdat && type != "IDAT") idatEnded = true;
            switch (type)
            {
                case "IHDR":
                    if (header != null) throw new InvalidDataException("PNG: more than one IHDR chunk");
                    header = ParseHeader(body);
                    (options ?? ImageDecodeOptions.Default).CheckSize("PNG", header.Value.Width, header.Value.Height);
                    break;
                case "PLTE":
                    if (length % 3 != 0 || length == 0 || length > 768) throw new InvalidDataException($"PNG: PLTE chunk of {length} bytes is not 1 to 256 RGB entries");
                    if (sawIdat) throw new InvalidDataException("PNG: PLTE chunk after image data");
                    palette = body.ToArray();
                    break;
                case "tRNS":
                    (paletteAlpha, colorKey) = ParseTransparency(header!.Value, body, palette);
                    break;
                case "IDAT":
                    if (idatEnded) throw new InvalidDataException("PNG: IDAT chunks are not consecutive");
                    sawIdat = true;
                    compressed.Write(body);
                    break;
                case "IEND":
                    sawEnd = true;
                    break;
                default:
                    // Ancillary chunks (lower-case first letter) carry optional metadata and may be skipped;
                    // an unknown critical chunk means the image cannot be decoded correctly.
                    if (char.IsAsciiLetterUpper(type[0])) throw new InvalidDataException($"PNG: unknown critical chunk {type}");
                    break;
            }
            if (sawEnd) break;
        }
        if (header is not { } h) throw new InvalidDataException("PNG: no IHDR chunk");
        if (!sawIdat) throw new InvalidDataException("PNG: no IDAT chunk (no image data)");
        if (!sawEnd) throw new InvalidDataException("PNG: no IEND chunk (truncated file?)");
        if (h.ColorType == ColorType.Palette && palette == null) throw new InvalidDataException("PNG: palette image without a PLTE chunk");

        var raw = Inflate(compressed, h);
        var samples = h.Interlaced ? DeinterlaceAdam7(raw, h) : Unfilter(raw, 0, h, h.Width, h.Height, out _);
        return BuildImage(h, samples, palette, paletteAlpha, colorKey);
    }

    static Header ParseHeader(ReadOnlySpan<byte> body)
    {
        if (body.Length != 13) throw new InvalidDataException($"PNG: IHDR chunk has {body.Length} bytes, expected 13");
        uint width = BinaryPrimitives.ReadUInt32BigEndian(body), height = BinaryPrimitives.ReadUInt32BigEndian(body[4..]);
        int depth = body[8], color = body[9];
        if (width == 0 || height == 0 || width > int.MaxValue || height > int.MaxValue)
            throw new InvalidDataException($"PNG: invalid image size {width}x{height}");
        if (body[10] != 0) throw new InvalidDataException($"PNG: unknown compression method {body[10]}");
        if (body[11] != 0) throw new InvalidDataException($"PNG: unknown filter method {body[11]}");
        if (body[12] > 1) throw new InvalidDataException($"PNG: unknown interlace method {body[12]}");
        bool ok = color switch
        {
            0 => depth is 1 or 2 or 4 or 8 or 16,
            3 => depth is 1 or 2 or 4 or 8,
            2 or 4 or 6 => depth is 8 or 16,
            _ => throw new InvalidDataException($"PNG: unknown colour type {color}"),
        };
        if (!ok) throw new InvalidDataException($"PNG: bit depth {depth} is not allowed for colour type {color}");
        var h = new Header((int)width, (int)height, depth, (ColorType)color, body[12] == 1);
        int outChannels = h.ColorType == ColorType.Palette ? 4 : h.SamplesPerPixel + 1;
        if ((long)width * height * outChannels > Array.MaxLength)
            throw new InvalidDataException($"PNG: image of {width}x{height} is too large to decode into memory");
        return h;
    }

    static (byte[]? PaletteAlpha, ushort[]? ColorKey) ParseTransparency(Header h, ReadOnlySpan<byte> body, byte[]? palette)
    {
        switch (h.ColorType)
        {
            case ColorType.Palette:
                if (palette == null) throw new InvalidDataException("PNG: tRNS chunk before PLTE");
                if (body.Length > palette.Length / 3) throw new InvalidDataException($"PNG: tRNS has {body.Length} entries for a palette of {palette.Length / 3}");
                return (body.ToArray(), null);
            case ColorType.Grey:
                if (body.Length != 2) throw new InvalidDataException($"PNG: tRNS for a grey image has {body.Length} bytes, expected 2");
                return (null, [BinaryPrimitives.ReadUInt16BigEndian(body)]);
            case ColorType.Rgb:
                if (body.Length != 6) throw new InvalidDataException($"PNG: tRNS for an RGB image has {body.Length} bytes, expected 6");
                return (null, [BinaryPrimitives.ReadUInt16BigEndian(body), BinaryPrimitives.ReadUInt16BigEndian(body[2..]), BinaryPrimitives.ReadUInt16BigEndian(body[4..])]);
            default:
                throw new InvalidDataException($"PNG: tRNS chunk is not allowed for colour type {(int)h.ColorType} (it has an alpha channel)");
        }
    }

    /// <summary>Number of filtered bytes (filter-type bytes included) of the whole image, every pass for Adam7.</summary>
    static long ExpectedLength(Header h)
    {
        if (!h.Interlaced) return h.Height * (1 + h.RowBytes(h.Width));
        long total = 0;
        foreach (var p in Adam7)
        {
            var (pw, ph) = p.Size(h.Width, h.Height);
            if (pw > 0 && ph > 0) total += ph * (1 + h.RowBytes(pw));
        }
        return total;
    }

    static byte[] Inflate(MemoryStream compressed, Header h)
    {
        long expected = ExpectedLength(h);
        if (expected > Array.MaxLength) throw new InvalidDataException($"PNG: image of {h.Width}x{h.Height} is too large to decode into memory");
        // grow with the data actually inflated, so a corrupt header promising a huge image costs no huge allocation
        var raw = new byte[Math.Min(expected, 1 << 20)];
        compressed.Position = 0;
        int filled = 0;
        try
        {
            using var z = new ZLibStream(compressed, CompressionMode.Decompress);
            while (filled < expected)
            {
                if (filled == raw.Length) Array.Resize(ref raw, (int)Math.Min(expected, 2L * raw.Length));
                int n = z.Read(raw, filled, raw.Length - filled);
                if (n == 0) break;
                filled += n;
            }
        }
        catch (InvalidDataException e) { throw new InvalidDataException($"PNG: corrupt compressed image data ({e.Message})", e); }
        if (filled < expected)
            throw new InvalidDataException($"PNG: image data ends after {filled} of {expected} bytes (truncated or corrupt IDAT)");
        return raw;
    }

    /// <summary>
    /// Reverses the row filters of one (sub-)image of <paramref name="width"/>×<paramref name="height"/> starting at
    /// <paramref name="offset"/> in <paramref name="raw"/>, and unpacks it into samples (H × W × samples-per-pixel).
    /// </summary>
    static ushort[] Unfilter(byte[] raw, int offset, Header h, int width, int height, out int consumed)
    {
        int rowBytes = (int)h.RowBytes(width), bpp = h.FilterStride, spp = h.SamplesPerPixel;
        var samples = new ushort[(long)width * height * spp];
        var previous = new byte[rowBytes];
        var current = new byte[rowBytes];
        int pos = offset;
        for (int y = 0; y < height; y++)
        {
            int filter = raw[pos++];
            raw.AsSpan(pos, rowBytes).CopyTo(current);
            pos += rowBytes;
            ApplyInverseFilter(filter, current, previous, bpp, y);
            UnpackRow(current, samples.AsSpan(y * width * spp, width * spp), h.BitDepth);
            (previous, current) = (current, previous);
        }
        consumed = pos - offset;
        return samples;
    }

    static void ApplyInverseFilter(int filter, Span<byte> row, ReadOnlySpan<byte> above, int bpp, int y)
    {
        switch (filter)
        {
            case 0: break;
            case 1: // Sub
                for (int i = bpp; i < row.Length; i++) row[i] += row[i - bpp];
                break;
            case 2: // Up
                for (int i = 0; i < row.Length; i++) row[i] += above[i];
                break;
            case 3: // Average
                for (int i = 0; i < row.Length; i++) row[i] += (byte)(((i >= bpp ? row[i - bpp] : 0) + above[i]) >> 1);
                break;
            case 4: // Paeth
                for (int i = 0; i < row.Length; i++)
                    row[i] += Paeth(i >= bpp ? row[i - bpp] : (byte)0, above[i], i >= bpp ? above[i - bpp] : (byte)0);
                break;
            default:
                throw new InvalidDataException($"PNG: unknown filter type {filter} on row {y} (valid: 0 to 4); the image data is corrupt");
        }
    }

    /// <summary>The Paeth predictor (PNG spec 9.4): whichever of left, above, upper-left is closest to left + above − upper-left.</summary>
    internal static byte Paeth(byte left, byte above, byte upperLeft)
    {
        int p = left + above - upperLeft;
        int pa = Math.Abs(p - left), pb = Math.Abs(p - above), pc = Math.Abs(p - upperLeft);
        return pa <= pb && pa <= pc ? left : pb <= pc ? above : upperLeft;
    }

    static void UnpackRow(ReadOnlySpan<byte> row, Span<ushort> dst, int depth)
    {
        switch (depth)
        {
            case 8:
                for (int i = 0; i < dst.Length; i++) dst[i] = row[i];
                break;
            case 16:
                for (int i = 0; i < dst.Length; i++) dst[i] = BinaryPrimitives.ReadUInt16BigEndian(row[(2 * i)..]);
                break;
            default: // 1, 2 or 4 bits, most significant bits first
                int perByte = 8 / depth, mask = (1 << depth) - 1;
                for (int i = 0; i < dst.Length; i++)
                {
                    int shift = 8 - depth * (i % perByte + 1);
                    dst[i] = (ushort)((row[i / perByte] >> shift) & mask);
                }
                break;
        }
    }

    /// <summary>One pass of Adam7 interlacing: the pixels (xStart + k·xStep, yStart + j·yStep).</summary>
    internal readonly record struct Pass(int XStart, int YStart, int XStep, int YStep)
    {
        public (int Width, int Height) Size(int width, int height) =>
            (width > XStart ? (width - XStart + XStep - 1) / XStep : 0, height > YStart ? (height - YStart + YStep - 1) / YStep : 0);
    }

    internal static readonly Pass[] Adam7 =
        [new(0, 0, 8, 8), new(4, 0, 8, 8), new(0, 4, 4, 8), new(2, 0, 4, 4), new(0, 2, 2, 4), new(1, 0, 2, 2), new(0, 1, 1, 2)];

    static ushort[] DeinterlaceAdam7(byte[] raw, Header h)
    {
        int spp = h.SamplesPerPixel;
        var samples = new ushort[(long)h.Width * h.Height * spp];
        int offset = 0;
        foreach (var pass in Adam7)
        {
            var (pw, ph) = pass.Size(h.Width, h.Height);
            if (pw == 0 || ph == 0) continue;   // empty passes have no rows, not even filter bytes
            var sub = Unfilter(raw, offset, h, pw, ph, out int consumed);
            offset += consumed;
            for (int j = 0; j < ph; j++)
                for (int k = 0; k < pw; k++)
                {
                    int y = pass.YStart + j * pass.YStep, x = pass.XStart + k * pass.XStep;
                    sub.AsSpan((j * pw + k) * spp, spp).CopyTo(samples.AsSpan((y * h.Width + x) * spp, spp));
                }
        }
        return samples;
    }

    static Image BuildImage(Header h, ushort[] samples, byte[]? palette, byte[]? paletteAlpha, ushort[]? colorKey)
    {
        int n = h.Width * h.Height;
        if (h.ColorType == ColorType.Palette)
        {
            int entries = palette!.Length / 3;
            bool alpha = paletteAlpha != null && paletteAlpha.Any(a => a != 255);
            int c = alpha ? 4 : 3;
            var rgb = new ushort[n * c];
            for (int p = 0; p < n; p++)
            {
                int index = samples[p];
                if (index >= entries)
                    throw new InvalidDataException($"PNG: pixel ({p / h.Width}, {p % h.Width}) uses palette index {index} but the palette has {entries} entries");
                rgb[p * c] = palette[3 * index]; rgb[p * c + 1] = palette[3 * index + 1]; rgb[p * c + 2] = palette[3 * index + 2];
                if (alpha) rgb[p * c + 3] = index < paletteAlpha!.Length ? paletteAlpha[index] : (ushort)255;
            }
            return new Image(h.Height, h.Width, c, rgb, 255);
        }
        int maxValue = (1 << h.BitDepth) - 1;
        int spp = h.SamplesPerPixel;
        if (colorKey == null) return new Image(h.Height, h.Width, spp, samples, maxValue);
        // A colour key: pixels equal to it become fully transparent, every other pixel opaque.
        var withAlpha = new ushort[n * (spp + 1)];
        for (int p = 0; p < n; p++)
        {
            bool match = true;
            for (int c = 0; c < spp; c++)
            {
                ushort v = samples[p * spp + c];
                withAlpha[p * (spp + 1) + c] = v;
                match &= v == colorKey[c];
            }
            withAlpha[p * (spp + 1) + spp] = match ? (ushort)0 : (ushort)maxValue;
        }
        return new Image(h.Height, h.Width, spp + 1, withAlpha, maxValue);
    }
}
