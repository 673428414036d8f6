using DeepSharp.NN;

namespace DeepSharp.Vision.Transforms;

/// <summary>
/// Resizes images (torchvision.transforms.Resize): with an int size the shorter side becomes that long and the aspect
/// ratio is kept; with (height, width) the image is resized to exactly that. Bilinear with antialias by default.
/// </summary>
public sealed class Resize : ITransform
{
    readonly int? smallerEdge; readonly Size2 size; readonly int? maxSize;
    readonly InterpolationMode interpolation; readonly bool antialias;

    /// <summary>Shorter side to <paramref name="size"/> pixels (Resize(size: int, interpolation, max_size, antialias)).</summary>
    public Resize(int size, InterpolationMode interpolation = InterpolationMode.Bilinear, int? maxSize = null, bool antialias = true)
    {
        if (size <= 0) throw new ArgumentException($"Resize: size must be positive, got {size}", nameof(size));
        if (maxSize is int m && m <= size) throw new ArgumentException($"Resize: maxSize ({m}) must be greater than size ({size})", nameof(maxSize));
        smallerEdge = size; this.maxSize = maxSize; this.interpolation = interpolation; this.antialias = antialias;
    }

    /// <summary>Exactly (height, width) (Resize(size=(h, w), interpolation, antialias)).</summary>
    public Resize(Size2 size, InterpolationMode interpolation = InterpolationMode.Bilinear, bool antialias = true)
    {
        TF.CheckSize(size, "Resize");
        this.size = size; this.interpolation = interpolation; this.antialias = antialias;
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => smallerEdge is int edge
        ? TF.Resize(image, edge, interpolation, maxSize, antialias)
        : TF.Resize(image, size, interpolation, antialias);
}

/// <summary>Crops the centre (torchvision.transforms.CenterCrop), zero-padding images smaller than the crop.</summary>
public sealed class CenterCrop : ITransform
{
    readonly Size2 size;
    /// <summary>A <paramref name="size"/> crop: an int for a square, or (height, width).</summary>
    public CenterCrop(Size2 size) { TF.CheckSize(size, "CenterCrop"); this.size = size; }
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => TF.CenterCrop(image, size);
}

/// <summary>Pads the borders (torchvision.transforms.Pad(padding, fill, padding_mode)).</summary>
public sealed class Pad(Padding padding, float fill = 0f, PaddingMode mode = PaddingMode.Constant) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => TF.Pad(image, padding, fill, mode);
}

/// <summary>
/// Crops a random window (torchvision.transforms.RandomCrop(size, padding, pad_if_needed, fill, padding_mode)): the image is
/// first padded by <c>padding</c>, then, with <c>padIfNeeded</c>, padded on both sides of any dimension smaller than the crop,
/// and a window's top and left are drawn uniformly. The classic CIFAR augmentation is <c>new RandomCrop(32, padding: 4)</c>.
/// </summary>
public sealed class RandomCrop : ITransform
{
    readonly Size2 size; readonly Padding padding; readonly bool padIfNeeded; readonly float fill; readonly PaddingMode mode;

    /// <summary>A crop of <paramref name="size"/> (an int for a square, or (height, width)).</summary>
    public RandomCrop(Size2 size, Padding padding = default, bool padIfNeeded = false, float fill = 0f, PaddingMode paddingMode = PaddingMode.Constant)
    {
        TF.CheckSize(size, "RandomCrop");
        if (padding.Left < 0 || padding.Top < 0 || padding.Right < 0 || padding.Bottom < 0)
            throw new ArgumentException($"RandomCrop: padding must be non-negative, got {padding}", nameof(padding));
        this.size = size; this.padding = padding; this.padIfNeeded = padIfNeeded; this.fill = fill; mode = paddingMode;
    }

    /// <summary>
    /// The window (top, left, height, width) for an image of <paramref name="height"/>×<paramref name="width"/>
    /// (RandomCrop.get_params): draws nothing when the image is exactly the crop size.
    /// </summary>
    public static (int Top, int Left, int Height, int Width) GetParams(int height, int width, Size2 size, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        if (height < size.H || width < size.W)
            throw new ArgumentException($"RandomCrop: crop size {size} is larger than the (padded) image {height}x{width}");
        if (height == size.H && width == size.W) return (0, 0, height, width);
        int top = (int)generator.NextInt64(0, height - size.H + 1);
        int left = (int)generator.NextInt64(0, width - size.W + 1);
        return (top, left, size.H, size.W);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => ImageBatch.Map(image, "RandomCrop", img =>
    {
        img = TF.PadChw(img, padding, fill, mode);
        if (padIfNeeded && img.W < size.W) img = TF.PadChw(img, (size.W - img.W, 0), fill, mode);
        if (padIfNeeded && img.H < size.H) img = TF.PadChw(img, (0, size.H - img.H), fill, mode);
        var (top, left, h, w) = GetParams(img.H, img.W, size, generator);
        return TF.CropChw(img, top, left, h, w);
    });
}

/// <summary>
/// Crops a random part of the image and resizes it to <c>size</c> (torchvision.transforms.RandomResizedCrop): the part
/// covers a fraction of the area drawn from <c>scale</c> (default 0.08 to 1) with an aspect ratio drawn log-uniformly
/// from <c>ratio</c> (default 3/4 to 4/3); after 10 attempts that do not fit, the centre crop closest to the ratio range.
/// </summary>
public sealed class RandomResizedCrop : ITransform
{
    readonly Size2 size; readonly (double Min, double Max) scale, ratio;
    readonly InterpolationMode interpolation; readonly bool antialias;

    /// <summary>Output <paramref name="size"/> (an int for a square, or (height, width)).</summary>
    public RandomResizedCrop(Size2 size, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null,
        InterpolationMode interpolation = InterpolationMode.Bilinear, bool antialias = true)
    {
        TF.CheckSize(size, "RandomResizedCrop");
        this.scale = scale ?? (0.08, 1.0);
        this.ratio = ratio ?? (3.0 / 4.0, 4.0 / 3.0);
        if (!(this.scale.Min > 0) || this.scale.Min > this.scale.Max)
            throw new ArgumentException($"RandomResizedCrop: scale must be (min, max) with 0 < min <= max, got {this.scale}", nameof(scale));
        if (!(this.ratio.Min > 0) || this.ratio.Min > this.ratio.Max)
            throw new ArgumentException($"RandomResizedCrop: ratio must be (min, max) with 0 < min <= max, got {this.ratio}", nameof(ratio));
        this.size = size; this.interpolation = interpolation; this.antialias = antialias;
    }

    /// <summary>The window (top, left, height, width) for an image of <paramref name="height"/>×<paramref name="width"/> (RandomResizedCrop.get_params).</summary>
    public static (int Top, int Left, int Height, int Width) GetParams(int height, int width, (double Min, double Max) scale,
        (double Min, double Max) ratio, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        double area = (double)height * width;
        double logMin = Math.Log(ratio.Min), logMax = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double targetArea = area * (scale.Min + (scale.Max - scale.Min) * generator.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * generator.NextDouble());
            int w = (int)Math.Round(Math.Sqrt(targetArea * aspect), MidpointRounding.ToEven);
            int h = (int)Math.Round(Math.Sqrt(targetArea / aspect), MidpointRounding.ToEven);
            if (w > 0 && w <= width && h > 0 && h <= height)
            {
                int top = (int)generator.NextInt64(0, height - h + 1);
                int left = (int)generator.NextInt64(0, width - w + 1);
                return (top, left, h, w);
            }
        }
        // fallback: the central crop whose aspect ratio is clamped to the range
        double inRatio = (double)width / height;
        int cw, ch;
        if (inRatio < ratio.Min) { cw = width; ch = (int)Math.Round(cw / ratio.Min, MidpointRounding.ToEven); }
        else if (inRatio > ratio.Max) { ch = height; cw = (int)Math.Round(ch * ratio.Max, MidpointRounding.ToEven); }
        else { cw = width; ch = height; }
        return ((height - ch) / 2, (width - cw) / 2, ch, cw);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => ImageBatch.Map(image, "RandomResizedCrop", img =>
    {
        var (top, left, h, w) = GetParams(img.H, img.W, scale, ratio, generator);
        return TF.ResizedCropChw(img, top, left, h, w, size.H, size.W, interpolation, antialias);
    });
}

/// <summary>Mirrors top-bottom with probability <c>p</c> (torchvision.transforms.RandomVerticalFlip).</summary>
public sealed class RandomVerticalFlip(double p = 0.5) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) =>
        ImageBatch.Map(image, "RandomVerticalFlip", img => generator.NextDouble() < p ? TF.VFlipChw(img) : img);
}
