namespace DeepSharp.Generative;

/// <summary>
/// The images a generative model works on: channels and a square side (Fashion-MNIST 1×28×28, CIFAR-10 3×32×32).
/// The convolutional models halve the side twice (28 → 7, 32 → 8) or three times for 32 (→ 4).
/// </summary>
public sealed record ImageShape(int Channels, int Size)
{
    /// <summary>Fashion-MNIST and MNIST: 1×28×28.</summary>
    public static readonly ImageShape FashionMnist = new(1, 28);
    /// <summary>CIFAR-10: 3×32×32.</summary>
    public static readonly ImageShape Cifar10 = new(3, 32);

    /// <summary>Pixels per image (C·H·W).</summary>
    public int Pixels => Channels * Size * Size;

    /// <summary>Throws unless the side halves cleanly twice (a multiple of 4) and channels are positive.</summary>
    internal void Validate(string owner)
    {
        if (Channels < 1 || Size < 4 || Size % 4 != 0)
            throw new ArgumentException($"{owner}: images must have ≥ 1 channel and a side that is a multiple of 4 (28, 32), got {Channels}×{Size}×{Size}", "shape");
    }

    /// <summary>Throws unless <paramref name="images"/> is (N, C, H, W) with this shape.</summary>
    internal void Check(Tensor images, string owner)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Rank != 4 || images.Shape[1] != Channels || images.Shape[2] != Size || images.Shape[3] != Size)
            throw new ArgumentException($"{owner}: expected images (N, {Channels}, {Size}, {Size}), got ({string.Join(", ", images.Shape)})", nameof(images));
    }
}
