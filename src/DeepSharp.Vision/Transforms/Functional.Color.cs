namespace DeepSharp.Vision.Transforms;

public static partial class TF
{
    /// <summary>
    /// Luma of an RGB image, 0.2989 R + 0.587 G + 0.114 B, as 1 channel or repeated into 3
    /// (TF.rgb_to_grayscale(img, num_output_channels)). A one-channel image is returned as it is (or repeated).
    /// </summary>
    public static Tensor RgbToGrayscale(Tensor image, int numOutputChannels = 1)
    {
        if (numOutputChannels is not (1 or 3)) throw new ArgumentException($"RgbToGrayscale: numOutputChannels must be 1 or 3, got {numOutputChannels}", nameof(numOutputChannels));
        return ImageBatch.Map(image, "RgbToGrayscale", img => GrayscaleChw(img, numOutputChannels));
    }

    internal static Chw GrayscaleChw(Chw img, int outChannels)
    {
        if (img.C is not (1 or 3)) throw new ArgumentException($"Grayscale: expects 1 or 3 channels, got {img.C}");
        var dst = Chw.Zeros(outChannels, img.H, img.W);
        var luma = dst.Channel(0);
        if (img.C == 1) img.Channel(0).CopyTo(luma);
        else
        {
            var r = img.Channel(0); var g = img.Channel(1); var b = img.Channel(2);
            for (int i = 0; i < luma.Length; i++) luma[i] = 0.2989f * r[i] + 0.587f * g[i] + 0.114f * b[i];
        }
        for (int c = 1; c < outChannels; c++) luma.CopyTo(dst.Channel(c));
        return dst;
    }

    /// <summary>Multiplies by <paramref name="factor"/> and clamps to [0, 1] (TF.adjust_brightness); 0 gives black, 1 the original.</summary>
    public static Tensor AdjustBrightness(Tensor image, double factor)
    {
        CheckFactor(factor, "AdjustBrightness", nameof(factor));
        return ImageBatch.Map(image, "AdjustBrightness", img => BrightnessChw(img, factor));
    }

    /// <summary>
    /// Blends with the image's mean grey level (TF.adjust_contrast): factor·x + (1 − factor)·mean(gray(x)), clamped to
    /// [0, 1]; 0 gives a uniform grey image, 1 the original.
    /// </summary>
    public static Tensor AdjustContrast(Tensor image, double factor)
    {
        CheckFactor(factor, "AdjustContrast", nameof(factor));
        return ImageBatch.Map(image, "AdjustContrast", img => ContrastChw(img, factor));
    }

    /// <summary>
    /// Blends with the grey version of the image (TF.adjust_saturation): 0 gives grey, 1 the original, 2 doubles the
    /// saturation; a one-channel image is returned unchanged.
    /// </summary>
    public static Tensor AdjustSaturation(Tensor image, double factor)
    {
        CheckFactor(factor, "AdjustSaturation", nameof(factor));
        return ImageBatch.Map(image, "AdjustSaturation", img => SaturationChw(img, factor));
    }

    /// <summary>
    /// Shifts the hue by <paramref name="factor"/> turns, in [-0.5, 0.5], going through HSV (TF.adjust_hue); a one-channel
    /// image is returned unchanged.
    /// </summary>
    public static Tensor AdjustHue(Tensor image, double factor)
    {
        if (!(factor >= -0.5 && factor <= 0.5)) throw new ArgumentException($"AdjustHue: factor ({factor}) is not in [-0.5, 0.5]", nameof(factor));
        return ImageBatch.Map(image, "AdjustHue", img => HueChw(img, factor));
    }

    static void CheckFactor(double factor, string op, string name)
    {
        if (!(factor >= 0)) throw new ArgumentException($"{op}: {name} ({factor}) must be non-negative", name);
    }

    /// <summary>torchvision's _blend: ratio·a + (1 − ratio)·b clamped to [0, 1], in float32 arithmetic.</summary>
    static void Blend(Span<float> a, ReadOnlySpan<float> b, double ratio)
    {
        float r = (float)ratio, q = (float)(1.0 - ratio);
        for (int i = 0; i < a.Length; i++) a[i] = Math.Clamp(r * a[i] + q * b[i], 0f, 1f);
    }

    static void Blend(Span<float> a, float b, double ratio)
    {
        float r = (float)ratio, qb = (float)(1.0 - ratio) * b;
        for (int i = 0; i < a.Length; i++) a[i] = Math.Clamp(r * a[i] + qb, 0f, 1f);
    }

    internal static Chw BrightnessChw(Chw img, double factor)
    {
        Blend(img.Data.AsSpan(0, img.C * img.Plane), 0f, factor);
        return img;
    }

    internal static Chw ContrastChw(Chw img, double factor)
    {
        if (img.C is not (1 or 3)) throw new ArgumentException($"AdjustContrast: expects 1 or 3 channels, got {img.C}");
        var grey = img.C == 3 ? GrayscaleChw(img, 1).Data : img.Data;
        double sum = 0;
        for (int i = 0; i < img.Plane; i++) sum += grey[i];
        float mean = (float)(sum / img.Plane);
        Blend(img.Data.AsSpan(0, img.C * img.Plane), mean, factor);
        return img;
    }

    internal static Chw SaturationChw(Chw img, double factor)
    {
        if (img.C is not (1 or 3)) throw new ArgumentException($"AdjustSaturation: expects 1 or 3 channels, got {img.C}");
        if (img.C == 1) return img;
        var grey = GrayscaleChw(img, 1).Channel(0);
        for (int c = 0; c < 3; c++) Blend(img.Channel(c), grey, factor);
        return img;
    }

    internal static Chw HueChw(Chw img, double factor)
    {
        if (img.C is not (1 or 3)) throw new ArgumentException($"AdjustHue: expects 1 or 3 channels, got {img.C}");
        if (img.C == 1) return img;
        var r = img.Channel(0); var g = img.Channel(1); var b = img.Channel(2);
        float shift = (float)factor;
        for (int i = 0; i < r.Length; i++)
        {
            var (h, s, v) = RgbToHsv(r[i], g[i], b[i]);
            h = PositiveRemainder(h + shift);
            (r[i], g[i], b[i]) = HsvToRgb(h, s, v);
        }
        return img;
    }

    /// <summary>x mod 1 with the sign of the divisor, as torch's % on floats.</summary>
    static float PositiveRemainder(float x)
    {
        float m = x % 1f;            // fmod, then moved to the divisor's sign like torch.remainder
        return m < 0 ? m + 1f : m;
    }

    /// <summary>torchvision's _rgb2hsv for one pixel (hue in [0, 1)).</summary>
    internal static (float H, float S, float V) RgbToHsv(float r, float g, float b)
    {
        float maxc = MathF.Max(r, MathF.Max(g, b)), minc = MathF.Min(r, MathF.Min(g, b));
        bool eqc = maxc == minc;
        float cr = maxc - minc;
        float s = cr / (eqc ? 1f : maxc);
        float divisor = eqc ? 1f : cr;
        float rc = (maxc - r) / divisor, gc = (maxc - g) / divisor, bc = (maxc - b) / divisor;
        float h;
        if (maxc == r) h = bc - gc;
        else if (maxc == g) h = 2f + rc - bc;
        else h = 4f + gc - rc;
        h = h / 6f + 1f;
        h %= 1f;   // torch.fmod: the argument is positive here
        return (h, s, maxc);
    }

    /// <summary>torchvision's _hsv2rgb for one pixel.</summary>
    internal static (float R, float G, float B) HsvToRgb(float h, float s, float v)
    {
        float h6 = h * 6f;
        float i = MathF.Floor(h6);
        float f = h6 - i;
        float p = Math.Clamp(v * (1f - s), 0f, 1f);
        float q = Math.Clamp(v * (1f - s * f), 0f, 1f);
        float t = Math.Clamp(v * (1f - s * (1f - f)), 0f, 1f);
        int sector = ((int)i % 6 + 6) % 6;
        return sector switch
        {
            0 => (v, t, p),
            1 => (q, v, p),
            2 => (p, v, t),
            3 => (p, q, v),
            4 => (t, p, v),
            _ => (v, p, q),
        };
    }
}
