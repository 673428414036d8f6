using DeepSharp.Vision.Imaging;

namespace DeepSharp.Vision;

/// <summary>Image grids and saving tensors as pictures (torchvision.utils).</summary>
public static class Utils
{
    /// <summary>
    /// Tiles a batch of images into one image (torchvision.utils.make_grid): <paramref name="nrow"/> images per row,
    /// <paramref name="padding"/> pixels of <paramref name="padValue"/> around and between them. Input (N, C, H, W),
    /// (C, H, W) or (H, W); one-channel images are repeated into three channels. With <paramref name="normalize"/>, values
    /// are clamped to <paramref name="valueRange"/> (by default the tensor's min and max, or each image's when
    /// <paramref name="scaleEach"/>) and shifted and scaled to [0, 1]. Returns a float32 (C, H', W') tensor; a batch of one
    /// image is returned without padding, as torchvision does.
    /// </summary>
    public static Tensor MakeGrid(Tensor tensor, int nrow = 8, int padding = 2, bool normalize = false,
        (float Low, float High)? valueRange = null, bool scaleEach = false, float padValue = 0f)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (nrow <= 0) throw new ArgumentException($"MakeGrid: nrow must be positive, got {nrow}", nameof(nrow));
        if (padding < 0) throw new ArgumentException($"MakeGrid: padding must be non-negative, got {padding}", nameof(padding));
        var t = tensor.DType == DType.Float32 ? tensor : tensor.To(DType.Float32);
        if (t.Rank == 2) t = t.Unsqueeze(0);
        if (t.Rank == 3) t = t.Unsqueeze(0);
        if (t.Rank != 4)
            throw new ArgumentException($"MakeGrid: expects (N, C, H, W), (C, H, W) or (H, W), got shape ({string.Join(", ", tensor.Shape)})", nameof(tensor));
        int n = t.Shape[0], c = t.Shape[1], h = t.Shape[2], w = t.Shape[3];
        if (n == 0) throw new ArgumentException("MakeGrid: the batch is empty", nameof(tensor));
        var src = t.Contiguous().ToArray<float>();
        if (c == 1)
        {
            var rgb = new float[src.Length * 3];
            int plane = h * w;
            for (int i = 0; i < n; i++)
                for (int ch = 0; ch < 3; ch++) Array.Copy(src, i * plane, rgb, (i * 3 + ch) * plane, plane);
            src = rgb; c = 3;
        }
        if (normalize)
        {
            int imageSize = c * h * w;
            if (scaleEach) for (int i = 0; i < n; i++) NormalizeRange(src.AsSpan(i * imageSize, imageSize), valueRange);
            else NormalizeRange(src, valueRange);
        }
        if (n == 1) return Tensor.FromArray(src, c, h, w);
        int xmaps = Math.Min(nrow, n), ymaps = (n + xmaps - 1) / xmaps;
        int cellH = h + padding, cellW = w + padding;
        int gridH = cellH * ymaps + padding, gridW = cellW * xmaps + padding;
        var grid = new float[c * gridH * gridW];
        Array.Fill(grid, padValue);
        for (int k = 0; k < n; k++)
        {
            int top = (k / xmaps) * cellH + padding, left = (k % xmaps) * cellW + padding;
            for (int ch = 0; ch < c; ch++)
                for (int y = 0; y < h; y++)
                    src.AsSpan(((k * c + ch) * h + y) * w, w).CopyTo(grid.AsSpan((ch * gridH + top + y) * gridW + left, w));
        }
        return Tensor.FromArray(grid, c, gridH, gridW);
    }

    static void NormalizeRange(Span<float> values, (float Low, float High)? range)
    {
        float low, high;
        if (range is { } r) (low, high) = r;
        else
        {
            low = float.PositiveInfinity; high = float.NegativeInfinity;
            foreach (var v in values) { if (v < low) low = v; if (v > high) high = v; }
        }
        float span = Math.Max(high - low, 1e-5f);
        for (int i = 0; i < values.Length; i++) values[i] = (Math.Clamp(values[i], low, high) - low) / span;
    }

    /// <summary>
    /// Saves a tensor as a picture (torchvision.utils.save_image): a batch is tiled with <see cref="MakeGrid"/>, values in
    /// [0, 1] are mapped to 8 bits (v·255 + 0.5, clamped), and the file format follows the extension (.png, .ppm, .pgm).
    /// </summary>
    public static void SaveImage(Tensor tensor, string path, int nrow = 8, int padding = 2, bool normalize = false,
        (float Low, float High)? valueRange = null, bool scaleEach = false, float padValue = 0f)
    {
        ArgumentNullException.ThrowIfNull(path);
        var grid = MakeGrid(tensor, nrow, padding, normalize, valueRange, scaleEach, padValue);
        Image.FromTensor(grid).Save(path);
    }
}
