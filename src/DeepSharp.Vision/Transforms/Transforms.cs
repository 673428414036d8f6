namespace DeepSharp.Vision.Transforms;

/// <summary>
/// An image transform (torchvision.transforms). Works on a float tensor of one image (C, H, W) or a batch (B, C, H, W);
/// random transforms draw independent parameters per image from the given generator, so a fixed seed reproduces them.
/// </summary>
public interface ITransform
{
    /// <summary>Applies the transform, returning a new tensor (the input is not modified).</summary>
    Tensor Apply(Tensor image, Generator generator);
}

/// <summary>Helpers shared by the transforms.</summary>
internal static class ImageShape
{
    public static (int B, int C, int H, int W) Of(Tensor t, string op)
    {
        if (t.DType != DType.Float32) throw new ArgumentException($"{op}: expects a float32 image tensor, got {t.DType.TorchName()}");
        return t.Rank switch
        {
            3 => (1, t.Shape[0], t.Shape[1], t.Shape[2]),
            4 => (t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]),
            _ => throw new ArgumentException($"{op}: expects an image (C, H, W) or a batch (B, C, H, W), got shape ({string.Join(", ", t.Shape)})"),
        };
    }
}

/// <summary>Runs transforms one after the other (torchvision.transforms.Compose).</summary>
public sealed class Compose(params ITransform[] transforms) : ITransform
{
    /// <summary>The transforms, in order.</summary>
    public IReadOnlyList<ITransform> Transforms { get; } = transforms;
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        foreach (var t in Transforms) image = t.Apply(image, generator);
        return image;
    }
}

/// <summary>
/// Converts raw 8-bit pixels laid out (H, W, C) into a float32 tensor (C, H, W) scaled to [0, 1]
/// (torchvision.transforms.ToTensor).
/// </summary>
public static class ToTensor
{
    /// <summary>Converts one image of <paramref name="height"/>×<paramref name="width"/>×<paramref name="channels"/> bytes.</summary>
    public static Tensor FromBytes(ReadOnlySpan<byte> pixels, int height, int width, int channels = 1)
    {
        if (pixels.Length != height * width * channels)
            throw new ArgumentException($"ToTensor: {pixels.Length} bytes do not make an image of {height}x{width}x{channels}", nameof(pixels));
        var data = new float[pixels.Length];
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                for (int c = 0; c < channels; c++)
                    data[(c * height + y) * width + x] = pixels[(y * width + x) * channels + c] / 255f;
        return Tensor.FromArray(data, channels, height, width);
    }

    /// <summary>
    /// Converts a decoded image to a float32 (C, H, W) tensor with samples divided by the image's maximum value
    /// (ToTensor()(pil_image)); see <see cref="Imaging.Image.ToTensor"/>.
    /// </summary>
    public static Tensor FromImage(Imaging.Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        return image.ToTensor();
    }
}

/// <summary>Normalises each channel: (x - mean[c]) / std[c] (torchvision.transforms.Normalize).</summary>
public sealed class Normalize : ITransform
{
    readonly float[] mean, std;
    /// <summary>Per-channel mean and standard deviation (one value each broadcasts to all channels).</summary>
    public Normalize(float[] mean, float[] std)
    {
        if (mean.Length != std.Length) throw new ArgumentException($"Normalize: {mean.Length} means but {std.Length} standard deviations");
        if (std.Any(s => s == 0)) throw new ArgumentException("Normalize: a standard deviation is zero", nameof(std));
        this.mean = mean; this.std = std;
    }
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (b, c, h, w) = ImageShape.Of(image, "Normalize");
        if (mean.Length != 1 && mean.Length != c) throw new ArgumentException($"Normalize: {mean.Length} means for an image with {c} channels");
        var src = image.Contiguous().ToArray<float>();
        int plane = h * w;
        for (int i = 0; i < b; i++)
            for (int ch = 0; ch < c; ch++)
            {
                float m = mean[mean.Length == 1 ? 0 : ch], inv = 1f / std[std.Length == 1 ? 0 : ch];
                var span = src.AsSpan((i * c + ch) * plane, plane);
                for (int k = 0; k < span.Length; k++) span[k] = (span[k] - m) * inv;
            }
        return Tensor.FromArray(src, image.Shape.ToArray());
    }
}

/// <summary>Mirrors left-right with probability <c>p</c> (torchvision.transforms.RandomHorizontalFlip).</summary>
public sealed class RandomHorizontalFlip(double p = 0.5) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (b, c, h, w) = ImageShape.Of(image, "RandomHorizontalFlip");
        var data = image.Contiguous().ToArray<float>();
        for (int i = 0; i < b; i++)
        {
            if (generator.NextDouble() >= p) continue;
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    data.AsSpan(((i * c + ch) * h + y) * w, w).Reverse();
        }
        return Tensor.FromArray(data, image.Shape.ToArray());
    }
}

/// <summary>
/// Rotates by an angle drawn uniformly from [-degrees, degrees] (or [min, max]) about the centre, bilinear sampling,
/// <c>fill</c> outside (torchvision.transforms.RandomRotation(degrees, interpolation=BILINEAR)).
/// </summary>
public sealed class RandomRotation : ITransform
{
    readonly double minDegrees, maxDegrees; readonly float fill;
    /// <summary>Angles drawn from [-degrees, degrees].</summary>
    public RandomRotation(double degrees, float fill = 0f) : this((-Math.Abs(degrees), Math.Abs(degrees)), fill) { }
    /// <summary>Angles drawn from [range.Min, range.Max] (torchvision's degrees=(min, max)).</summary>
    public RandomRotation((double Min, double Max) range, float fill = 0f)
    {
        var (minDegrees, maxDegrees) = range;
        if (maxDegrees < minDegrees) throw new ArgumentException($"RandomRotation: max ({maxDegrees}) is below min ({minDegrees})");
        this.minDegrees = minDegrees; this.maxDegrees = maxDegrees; this.fill = fill;
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        var (b, c, h, w) = ImageShape.Of(image, "RandomRotation");
        var src = image.Contiguous().ToArray<float>();
        var dst = new float[src.Length];
        double cy = (h - 1) / 2.0, cx = (w - 1) / 2.0;
        for (int i = 0; i < b; i++)
        {
            double angle = (minDegrees + generator.NextDouble() * (maxDegrees - minDegrees)) * Math.PI / 180;
            double cos = Math.Cos(angle), sin = Math.Sin(angle);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                {
                    // inverse mapping: where in the source does this output pixel come from
                    double dy = y - cy, dx = x - cx;
                    double sx = cos * dx + sin * dy + cx, sy = -sin * dx + cos * dy + cy;
                    int x0 = (int)Math.Floor(sx), y0 = (int)Math.Floor(sy);
                    double fx = sx - x0, fy = sy - y0;
                    for (int ch = 0; ch < c; ch++)
                    {
                        int planeOff = (i * c + ch) * h * w;
                        double Pixel(int yy, int xx) => yy >= 0 && yy < h && xx >= 0 && xx < w ? src[planeOff + yy * w + xx] : fill;
                        double v = (1 - fy) * ((1 - fx) * Pixel(y0, x0) + fx * Pixel(y0, x0 + 1)) + fy * ((1 - fx) * Pixel(y0 + 1, x0) + fx * Pixel(y0 + 1, x0 + 1));
                        dst[planeOff + y * w + x] = (float)v;
                    }
                }
        }
        return Tensor.FromArray(dst, image.Shape.ToArray());
    }
}

/// <summary>Adds independent Gaussian noise N(mean, std²) to every pixel (a common augmentation; no torchvision class).</summary>
public sealed class GaussianNoise(double std = 0.1, double mean = 0) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        ImageShape.Of(image, "GaussianNoise");
        var data = image.Contiguous().ToArray<float>();
        for (int i = 0; i < data.Length; i++) data[i] += (float)(mean + std * generator.NextNormal());
        return Tensor.FromArray(data, image.Shape.ToArray());
    }
}
