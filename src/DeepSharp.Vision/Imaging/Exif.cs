using System.Buffers.Binary;

namespace DeepSharp.Vision.Imaging;

/// <summary>
/// The EXIF orientation tag (0x0112 in IFD0 of a JPEG's APP1 "Exif" segment, EXIF 2.3 / TIFF 6.0) and the transposition
/// that makes the stored pixels upright (PIL ImageOps.exif_transpose). Values: 1 as stored, 2 mirrored left-right,
/// 3 rotated 180°, 4 mirrored top-bottom, 5 transposed, 6 to be rotated 90° clockwise, 7 transversed, 8 to be rotated
/// 90° anticlockwise.
/// </summary>
public static class Exif
{
    /// <summary>
    /// The orientation in an APP1 segment's payload (starting "Exif\0\0"), or null when the segment is not EXIF, has no
    /// orientation tag, or is malformed (a broken EXIF block never stops the image from decoding, as in PIL).
    /// </summary>
    public static int? ReadOrientation(ReadOnlySpan<byte> app1)
    {
        if (app1.Length < 14 || !app1.StartsWith("Exif\0\0"u8)) return null;
        var tiff = app1[6..];
        bool little;
        if (tiff[0] == 'I' && tiff[1] == 'I') little = true;
        else if (tiff[0] == 'M' && tiff[1] == 'M') little = false;
        else return null;
        ushort U16(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt16LittleEndian(b) : BinaryPrimitives.ReadUInt16BigEndian(b);
        uint U32(ReadOnlySpan<byte> b) => little ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt32BigEndian(b);
        if (U16(tiff[2..]) != 42) return null;
        uint ifd = U32(tiff[4..]);
        if (ifd < 8 || ifd > tiff.Length - 2) return null;
        int entries = U16(tiff[(int)ifd..]);
        for (int i = 0; i < entries; i++)
        {
            long at = ifd + 2 + 12L * i;
            if (at + 12 > tiff.Length) return null;
            var entry = tiff.Slice((int)at, 12);
            if (U16(entry) != 0x0112) continue;
            int type = U16(entry[2..]);
            int value = type == 3 ? U16(entry[8..]) : type == 4 ? (int)Math.Min(U32(entry[8..]), 9u) : 0;
            return value is >= 1 and <= 8 ? value : null;
        }
        return null;
    }

    /// <summary>
    /// The image turned upright for EXIF orientation <paramref name="orientation"/> (PIL ImageOps.exif_transpose);
    /// orientation 1 (or anything outside 1..8) returns the image itself. Orientations 5 to 8 swap width and height.
    /// </summary>
    public static Image Orient(Image image, int orientation)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (orientation is < 2 or > 8) return image;
        int h = image.Height, w = image.Width, c = image.Channels;
        bool swap = orientation >= 5;
        int outH = swap ? w : h, outW = swap ? h : w;
        var source = image.Samples;
        var result = new ushort[source.Length];
        for (int y = 0; y < outH; y++)
            for (int x = 0; x < outW; x++)
            {
                // the stored pixel shown at (y, x)
                var (sy, sx) = orientation switch
                {
                    2 => (y, w - 1 - x),
                    3 => (h - 1 - y, w - 1 - x),
                    4 => (h - 1 - y, x),
                    5 => (x, y),
                    6 => (h - 1 - x, y),
                    7 => (h - 1 - x, w - 1 - y),
                    _ => (x, w - 1 - y),
                };
                source.AsSpan((sy * w + sx) * c, c).CopyTo(result.AsSpan((y * outW + x) * c, c));
            }
        return new Image(outH, outW, c, result, image.MaxValue);
    }
}
