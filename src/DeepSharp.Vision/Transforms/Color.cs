namespace DeepSharp.Vision.Transforms;

/// <summary>
/// Randomly changes brightness, contrast, saturation and hue (torchvision.transforms.ColorJitter): each factor is drawn
/// uniformly from its range, and the four adjustments are applied in a random order. A value v gives the range
/// [max(0, 1 − v), 1 + v] (hue: [−v, v], v ≤ 0.5); 0 leaves that property alone. Expects RGB (or grey) images in [0, 1].
/// </summary>
public sealed class ColorJitter : ITransform
{
    /// <summary>The factor ranges; null where the adjustment is off.</summary>
    public (double Min, double Max)? Brightness { get; }
    /// <summary>Contrast factor range, or null.</summary>
    public (double Min, double Max)? Contrast { get; }
    /// <summary>Saturation factor range, or null.</summary>
    public (double Min, double Max)? Saturation { get; }
    /// <summary>Hue shift range (in turns), or null.</summary>
    public (double Min, double Max)? Hue { get; }

    /// <summary>ColorJitter(brightness, contrast, saturation, hue) with single values.</summary>
    public ColorJitter(double brightness = 0, double contrast = 0, double saturation = 0, double hue = 0)
        : this(Around1(brightness, nameof(brightness)), Around1(contrast, nameof(contrast)), Around1(saturation, nameof(saturation)), AroundHue(hue))
    {
    }

    ColorJitter((double, double)? brightness, (double, double)? contrast, (double, double)? saturation, (double, double)? hue)
    {
        Brightness = CheckRange(brightness, nameof(brightness), 0, double.PositiveInfinity, 1);
        Contrast = CheckRange(contrast, nameof(contrast), 0, double.PositiveInfinity, 1);
        Saturation = CheckRange(saturation, nameof(saturation), 0, double.PositiveInfinity, 1);
        Hue = CheckRange(hue, nameof(hue), -0.5, 0.5, 0);
    }

    /// <summary>ColorJitter with explicit (min, max) ranges, as torchvision accepts tuples; null leaves a property alone.</summary>
    public static ColorJitter FromRanges((double Min, double Max)? brightness = null, (double Min, double Max)? contrast = null,
        (double Min, double Max)? saturation = null, (double Min, double Max)? hue = null) => new(brightness, contrast, saturation, hue);

    static (double, double)? Around1(double v, string name)
    {
        if (!(v >= 0)) throw new ArgumentException($"ColorJitter: {name} ({v}) must be non-negative", name);
        return (Math.Max(0, 1 - v), 1 + v);
    }

    static (double, double)? AroundHue(double v)
    {
        if (!(v >= 0 && v <= 0.5)) throw new ArgumentException($"ColorJitter: hue ({v}) must be in [0, 0.5]", "hue");
        return (-v, v);
    }

    /// <summary>Validates a range; a range that is exactly the identity ((1, 1), or (0, 0) for hue) turns the adjustment off.</summary>
    static (double Min, double Max)? CheckRange((double Min, double Max)? range, string name, double low, double high, double identity)
    {
        if (range is not { } r) return null;
        if (!(r.Min >= low && r.Max <= high && r.Min <= r.Max))
            throw new ArgumentException($"ColorJitter: {name} range ({r.Min}, {r.Max}) must satisfy {low} <= min <= max <= {high}", name);
        return r.Min == identity && r.Max == identity ? null : r;
    }

    /// <summary>
    /// Draws the order of the four adjustments (0 brightness, 1 contrast, 2 saturation, 3 hue; torch.randperm(4)) and
    /// then the factor of each enabled one (ColorJitter.get_params).
    /// </summary>
    public static (int[] Order, double? Brightness, double? Contrast, double? Saturation, double? Hue) GetParams(
        (double Min, double Max)? brightness, (double Min, double Max)? contrast, (double Min, double Max)? saturation,
        (double Min, double Max)? hue, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        int[] order = [0, 1, 2, 3];
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)generator.NextInt64(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        double? Draw((double Min, double Max)? r) => r is { } v ? v.Min + (v.Max - v.Min) * generator.NextDouble() : null;
        var b = Draw(brightness); var c = Draw(contrast); var s = Draw(saturation); var h = Draw(hue);
        return (order, b, c, s, h);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => ImageBatch.Map(image, "ColorJitter", img =>
    {
        var (order, b, c, s, h) = GetParams(Brightness, Contrast, Saturation, Hue, generator);
        foreach (var fn in order)
        {
            if (fn == 0 && b is double bf) img = TF.BrightnessChw(img, bf);
            else if (fn == 1 && c is double cf) img = TF.ContrastChw(img, cf);
            else if (fn == 2 && s is double sf) img = TF.SaturationChw(img, sf);
            else if (fn == 3 && h is double hf) img = TF.HueChw(img, hf);
        }
        return img;
    });
}

/// <summary>Converts RGB to grey, 0.2989 R + 0.587 G + 0.114 B, with 1 or 3 output channels (torchvision.transforms.Grayscale).</summary>
public sealed class Grayscale : ITransform
{
    readonly int numOutputChannels;
    /// <summary>Grayscale(num_output_channels=1); 3 repeats the grey level into three channels.</summary>
    public Grayscale(int numOutputChannels = 1)
    {
        if (numOutputChannels is not (1 or 3)) throw new ArgumentException($"Grayscale: numOutputChannels must be 1 or 3, got {numOutputChannels}", nameof(numOutputChannels));
        this.numOutputChannels = numOutputChannels;
    }
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => TF.RgbToGrayscale(image, numOutputChannels);
}

/// <summary>
/// Converts to grey with probability <c>p</c>, keeping the channel count (torchvision.transforms.RandomGrayscale(p=0.1)).
/// </summary>
public sealed class RandomGrayscale(double p = 0.1) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) =>
        ImageBatch.Map(image, "RandomGrayscale", img => generator.NextDouble() < p ? TF.GrayscaleChw(img, img.C) : img);
}

/// <summary>Applies a list of transforms with probability <c>p</c>, per image (torchvision.transforms.RandomApply).</summary>
public sealed class RandomApply(ITransform[] transforms, double p = 0.5) : ITransform
{
    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator)
    {
        if (image.Rank == 4)
        {
            // each image of a batch decides on its own
            var items = new Tensor[image.Shape[0]];
            for (int i = 0; i < items.Length; i++) items[i] = Apply(image.Select(0, i), generator);
            return Data.Collate.Stack(items);
        }
        if (generator.NextDouble() >= p) return image;
        foreach (var t in transforms) image = t.Apply(image, generator);
        return image;
    }
}
