using System.Buffers.Binary;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// GIF87a/GIF89a reading (PIL's GifImagePlugin, first frame): the logical screen, global and local colour tables, the
/// graphic control extension's transparent index, interlaced rows and the variable-width LZW code stream (GIF89a appendix F).
/// Only the first frame is decoded; an animation's later frames are skipped.
/// </summary>
public static class Gif
{
    /// <summary>Whether <paramref name="data"/> starts with "GIF87a" or "GIF89a".</summary>
    public static bool IsGif(ReadOnlySpan<byte> data) => data.Length >= 6 && (data[..6].SequenceEqual("GIF87a"u8) || data[..6].SequenceEqual("GIF89a"u8));

    /// <summary>
    /// Decodes the first frame onto the logical screen: RGB, or RGBA when the frame declares a transparent colour (alpha 0
    /// there, and outside the frame). Pixels outside the frame take the background colour otherwise. A screen over
    /// <paramref name="options"/>' MaxPixels is refused.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null)
    {
        if (!IsGif(data)) throw new InvalidDataException("GIF: no GIF87a/GIF89a signature");
        if (data.Length < 13) throw new InvalidDataException("GIF: the file ends inside the screen descriptor (truncated file)");
        int screenW = BinaryPrimitives.ReadUInt16LittleEndian(data[6..]), screenH = BinaryPrimitives.ReadUInt16LittleEndian(data[8..]);
        int flags = data[10], background = data[11];
        (options ?? ImageDecodeOptions.Default).CheckSize("GIF", screenW, screenH);
        int pos = 13;
        byte[]? globalTable = (flags & 0x80) != 0 ? ReadColorTable(data, ref pos, flags & 7) : null;
        int transparent = -1;
        while (true)
        {
            if (pos >= data.Length) throw new InvalidDataException("GIF: the file ends before the first image (truncated file)");
            int block = data[pos++];
            if (block == 0x3B) throw new InvalidDataException("GIF: the file has no image (trailer before any image descriptor)");
            if (block == 0x21)
            {
                if (pos >= data.Length) throw new InvalidDataException("GIF: the file ends inside an extension (truncated file)");
                int label = data[pos++];
                var first = SubBlocks(data, ref pos, firstOnly: true);
                if (label == 0xF9 && first.Length >= 4) transparent = (first[0] & 1) != 0 ? first[3] : -1;
                continue;
            }
            if (block != 0x2C) throw new InvalidDataException($"GIF: unknown block 0x{block:X2} at byte {pos - 1}");
            return DecodeFrame(data, pos, screenW, screenH, globalTable, background, transparent, options ?? ImageDecodeOptions.Default);
        }
    }

    static byte[] ReadColorTable(ReadOnlySpan<byte> data, ref int pos, int sizeBits)
    {
        int bytes = 3 << (sizeBits + 1);
        if (data.Length - pos < bytes) throw new InvalidDataException("GIF: the file ends inside a colour table (truncated file)");
        var table = data.Slice(pos, bytes).ToArray();
        pos += bytes;
        return table;
    }

    /// <summary>Concatenates data sub-blocks up to the zero-length terminator (or returns only the first, skipping the rest).</summary>
    static byte[] SubBlocks(ReadOnlySpan<byte> data, ref int pos, bool firstOnly)
    {
        using var collected = new MemoryStream();
        bool first = true;
        while (true)
        {
            if (pos >= data.Length) throw new InvalidDataException("GIF: the file ends inside a data block (truncated file)");
            int size = data[pos++];
            if (size == 0) return collected.ToArray();
            if (data.Length - pos < size) throw new InvalidDataException("GIF: the file ends inside a data block (truncated file)");
            if (!firstOnly || first) collected.Write(data.Slice(pos, size));
            first = false;
            pos += size;
        }
    }

    static Image DecodeFrame(ReadOnlySpan<byte> data, int pos, int screenW, int screenH, byte[]? globalTable, int background, int transparent, ImageDecodeOptions options)
    {
        if (data.Length - pos < 9) throw new InvalidDataException("GIF: the file ends inside an image descriptor (truncated file)");
        int left = BinaryPrimitives.ReadUInt16LittleEndian(data[pos..]), top = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 2)..]);
        int w = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 4)..]), h = BinaryPrimitives.ReadUInt16LittleEndian(data[(pos + 6)..]);
        int flags = data[pos + 8];
        pos += 9;
        if (w == 0 || h == 0) throw new InvalidDataException($"GIF: the first frame is {w}x{h}");
        options.CheckSize("GIF frame", w, h);
        var table = (flags & 0x80) != 0 ? ReadColorTable(data, ref pos, flags & 7) : globalTable
            ?? throw new InvalidDataException("GIF: the image has neither a local nor a global colour table");
        if (pos >= data.Length) throw new InvalidDataException("GIF: the file ends before the image data (truncated file)");
        int minCodeSize = data[pos++];
        if (minCodeSize is < 1 or > 11) throw new InvalidDataException($"GIF: invalid LZW minimum code size {minCodeSize}");
        var compressed = SubBlocks(data, ref pos, firstOnly: false);
        var indices = GifLzw.Decode(compressed, minCodeSize, w * h);
        if ((flags & 0x40) != 0) indices = Deinterlace(indices, w, h);

        int channels = transparent >= 0 ? 4 : 3, colours = table.Length / 3;
        var samples = new ushort[screenW * screenH * channels];
        void Fill(int p, int index, bool inFrame)
        {
            int o = p * channels;
            if (channels == 4) samples[o + 3] = (ushort)(inFrame && index != transparent ? 255 : 0);
            if (!inFrame && channels == 4) return;
            if (index < colours) { samples[o] = table[3 * index]; samples[o + 1] = table[3 * index + 1]; samples[o + 2] = table[3 * index + 2]; }
        }
        for (int y = 0; y < screenH; y++)
            for (int x = 0; x < screenW; x++)
            {
                int fx = x - left, fy = y - top;
                bool inFrame = fx >= 0 && fy >= 0 && fx < w && fy < h;
                Fill(y * screenW + x, inFrame ? indices[fy * w + fx] : background, inFrame);
            }
        return new Image(screenH, screenW, channels, samples);
    }

    /// <summary>Reorders interlaced rows (passes: every 8th row from 0, every 8th from 4, every 4th from 2, every 2nd from 1).</summary>
    static byte[] Deinterlace(byte[] indices, int w, int h)
    {
        var result = new byte[indices.Length];
        int source = 0;
        foreach (var (start, step) in new[] { (0, 8), (4, 8), (2, 4), (1, 2) })
            for (int y = start; y < h; y += step, source++)
                Array.Copy(indices, source * w, result, y * w, w);
        return result;
    }
}

/// <summary>The LZW decompressor of GIF: codes read least significant bit first, growing from minCodeSize + 1 to 12 bits.</summary>
internal static class GifLzw
{
    /// <summary>
    /// Decodes up to <paramref name="pixels"/> indices; a stream that ends early leaves the rest 0 (as browsers and PIL do
    /// for short data), and data after the frame is full is ignored. An impossible code is an <see cref="InvalidDataException"/>.
    /// </summary>
    public static byte[] Decode(ReadOnlySpan<byte> data, int minCodeSize, int pixels)
    {
        var output = new byte[pixels];
        var prefix = new short[4096];
        var suffix = new byte[4096];
        var first = new byte[4096];    // first index of each code's string
        var lengths = new short[4096];
        Span<byte> stack = stackalloc byte[4096];
        int clear = 1 << minCodeSize, end = clear + 1;
        for (int i = 0; i < clear; i++) { suffix[i] = first[i] = (byte)i; lengths[i] = 1; }
        int codeSize = minCodeSize + 1, next = end + 1, previous = -1, written = 0;
        long bitPos = 0, totalBits = (long)data.Length * 8;
        while (written < pixels && bitPos + codeSize <= totalBits)
        {
            int code = 0;
            for (int b = 0; b < codeSize; b++, bitPos++)
                code |= ((data[(int)(bitPos >> 3)] >> (int)(bitPos & 7)) & 1) << b;
            if (code == clear) { codeSize = minCodeSize + 1; next = end + 1; previous = -1; continue; }
            if (code == end) break;
            if (previous < 0)
            {
                if (code >= clear) throw new InvalidDataException($"GIF: corrupt LZW data (code {code} before any string)");
                output[written++] = (byte)code;
                previous = code;
                continue;
            }
            if (code > next || (code == next && next >= 4096)) throw new InvalidDataException($"GIF: corrupt LZW data (code {code}, next free code {next})");
            int current = code == next ? previous : code;
            // write the string of `current` (and, for the not-yet-defined code, the first index of previous again)
            int length = lengths[current];
            for (int i = length - 1, c = current; i >= 0; i--, c = prefix[c]) stack[i] = suffix[c];
            byte head = first[current];
            if (next < 4096)
            {
                prefix[next] = (short)previous; suffix[next] = head; first[next] = first[previous];
                lengths[next] = (short)(lengths[previous] + 1);
                next++;
                if (next == 1 << codeSize && codeSize < 12) codeSize++;
            }
            int copy = Math.Min(length, pixels - written);
            stack[..copy].CopyTo(output.AsSpan(written));
            written += copy;
            if (code != current && written < pixels) output[written++] = head;
            previous = code;
        }
        return output;
    }
}
