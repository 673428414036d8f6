using System.Buffers.Binary;
using System.Numerics;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// Windows/OS2 bitmaps (PIL's BmpImagePlugin): reads the core (OS/2 1.x), INFO, V2/V3, V4 and V5 headers with 1, 4 and 8
/// bits per pixel (palette), 16 (5-5-5 or bit fields), 24 and 32 (BGRX or bit fields, alpha when a mask names it), RLE8
/// and RLE4 compression, bottom-up and top-down rows. Writes 24-bit RGB or 8-bit grey (with a grey palette) bitmaps.
/// </summary>
public static class Bmp
{
    /// <summary>Whether <paramref name="data"/> starts with "BM" and a plausible header size.</summary>
    public static bool IsBmp(ReadOnlySpan<byte> data) =>
        data.Length >= 18 && data[0] == 'B' && data[1] == 'M' && BinaryPrimitives.ReadUInt32LittleEndian(data[14..]) is 12 or 40 or 52 or 56 or 64 or 108 or 124;

    /// <summary>
    /// Decodes a bitmap: RGB (3 channels), RGBA when a 32-bit file has an alpha mask, or grey (1 channel) when every
    /// palette entry is grey (PIL opens such files as mode "L"). A header over <paramref name="options"/>' MaxPixels is refused.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null)
    {
        if (data.Length < 26 || data[0] != 'B' || data[1] != 'M') throw new InvalidDataException("BMP: no 'BM' signature or the file is too short");
        uint offset = BinaryPrimitives.ReadUInt32LittleEndian(data[10..]);
        int headerSize = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(data[14..]), int.MaxValue);
        if (headerSize is not (12 or 40 or 52 or 56 or 64 or 108 or 124)) throw new InvalidDataException($"BMP: unknown header size {headerSize}");
        if (data.Length < 14 + headerSize) throw new InvalidDataException("BMP: the file ends inside its header (truncated file)");
        var header = data.Slice(14, headerSize);
        bool core = headerSize == 12;
        long width = core ? BinaryPrimitives.ReadUInt16LittleEndian(header[4..]) : BinaryPrimitives.ReadInt32LittleEndian(header[4..]);
        long rawHeight = core ? BinaryPrimitives.ReadUInt16LittleEndian(header[6..]) : BinaryPrimitives.ReadInt32LittleEndian(header[8..]);
        int bpp = BinaryPrimitives.ReadUInt16LittleEndian(header[(core ? 10 : 14)..]);
        uint compression = core ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(header[16..]);
        bool topDown = rawHeight < 0;
        long height = Math.Abs(rawHeight);
        (options ?? ImageDecodeOptions.Default).CheckSize("BMP", width, height);
        if (bpp is not (1 or 4 or 8 or 16 or 24 or 32)) throw new InvalidDataException($"BMP: {bpp} bits per pixel are not supported");
        var masks = ReadMasks(data, header, headerSize, bpp, compression);
        int paletteStart = 14 + headerSize + (headerSize == 40 && compression is 3 or 6 ? (compression == 6 ? 16 : 12) : 0);
        var palette = bpp <= 8 ? ReadPalette(data, header, core, bpp, paletteStart, (int)Math.Min(offset, int.MaxValue)) : null;
        if (offset >= data.Length) throw new InvalidDataException($"BMP: pixel data offset {offset} is beyond the end of the file ({data.Length} bytes)");
        int w = (int)width, h = (int)height;
        var indices = compression switch
        {
            0 or 3 or 6 => null,
            1 when bpp == 8 => BmpRle.Decode(data[(int)offset..], w, h, fourBit: false),
            2 when bpp == 4 => BmpRle.Decode(data[(int)offset..], w, h, fourBit: true),
            _ => throw new InvalidDataException($"BMP: compression {compression} with {bpp} bits per pixel is not supported"),
        };
        if (indices != null) return FromIndices(indices, w, h, palette!);
        long stride = (bpp * width + 31) / 32 * 4;
        if (offset + stride * height > data.Length)
            throw new InvalidDataException($"BMP: {width}x{height} pixels of {bpp} bits need {stride * height} bytes after offset {offset}, the file has {data.Length - offset} (truncated file)");
        var pixels = data[(int)offset..];
        int RowStart(int y) => (int)((topDown ? y : h - 1 - y) * stride);
        if (palette != null)
        {
            var index = new byte[(long)w * h];
            for (int y = 0; y < h; y++)
            {
                var row = pixels.Slice(RowStart(y), (int)stride);
                for (int x = 0; x < w; x++)
                    index[(long)y * w + x] = bpp == 8 ? row[x] : bpp == 4 ? (byte)((row[x >> 1] >> (x % 2 == 0 ? 4 : 0)) & 15) : (byte)((row[x >> 3] >> (7 - (x & 7))) & 1);
            }
            return FromIndices(index, w, h, palette);
        }
        return DecodeDirect(pixels, w, h, bpp, RowStart, masks);
    }

    /// <summary>The red, green, blue and alpha masks of a 16- or 32-bit file (defaults 5-5-5 and 8-8-8 without alpha).</summary>
    static uint[] ReadMasks(ReadOnlySpan<byte> data, ReadOnlySpan<byte> header, int headerSize, int bpp, uint compression)
    {
        if (compression is 3 or 6)
        {
            var source = headerSize >= 52 ? header[40..] : data.Length >= 14 + 40 + 16 ? data.Slice(54, 16) : throw new InvalidDataException("BMP: the file ends inside its colour masks");
            bool alpha = compression == 6 || headerSize >= 56;
            return [BinaryPrimitives.ReadUInt32LittleEndian(source), BinaryPrimitives.ReadUInt32LittleEndian(source[4..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(source[8..]), alpha ? BinaryPrimitives.ReadUInt32LittleEndian(source[12..]) : 0];
        }
        return bpp == 16 ? [0x7C00, 0x03E0, 0x001F, 0] : [0xFF0000, 0xFF00, 0xFF, 0];
    }

    static byte[][] ReadPalette(ReadOnlySpan<byte> data, ReadOnlySpan<byte> header, bool core, int bpp, int start, int end)
    {
        int entrySize = core ? 3 : 4;
        uint used = core ? 0 : BinaryPrimitives.ReadUInt32LittleEndian(header[32..]);
        int count = used == 0 || used > 1u << bpp ? 1 << bpp : (int)used;
        // some writers declare more entries than fit before the pixels: take the ones present
        count = Math.Min(count, Math.Max(0, (Math.Min(end, data.Length) - start) / entrySize));
        if (count == 0) throw new InvalidDataException("BMP: a palette image without a palette");
        var palette = new byte[count][];
        for (int i = 0; i < count; i++)
        {
            var e = data.Slice(start + i * entrySize, 3);
            palette[i] = [e[2], e[1], e[0]];
        }
        return palette;
    }

    static Image FromIndices(byte[] index, int w, int h, byte[][] palette)
    {
        bool grey = palette.All(p => p[0] == p[1] && p[1] == p[2]);
        int channels = grey ? 1 : 3;
        var samples = new ushort[(long)w * h * channels];
        byte[] black = [0, 0, 0];
        for (long p = 0; p < index.LongLength; p++)
        {
            var colour = index[p] < palette.Length ? palette[index[p]] : black;   // an index past the palette is black, as in PIL
            if (grey) samples[p] = colour[0];
            else { samples[3 * p] = colour[0]; samples[3 * p + 1] = colour[1]; samples[3 * p + 2] = colour[2]; }
        }
        return new Image(h, w, channels, samples);
    }

    static Image DecodeDirect(ReadOnlySpan<byte> pixels, int w, int h, int bpp, Func<int, int> rowStart, uint[] masks)
    {
        bool alpha = bpp == 32 && masks[3] != 0;
        int channels = alpha ? 4 : 3;
        var samples = new ushort[(long)w * h * channels];
        for (int y = 0; y < h; y++)
        {
            var row = pixels[rowStart(y)..];
            for (int x = 0; x < w; x++)
            {
                long o = ((long)y * w + x) * channels;
                if (bpp == 24) { samples[o] = row[3 * x + 2]; samples[o + 1] = row[3 * x + 1]; samples[o + 2] = row[3 * x]; continue; }
                uint v = bpp == 16 ? BinaryPrimitives.ReadUInt16LittleEndian(row[(2 * x)..]) : BinaryPrimitives.ReadUInt32LittleEndian(row[(4 * x)..]);
                for (int c = 0; c < channels; c++) samples[o + c] = Field(v, masks[c]);
            }
        }
        return new Image(h, w, channels, samples);
    }

    /// <summary>The bits of <paramref name="value"/> under <paramref name="mask"/>, scaled to 0..255 as PIL does (v·255/max, truncated).</summary>
    static ushort Field(uint value, uint mask)
    {
        if (mask == 0) return 0;
        int shift = BitOperations.TrailingZeroCount(mask);
        ulong max = mask >> shift;
        ulong v = (value & mask) >> shift;
        return (ushort)(v * 255 / max);
    }

    /// <summary>
    /// Encodes a bitmap (PIL Image.save(..., "BMP")): grey (1 or 2 channels) as 8 bits with a grey palette, colour as 24-bit
    /// BGR, bottom-up, 40-byte INFO header. Alpha is dropped; 16-bit samples are scaled to 8 bits.
    /// </summary>
    public static byte[] Encode(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        bool grey = image.Channels <= 2;
        var bytes = image.ToBytes();
        int w = image.Width, h = image.Height, c = image.Channels, bpp = grey ? 8 : 24;
        long stride = (bpp * (long)w + 31) / 32 * 4;
        int paletteBytes = grey ? 1024 : 0, offset = 14 + 40 + paletteBytes;
        long size = offset + stride * h;
        if (size > int.MaxValue) throw new ArgumentException($"Bmp.Encode: an image of {w}x{h} is too large for a bitmap", nameof(image));
        var file = new byte[size];
        var s = file.AsSpan();
        s[0] = (byte)'B'; s[1] = (byte)'M';
        BinaryPrimitives.WriteUInt32LittleEndian(s[2..], (uint)size);
        BinaryPrimitives.WriteUInt32LittleEndian(s[10..], (uint)offset);
        BinaryPrimitives.WriteUInt32LittleEndian(s[14..], 40);
        BinaryPrimitives.WriteInt32LittleEndian(s[18..], w);
        BinaryPrimitives.WriteInt32LittleEndian(s[22..], h);
        BinaryPrimitives.WriteUInt16LittleEndian(s[26..], 1);
        BinaryPrimitives.WriteUInt16LittleEndian(s[28..], (ushort)bpp);
        BinaryPrimitives.WriteUInt32LittleEndian(s[34..], (uint)(stride * h));
        BinaryPrimitives.WriteInt32LittleEndian(s[38..], 2835);   // 72 dpi
        BinaryPrimitives.WriteInt32LittleEndian(s[42..], 2835);
        if (grey)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(s[46..], 256);
            for (int i = 0; i < 256; i++) { s[54 + 4 * i] = s[55 + 4 * i] = s[56 + 4 * i] = (byte)i; }
        }
        for (int y = 0; y < h; y++)
        {
            var row = s.Slice((int)(offset + (h - 1 - y) * stride));
            for (int x = 0; x < w; x++)
            {
                int p = (y * w + x) * c;
                if (grey) row[x] = bytes[p];
                else { row[3 * x] = bytes[p + 2]; row[3 * x + 1] = bytes[p + 1]; row[3 * x + 2] = bytes[p]; }
            }
        }
        return file;
    }
}
