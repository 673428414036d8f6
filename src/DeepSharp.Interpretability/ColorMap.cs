namespace DeepSharp.Interpretability;

/// <summary>Colour maps for heat maps (matplotlib's colormap names).</summary>
public enum ColorMapKind
{
    /// <summary>matplotlib "viridis": perceptually uniform, dark blue-violet → green → yellow; readable in grey and by colour-blind readers.</summary>
    Viridis,
    /// <summary>matplotlib / OpenCV "jet": blue → cyan → yellow → red, the usual Grad-CAM look.</summary>
    Jet,
    /// <summary>Black → white.</summary>
    Gray,
}

/// <summary>Maps values in [0, 1] to RGB colours.</summary>
public static class ColorMap
{
    // viridis sampled at 0, 0.1, ..., 1 (the published colour values of matplotlib's viridis, van der Walt and Smith);
    // between samples the colour is interpolated linearly in RGB.
    static readonly double[,] ViridisSamples =
    {
        { 0.267004, 0.004874, 0.329415 }, { 0.282623, 0.140926, 0.457517 }, { 0.253935, 0.265254, 0.529983 },
        { 0.206756, 0.371758, 0.553117 }, { 0.163625, 0.471133, 0.558148 }, { 0.127568, 0.566949, 0.550556 },
        { 0.134692, 0.658636, 0.517649 }, { 0.266941, 0.748751, 0.440573 }, { 0.477504, 0.821444, 0.318195 },
        { 0.741388, 0.873449, 0.149561 }, { 0.993248, 0.906157, 0.143936 },
    };

    /// <summary>The colour (r, g, b) in [0, 1] of <paramref name="value"/> (clamped to [0, 1]; NaN maps to 0) (matplotlib Colormap.__call__).</summary>
    public static (double R, double G, double B) Color(double value, ColorMapKind kind = ColorMapKind.Viridis)
    {
        double v = double.IsNaN(value) ? 0 : Math.Clamp(value, 0, 1);
        switch (kind)
        {
            case ColorMapKind.Gray: return (v, v, v);
            case ColorMapKind.Jet:
                // piecewise-linear jet: each channel is a trapezoid of height 1 centred at 3/4 (red), 1/2 (green), 1/4 (blue)
                return (Trapezoid(4 * v - 3), Trapezoid(4 * v - 2), Trapezoid(4 * v - 1));
            default:
                double position = v * 10;
                int i = Math.Min((int)position, 9);
                double t = position - i;
                return (Lerp(ViridisSamples[i, 0], ViridisSamples[i + 1, 0], t), Lerp(ViridisSamples[i, 1], ViridisSamples[i + 1, 1], t),
                    Lerp(ViridisSamples[i, 2], ViridisSamples[i + 1, 2], t));
        }
    }

    static double Trapezoid(double x) => Math.Clamp(1.5 - Math.Abs(x), 0, 1);

    static double Lerp(double a, double b, double t) => a + (b - a) * t;

    /// <summary>A heat map (H, W) with values in [0, 1] as a float32 RGB image (3, H, W).</summary>
    public static Tensor Apply(Tensor heat, ColorMapKind kind = ColorMapKind.Viridis)
    {
        ArgumentNullException.ThrowIfNull(heat);
        if (heat.Rank != 2)
            throw new ArgumentException($"ColorMap.Apply: expects a (H, W) heat map, got shape ({string.Join(", ", heat.Shape)})", nameof(heat));
        var values = heat.To(DType.Float64).Contiguous().ToArray<double>();
        int plane = values.Length;
        var rgb = new float[3 * plane];
        for (int p = 0; p < plane; p++)
        {
            var (r, g, b) = Color(values[p], kind);
            rgb[p] = (float)r; rgb[plane + p] = (float)g; rgb[2 * plane + p] = (float)b;
        }
        return Tensor.FromArray(rgb, 3, heat.Shape[0], heat.Shape[1]);
    }
}
