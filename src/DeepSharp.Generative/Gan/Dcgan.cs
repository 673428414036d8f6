using DeepSharp.NN;

namespace DeepSharp.Generative.Gan;

/// <summary>
/// The DCGAN generator (Radford et al. 2016; PyTorch's DCGAN example): z (N, nz) seen as (N, nz, 1, 1), a transposed
/// convolution to 4·g×s×s (s = 7 for 28-pixel images, 4 for 32), then stride-2 4×4 transposed convolutions that double
/// the side down to 2·g, g ... channels, each followed by batch norm and ReLU, and a last one to C channels with tanh, so
/// images are in [−1, 1]. With <c>numClasses</c> &gt; 0 it is class-conditional: a learned label embedding of width
/// <c>nz</c> is concatenated to z (the conditional GAN of Mirza and Osindero 2014). Initialised with <see cref="GanInit.Dcgan"/>.
/// </summary>
public sealed class DcganGenerator : Module<Tensor, Tensor>
{
    readonly Embedding? labelEmbedding;
    readonly Sequential layers;

    /// <summary>Builds the generator for <paramref name="shape"/> images from <paramref name="latent"/>-wide noise.</summary>
    public DcganGenerator(ImageShape shape, int latent = 64, int width = 64, int numClasses = 0)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate(nameof(DcganGenerator));
        if (latent < 1 || width < 1 || numClasses < 0)
            throw new ArgumentException($"DcganGenerator: latent and width must be positive and numClasses ≥ 0, got {latent}, {width}, {numClasses}");
        Shape = shape; Latent = latent; NumClasses = numClasses;
        var (start, doublings) = GanInit.Plan(shape.Size);
        if (numClasses > 0) labelEmbedding = new Embedding(numClasses, latent);
        int channels = width << (doublings - 1);
        layers = new Sequential(new ConvTranspose2d(numClasses > 0 ? 2 * latent : latent, channels, start, bias: false),
            new BatchNorm2d(channels), new ReLU());                                          // (N, g·2^(d−1), s, s)
        for (int i = 1; i < doublings; i++, channels /= 2)
        {
            layers.Add(new ConvTranspose2d(channels, channels / 2, 4, stride: 2, padding: 1, bias: false));
            layers.Add(new BatchNorm2d(channels / 2)); layers.Add(new ReLU());
        }
        layers.Add(new ConvTranspose2d(channels, shape.Channels, 4, stride: 2, padding: 1, bias: false));
        layers.Add(new Tanh());                                                              // (N, C, S, S)
        GanInit.Dcgan(this);
    }

    /// <summary>The images it generates.</summary>
    public ImageShape Shape { get; }
    /// <summary>Width of z.</summary>
    public int Latent { get; }
    /// <summary>Classes it is conditioned on (0: unconditional).</summary>
    public int NumClasses { get; }

    /// <summary>Unconditional generation: z (N, latent) → images (N, C, S, S) in [−1, 1].</summary>
    public override Tensor Forward(Tensor z)
    {
        if (NumClasses > 0) throw new ArgumentException($"DcganGenerator: this generator is conditioned on {NumClasses} classes; call Generate(z, labels)", nameof(z));
        return layers.Call(CheckedNoise(z).View(z.Shape[0], Latent, 1, 1));
    }

    /// <summary>Class-conditional generation: z (N, latent) and labels (N,) int64 → images (N, C, S, S).</summary>
    public Tensor Generate(Tensor z, Tensor? labels)
    {
        if (labelEmbedding == null)
        {
            if (labels != null) throw new ArgumentException("DcganGenerator: labels given to an unconditional generator (numClasses = 0)", nameof(labels));
            return Call(z);
        }
        GanInit.CheckLabels(labels, CheckedNoise(z).Shape[0], NumClasses, nameof(DcganGenerator));
        var input = Tensor.Cat([z, labelEmbedding.Call(labels!)], 1);                        // (N, 2·latent)
        return layers.Call(input.View(z.Shape[0], 2 * Latent, 1, 1));
    }

    /// <summary><paramref name="count"/> images from fresh noise (and <paramref name="labels"/> for a conditional one), without gradients, in eval mode.</summary>
    public Tensor Sample(int count, Tensor? labels = null, Generator? generator = null)
    {
        if (count < 1) throw new ArgumentOutOfRangeException(nameof(count), $"DcganGenerator.Sample: count must be positive, got {count}");
        bool wasTraining = IsTraining;
        Eval();
        using var _ = Autograd.NoGrad();
        var images = Generate(Tensor.Randn([count, Latent], generator: generator), labels);
        Train(wasTraining);
        return images;
    }

    Tensor CheckedNoise(Tensor z)
    {
        ArgumentNullException.ThrowIfNull(z);
        if (z.Rank != 2 || z.Shape[1] != Latent)
            throw new ArgumentException($"DcganGenerator: noise must be (N, {Latent}), got ({string.Join(", ", z.Shape)})", nameof(z));
        return z;
    }
}

/// <summary>How the discriminator (critic) normalises its hidden layers.</summary>
public enum CriticNorm
{
    /// <summary>Batch norm (DCGAN).</summary>
    BatchNorm,
    /// <summary>Layer norm over (C, H, W), as GroupNorm with one group: WGAN-GP's choice, since a gradient penalty per example must not mix the batch.</summary>
    LayerNorm,
}

/// <summary>
/// The DCGAN discriminator: stride-2 4×4 convolutions C → d → 2·d (→ 4·d for 32-pixel images), LeakyReLU(0.2), a norm
/// after every convolution but the first, and a last convolution over the remaining s×s to one logit per image (N,).
/// With <c>numClasses</c> &gt; 0 a learned label embedding of S·S values is appended as an extra input channel.
/// As the WGAN-GP critic use <see cref="CriticNorm.LayerNorm"/> and read the output as a score, not a logit.
/// </summary>
public sealed class DcganDiscriminator : Module<Tensor, Tensor>
{
    readonly Embedding? labelEmbedding;
    readonly Sequential layers;

    /// <summary>Builds the discriminator for <paramref name="shape"/> images.</summary>
    public DcganDiscriminator(ImageShape shape, int width = 64, int numClasses = 0, CriticNorm norm = CriticNorm.BatchNorm)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate(nameof(DcganDiscriminator));
        if (width < 1 || numClasses < 0) throw new ArgumentException($"DcganDiscriminator: width must be positive and numClasses ≥ 0, got {width}, {numClasses}");
        Shape = shape; NumClasses = numClasses;
        var (start, doublings) = GanInit.Plan(shape.Size);
        if (numClasses > 0) labelEmbedding = new Embedding(numClasses, shape.Size * shape.Size);
        int channels = width;
        layers = new Sequential(new Conv2d(shape.Channels + (numClasses > 0 ? 1 : 0), width, 4, stride: 2, padding: 1, bias: false), new LeakyReLU(0.2));
        for (int i = 1; i < doublings; i++, channels *= 2)
        {
            layers.Add(new Conv2d(channels, 2 * channels, 4, stride: 2, padding: 1, bias: false));
            layers.Add(norm == CriticNorm.BatchNorm ? new BatchNorm2d(2 * channels) : new GroupNorm(1, 2 * channels));
            layers.Add(new LeakyReLU(0.2));
        }
        layers.Add(new Conv2d(channels, 1, start, bias: false));                           // (N, 1, 1, 1)
        GanInit.Dcgan(this);
    }

    /// <summary>The images it judges.</summary>
    public ImageShape Shape { get; }
    /// <summary>Classes it is conditioned on (0: unconditional).</summary>
    public int NumClasses { get; }

    /// <summary>Images (N, C, S, S) → one logit (or critic score) per image (N,).</summary>
    public override Tensor Forward(Tensor images)
    {
        if (NumClasses > 0) throw new ArgumentException($"DcganDiscriminator: conditioned on {NumClasses} classes; call Judge(images, labels)", nameof(images));
        Shape.Check(images, nameof(DcganDiscriminator));
        return layers.Call(images).Flatten();
    }

    /// <summary>Class-conditional judgement: images (N, C, S, S) and labels (N,) → (N,).</summary>
    public Tensor Judge(Tensor images, Tensor? labels)
    {
        if (labelEmbedding == null)
        {
            if (labels != null) throw new ArgumentException("DcganDiscriminator: labels given to an unconditional discriminator (numClasses = 0)", nameof(labels));
            return Call(images);
        }
        Shape.Check(images, nameof(DcganDiscriminator));
        GanInit.CheckLabels(labels, images.Shape[0], NumClasses, nameof(DcganDiscriminator));
        var labelPlane = labelEmbedding.Call(labels!).View(images.Shape[0], 1, Shape.Size, Shape.Size);
        return layers.Call(Tensor.Cat([images, labelPlane], 1)).Flatten();
    }
}
