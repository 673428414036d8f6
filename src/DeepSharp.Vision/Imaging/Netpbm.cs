using System.Buffers.Binary;
using System.Text;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The Netpbm grey and colour formats (what PIL's PpmImagePlugin reads and writes): PGM (P2 plain text, P5 binary) and
/// PPM (P3 plain text, P6 binary), with any maxval from 1 to 65535 (two bytes per sample, big-endian, above 255).
/// </summary>
public static class Netpbm
{
    /// <summary>Whether <paramref name="data"/> starts with a P2, P3, P5 or P6 magic number.</summary>
    public static bool IsNetpbm(ReadOnlySpan<byte> data) => data.Length >= 2 && data[0] == 'P' && data[1] is (byte)'2' or (byte)'3' or (byte)'5' or (byte)'6';

    /// <summary>
    /// Decodes a PGM or PPM image (P2, P3, P5 or P6); samples keep the file's maxval. A header over
    /// <paramref name="options"/>' MaxPixels (default <see cref="ImageDecodeOptions.Default"/>) is refused.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null)
    {
        if (data.Length < 2 || data[0] != 'P')
            throw new InvalidDataException($"PNM: bad magic number (expected P2, P3, P5 or P6), file starts with {Convert.ToHexString(data[..Math.Min(2, data.Length)])}");
        char kind = (char)data[1];
        if (kind is not ('2' or '3' or '5' or '6'))
            throw new InvalidDataException($"PNM: format P{kind} is not supported (only P2/P5 grey and P3/P6 colour)");
        int channels = kind is '2' or '5' ? 1 : 3;
        int pos = 2;
        int width = ReadHeaderInt(data, ref pos, "width"), height = ReadHeaderInt(data, ref pos, "height");
        int maxValue = ReadHeaderInt(data, ref pos, "maxval");
        if (width <= 0 || height <= 0) throw new InvalidDataException($"PNM: invalid image size {width}x{height}");
        (options ?? ImageDecodeOptions.Default).CheckSize("PNM", width, height);
        if (maxValue is < 1 or > 65535) throw new InvalidDataException($"PNM: maxval {maxValue} is outside [1, 65535]");
        long count = (long)width * height * channels;
        if (count > Array.MaxLength) throw new InvalidDataException($"PNM: image of {width}x{height} is too large");
        // every sample takes at least one byte (binary) or one digit (plain): refuse before allocating for a lying header
        if (count > data.Length - pos)
            throw new InvalidDataException($"PNM: {width}x{height}x{channels} samples cannot fit in the {data.Length - pos} bytes after the header (truncated file?)");
        var samples = new ushort[count];
        if (kind is '5' or '6')
        {
            // exactly one whitespace character separates the header from the raster
            if (pos >= data.Length || !IsSpace(data[pos])) throw new InvalidDataException("PNM: missing whitespace after the header");
            pos++;
            int bytesPerSample = maxValue > 255 ? 2 : 1;
            long needed = count * bytesPerSample;
            if (data.Length - pos < needed)
                throw new InvalidDataException($"PNM: raster of {width}x{height}x{channels} needs {needed} bytes but only {data.Length - pos} follow the header (truncated file?)");
            for (long i = 0; i < count; i++)
                samples[i] = bytesPerSample == 1 ? data[pos + (int)i] : BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 2 * (int)i)..]);
        }
        else
        {
            for (long i = 0; i < count; i++)
            {
                if (!TryReadInt(data, ref pos, out int v))
                    throw new InvalidDataException($"PNM: plain raster ends after {i} of {count} samples (truncated file?)");
                samples[i] = (ushort)Math.Min(v, 65535);
                if (v > maxValue) break;
            }
        }
        for (long i = 0; i < count; i++)
            if (samples[i] > maxValue)
                throw new InvalidDataException($"PNM: sample {samples[i]} at index {i} exceeds maxval {maxValue}");
        return new Image(height, width, channels, samples, maxValue);
    }

    /// <summary>Reads a PGM or PPM file.</summary>
    public static Image Load(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"Netpbm.Load: file not found: {path}", path);
        try { return Decode(File.ReadAllBytes(path)); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// Encodes a grey image as PGM or an RGB image as PPM, binary (P5/P6) or plain text (P2/P3) when
    /// <paramref name="ascii"/> is set; the maxval is the image's MaxValue.
    /// </summary>
    public static byte[] Encode(Image image, bool ascii = false)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels is not (1 or 3))
            throw new ArgumentException($"Netpbm.Encode: PGM/PPM hold 1 (grey) or 3 (RGB) channels, the image has {image.Channels}; convert with ToGrayscale() or ToRgb()", nameof(image));
        char kind = image.Channels == 1 ? (ascii ? '2' : '5') : (ascii ? '3' : '6');
        var header = Encoding.ASCII.GetBytes($"P{kind}\n{image.Width} {image.Height}\n{image.MaxValue}\n");
        using var s = new MemoryStream();
        s.Write(header);
        var samples = image.Samples;
        if (ascii)
        {
            int perRow = image.Width * image.Channels;
            var line = new StringBuilder();
            for (int y = 0; y < image.Height; y++)
            {
                line.Clear();
                for (int i = 0; i < perRow; i++)
                {
                    if (i > 0) line.Append(i % 16 == 0 ? '\n' : ' ');   // keep lines under 70 characters
                    line.Append(samples[y * perRow + i]);
                }
                line.Append('\n');
                s.Write(Encoding.ASCII.GetBytes(line.ToString()));
            }
        }
        else if (image.MaxValue <= 255) { foreach (var v in samples) s.WriteByte((byte)v); }
        else
        {
            Span<byte> two = stackalloc byte[2];
            foreach (var v in samples) { BinaryPrimitives.WriteUInt16BigEndian(two, v); s.Write(two); }
        }
        return s.ToArray();
    }

    /// <summary>Writes a grey image as PGM or an RGB image as PPM.</summary>
    public static void Save(Image image, string path, bool ascii = false) => File.WriteAllBytes(path, Encode(image, ascii));

    static bool IsSpace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\r' or 0x0B or 0x0C;

    static int ReadHeaderInt(ReadOnlySpan<byte> data, ref int pos, string what)
    {
        if (!TryReadInt(data, ref pos, out int v)) throw new InvalidDataException($"PNM: header ends before the {what} (truncated or not a PNM file)");
        return v;
    }

    /// <summary>Skips whitespace and # comments, then reads a decimal number; false at the end of data.</summary>
    static bool TryReadInt(ReadOnlySpan<byte> data, ref int pos, out int value)
    {
        value = 0;
        while (pos < data.Length)
        {
            if (IsSpace(data[pos])) pos++;
            else if (data[pos] == '#') { while (pos < data.Length && data[pos] != '\n' && data[pos] != '\r') pos++; }
            else break;
        }
        if (pos >= data.Length) return false;
        if (!char.IsAsciiDigit((char)data[pos])) throw new InvalidDataException($"PNM: unexpected character '{(char)data[pos]}' at byte {pos}, expected a number");
        long v = 0;
        while (pos < data.Length && char.IsAsciiDigit((char)data[pos]))
        {
            v = v * 10 + (data[pos++] - '0');
            if (v > int.MaxValue) throw new InvalidDataException($"PNM: number too large at byte {pos}");
        }
        value = (int)v;
        return true;
    }
}
