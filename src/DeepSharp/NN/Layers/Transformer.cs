namespace DeepSharp.NN;

/// <summary>
/// A stack of <see cref="TransformerEncoderLayer"/>s (torch.nn.TransformerEncoder): <c>numLayers</c> independent copies of
/// the given layer (deep copies, so all start with its weights, as in PyTorch) under "layers.0", "layers.1", ..., then
/// an optional final "norm".
/// </summary>
public class TransformerEncoder : Module<Tensor, Tensor>
{
    /// <summary>The copies of the layer (layers).</summary>
    [TorchName("layers")] public ModuleList Layers { get; private set; }
    /// <summary>The optional final normalisation (norm), e.g. a LayerNorm for pre-norm stacks.</summary>
    [TorchName("norm")] public Module<Tensor, Tensor>? Norm { get; private set; }

    /// <summary>Number of layers (num_layers).</summary>
    public int NumLayers => Layers.Count;

    /// <summary>Builds the stack from copies of <paramref name="encoderLayer"/> (torch.nn.TransformerEncoder(encoder_layer, num_layers, norm)).</summary>
    public TransformerEncoder(TransformerEncoderLayer encoderLayer, int numLayers, Module<Tensor, Tensor>? norm = null)
    {
        ArgumentNullException.ThrowIfNull(encoderLayer);
        if (numLayers < 0) throw new ArgumentOutOfRangeException(nameof(numLayers), $"TransformerEncoder: numLayers must be non-negative, got {numLayers}");
        Layers = new ModuleList(Enumerable.Range(0, numLayers).Select(_ => (Module)encoderLayer.Clone()));
        Norm = norm;
    }

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public TransformerEncoderLayer this[int index] => (TransformerEncoderLayer)Layers[index];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor src) => Forward(src, null);

    /// <summary>Runs the stack through the hooks (<c>encoder(src, mask, ...)</c>); see <see cref="Forward(Tensor, Tensor?, Tensor?, bool, KeyValueCache?)"/>.</summary>
    public Tensor Call(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false, KeyValueCache? cache = null) =>
        Invoke(this, (src, mask, srcKeyPaddingMask, isCausal, cache), static (m, a) => m.Forward(a.src, a.mask, a.srcKeyPaddingMask, a.isCausal, a.cache));

    /// <summary>
    /// Runs every layer then the norm (torch.nn.TransformerEncoder.forward(src, mask, src_key_padding_mask, is_causal)).
    /// With <paramref name="cache"/>, layer i appends to and attends over <c>cache[i]</c> (incremental decoding of a
    /// decoder-only model built from encoder layers and a causal mask).
    /// </summary>
    public Tensor Forward(Tensor src, Tensor? mask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false, KeyValueCache? cache = null)
    {
        var x = src;
        for (int i = 0; i < Layers.Count; i++) x = this[i].Call(x, mask, srcKeyPaddingMask, isCausal, cache?[i]);
        return Norm != null ? Norm.Call(x) : x;
    }
}

/// <summary>
/// A stack of <see cref="TransformerDecoderLayer"/>s (torch.nn.TransformerDecoder): deep copies under "layers.0", ...,
/// then an optional final "norm".
/// </summary>
public class TransformerDecoder : Module<Tensor, Tensor, Tensor>
{
    /// <summary>The copies of the layer (layers).</summary>
    [TorchName("layers")] public ModuleList Layers { get; private set; }
    /// <summary>The optional final normalisation (norm).</summary>
    [TorchName("norm")] public Module<Tensor, Tensor>? Norm { get; private set; }

    /// <summary>Number of layers (num_layers).</summary>
    public int NumLayers => Layers.Count;

    /// <summary>Builds the stack from copies of <paramref name="decoderLayer"/> (torch.nn.TransformerDecoder(decoder_layer, num_layers, norm)).</summary>
    public TransformerDecoder(TransformerDecoderLayer decoderLayer, int numLayers, Module<Tensor, Tensor>? norm = null)
    {
        ArgumentNullException.ThrowIfNull(decoderLayer);
        if (numLayers < 0) throw new ArgumentOutOfRangeException(nameof(numLayers), $"TransformerDecoder: numLayers must be non-negative, got {numLayers}");
        Layers = new ModuleList(Enumerable.Range(0, numLayers).Select(_ => (Module)decoderLayer.Clone()));
        Norm = norm;
    }

    /// <summary>The layer at <paramref name="index"/>.</summary>
    public TransformerDecoderLayer this[int index] => (TransformerDecoderLayer)Layers[index];

    /// <summary>Decodes <paramref name="tgt"/> against <paramref name="memory"/> without masks (torch.nn.TransformerDecoder.forward(tgt, memory)).</summary>
    public override Tensor Forward(Tensor tgt, Tensor memory) => Forward(tgt, memory, null);

    /// <summary>Runs the stack through the hooks (<c>decoder(tgt, memory, ...)</c>); see the full <c>Forward</c>.</summary>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false, KeyValueCache? cache = null) =>
        Invoke(this, (tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal, cache),
            static (m, a) => m.Forward(a.tgt, a.memory, a.tgtMask, a.memoryMask, a.tgtKeyPaddingMask, a.memoryKeyPaddingMask,
                a.tgtIsCausal, a.memoryIsCausal, a.cache));

    /// <summary>
    /// Runs every layer then the norm (torch.nn.TransformerDecoder.forward(tgt, memory, tgt_mask, memory_mask,
    /// tgt_key_padding_mask, memory_key_padding_mask, tgt_is_causal, memory_is_causal)); <paramref name="cache"/> makes
    /// the self-attention of every layer incremental.
    /// </summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false, KeyValueCache? cache = null)
    {
        var x = tgt;
        for (int i = 0; i < Layers.Count; i++)
            x = this[i].Call(x, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal, cache?[i]);
        return Norm != null ? Norm.Call(x) : x;
    }
}

/// <summary>
/// The encoder-decoder Transformer of "Attention Is All You Need" (torch.nn.Transformer): a
/// <see cref="TransformerEncoder"/> ("encoder") and a <see cref="TransformerDecoder"/> ("decoder"), each with a final
/// LayerNorm; every parameter with more than one dim re-initialised with xavier_uniform, as in PyTorch.
/// </summary>
public class Transformer : Module<Tensor, Tensor, Tensor>
{
    /// <summary>Model size (d_model).</summary>
    public int DModel { get; }
    /// <summary>Number of heads (nhead).</summary>
    public int NHead { get; }
    /// <summary>Whether tensors are (N, S, E) (batch_first).</summary>
    public bool BatchFirst { get; }

    /// <summary>The encoder stack (encoder).</summary>
    [TorchName("encoder")] public TransformerEncoder Encoder { get; private set; }
    /// <summary>The decoder stack (decoder).</summary>
    [TorchName("decoder")] public TransformerDecoder Decoder { get; private set; }

    /// <summary>
    /// Creates the model (torch.nn.Transformer(d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
    /// dim_feedforward=2048, dropout=0.1, activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)).
    /// </summary>
    public Transformer(int dModel = 512, int nhead = 8, int numEncoderLayers = 6, int numDecoderLayers = 6, int dimFeedforward = 2048,
        double dropout = 0.1, TransformerActivation? activation = null, double layerNormEps = 1e-5, bool batchFirst = false,
        bool normFirst = false, bool bias = true, DType dtype = DType.Float32)
    {
        DModel = dModel; NHead = nhead; BatchFirst = batchFirst;
        var encoderLayer = new TransformerEncoderLayer(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, bias, dtype);
        Encoder = new TransformerEncoder(encoderLayer, numEncoderLayers, new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype));
        var decoderLayer = new TransformerDecoderLayer(dModel, nhead, dimFeedforward, dropout, activation, layerNormEps, batchFirst, normFirst, bias, dtype);
        Decoder = new TransformerDecoder(decoderLayer, numDecoderLayers, new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype));
        ResetParameters();
    }

    /// <summary>xavier_uniform on every parameter with more than one dim (Transformer._reset_parameters).</summary>
    public void ResetParameters(Generator? generator = null)
    {
        foreach (var p in Parameters()) if (p.Rank > 1) Init.XavierUniform(p, generator: generator);
    }

    /// <summary>Encodes <paramref name="src"/> and decodes <paramref name="tgt"/> without masks (torch.nn.Transformer.forward(src, tgt)).</summary>
    public override Tensor Forward(Tensor src, Tensor tgt) => Forward(src, tgt, null);

    /// <summary>Runs the model through the hooks (<c>transformer(src, tgt, ...)</c>); see the full <c>Forward</c>.</summary>
    public Tensor Call(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null,
        Tensor? srcKeyPaddingMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null,
        bool srcIsCausal = false, bool tgtIsCausal = false, bool memoryIsCausal = false) =>
        Invoke(this, (src, tgt, srcMask, tgtMask, memoryMask, srcKeyPaddingMask, tgtKeyPaddingMask, memoryKeyPaddingMask, srcIsCausal, tgtIsCausal, memoryIsCausal),
            static (m, a) => m.Forward(a.src, a.tgt, a.srcMask, a.tgtMask, a.memoryMask, a.srcKeyPaddingMask, a.tgtKeyPaddingMask,
                a.memoryKeyPaddingMask, a.srcIsCausal, a.tgtIsCausal, a.memoryIsCausal));

    /// <summary>
    /// Encodes <paramref name="src"/> and decodes <paramref name="tgt"/> against it (torch.nn.Transformer.forward(src, tgt,
    /// src_mask, tgt_mask, memory_mask, src_key_padding_mask, tgt_key_padding_mask, memory_key_padding_mask)).
    /// </summary>
    public Tensor Forward(Tensor src, Tensor tgt, Tensor? srcMask = null, Tensor? tgtMask = null, Tensor? memoryMask = null,
        Tensor? srcKeyPaddingMask = null, Tensor? tgtKeyPaddingMask = null, Tensor? memoryKeyPaddingMask = null,
        bool srcIsCausal = false, bool tgtIsCausal = false, bool memoryIsCausal = false)
    {
        ArgumentNullException.ThrowIfNull(src); ArgumentNullException.ThrowIfNull(tgt);
        bool batched = src.Rank == 3;
        if (src.Rank != tgt.Rank)
            throw new ArgumentException($"Transformer: src and tgt must both be batched or both unbatched, got {ShapeUtil.Format(src.shape)} and {ShapeUtil.Format(tgt.shape)}");
        if (batched && src.shape[BatchFirst ? 0 : 1] != tgt.shape[BatchFirst ? 0 : 1])
            throw new ArgumentException($"Transformer: the batch number of src {ShapeUtil.Format(src.shape)} and tgt {ShapeUtil.Format(tgt.shape)} must be equal");
        if (src.shape[^1] != DModel || tgt.shape[^1] != DModel)
            throw new ArgumentException($"Transformer: the feature number of src {ShapeUtil.Format(src.shape)} and tgt {ShapeUtil.Format(tgt.shape)} must be equal to d_model ({DModel})");
        var memory = Encoder.Call(src, srcMask, srcKeyPaddingMask, srcIsCausal);
        return Decoder.Call(tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal);
    }

    /// <summary>An additive (size, size) mask with −∞ above the diagonal (torch.nn.Transformer.generate_square_subsequent_mask).</summary>
    public static Tensor GenerateSquareSubsequentMask(int size, DType dtype = DType.Float32) => F.CausalMask(size, dtype);
}
