using DeepSharp.Generative.Autoencoders;
using DeepSharp.NN;

namespace DeepSharp.Generative.Vae;

/// <summary>The decoder's distribution p(x | z) over pixels.</summary>
public enum VaeLikelihood
{
    /// <summary>Independent Bernoulli pixels: the decoder outputs logits, the reconstruction term is binary cross-entropy (x in [0, 1]).</summary>
    Bernoulli,
    /// <summary>Independent Gaussian pixels with a fixed standard deviation: the decoder outputs the mean.</summary>
    Gaussian,
}

/// <summary>
/// A convolutional variational autoencoder (Kingma and Welling 2014): the <see cref="ConvEncoder"/> gives the mean and
/// log-variance of q(z | x) = N(μ, diag(σ²)), a sample z = μ + σ·ε (the reparameterisation trick, so gradients reach
/// the encoder), and the <see cref="ConvDecoder"/> gives p(x | z). <see cref="Module{TInput,TOutput}.Call"/> returns
/// (Reconstruction, Mean, LogVar) where Reconstruction is the decoder's raw output (logits for Bernoulli pixels, the mean
/// for Gaussian ones); <see cref="Reconstruct"/> gives images. In eval mode z = μ (no sampling). The loss is
/// <see cref="Elbo"/>.
/// </summary>
public sealed class ConvVae : Module<Tensor, (Tensor Reconstruction, Tensor Mean, Tensor LogVar)>
{
    readonly ConvEncoder encoder;
    readonly ConvDecoder decoder;

    /// <summary>Builds the VAE for <paramref name="shape"/> images with a <paramref name="latent"/>-dimensional z.</summary>
    public ConvVae(ImageShape shape, int latent = 16, int width = 32, VaeLikelihood likelihood = VaeLikelihood.Bernoulli)
    {
        encoder = new ConvEncoder(shape, 2 * latent, width);
        decoder = new ConvDecoder(shape, latent, width);
        Shape = shape; Latent = latent; Likelihood = likelihood;
    }

    /// <summary>The images it models.</summary>
    public ImageShape Shape { get; }
    /// <summary>Dimensions of z.</summary>
    public int Latent { get; }
    /// <summary>The pixel distribution p(x | z).</summary>
    public VaeLikelihood Likelihood { get; }

    /// <summary>Images (N, C, S, S) → the mean and log-variance (N, latent) of q(z | x).</summary>
    public (Tensor Mean, Tensor LogVar) Encode(Tensor images)
    {
        var stats = encoder.Call(images);                   // (N, 2·latent)
        return (stats.Narrow(1, 0, Latent), stats.Narrow(1, Latent, Latent));
    }

    /// <summary>z = μ + exp(½·logσ²)·ε with ε ~ N(0, 1): differentiable in μ and logσ².</summary>
    public static Tensor Reparameterize(Tensor mean, Tensor logVar, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(mean); ArgumentNullException.ThrowIfNull(logVar);
        if (!mean.Shape.SequenceEqual(logVar.Shape))
            throw new ArgumentException($"Reparameterize: mean ({string.Join(", ", mean.Shape)}) and logVar ({string.Join(", ", logVar.Shape)}) differ", nameof(logVar));
        return mean + (logVar * 0.5).Exp() * Tensor.RandnLike(mean, generator);
    }

    /// <summary>z (N, latent) → the decoder's raw output (N, C, S, S): logits (Bernoulli) or means (Gaussian).</summary>
    public Tensor DecodeRaw(Tensor z) => decoder.Call(z);

    /// <summary>z (N, latent) → images (N, C, S, S): the pixel means (sigmoid of the logits for Bernoulli pixels).</summary>
    public Tensor Decode(Tensor z) => ToImages(decoder.Call(z));

    /// <summary>The decoder's raw output as images (the mean of p(x | z)).</summary>
    public Tensor ToImages(Tensor raw) => Likelihood == VaeLikelihood.Bernoulli ? raw.Sigmoid() : raw;

    /// <summary>Reconstructions (pixel means) of <paramref name="images"/>, decoding z = μ.</summary>
    public Tensor Reconstruct(Tensor images) => Decode(Encode(images).Mean);

    /// <summary><paramref name="count"/> images decoded from z ~ N(0, I), without gradients.</summary>
    public Tensor Sample(int count, Generator? generator = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"ConvVae.Sample: count must be positive, got {count}");
        using var _ = Autograd.NoGrad();
        return Decode(Tensor.Randn([count, Latent], generator: generator));
    }

    /// <summary>
    /// A latent interpolation strip: <paramref name="from"/> and <paramref name="to"/> (each (C, S, S) or (1, C, S, S))
    /// are encoded to their means, z moves linearly between them in <paramref name="steps"/> steps, and each z is decoded:
    /// (steps, C, S, S), the first and last being the two reconstructions.
    /// </summary>
    public Tensor Interpolate(Tensor from, Tensor to, int steps = 10)
    {
        if (steps < 2) throw new ArgumentOutOfRangeException(nameof(steps), $"ConvVae.Interpolate: needs at least 2 steps, got {steps}");
        using var _ = Autograd.NoGrad();
        var a = Encode(from.Rank == 3 ? from.Unsqueeze(0) : from).Mean;
        var b = Encode(to.Rank == 3 ? to.Unsqueeze(0) : to).Mean;
        var t = Tensor.Linspace(0, 1, steps).View(steps, 1);
        return Decode(a * (1 - t) + b * t);
    }

    /// <inheritdoc/>
    public override (Tensor Reconstruction, Tensor Mean, Tensor LogVar) Forward(Tensor images)
    {
        var (mean, logVar) = Encode(images);
        var z = IsTraining ? Reparameterize(mean, logVar) : mean;
        return (decoder.Call(z), mean, logVar);
    }
}
