using System.Buffers.Binary;

namespace DeepSharp.Vision.Imaging;

/// <summary>One component (colour channel) of a JPEG frame and the coefficients decoded for it so far.</summary>
internal sealed class JpegComponent
{
    public int Id, H, V, QuantId, Index;
    /// <summary>Samples of this component: ceil(X·H/Hmax) × ceil(Y·V/Vmax) (T.81 A.1.1).</summary>
    public int Width, Height;
    /// <summary>Block grid, padded to whole MCUs: the allocated coefficients.</summary>
    public int BlocksPerLine, BlocksPerColumn;
    /// <summary>Blocks that hold image samples, ceil(Width/8) × ceil(Height/8): the blocks of a one-component scan.</summary>
    public int BlocksWide, BlocksHigh;
    /// <summary>Quantized coefficients, 64 per block in natural order, or null until a scan first covers the component.</summary>
    public short[]? Coefficients;
    /// <summary>The quantization table latched when the component's first scan began.</summary>
    public ushort[]? Quant;
    public int DcPredictor;
    public JpegHuffmanTable? DcTable, AcTable;
    /// <summary>Whether a scan has coded the component's DC coefficients (progressive: required before its AC scans).</summary>
    public bool HasDc;
}

/// <summary>The frame header (SOF) of a JPEG: size, components and the MCU grid.</summary>
internal sealed class JpegFrame
{
    public bool Progressive;
    public int Width, Height, Hmax, Vmax, McusPerLine, McusPerColumn;
    public JpegComponent[] Components = [];
}

/// <summary>
/// A baseline, extended (8-bit Huffman) and progressive JPEG decoder written from ITU T.81 and JFIF 1.02, with Adobe's
/// APP14 colour transform and EXIF orientation. This file walks the markers (T.81 B.2); the segments, the scans, the
/// inverse DCT and the colour output live in JpegSegments.cs, JpegScans.cs, JpegIdct.cs and JpegOutput.cs.
/// Everything read from the file is bounds-checked; problems are <see cref="InvalidDataException"/>s.
/// </summary>
internal sealed partial class JpegDecoder
{
    readonly ImageDecodeOptions options;
    readonly ushort[]?[] quantTables = new ushort[4][];
    readonly JpegHuffmanTable?[] dcTables = new JpegHuffmanTable[4];
    readonly JpegHuffmanTable?[] acTables = new JpegHuffmanTable[4];
    JpegFrame? frame;
    int restartInterval;
    int adobeTransform = -1;   // -1: no Adobe APP14 segment
    int orientation = 1;       // EXIF orientation, 1 = as stored
    int scans;

    JpegDecoder(ImageDecodeOptions options) => this.options = options;

    /// <summary>Whether <paramref name="data"/> starts with the JPEG SOI marker followed by another marker.</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> data) => data.Length >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF;

    /// <summary>Decodes a whole JPEG file.</summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions options) => new JpegDecoder(options).Run(data);

    Image Run(ReadOnlySpan<byte> data)
    {
        if (data.Length < 2 || data[0] != 0xFF || data[1] != 0xD8)
            throw new InvalidDataException($"JPEG: no SOI marker (file starts with {Convert.ToHexString(data[..Math.Min(2, data.Length)])}, expected FFD8)");
        int pos = 2;
        while (true)
        {
            if (pos >= data.Length) throw new InvalidDataException($"JPEG: the file ends after {data.Length} bytes without an EOI marker (truncated file)");
            if (data[pos] != 0xFF)
                throw new InvalidDataException($"JPEG: expected a marker at byte {pos}, found 0x{data[pos]:X2} (corrupt file)");
            while (pos < data.Length && data[pos] == 0xFF) pos++;   // fill bytes
            if (pos >= data.Length) throw new InvalidDataException("JPEG: the file ends inside a marker (truncated file)");
            int marker = data[pos++];
            switch (marker)
            {
                case 0xD9:   // EOI
                    return BuildImage();
                case 0xD8:
                    throw new InvalidDataException($"JPEG: a second SOI marker at byte {pos - 2}");
                case >= 0xD0 and <= 0xD7:   // a stray restart marker between segments carries nothing
                case 0x01:                  // TEM
                    continue;
                case 0x00:
                    throw new InvalidDataException($"JPEG: invalid marker 0xFF00 at byte {pos - 2}");
            }
            if (data.Length - pos < 2) throw new InvalidDataException($"JPEG: the file ends inside the length of marker 0x{marker:X2} (truncated file)");
            int length = BinaryPrimitives.ReadUInt16BigEndian(data[pos..]);
            if (length < 2) throw new InvalidDataException($"JPEG: marker 0x{marker:X2} at byte {pos - 2} has an invalid length {length}");
            if (data.Length - pos < length)
                throw new InvalidDataException($"JPEG: marker 0x{marker:X2} at byte {pos - 2} declares {length} bytes but the file ends after {data.Length - pos} (truncated file)");
            var segment = data.Slice(pos + 2, length - 2);
            pos += length;
            if (marker == 0xDA) pos = ReadScan(data, segment, pos);
            else ReadSegment(marker, segment);
        }
    }

    /// <summary>Handles one marker segment other than SOS.</summary>
    void ReadSegment(int marker, ReadOnlySpan<byte> segment)
    {
        switch (marker)
        {
            case 0xC0 or 0xC1 or 0xC2: ReadFrame(segment, progressive: marker == 0xC2); break;
            case 0xC3: throw new InvalidDataException("JPEG: lossless JPEG (SOF3) is not supported");
            case 0xC5 or 0xC6 or 0xC7: throw new InvalidDataException($"JPEG: hierarchical JPEG (SOF{marker - 0xC0}) is not supported");
            case 0xC9 or 0xCA or 0xCB or 0xCD or 0xCE or 0xCF or 0xCC:
                throw new InvalidDataException("JPEG: arithmetic-coded JPEG is not supported (only Huffman coding)");
            case 0xC4: ReadHuffmanTables(segment); break;
            case 0xDB: ReadQuantTables(segment); break;
            case 0xDD:
                if (segment.Length != 2) throw new InvalidDataException($"JPEG: DRI segment of {segment.Length} bytes, expected 2");
                restartInterval = BinaryPrimitives.ReadUInt16BigEndian(segment);
                break;
            case 0xDC: throw new InvalidDataException("JPEG: DNL marker (height defined after the scan) is not supported");
            case 0xE0: jfif |= segment.StartsWith("JFIF\0"u8); break;
            case 0xE1: orientation = Exif.ReadOrientation(segment) ?? orientation; break;
            case 0xEE: ReadAdobe(segment); break;
            default: break;   // APPn, COM, JPGn: metadata this decoder does not need
        }
    }

    /// <summary>
    /// The offset of the next marker at or after <paramref name="pos"/>: a 0xFF byte followed by a byte other than 0x00
    /// (stuffing) and 0xFF (fill); <paramref name="data"/>.Length when there is none.
    /// </summary>
    internal static int FindMarker(ReadOnlySpan<byte> data, int pos)
    {
        while (true)
        {
            int found = data[pos..].IndexOf((byte)0xFF);
            if (found < 0) return data.Length;
            pos += found;
            int next = pos + 1 < data.Length ? data[pos + 1] : -1;
            if (next is > 0 and < 0xFF) return pos;
            if (next < 0) return data.Length;
            pos++;
        }
    }

    /// <summary>Bytes of entropy-coded data from <paramref name="pos"/> to the first marker that is not a restart marker.</summary>
    static int ScanDataLength(ReadOnlySpan<byte> data, int pos)
    {
        int at = pos;
        while (true)
        {
            at = FindMarker(data, at);
            if (at >= data.Length || data[at + 1] is < 0xD0 or > 0xD7) return at - pos;
            at += 2;
        }
    }
}
