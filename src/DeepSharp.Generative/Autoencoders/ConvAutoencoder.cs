using DeepSharp.NN;

namespace DeepSharp.Generative.Autoencoders;

/// <summary>
/// A convolutional encoder (the encoder half of the usual PyTorch autoencoder tutorial): two stride-2 4×4 convolutions
/// with ReLU (C → <c>width</c> → 2·<c>width</c>, side ÷ 4), flatten, then a Linear layer to <c>outputs</c>
/// features. (N, C, S, S) → (N, outputs).
/// </summary>
public sealed class ConvEncoder : Module<Tensor, Tensor>
{
    readonly Sequential features;
    readonly Linear head;

    /// <summary>Builds the encoder for <paramref name="shape"/> images.</summary>
    public ConvEncoder(ImageShape shape, int outputs, int width = 32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate(nameof(ConvEncoder));
        if (outputs < 1 || width < 1) throw new ArgumentException($"ConvEncoder: outputs and width must be positive, got {outputs} and {width}");
        Shape = shape;
        int side = shape.Size / 4;
        features = new Sequential(
            new Conv2d(shape.Channels, width, 4, stride: 2, padding: 1), new ReLU(),      // (N, w, S/2, S/2)
            new Conv2d(width, 2 * width, 4, stride: 2, padding: 1), new ReLU(),           // (N, 2w, S/4, S/4)
            new Flatten());
        head = new Linear(2 * width * side * side, outputs);
    }

    /// <summary>The images it encodes.</summary>
    public ImageShape Shape { get; }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor images)
    {
        Shape.Check(images, nameof(ConvEncoder));
        return head.Call(features.Call(images));
    }
}

/// <summary>
/// The mirror of <see cref="ConvEncoder"/>: Linear to 2·<c>width</c>×S/4×S/4, ReLU, then two stride-2 4×4 transposed
/// convolutions (torch.nn.ConvTranspose2d) back to C×S×S. Returns logits (no final activation). (N, latent) → (N, C, S, S).
/// </summary>
public sealed class ConvDecoder : Module<Tensor, Tensor>
{
    readonly Linear project;
    readonly Sequential upsample;
    readonly int width, side;

    /// <summary>Builds the decoder for <paramref name="shape"/> images from <paramref name="latent"/> features.</summary>
    public ConvDecoder(ImageShape shape, int latent, int width = 32)
    {
        ArgumentNullException.ThrowIfNull(shape);
        shape.Validate(nameof(ConvDecoder));
        if (latent < 1 || width < 1) throw new ArgumentException($"ConvDecoder: latent and width must be positive, got {latent} and {width}");
        this.width = width; side = shape.Size / 4;
        project = new Linear(latent, 2 * width * side * side);
        upsample = new Sequential(
            new ConvTranspose2d(2 * width, width, 4, stride: 2, padding: 1), new ReLU(),  // (N, w, S/2, S/2)
            new ConvTranspose2d(width, shape.Channels, 4, stride: 2, padding: 1));        // (N, C, S, S)
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor latent)
    {
        ArgumentNullException.ThrowIfNull(latent);
        var h = project.Call(latent).Relu().View(latent.Shape[0], 2 * width, side, side);
        return upsample.Call(h);
    }
}

/// <summary>
/// A convolutional autoencoder: <see cref="ConvEncoder"/> to a <c>latent</c>-wide code, <see cref="ConvDecoder"/> back,
/// and a sigmoid, so reconstructions are in [0, 1] like the inputs. Train it with a mean-squared (or binary
/// cross-entropy) reconstruction loss: <c>new Trainer(ae, opt, F.MseLoss)</c> on (noisy input, clean target) pairs, or
/// with <see cref="AutoencoderSteps.Reconstruction"/> as the custom step (which also adds the denoising corruption).
/// </summary>
public sealed class ConvAutoencoder : Module<Tensor, Tensor>
{
    readonly ConvEncoder encoder;
    readonly ConvDecoder decoder;

    /// <summary>Builds the autoencoder for <paramref name="shape"/> images with a <paramref name="latent"/>-wide code.</summary>
    public ConvAutoencoder(ImageShape shape, int latent = 32, int width = 32)
    {
        encoder = new ConvEncoder(shape, latent, width);
        decoder = new ConvDecoder(shape, latent, width);
        Shape = shape; Latent = latent;
    }

    /// <summary>The images it reconstructs.</summary>
    public ImageShape Shape { get; }
    /// <summary>Width of the code.</summary>
    public int Latent { get; }

    /// <summary>Images (N, C, S, S) → codes (N, latent).</summary>
    public Tensor Encode(Tensor images) => encoder.Call(images);

    /// <summary>Codes (N, latent) → reconstructions (N, C, S, S) in [0, 1].</summary>
    public Tensor Decode(Tensor codes) => decoder.Call(codes).Sigmoid();

    /// <inheritdoc/>
    public override Tensor Forward(Tensor images) => Decode(Encode(images));
}
