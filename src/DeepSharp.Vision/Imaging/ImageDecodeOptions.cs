namespace DeepSharp.Vision.Imaging;

/// <summary>
/// Limits and choices of the image decoders (PIL's <c>Image.MAX_IMAGE_PIXELS</c> and <c>ImageOps.exif_transpose</c>;
/// torchvision.io.decode_jpeg's <c>apply_exif_orientation</c>). Every decoder refuses, with an
/// <see cref="InvalidDataException"/>, a file whose header declares more than <see cref="MaxPixels"/> pixels before it
/// allocates anything for it, so a hostile 65535×65535 header costs nothing. Change <see cref="Default"/> (or pass options
/// to <see cref="Image.Decode(ReadOnlySpan{byte}, ImageDecodeOptions?)"/>) to decode larger images.
/// </summary>
public sealed record ImageDecodeOptions
{
    /// <summary>
    /// The default pixel limit: 178,956,970 pixels (about 13,377 × 13,377), the size at which PIL raises
    /// DecompressionBombError (twice its warning size 89,478,485). An RGB image of that size holds 1 GB of samples.
    /// </summary>
    public const long DefaultMaxPixels = 178_956_970;

    /// <summary>The default limit on the scans of a progressive JPEG (a real encoder writes 2 to about 20).</summary>
    public const int DefaultMaxScans = 256;

    /// <summary>
    /// The options <see cref="Image.Load(string, ImageDecodeOptions?)"/>, <see cref="Image.Decode(ReadOnlySpan{byte}, ImageDecodeOptions?)"/>
    /// and the dataset loaders use when none are given (PIL's module-level <c>Image.MAX_IMAGE_PIXELS</c>).
    /// </summary>
    public static ImageDecodeOptions Default { get; set; } = new();

    /// <summary>
    /// The most pixels (width × height) an image may declare (PIL <c>Image.MAX_IMAGE_PIXELS</c>); larger headers fail with
    /// an <see cref="InvalidDataException"/> before any allocation. Must be positive.
    /// </summary>
    public long MaxPixels
    {
        get => maxPixels;
        init => maxPixels = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxPixels), $"ImageDecodeOptions: MaxPixels must be positive, got {value}");
    }
    readonly long maxPixels = DefaultMaxPixels;

    /// <summary>
    /// The most scans a progressive JPEG may have (libjpeg-turbo's <c>-maxscans</c>): each scan revisits every block, so a
    /// small file of many empty scans would otherwise cost time out of proportion to its size. Must be positive.
    /// </summary>
    public int MaxScans
    {
        get => maxScans;
        init => maxScans = value > 0 ? value : throw new ArgumentOutOfRangeException(nameof(MaxScans), $"ImageDecodeOptions: MaxScans must be positive, got {value}");
    }
    readonly int maxScans = DefaultMaxScans;

    /// <summary>
    /// Whether a JPEG's EXIF orientation tag (0x0112) is applied, so a photo taken with the phone turned comes out upright
    /// (PIL <c>ImageOps.exif_transpose</c>; torchvision.io.decode_jpeg(apply_exif_orientation=True)). Default true; note that
    /// PIL's <c>Image.open</c> alone does not apply it.
    /// </summary>
    public bool ApplyExifOrientation { get; init; } = true;

    /// <summary>Throws an <see cref="InvalidDataException"/> naming <paramref name="format"/> when width × height is not allowed.</summary>
    internal void CheckSize(string format, long width, long height)
    {
        if (width <= 0 || height <= 0) throw new InvalidDataException($"{format}: invalid image size {width}x{height}");
        long pixels = width * height;
        if (pixels > MaxPixels)
            throw new InvalidDataException($"{format}: the image is {width}x{height} = {pixels:N0} pixels, over the limit of {MaxPixels:N0} " +
                "(a decompression bomb or a corrupt header?). Raise ImageDecodeOptions.MaxPixels to decode it.");
    }
}
