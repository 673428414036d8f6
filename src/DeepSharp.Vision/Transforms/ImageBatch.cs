namespace DeepSharp.Vision.Transforms;

/// <summary>One image as planar float data: <see cref="C"/> planes of <see cref="H"/>×<see cref="W"/> values.</summary>
internal readonly record struct Chw(float[] Data, int C, int H, int W)
{
    public int Plane => H * W;
    public Span<float> Channel(int c) => Data.AsSpan(c * H * W, H * W);
    public static Chw Zeros(int c, int h, int w) => new(new float[c * h * w], c, h, w);
}

/// <summary>Runs a per-image function over a (C, H, W) image or every image of a (B, C, H, W) batch.</summary>
internal static class ImageBatch
{
    /// <summary>
    /// Applies <paramref name="f"/> to each image in order (so random draws happen image by image) and reassembles the
    /// results; every image of a batch must come out with the same shape.
    /// </summary>
    public static Tensor Map(Tensor input, string op, Func<Chw, Chw> f)
    {
        var (b, c, h, w) = ImageShape.Of(input, op);
        var src = input.Contiguous().ToArray<float>();
        int size = c * h * w;
        if (b == 0 || size == 0) throw new ArgumentException($"{op}: the image or batch is empty, shape ({string.Join(", ", input.Shape)})", nameof(input));
        if (input.Rank == 3)
        {
            var single = f(new Chw(src, c, h, w));
            return Tensor.FromArray(single.Data, single.C, single.H, single.W);
        }
        float[]? output = null;
        int oc = 0, oh = 0, ow = 0;
        for (int i = 0; i < b; i++)
        {
            var image = new Chw(src.AsSpan(i * size, size).ToArray(), c, h, w);
            var result = f(image);
            if (output == null) { (oc, oh, ow) = (result.C, result.H, result.W); output = new float[b * oc * oh * ow]; }
            else if ((result.C, result.H, result.W) != (oc, oh, ow))
                throw new ArgumentException($"{op}: image {i} of the batch came out ({result.C}, {result.H}, {result.W}) but image 0 came out ({oc}, {oh}, {ow}); use a fixed output size for batches");
            result.Data.AsSpan(0, oc * oh * ow).CopyTo(output.AsSpan(i * oc * oh * ow));
        }
        return Tensor.FromArray(output!, b, oc, oh, ow);
    }
}
