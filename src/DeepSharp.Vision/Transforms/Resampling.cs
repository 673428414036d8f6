namespace DeepSharp.Vision.Transforms;

/// <summary>How a resize computes new pixels (torchvision.transforms.InterpolationMode).</summary>
public enum InterpolationMode
{
    /// <summary>The nearest source pixel (InterpolationMode.NEAREST; PyTorch's legacy "nearest" indexing).</summary>
    Nearest,
    /// <summary>Bilinear interpolation with half-pixel centres, align_corners=False (InterpolationMode.BILINEAR).</summary>
    Bilinear,
}

/// <summary>
/// Resampling of one plane (a rectangle of a source plane to a new size), separable: rows then columns. The bilinear
/// path follows torch.nn.functional.interpolate(mode="bilinear", align_corners=False), with or without antialias
/// (PyTorch's _upsample_bilinear2d_aa: a triangle filter widened by the scale factor when shrinking, as PIL does).
/// </summary>
internal static class Resampling
{
    /// <summary>For each output index: the first source index, and the weights of the source indices from there.</summary>
    readonly record struct Taps(int[] Start, int[] Count, float[] Weights, int MaxTaps);

    static Taps NearestTaps(int inSize, int outSize)
    {
        var start = new int[outSize]; var count = new int[outSize]; var weights = new float[outSize];
        float scale = (float)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            // PyTorch's nearest_idx: identity and exact 2x upsampling are special-cased, else floor(i * scale)
            start[i] = outSize == inSize ? i : outSize == 2 * inSize ? i >> 1 : Math.Min((int)MathF.Floor(i * scale), inSize - 1);
            count[i] = 1; weights[i] = 1f;
        }
        return new Taps(start, count, weights, 1);
    }

    static Taps BilinearTaps(int inSize, int outSize)
    {
        var start = new int[outSize]; var count = new int[outSize]; var weights = new float[outSize * 2];
        float scale = (float)inSize / outSize;
        for (int i = 0; i < outSize; i++)
        {
            float src = scale * (i + 0.5f) - 0.5f;
            if (src < 0) src = 0;
            int i0 = (int)src;
            int next = i0 < inSize - 1 ? 1 : 0;
            float l1 = src - i0, l0 = 1f - l1;
            start[i] = i0; count[i] = next + 1;
            weights[2 * i] = l0;
            if (next == 1) weights[2 * i + 1] = l1;
            else weights[2 * i] = 1f;   // l0 + l1 both land on the last pixel
        }
        return new Taps(start, count, weights, 2);
    }

    static Taps AntialiasTaps(int inSize, int outSize)
    {
        float scale = (float)inSize / outSize;
        float support = scale >= 1f ? scale : 1f;             // the triangle's half-width, in source pixels
        float invScale = scale >= 1f ? 1f / scale : 1f;
        int maxTaps = (int)Math.Ceiling(support) * 2 + 1;
        var start = new int[outSize]; var count = new int[outSize]; var weights = new float[outSize * maxTaps];
        for (int i = 0; i < outSize; i++)
        {
            float center = scale * (i + 0.5f);
            int xmin = Math.Max((int)(center - support + 0.5f), 0);
            int xsize = Math.Min((int)(center + support + 0.5f), inSize) - xmin;
            xsize = Math.Clamp(xsize, 0, maxTaps);
            float total = 0;
            var w = weights.AsSpan(i * maxTaps, maxTaps);
            for (int j = 0; j < xsize; j++)
            {
                float x = MathF.Abs((j + xmin - center + 0.5f) * invScale);
                float v = x < 1f ? 1f - x : 0f;
                w[j] = v; total += v;
            }
            if (total != 0) for (int j = 0; j < xsize; j++) w[j] /= total;
            start[i] = xmin; count[i] = xsize;
        }
        return new Taps(start, count, weights, maxTaps);
    }

    static Taps Make(int inSize, int outSize, InterpolationMode mode, bool antialias) => mode switch
    {
        InterpolationMode.Nearest => NearestTaps(inSize, outSize),
        _ when antialias => AntialiasTaps(inSize, outSize),
        _ => BilinearTaps(inSize, outSize),
    };

    /// <summary>
    /// Resizes the window (<paramref name="top"/>, <paramref name="left"/>, <paramref name="height"/>, <paramref name="width"/>)
    /// of every channel of <paramref name="src"/> to <paramref name="outH"/>×<paramref name="outW"/>. The window must lie
    /// inside the image.
    /// </summary>
    public static Chw ResizeWindow(Chw src, int top, int left, int height, int width, int outH, int outW, InterpolationMode mode, bool antialias)
    {
        var dst = Chw.Zeros(src.C, outH, outW);
        if (height == outH && width == outW)
        {
            for (int c = 0; c < src.C; c++)
                for (int y = 0; y < outH; y++)
                    src.Data.AsSpan(c * src.Plane + (top + y) * src.W + left, outW).CopyTo(dst.Data.AsSpan(c * dst.Plane + y * outW, outW));
            return dst;
        }
        var horizontal = Make(width, outW, mode, antialias);
        var vertical = Make(height, outH, mode, antialias);
        var rows = new float[height * outW];   // the window resized horizontally
        for (int c = 0; c < src.C; c++)
        {
            var plane = src.Channel(c);
            for (int y = 0; y < height; y++)
            {
                var row = plane.Slice((top + y) * src.W + left, width);
                for (int x = 0; x < outW; x++)
                {
                    int s = horizontal.Start[x], n = horizontal.Count[x];
                    var w = horizontal.Weights.AsSpan(x * horizontal.MaxTaps, n);
                    float acc = 0;
                    for (int k = 0; k < n; k++) acc += w[k] * row[s + k];
                    rows[y * outW + x] = acc;
                }
            }
            var output = dst.Channel(c);
            for (int y = 0; y < outH; y++)
            {
                int s = vertical.Start[y], n = vertical.Count[y];
                var w = vertical.Weights.AsSpan(y * vertical.MaxTaps, n);
                var outRow = output.Slice(y * outW, outW);
                for (int k = 0; k < n; k++)
                {
                    var srcRow = rows.AsSpan((s + k) * outW, outW);
                    float wk = w[k];
                    for (int x = 0; x < outW; x++) outRow[x] += wk * srcRow[x];
                }
            }
        }
        return dst;
    }
}
