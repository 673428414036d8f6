using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// The hyperparameters of a <see cref="VisionTransformer"/> (the arguments of torchvision.models.VisionTransformer).
/// </summary>
/// <param name="ImageSize">Height and width of the (square) input images; must be a multiple of <paramref name="PatchSize"/>.</param>
/// <param name="PatchSize">Side of the square patches that become tokens.</param>
/// <param name="NumLayers">Number of encoder blocks.</param>
/// <param name="NumHeads">Attention heads per block; must divide <paramref name="HiddenDim"/>.</param>
/// <param name="HiddenDim">Token width (embedding dimension).</param>
/// <param name="MlpDim">Hidden width of each block's MLP.</param>
public sealed record ViTConfig(int ImageSize, int PatchSize, int NumLayers, int NumHeads, int HiddenDim, int MlpDim)
{
    /// <summary>Dropout after the position embedding, the attention and inside the MLP (dropout; 0).</summary>
    public double Dropout { get; init; }
    /// <summary>Dropout of the attention weights (attention_dropout; 0).</summary>
    public double AttentionDropout { get; init; }
    /// <summary>Width of the optional pre-logits layer (Linear + tanh) before the head (representation_size; null = none).</summary>
    public int? RepresentationSize { get; init; }

    /// <summary>Tokens per image: one per patch plus the class token (seq_length).</summary>
    public int SeqLength => (ImageSize / PatchSize) * (ImageSize / PatchSize) + 1;

    /// <summary>ViT-B/16: patch 16, 12 layers, 12 heads, width 768, MLP 3072 (torchvision.models.vit_b_16).</summary>
    public static ViTConfig B16(int imageSize = 224) => new(imageSize, 16, 12, 12, 768, 3072);
    /// <summary>ViT-B/32: patch 32, 12 layers, 12 heads, width 768, MLP 3072 (torchvision.models.vit_b_32).</summary>
    public static ViTConfig B32(int imageSize = 224) => new(imageSize, 32, 12, 12, 768, 3072);
    /// <summary>ViT-L/16: patch 16, 24 layers, 16 heads, width 1024, MLP 4096 (torchvision.models.vit_l_16).</summary>
    public static ViTConfig L16(int imageSize = 224) => new(imageSize, 16, 24, 16, 1024, 4096);
    /// <summary>ViT-L/32: patch 32, 24 layers, 16 heads, width 1024, MLP 4096 (torchvision.models.vit_l_32).</summary>
    public static ViTConfig L32(int imageSize = 224) => new(imageSize, 32, 24, 16, 1024, 4096);
    /// <summary>ViT-H/14: patch 14, 32 layers, 16 heads, width 1280, MLP 5120 (torchvision.models.vit_h_14).</summary>
    public static ViTConfig H14(int imageSize = 224) => new(imageSize, 14, 32, 16, 1280, 5120);

    internal void Validate()
    {
        if (PatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(PatchSize), $"VisionTransformer: patchSize must be positive, got {PatchSize}");
        if (ImageSize <= 0 || ImageSize % PatchSize != 0)
            throw new ArgumentException($"VisionTransformer: imageSize ({ImageSize}) must be a positive multiple of patchSize ({PatchSize})", nameof(ImageSize));
        if (NumLayers <= 0) throw new ArgumentOutOfRangeException(nameof(NumLayers), $"VisionTransformer: numLayers must be positive, got {NumLayers}");
        if (HiddenDim <= 0 || MlpDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(HiddenDim), $"VisionTransformer: hiddenDim ({HiddenDim}) and mlpDim ({MlpDim}) must be positive");
        if (NumHeads <= 0 || HiddenDim % NumHeads != 0)
            throw new ArgumentException($"VisionTransformer: hiddenDim ({HiddenDim}) must be divisible by numHeads ({NumHeads})", nameof(NumHeads));
        if (!(Dropout >= 0 && Dropout <= 1) || !(AttentionDropout >= 0 && AttentionDropout <= 1))
            throw new ArgumentOutOfRangeException(nameof(Dropout), $"VisionTransformer: dropout ({Dropout}) and attentionDropout ({AttentionDropout}) must be in [0, 1]");
        if (RepresentationSize is <= 0)
            throw new ArgumentOutOfRangeException(nameof(RepresentationSize), $"VisionTransformer: representationSize must be positive, got {RepresentationSize}");
    }
}

/// <summary>
/// The feed-forward part of a ViT encoder block (torchvision.models.vision_transformer.MLPBlock, a torchvision.ops.MLP):
/// Linear(hidden, mlp) "0", GELU "1", Dropout "2", Linear(mlp, hidden) "3", Dropout "4". Both linear layers are
/// xavier_uniform with N(0, 1e-6²) biases, as torchvision.
/// </summary>
public sealed class ViTMlpBlock : Sequential
{
    /// <summary>Builds the block (MLPBlock(in_dim, mlp_dim, dropout)).</summary>
    public ViTMlpBlock(int inDim, int mlpDim, double dropout)
        : base(new Linear(inDim, mlpDim), new GELU(), new Dropout(dropout), new Linear(mlpDim, inDim), new Dropout(dropout))
    {
        foreach (var m in Modules())
            if (m is Linear linear)
            {
                Init.XavierUniform(linear.Weight);
                if (linear.Bias != null) Init.Normal(linear.Bias, 0, 1e-6);
            }
    }
}

/// <summary>
/// A pre-norm Transformer encoder block of ViT (torchvision.models.vision_transformer.EncoderBlock):
/// <c>x = x + dropout(attention(ln_1(x)))</c>, then <c>x = x + mlp(ln_2(x))</c>, LayerNorms with eps 1e-6 and a
/// batch-first <see cref="MultiheadAttention"/>. Keys "ln_1", "self_attention", "ln_2", "mlp".
/// </summary>
public sealed class ViTEncoderBlock : Module<Tensor, Tensor>
{
    [TorchName("ln_1")] readonly LayerNorm ln1;
    [TorchName("self_attention")] readonly MultiheadAttention selfAttention;
    readonly Dropout dropout;
    [TorchName("ln_2")] readonly LayerNorm ln2;
    readonly ViTMlpBlock mlp;

    /// <summary>Builds the block (EncoderBlock(num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)).</summary>
    public ViTEncoderBlock(int numHeads, int hiddenDim, int mlpDim, double dropout, double attentionDropout)
    {
        ln1 = new LayerNorm(hiddenDim, eps: 1e-6);
        selfAttention = new MultiheadAttention(hiddenDim, numHeads, attentionDropout, batchFirst: true);
        this.dropout = new Dropout(dropout);
        ln2 = new LayerNorm(hiddenDim, eps: 1e-6);
        mlp = new ViTMlpBlock(hiddenDim, mlpDim, dropout);
    }

    /// <summary>(N, S, hidden) → (N, S, hidden).</summary>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 3)
            throw new ArgumentException($"ViTEncoderBlock: expected (batch_size, seq_length, hidden_dim), got shape ({string.Join(", ", input.Shape)})", nameof(input));
        var x = ln1.Call(input);
        x = dropout.Call(selfAttention.Call(x, x, x, needWeights: false).Output);
        x = x.Add(input);
        return x.Add(mlp.Call(ln2.Call(x)));
    }
}

/// <summary>
/// The ViT encoder (torchvision.models.vision_transformer.Encoder): adds the learned position embedding
/// "pos_embedding" (1, seq_length, hidden), N(0, 0.02²) as in BERT, applies dropout, the blocks
/// "layers.encoder_layer_0" … and a final LayerNorm "ln" (eps 1e-6).
/// </summary>
public sealed class ViTEncoder : Module<Tensor, Tensor>
{
    [TorchName("pos_embedding")] readonly Tensor posEmbedding;
    readonly Dropout dropout;
    readonly Sequential layers;
    readonly LayerNorm ln;

    /// <summary>Builds the encoder (Encoder(seq_length, num_layers, num_heads, hidden_dim, mlp_dim, dropout, attention_dropout)).</summary>
    public ViTEncoder(int seqLength, int numLayers, int numHeads, int hiddenDim, int mlpDim, double dropout, double attentionDropout)
    {
        posEmbedding = Parameter(Tensor.Empty([1, seqLength, hiddenDim]));
        Init.Normal(posEmbedding, 0, 0.02);
        this.dropout = new Dropout(dropout);
        layers = new Sequential();
        for (int i = 0; i < numLayers; i++)
            layers.Add($"encoder_layer_{i}", new ViTEncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout));
        ln = new LayerNorm(hiddenDim, eps: 1e-6);
    }

    /// <summary>(N, seq_length, hidden) → (N, seq_length, hidden).</summary>
    public override Tensor Forward(Tensor input)
    {
        if (input.Rank != 3 || input.Shape[1] != posEmbedding.Shape[1] || input.Shape[2] != posEmbedding.Shape[2])
            throw new ArgumentException($"ViTEncoder: expected (batch_size, {posEmbedding.Shape[1]}, {posEmbedding.Shape[2]}), got shape ({string.Join(", ", input.Shape)})", nameof(input));
        return ln.Call(layers.Call(dropout.Call(input.Add(posEmbedding))));
    }
}

/// <summary>
/// Vision Transformer (torchvision.models.VisionTransformer; Dosovitskiy et al. 2020, arXiv:2010.11929). The image is cut
/// into patches by a strided convolution "conv_proj", a learned "class_token" is prepended, the encoder runs over the
/// tokens, and the head classifies the class token's final state. State-dict keys and shapes match torchvision 0.14
/// ("conv_proj.weight", "class_token", "encoder.pos_embedding", "encoder.layers.encoder_layer_0.self_attention.in_proj_weight",
/// "encoder.layers.encoder_layer_0.mlp.3.bias", "encoder.ln.weight", "heads.head.weight"), and so does the initialisation:
/// conv_proj trunc_normal_(std √(1/fan_in)) with zero bias, class token zeros, position embedding N(0, 0.02²),
/// MultiheadAttention's default, MLP xavier_uniform with N(0, 1e-6²) biases, pre-logits trunc_normal_(std √(1/fan_in)),
/// and a zero head. The position embedding is fixed to <see cref="ViTConfig.ImageSize"/>, so inputs must have exactly
/// that size. torchvision's conv_stem_configs (a convolutional stem) is not provided.
/// </summary>
public sealed class VisionTransformer : Module<Tensor, Tensor>, IClassifierModel
{
    [TorchName("conv_proj")] readonly Conv2d convProj;
    [TorchName("class_token")] readonly Tensor classToken;
    readonly ViTEncoder encoder;
    readonly Sequential heads;

    /// <summary>The hyperparameters.</summary>
    public ViTConfig Config { get; }
    /// <summary>Input channels of the patch projection (3 for torchvision's models).</summary>
    public int InChannels { get; }
    /// <inheritdoc/>
    public int NumClasses { get; private set; }

    /// <summary>Builds the model (torchvision.models.VisionTransformer(image_size, patch_size, num_layers, num_heads, hidden_dim,
    /// mlp_dim, dropout, attention_dropout, num_classes, representation_size)) for <paramref name="inChannels"/>-channel images.</summary>
    public VisionTransformer(ViTConfig config, int numClasses = 1000, int inChannels = 3)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        ZooChecks.Classes(numClasses, inChannels, nameof(VisionTransformer));
        Config = config; InChannels = inChannels; NumClasses = numClasses;
        convProj = new Conv2d(inChannels, config.HiddenDim, config.PatchSize, stride: config.PatchSize);
        classToken = Parameter(Tensor.Zeros([1, 1, config.HiddenDim]));
        encoder = new ViTEncoder(config.SeqLength, config.NumLayers, config.NumHeads, config.HiddenDim, config.MlpDim, config.Dropout, config.AttentionDropout);
        heads = MakeHeads(numClasses);

        int fanIn = inChannels * config.PatchSize * config.PatchSize;
        Init.TruncNormal(convProj.Weight, std: Math.Sqrt(1.0 / fanIn));
        Init.Zeros(convProj.Bias!);
    }

    /// <summary>Builds a model from its hyperparameters (the positional form of torchvision's constructor).</summary>
    public VisionTransformer(int imageSize, int patchSize, int numLayers, int numHeads, int hiddenDim, int mlpDim,
        int numClasses = 1000, int inChannels = 3, double dropout = 0, double attentionDropout = 0, int? representationSize = null)
        : this(new ViTConfig(imageSize, patchSize, numLayers, numHeads, hiddenDim, mlpDim)
        { Dropout = dropout, AttentionDropout = attentionDropout, RepresentationSize = representationSize }, numClasses, inChannels) { }

    Sequential MakeHeads(int numClasses)
    {
        var h = new Sequential();
        if (Config.RepresentationSize is int r)
        {
            var preLogits = new Linear(Config.HiddenDim, r);
            Init.TruncNormal(preLogits.Weight, std: Math.Sqrt(1.0 / Config.HiddenDim));
            Init.Zeros(preLogits.Bias!);
            h.Add("pre_logits", preLogits);
            h.Add("act", new Tanh());
        }
        var head = new Linear(Config.RepresentationSize ?? Config.HiddenDim, numClasses);
        Init.Zeros(head.Weight); Init.Zeros(head.Bias!);
        h.Add("head", head);
        return h;
    }

    /// <summary>ViT-B/16 (torchvision.models.vit_b_16): 86.6 M parameters at 224×224.</summary>
    public static VisionTransformer ViT_B_16(int numClasses = 1000, int inChannels = 3, int imageSize = 224) => new(ViTConfig.B16(imageSize), numClasses, inChannels);
    /// <summary>ViT-B/32 (torchvision.models.vit_b_32): 88.2 M parameters at 224×224.</summary>
    public static VisionTransformer ViT_B_32(int numClasses = 1000, int inChannels = 3, int imageSize = 224) => new(ViTConfig.B32(imageSize), numClasses, inChannels);
    /// <summary>ViT-L/16 (torchvision.models.vit_l_16): 304.3 M parameters at 224×224.</summary>
    public static VisionTransformer ViT_L_16(int numClasses = 1000, int inChannels = 3, int imageSize = 224) => new(ViTConfig.L16(imageSize), numClasses, inChannels);
    /// <summary>ViT-L/32 (torchvision.models.vit_l_32): 306.5 M parameters at 224×224.</summary>
    public static VisionTransformer ViT_L_32(int numClasses = 1000, int inChannels = 3, int imageSize = 224) => new(ViTConfig.L32(imageSize), numClasses, inChannels);
    /// <summary>ViT-H/14 (torchvision.models.vit_h_14): 632.0 M parameters at 224×224 (518×518 for the SWAG weights).</summary>
    public static VisionTransformer ViT_H_14(int numClasses = 1000, int inChannels = 3, int imageSize = 224) => new(ViTConfig.H14(imageSize), numClasses, inChannels);

    /// <summary>The classifier, heads.head (its input is the class token, or the pre-logits output).</summary>
    public Module Head => heads["head"];

    /// <inheritdoc/>
    public IReadOnlyList<string> HeadNames { get; } = ["heads.head"];

    /// <summary>Replaces heads.head by a zero-initialised Linear for <paramref name="numClasses"/> classes (as torchvision initialises it).</summary>
    public void ResetClassifier(int numClasses)
    {
        ZooChecks.Classes(numClasses, InChannels, nameof(VisionTransformer));
        var head = new Linear(((Linear)Head).InFeatures, numClasses);
        Init.Zeros(head.Weight); Init.Zeros(head.Bias!);
        heads["head"] = head;
        NumClasses = numClasses;
    }

    /// <summary>The tokens before the encoder: patches projected and flattened, (N, C, H, W) → (N, (H/p)·(W/p), hidden) (_process_input).</summary>
    public Tensor Patchify(Tensor input)
    {
        ZooChecks.Image(input, 1, nameof(VisionTransformer), InChannels);
        if (input.Shape[2] != Config.ImageSize || input.Shape[3] != Config.ImageSize)
            throw new ArgumentException($"VisionTransformer: input of shape ({string.Join(", ", input.Shape)}) must be {Config.ImageSize}×{Config.ImageSize} " +
                $"(the model was built for image size {Config.ImageSize}; its position embedding has {Config.SeqLength} tokens)", nameof(input));
        int n = input.Shape[0], grid = Config.ImageSize / Config.PatchSize;
        var x = convProj.Call(input);                                   // (N, hidden, grid, grid)
        return x.Reshape(n, Config.HiddenDim, grid * grid).Permute(0, 2, 1);   // (N, grid², hidden)
    }

    /// <summary>The encoder's output for every token, (N, C, H, W) → (N, seq_length, hidden); token 0 is the class token.</summary>
    public Tensor ForwardFeatures(Tensor input)
    {
        var x = Patchify(input);
        int n = x.Shape[0];
        var cls = classToken.Expand(n, 1, Config.HiddenDim);            // (N, 1, hidden)
        return encoder.Call(Tensor.Cat([cls, x], 1));                 // (N, seq_length, hidden)
    }

    /// <summary>(N, C, H, W) → (N, classes).</summary>
    public override Tensor Forward(Tensor input) => heads.Call(ForwardFeatures(input).Select(1, 0));
}
