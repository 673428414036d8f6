using DeepSharp.Vision.Imaging;

namespace DeepSharp.Interpretability;

/// <summary>Which sign of an attribution a heat map shows (Captum visualize_image_attr's <c>sign</c>).</summary>
public enum HeatmapSign
{
    /// <summary>|attribution| (Captum "absolute_value").</summary>
    Absolute,
    /// <summary>Positive attributions only (Captum "positive").</summary>
    Positive,
    /// <summary>Both signs: −1 → 0, 0 → 0.5, +1 → 1 of the colour map (Captum "all").</summary>
    All,
}

/// <summary>Heat maps of attributions, overlays on the input and side-by-side panels written as PNG.</summary>
public static class Heatmap
{
    /// <summary>
    /// An attribution (C, H, W), (1, C, H, W) or (H, W) as a heat map (H, W) in [0, 1], normalised as Captum's
    /// visualize_image_attr does: summed over channels, signed as <paramref name="sign"/> says, divided by the value below
    /// which lies (100 − <paramref name="outlierPercent"/>) % of the cumulative sum of the sorted magnitudes, and clipped.
    /// </summary>
    public static Tensor FromAttribution(Tensor attribution, HeatmapSign sign = HeatmapSign.Absolute, double outlierPercent = 2)
    {
        ArgumentNullException.ThrowIfNull(attribution);
        var a = attribution.Detach().To(DType.Float64);
        if (a.Rank == 4 && a.Shape[0] == 1) a = a.Select(0, 0);
        if (a.Rank == 3) a = a.Sum(0);
        if (a.Rank != 2)
            throw new ArgumentException($"Heatmap: expects an attribution (C, H, W), (1, C, H, W) or (H, W), got shape ({string.Join(", ", attribution.Shape)})", nameof(attribution));
        if (!(outlierPercent >= 0 && outlierPercent < 100))
            throw new ArgumentException($"Heatmap: outlierPercent must be in [0, 100), got {outlierPercent}", nameof(outlierPercent));
        var values = a.Contiguous().ToArray<double>();
        for (int i = 0; i < values.Length; i++)
            values[i] = sign switch { HeatmapSign.Absolute => Math.Abs(values[i]), HeatmapSign.Positive => Math.Max(values[i], 0), _ => values[i] };
        double scale = CumulativeSumThreshold(values.Select(Math.Abs).ToArray(), 100 - outlierPercent);
        var heat = new double[values.Length];
        for (int i = 0; i < values.Length; i++)
        {
            double v = scale > 0 ? Math.Clamp(values[i] / scale, -1, 1) : 0;
            heat[i] = sign == HeatmapSign.All ? (v + 1) / 2 : v;
        }
        return Tensor.FromArray(heat, [a.Shape[0], a.Shape[1]]).To(DType.Float32);
    }

    /// <summary>The smallest sorted value at which the running sum reaches <paramref name="percentile"/> % of the total (Captum _cumulative_sum_threshold).</summary>
    internal static double CumulativeSumThreshold(double[] values, double percentile)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        double total = sorted.Sum(), running = 0;
        foreach (var v in sorted)
        {
            running += v;
            if (running >= total * 0.01 * percentile) return v;
        }
        return sorted.Length == 0 ? 0 : sorted[^1];
    }

    /// <summary>
    /// The heat map in colour over the image shown in grey (Captum "blended_heat_map"): (1 − α) · grey(image) + α · colour(heat),
    /// a float32 (3, H, W). <paramref name="image"/>: (C, H, W) or (1, C, H, W) in [0, 1] with C = 1 or 3.
    /// </summary>
    public static Tensor Overlay(Tensor image, Tensor heat, ColorMapKind colorMap = ColorMapKind.Viridis, double alpha = 0.5)
    {
        var rgb = ToRgb(image, nameof(image));
        if (heat.Rank != 2 || heat.Shape[0] != rgb.Shape[1] || heat.Shape[1] != rgb.Shape[2])
            throw new ArgumentException($"Heatmap.Overlay: heat map of shape ({string.Join(", ", heat.Shape)}) does not match the image's ({rgb.Shape[1]}, {rgb.Shape[2]})", nameof(heat));
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentException($"Heatmap.Overlay: alpha must be in [0, 1], got {alpha}", nameof(alpha));
        var grey = (rgb * 0.299).Select(0, 0) + (rgb * 0.587).Select(0, 1) + (rgb * 0.114).Select(0, 2);   // ITU-R 601 luma
        var background = grey.Unsqueeze(0).Expand(3, grey.Shape[0], grey.Shape[1]);
        return (background * (1 - alpha) + ColorMap.Apply(heat, colorMap) * alpha).Clamp(0, 1);
    }

    /// <summary>
    /// Pictures (C, H, W) of one height side by side as one float32 (3, H·scale, ...) picture, each enlarged
    /// <paramref name="scale"/> times (nearest neighbour) and separated by <paramref name="padding"/> pixels of <paramref name="padValue"/>.
    /// </summary>
    public static Tensor Panel(IReadOnlyList<Tensor> pictures, int scale = 1, int padding = 2, float padValue = 1f)
    {
        ArgumentNullException.ThrowIfNull(pictures);
        if (pictures.Count == 0) throw new ArgumentException("Heatmap.Panel: no pictures given", nameof(pictures));
        if (scale < 1 || padding < 0) throw new ArgumentException($"Heatmap.Panel: scale must be ≥ 1 and padding ≥ 0, got {scale} and {padding}", nameof(scale));
        var rgb = pictures.Select(p => ToRgb(p, nameof(pictures))).ToArray();
        int h = rgb[0].Shape[1];
        if (rgb.Any(p => p.Shape[1] != h))
            throw new ArgumentException($"Heatmap.Panel: pictures differ in height ({string.Join(", ", rgb.Select(p => p.Shape[1]))})", nameof(pictures));
        var parts = new List<Tensor>();
        foreach (var p in rgb)
        {
            if (parts.Count > 0 && padding > 0) parts.Add(Tensor.Full([3, h * scale, padding], padValue));
            parts.Add(scale == 1 ? p : NN.F.Interpolate(p.Unsqueeze(0), scaleFactor: new NN.Scale2(scale, scale)).Select(0, 0));
        }
        return Tensor.Cat(parts, 2);
    }

    /// <summary>Writes a picture (C, H, W) in [0, 1] as an 8-bit PNG with the project's encoder (torchvision.utils.save_image).</summary>
    public static void SavePng(Tensor picture, string path)
    {
        ArgumentNullException.ThrowIfNull(picture);
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Path.GetDirectoryName(Path.GetFullPath(path)) is { } dir) Directory.CreateDirectory(dir);
        Png.Save(Image.FromTensor(picture.Detach().To(DType.Float32)), path);
    }

    static Tensor ToRgb(Tensor picture, string argument)
    {
        ArgumentNullException.ThrowIfNull(picture, argument);
        var p = picture.Detach().To(DType.Float32);
        if (p.Rank == 4 && p.Shape[0] == 1) p = p.Select(0, 0);
        if (p.Rank == 2) p = p.Unsqueeze(0);
        if (p.Rank != 3 || p.Shape[0] is not (1 or 3))
            throw new ArgumentException($"Heatmap: expects a picture (C, H, W) with C = 1 or 3, got shape ({string.Join(", ", picture.Shape)})", argument);
        return p.Shape[0] == 1 ? p.Expand(3, p.Shape[1], p.Shape[2]).Contiguous() : p;
    }
}
