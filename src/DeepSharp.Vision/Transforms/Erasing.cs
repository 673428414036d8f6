namespace DeepSharp.Vision.Transforms;

/// <summary>
/// Random Erasing (Zhong et al. 2017; torchvision.transforms.RandomErasing(p, scale, ratio, value)): with probability p,
/// a rectangle covering a fraction of the area drawn from <c>scale</c>, with an aspect ratio drawn log-uniformly from
/// <c>ratio</c>, is filled with <c>value</c> (one value, one per channel, or standard normal noise when
/// <c>randomValue</c>). If 10 attempts do not fit strictly inside the image, nothing is erased. Apply it after
/// ToTensor/Normalize, as in torchvision. Each image of a batch gets its own rectangle.
/// </summary>
public sealed class RandomErasing : ITransform
{
    readonly double p; readonly (double Min, double Max) scale, ratio; readonly float[] value; readonly bool randomValue;

    /// <summary>RandomErasing(p=0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value=0 or 'random').</summary>
    public RandomErasing(double p = 0.5, (double Min, double Max)? scale = null, (double Min, double Max)? ratio = null,
        float[]? value = null, bool randomValue = false)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentException($"RandomErasing: p ({p}) must be in [0, 1]", nameof(p));
        this.scale = scale ?? (0.02, 0.33);
        this.ratio = ratio ?? (0.3, 3.3);
        if (!(this.scale.Min >= 0 && this.scale.Max <= 1 && this.scale.Min <= this.scale.Max))
            throw new ArgumentException($"RandomErasing: scale must be (min, max) with 0 <= min <= max <= 1, got {this.scale}", nameof(scale));
        if (!(this.ratio.Min > 0 && this.ratio.Min <= this.ratio.Max))
            throw new ArgumentException($"RandomErasing: ratio must be (min, max) with 0 < min <= max, got {this.ratio}", nameof(ratio));
        if (randomValue && value != null) throw new ArgumentException("RandomErasing: give value or randomValue, not both", nameof(value));
        this.p = p; this.value = value ?? [0f]; this.randomValue = randomValue;
        if (this.value.Length == 0) throw new ArgumentException("RandomErasing: value is empty", nameof(value));
    }

    /// <summary>
    /// The rectangle (top, left, height, width) for a <paramref name="height"/>×<paramref name="width"/> image, or the whole
    /// image with Erase = false when no attempt fits (RandomErasing.get_params, without the value).
    /// </summary>
    public static (int Top, int Left, int Height, int Width, bool Erase) GetParams(int height, int width,
        (double Min, double Max) scale, (double Min, double Max) ratio, Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        double area = (double)height * width;
        double logMin = Math.Log(ratio.Min), logMax = Math.Log(ratio.Max);
        for (int attempt = 0; attempt < 10; attempt++)
        {
            double eraseArea = area * (scale.Min + (scale.Max - scale.Min) * generator.NextDouble());
            double aspect = Math.Exp(logMin + (logMax - logMin) * generator.NextDouble());
            int h = (int)Math.Round(Math.Sqrt(eraseArea * aspect), MidpointRounding.ToEven);
            int w = (int)Math.Round(Math.Sqrt(eraseArea / aspect), MidpointRounding.ToEven);
            if (!(h < height && w < width)) continue;
            int top = (int)generator.NextInt64(0, height - h + 1);
            int left = (int)generator.NextInt64(0, width - w + 1);
            return (top, left, h, w, true);
        }
        return (0, 0, height, width, false);
    }

    /// <inheritdoc/>
    public Tensor Apply(Tensor image, Generator generator) => ImageBatch.Map(image, "RandomErasing", img =>
    {
        if (value.Length != 1 && value.Length != img.C)
            throw new ArgumentException($"RandomErasing: {value.Length} values for an image with {img.C} channels (give 1 or {img.C})");
        if (generator.NextDouble() >= p) return img;
        // torchvision draws the rectangle's size, then the noise (when random), then its position; the order of draws
        // only matters for reproducing a stream, so noise is drawn after the position here
        var (top, left, h, w, erase) = GetParams(img.H, img.W, scale, ratio, generator);
        if (!erase) return img;
        for (int c = 0; c < img.C; c++)
        {
            var plane = img.Channel(c);
            float fill = value[value.Length == 1 ? 0 : c];
            for (int y = top; y < top + h; y++)
            {
                var row = plane.Slice(y * img.W + left, w);
                if (randomValue) for (int x = 0; x < w; x++) row[x] = (float)generator.NextNormal();
                else row.Fill(fill);
            }
        }
        return img;
    });
}
