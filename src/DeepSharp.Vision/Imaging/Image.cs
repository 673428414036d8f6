namespace DeepSharp.Vision.Imaging;

/// <summary>
/// A decoded raster image: <see cref="Height"/> × <see cref="Width"/> pixels of <see cref="Channels"/> samples each,
/// stored interleaved (H, W, C) as integers in [0, <see cref="MaxValue"/>] (the role of a PIL.Image in torchvision).
/// Channels are 1 grey, 2 grey + alpha, 3 RGB, 4 RGBA. 8-bit files have MaxValue 255, 16-bit files 65535, PNG greys of
/// 1/2/4 bits 1/3/15, and PGM/PPM files their declared maxval. <see cref="ToTensor"/> gives the float (C, H, W) tensor
/// in [0, 1] that torchvision.transforms.ToTensor gives.
/// </summary>
public sealed class Image
{
    /// <summary>
    /// Wraps <paramref name="samples"/> (H × W × C values, row-major, channels interleaved; not copied) as an image.
    /// </summary>
    public Image(int height, int width, int channels, ushort[] samples, int maxValue = 255)
    {
        ArgumentNullException.ThrowIfNull(samples);
        if (height <= 0 || width <= 0) throw new ArgumentException($"Image: height and width must be positive, got {height}x{width}");
        if (channels is < 1 or > 4) throw new ArgumentException($"Image: channels must be 1 (grey), 2 (grey+alpha), 3 (RGB) or 4 (RGBA), got {channels}", nameof(channels));
        if (maxValue is < 1 or > 65535) throw new ArgumentException($"Image: maxValue must be in [1, 65535], got {maxValue}", nameof(maxValue));
        if ((long)height * width * channels != samples.Length)
            throw new ArgumentException($"Image: {samples.Length} samples do not make an image of {height}x{width}x{channels}", nameof(samples));
        Height = height; Width = width; Channels = channels; Samples = samples; MaxValue = maxValue;
    }

    /// <summary>Rows (PIL Image.height).</summary>
    public int Height { get; }
    /// <summary>Columns (PIL Image.width).</summary>
    public int Width { get; }
    /// <summary>Samples per pixel: 1 grey (PIL "L"), 2 grey + alpha ("LA"), 3 RGB ("RGB"), 4 RGBA ("RGBA").</summary>
    public int Channels { get; }
    /// <summary>The value of full intensity (255 for 8-bit data, 65535 for 16-bit).</summary>
    public int MaxValue { get; }
    /// <summary>The samples, (H, W, C) interleaved: sample c of pixel (y, x) is at (y * Width + x) * Channels + c.</summary>
    public ushort[] Samples { get; }
    /// <summary>Whether the last channel is alpha (2 or 4 channels).</summary>
    public bool HasAlpha => Channels is 2 or 4;

    /// <summary>Sample <paramref name="c"/> of pixel (<paramref name="y"/>, <paramref name="x"/>) (PIL Image.getpixel).</summary>
    public int this[int y, int x, int c = 0]
    {
        get
        {
            if ((uint)y >= (uint)Height || (uint)x >= (uint)Width || (uint)c >= (uint)Channels)
                throw new ArgumentOutOfRangeException(nameof(y), $"Image: pixel ({y}, {x}, {c}) is outside an image of {Height}x{Width}x{Channels}");
            return Samples[(y * Width + x) * Channels + c];
        }
    }

    /// <summary>An 8-bit image from bytes laid out (H, W, C) (PIL Image.frombytes).</summary>
    public static Image FromBytes(ReadOnlySpan<byte> pixels, int height, int width, int channels)
    {
        if (pixels.Length != (long)height * width * channels)
            throw new ArgumentException($"Image.FromBytes: {pixels.Length} bytes do not make an image of {height}x{width}x{channels}", nameof(pixels));
        var samples = new ushort[pixels.Length];
        for (int i = 0; i < samples.Length; i++) samples[i] = pixels[i];
        return new Image(height, width, channels, samples, 255);
    }

    /// <summary>
    /// The samples rescaled to 8 bits, (H, W, C) (PIL Image.tobytes after converting to 8 bits); values are rounded,
    /// so a 16-bit image keeps its high byte in the usual way (v * 255 / 65535).
    /// </summary>
    public byte[] ToBytes()
    {
        var result = new byte[Samples.Length];
        if (MaxValue == 255) { for (int i = 0; i < result.Length; i++) result[i] = (byte)Samples[i]; return result; }
        for (int i = 0; i < result.Length; i++) result[i] = (byte)((Samples[i] * 255L * 2 + MaxValue) / (2L * MaxValue));
        return result;
    }

    /// <summary>
    /// A float32 tensor (C, H, W) with every sample divided by <see cref="MaxValue"/>, so values lie in [0, 1]
    /// (torchvision.transforms.functional.to_tensor / pil_to_tensor followed by convert_image_dtype).
    /// </summary>
    public Tensor ToTensor()
    {
        int plane = Height * Width;
        var data = new float[Samples.Length];
        float max = MaxValue;
        for (int p = 0; p < plane; p++)
            for (int c = 0; c < Channels; c++)
                data[c * plane + p] = Samples[p * Channels + c] / max;   // a division, as to_tensor's div(255)
        return Tensor.FromArray(data, Channels, Height, Width);
    }

    /// <summary>
    /// An 8-bit image from a float tensor (C, H, W) or (H, W) with values in [0, 1]: each value becomes
    /// clamp(round(v·255), 0, 255), as torchvision.utils.save_image rounds (v·255 + 0.5, clamped) before PIL saves it.
    /// C must be 1 to 4 (torchvision.transforms.ToPILImage).
    /// </summary>
    public static Image FromTensor(Tensor image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Rank == 2) image = image.Unsqueeze(0);
        if (image.Rank != 3 || image.Shape[0] is < 1 or > 4)
            throw new ArgumentException($"Image.FromTensor: expects a (C, H, W) tensor with 1 to 4 channels or an (H, W) tensor, got shape ({string.Join(", ", image.Shape)})", nameof(image));
        int c = image.Shape[0], h = image.Shape[1], w = image.Shape[2], plane = h * w;
        var data = image.DType == DType.Float32 ? image.Contiguous().ToArray<float>() : image.To(DType.Float32).Contiguous().ToArray<float>();
        var samples = new ushort[data.Length];
        for (int p = 0; p < plane; p++)
            for (int ch = 0; ch < c; ch++)
            {
                float v = data[ch * plane + p] * 255f + 0.5f;
                samples[p * c + ch] = (ushort)(float.IsNaN(v) ? 0 : Math.Clamp(v, 0f, 255f));
            }
        return new Image(h, w, c, samples, 255);
    }

    /// <summary>
    /// The image as RGB (PIL Image.convert("RGB")): grey is replicated into three channels, alpha is dropped
    /// (not composited, as PIL does). Returns this image when it is RGB already.
    /// </summary>
    public Image ToRgb()
    {
        if (Channels == 3) return this;
        int n = Height * Width;
        var rgb = new ushort[n * 3];
        for (int p = 0; p < n; p++)
        {
            if (Channels <= 2) { ushort g = Samples[p * Channels]; rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = g; }
            else { rgb[3 * p] = Samples[p * 4]; rgb[3 * p + 1] = Samples[p * 4 + 1]; rgb[3 * p + 2] = Samples[p * 4 + 2]; }
        }
        return new Image(Height, Width, 3, rgb, MaxValue);
    }

    /// <summary>
    /// The image as one grey channel (PIL Image.convert("L")): colour becomes the ITU-R 601-2 luma
    /// L = 0.299 R + 0.587 G + 0.114 B (rounded), alpha is dropped. Returns this image when it is grey already.
    /// </summary>
    public Image ToGrayscale()
    {
        if (Channels == 1) return this;
        int n = Height * Width;
        var grey = new ushort[n];
        for (int p = 0; p < n; p++)
        {
            if (Channels == 2) grey[p] = Samples[p * 2];
            else
            {
                int o = p * Channels;
                grey[p] = (ushort)((Samples[o] * 19595L + Samples[o + 1] * 38470L + Samples[o + 2] * 7471L + 0x8000) >> 16);
            }
        }
        return new Image(Height, Width, 1, grey, MaxValue);
    }

    /// <summary>
    /// Reads an image file of any supported format (JPEG, PNG, BMP, GIF, PPM/PGM), recognised by its first bytes, not its
    /// extension (PIL.Image.open + load; torchvision.io.read_image). <paramref name="options"/> (default
    /// <see cref="ImageDecodeOptions.Default"/>) caps the pixel count and says whether a JPEG's EXIF orientation is applied.
    /// </summary>
    public static Image Load(string path, ImageDecodeOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"Image.Load: file not found: {path}", path);
        var bytes = File.ReadAllBytes(path);
        try { return Decode(bytes, options); }
        catch (InvalidDataException e) { throw new InvalidDataException($"{path}: {e.Message}", e); }
    }

    /// <summary>
    /// Decodes JPEG, PNG, BMP, GIF (first frame), PPM or PGM data, recognised by its first bytes
    /// (torchvision.io.decode_image). Corrupt or hostile data gives an <see cref="InvalidDataException"/>.
    /// </summary>
    public static Image Decode(ReadOnlySpan<byte> data, ImageDecodeOptions? options = null)
    {
        options ??= ImageDecodeOptions.Default;
        if (Jpeg.IsJpeg(data)) return Jpeg.Decode(data, options);
        if (Png.IsPng(data)) return Png.Decode(data, options);
        if (Bmp.IsBmp(data)) return Bmp.Decode(data, options);
        if (Gif.IsGif(data)) return Gif.Decode(data, options);
        if (Netpbm.IsNetpbm(data)) return Netpbm.Decode(data, options);
        string head = Convert.ToHexString(data[..Math.Min(8, data.Length)]);
        throw new InvalidDataException($"not a JPEG, PNG, BMP, GIF, PPM or PGM image (first bytes {head})");
    }

    /// <summary>The file extensions <see cref="Save"/> understands.</summary>
    public static readonly string[] SaveExtensions = [".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm"];

    /// <summary>
    /// Writes the image in the format its extension names (PIL Image.save): .jpg/.jpeg (baseline JPEG at
    /// <paramref name="quality"/> 1..100, 4:2:0 chroma; alpha dropped; see <see cref="Jpeg.Encode"/> for other options),
    /// .png, .bmp (24-bit RGB or 8-bit grey; alpha dropped), .ppm (binary P6; grey is written as RGB), .pgm (binary P5;
    /// colour is converted to grey).
    /// </summary>
    public void Save(string path, int quality = 75)
    {
        ArgumentNullException.ThrowIfNull(path);
        byte[] bytes = Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".jpg" or ".jpeg" => Jpeg.Encode(this, quality),
            ".png" => Png.Encode(this),
            ".bmp" => Bmp.Encode(this),
            ".ppm" => Netpbm.Encode(ToRgb(), ascii: false),
            ".pgm" => Netpbm.Encode(ToGrayscale(), ascii: false),
            var ext => throw new ArgumentException($"Image.Save: unknown image extension '{ext}' in {path} (use {string.Join(", ", SaveExtensions)})", nameof(path)),
        };
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(dir)) Directory.CreateDirectory(dir);
        File.WriteAllBytes(path, bytes);
    }

    /// <inheritdoc/>
    public override string ToString() => $"Image({Height}x{Width}, {Channels} channel{(Channels == 1 ? "" : "s")}, max {MaxValue})";
}
