using System.Numerics.Tensors;

namespace DeepSharp.Data;

/// <summary>
/// Images kept as bytes (one byte a pixel, as an image file stores them) with int64 labels; item i is (image i as
/// float32 scaled by <see cref="Scale"/>, label i). The conversion to float happens per batch, so a dataset of N images
/// holds N bytes a pixel instead of four (torchvision's MNIST keeps its data as uint8 the same way and converts in
/// ToTensor). The values are exactly <c>pixel * scale</c> in float32, those of the whole split converted at once.
/// </summary>
public sealed class ByteImageDataset : IBatchDataset
{
    readonly byte[] pixels;
    readonly long[] labels;
    readonly int[] itemShape;
    readonly int itemSize;

    /// <summary>
    /// Wraps <paramref name="pixels"/> (N items of shape <paramref name="itemShape"/>, row-major, item after item) and
    /// <paramref name="labels"/> (N). The arrays are used, not copied.
    /// </summary>
    public ByteImageDataset(byte[] pixels, long[] labels, int[] itemShape, float scale = 1f / 255f)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(itemShape);
        foreach (int d in itemShape)
            if (d <= 0) throw new ArgumentException($"ByteImageDataset: itemShape {ShapeUtil.Format(itemShape)} must have positive sizes", nameof(itemShape));
        long size = 1;
        foreach (int d in itemShape) size *= d;
        if (size * labels.Length != pixels.Length)
            throw new ArgumentException($"ByteImageDataset: {pixels.Length} pixels do not make {labels.Length} items of shape {ShapeUtil.Format(itemShape)}", nameof(pixels));
        this.pixels = pixels; this.labels = labels; this.itemShape = ShapeUtil.Copy(itemShape); itemSize = (int)size;
        Scale = scale;
    }

    /// <summary>The factor each byte is multiplied by (1/255 maps pixels to [0, 1]).</summary>
    public float Scale { get; }

    /// <summary>Number of items (len(dataset)).</summary>
    public int Count => labels.Length;

    /// <summary>Item <paramref name="index"/>: (image as float32 of the item shape, label as an int64 scalar).</summary>
    public Tensor[] Get(int index)
    {
        Dataset.CheckIndex(index, Count, "ByteImageDataset");
        var batch = GetBatch([index]);
        return [batch[0].Select(0, 0), batch[1].Select(0, 0)];
    }

    /// <summary>Items <paramref name="indices"/> stacked: images (B, ...) float32 and labels (B) int64.</summary>
    public Tensor[] GetBatch(ReadOnlySpan<int> indices)
    {
        foreach (int index in indices) Dataset.CheckIndex(index, Count, "ByteImageDataset.GetBatch");
        var shape = new int[itemShape.Length + 1];
        shape[0] = indices.Length;
        itemShape.CopyTo(shape, 1);
        var images = Tensor.AllocUninit(DType.Float32, shape);
        var targets = Tensor.AllocUninit(DType.Int64, [indices.Length]);
        var x = images.Span<float>();
        var y = targets.Span<long>();
        float scale = Scale;
        for (int b = 0; b < indices.Length; b++)
        {
            Convert(pixels.AsSpan(indices[b] * itemSize, itemSize), x.Slice(b * itemSize, itemSize), scale);
            y[b] = labels[indices[b]];
        }
        return [images, targets];
    }

    /// <summary>
    /// <paramref name="destination"/>[i] = <paramref name="source"/>[i] · <paramref name="scale"/> in float32, vectorised
    /// (the same values as the scalar product: a byte converts to float exactly).
    /// </summary>
    public static void Convert(ReadOnlySpan<byte> source, Span<float> destination, float scale)
    {
        if (destination.Length < source.Length)
            throw new ArgumentException($"ByteImageDataset.Convert: destination has {destination.Length} elements, source {source.Length}", nameof(destination));
        destination = destination[..source.Length];
        TensorPrimitives.ConvertTruncating<byte, float>(source, destination);
        TensorPrimitives.Multiply(destination, scale, destination);
    }
}
