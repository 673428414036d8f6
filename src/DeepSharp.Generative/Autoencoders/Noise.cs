namespace DeepSharp.Generative.Autoencoders;

/// <summary>The corruption a denoising autoencoder learns to undo (Vincent et al. 2008).</summary>
public abstract record Corruption
{
    /// <summary>Returns a corrupted copy of <paramref name="images"/> (no gradient flows through the noise).</summary>
    public abstract Tensor Apply(Tensor images, Generator? generator = null);
}

/// <summary>Additive Gaussian noise x + σ·ε, ε ~ N(0, 1), clamped back to [0, 1] when <see cref="Clamp"/> is set.</summary>
public sealed record GaussianNoise(double Std = 0.3, bool Clamp = true) : Corruption
{
    /// <inheritdoc/>
    public override Tensor Apply(Tensor images, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Std < 0) throw new ArgumentException($"GaussianNoise: std must be ≥ 0, got {Std}", nameof(Std));
        using var _ = Autograd.NoGrad();
        var noisy = images.Detach() + Tensor.RandnLike(images, generator) * Std;
        return Clamp ? noisy.Clamp(0, 1) : noisy;
    }
}

/// <summary>Masking noise: each pixel is set to 0 with probability <see cref="Probability"/> (Vincent et al.'s "masking noise").</summary>
public sealed record MaskingNoise(double Probability = 0.3) : Corruption
{
    /// <inheritdoc/>
    public override Tensor Apply(Tensor images, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Probability is < 0 or > 1) throw new ArgumentException($"MaskingNoise: probability must be in [0, 1], got {Probability}", nameof(Probability));
        using var _ = Autograd.NoGrad();
        var keep = Tensor.RandLike(images, generator).Ge(Probability).To(images.DType);
        return images.Detach() * keep;
    }
}
