namespace DeepSharp.Vision.Imaging;

/// <summary>
/// JPEG reading and writing in managed code, written from ITU T.81 (the decoder behind PIL's JpegImagePlugin and
/// torchvision.io.decode_jpeg). Decodes baseline, extended-sequential (8-bit, Huffman) and progressive files: grey, YCbCr
/// with any whole-ratio chroma subsampling (4:4:4, 4:2:2, 4:2:0, 4:4:0, 4:1:1), RGB, and CMYK/YCCK (Adobe APP14) converted
/// to RGB; restart markers; EXIF orientation applied (see <see cref="ImageDecodeOptions.ApplyExifOrientation"/>). Lossless,
/// hierarchical, arithmetic-coded and 12-bit files are refused with a message. Corrupt, truncated or hostile input gives an
/// <see cref="InvalidDataException"/>; memory stays bounded by <see cref="ImageDecodeOptions.MaxPixels"/> and by the file's
/// size (a scan cannot claim more blocks than eight per byte of its data). Samples come out within 1 of libjpeg's (djpeg,
/// PIL) for 4:4:4 and grey files; see docs/vision-data.md for the measured tolerances.
/// </summary>
public static partial class Jpeg
{
    /// <summary>Whether <paramref name="data"/> starts like a JPEG file (SOI marker FFD8 followed by a marker).</summary>
    public static bool IsJpeg(ReadOnlySpan<byte> data) => JpegDecoder.IsJpeg(data);

    /// <summary>
    /// Decodes a JPEG file into an 8-bit <see cref="Image"/>: 1 channel for grey files, 3 (RGB) for all others
    /// (torchvision.io.decode_jpeg with ImageReadMode.UNCHANGED; PIL Image.open + convert("RGB") for CMYK).
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null) =>
        JpegDecoder.Decode(data, options ?? ImageDecodeOptions.Default);
}
