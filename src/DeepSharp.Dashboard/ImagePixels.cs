namespace DeepSharp.Dashboard;

/// <summary>An image tensor as bytes a page can draw: (C, H, W) with C = 1 or 3, stretched to 0..255 (min to max), channels last.</summary>
static class ImagePixels
{
    public static (byte[] Pixels, int Height, int Width, int Channels) ToBytes(Tensor image)
    {
        if (image.Dim != 3) throw new ArgumentException($"ImagePixels: an image must be (C, H, W), got ({string.Join(", ", image.Shape)})", nameof(image));
        int channels = (int)image.Shape[0], height = (int)image.Shape[1], width = (int)image.Shape[2];
        var values = image.Float().Contiguous().ToArray<float>();
        float min = values.Length == 0 ? 0 : values.Min(), max = values.Length == 0 ? 1 : values.Max();
        float scale = max > min ? 255f / (max - min) : 0;
        var pixels = new byte[values.Length];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < height * width; i++)
                pixels[i * channels + c] = (byte)Math.Clamp(MathF.Round((values[c * height * width + i] - min) * scale), 0, 255);
        return (pixels, height, width, channels);
    }
}
