namespace DeepSharp.NN;

/// <summary>
/// The feed-forward activation of a Transformer layer (the activation argument of torch.nn.TransformerEncoderLayer:
/// "relu", "gelu" or a callable). Strings convert implicitly: <c>activation: "gelu"</c>.
/// </summary>
public readonly struct TransformerActivation
{
    /// <summary>"relu", "gelu" or the name given to a custom function.</summary>
    public string Name { get; }
    /// <summary>The function applied elementwise.</summary>
    public Func<Tensor, Tensor> Function { get; }

    TransformerActivation(string name, Func<Tensor, Tensor> function) { Name = name; Function = function; }

    /// <summary>ReLU (the default, F.relu).</summary>
    public static TransformerActivation Relu { get; } = new("relu", x => F.Relu(x));
    /// <summary>Exact GELU (F.gelu).</summary>
    public static TransformerActivation Gelu { get; } = new("gelu", x => F.Gelu(x));

    /// <summary>Any elementwise function (a callable activation in PyTorch).</summary>
    public static TransformerActivation Custom(Func<Tensor, Tensor> function, string name = "custom")
    {
        ArgumentNullException.ThrowIfNull(function);
        return new(name, function);
    }

    /// <summary>"relu" or "gelu" (PyTorch's accepted strings); anything else throws.</summary>
    public static implicit operator TransformerActivation(string name) => name switch
    {
        "relu" => Relu,
        "gelu" => Gelu,
        _ => throw new ArgumentException($"TransformerActivation: activation should be \"relu\" or \"gelu\", not \"{name}\" (use TransformerActivation.Custom for other functions)", nameof(name)),
    };

    /// <summary>A custom function.</summary>
    public static implicit operator TransformerActivation(Func<Tensor, Tensor> function) => Custom(function);

    /// <summary>Applies the activation.</summary>
    public Tensor Apply(Tensor x) => (Function ?? Relu.Function)(x);
}

/// <summary>
/// One Transformer encoder block (torch.nn.TransformerEncoderLayer): self-attention and a feed-forward network
/// linear2(dropout(activation(linear1(x)))), each with a residual connection and LayerNorm — after the residual
/// (post-norm, the default, as in "Attention Is All You Need") or before the sublayer (pre-norm, <see cref="NormFirst"/>).
/// Keys as in PyTorch: self_attn.in_proj_weight, self_attn.out_proj.weight, linear1.weight, linear2.weight, norm1.weight, ...
/// Input (S, N, E), (N, S, E) with batchFirst, or unbatched (S, E).
/// </summary>
public class TransformerEncoderLayer : Module<Tensor, Tensor>
{
    /// <summary>Model size (d_model).</summary>
    public int DModel { get; }
    /// <summary>Number of attention heads (nhead).</summary>
    public int NHead { get; }
    /// <summary>Hidden size of the feed-forward network (dim_feedforward).</summary>
    public int DimFeedforward { get; }
    /// <summary>Dropout probability (dropout).</summary>
    public double DropoutP { get; }
    /// <summary>LayerNorm epsilon (layer_norm_eps).</summary>
    public double LayerNormEps { get; }
    /// <summary>Whether tensors are (N, S, E) (batch_first).</summary>
    public bool BatchFirst { get; }
    /// <summary>Pre-norm (true) or post-norm (norm_first).</summary>
    public bool NormFirst { get; }
    /// <summary>Whether the linear layers and norms have biases (bias).</summary>
    public bool HasBias { get; }
    /// <summary>The feed-forward activation (activation).</summary>
    public TransformerActivation Activation { get; }

    /// <summary>Self-attention (self_attn).</summary>
    [TorchName("self_attn")] public MultiheadAttention SelfAttn { get; private set; }
    /// <summary>First feed-forward layer (linear1).</summary>
    [TorchName("linear1")] public Linear Linear1 { get; private set; }
    /// <summary>Dropout inside the feed-forward network (dropout).</summary>
    [TorchName("dropout")] public Dropout Dropout { get; private set; }
    /// <summary>Second feed-forward layer (linear2).</summary>
    [TorchName("linear2")] public Linear Linear2 { get; private set; }
    /// <summary>Norm of the attention sublayer (norm1).</summary>
    [TorchName("norm1")] public LayerNorm Norm1 { get; private set; }
    /// <summary>Norm of the feed-forward sublayer (norm2).</summary>
    [TorchName("norm2")] public LayerNorm Norm2 { get; private set; }
    /// <summary>Dropout after attention (dropout1).</summary>
    [TorchName("dropout1")] public Dropout Dropout1 { get; private set; }
    /// <summary>Dropout after the feed-forward network (dropout2).</summary>
    [TorchName("dropout2")] public Dropout Dropout2 { get; private set; }

    /// <summary>
    /// Creates the block (torch.nn.TransformerEncoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    /// activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)).
    /// </summary>
    public TransformerEncoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, TransformerActivation? activation = null,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType dtype = DType.Float32)
    {
        if (dimFeedforward <= 0) throw new ArgumentOutOfRangeException(nameof(dimFeedforward), $"TransformerEncoderLayer: dimFeedforward must be positive, got {dimFeedforward}");
        DModel = dModel; NHead = nhead; DimFeedforward = dimFeedforward; DropoutP = dropout; LayerNormEps = layerNormEps;
        BatchFirst = batchFirst; NormFirst = normFirst; HasBias = bias; Activation = activation ?? TransformerActivation.Relu;
        SelfAttn = new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst, dtype: dtype);
        Linear1 = new Linear(dModel, dimFeedforward, bias, dtype);
        Dropout = new Dropout(dropout);
        Linear2 = new Linear(dimFeedforward, dModel, bias, dtype);
        Norm1 = new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype);
        Norm2 = new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype);
        Dropout1 = new Dropout(dropout);
        Dropout2 = new Dropout(dropout);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor src) => Forward(src, null);

    /// <summary>Runs the block through the hooks (<c>layer(src, src_mask, ...)</c>); see the full <c>Forward</c>.</summary>
    public Tensor Call(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false, LayerKeyValueCache? cache = null) =>
        Invoke(this, (src, srcMask, srcKeyPaddingMask, isCausal, cache), static (m, a) => m.Forward(a.src, a.srcMask, a.srcKeyPaddingMask, a.isCausal, a.cache));

    /// <summary>
    /// Runs the block (torch.nn.TransformerEncoderLayer.forward(src, src_mask, src_key_padding_mask, is_causal)).
    /// Masks follow <see cref="MultiheadAttention"/> (bool true = masked out, or additive float). <paramref name="isCausal"/>
    /// applies a causal mask; <paramref name="cache"/> makes self-attention incremental (see <see cref="LayerKeyValueCache"/>).
    /// </summary>
    public Tensor Forward(Tensor src, Tensor? srcMask = null, Tensor? srcKeyPaddingMask = null, bool isCausal = false, LayerKeyValueCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(src);
        var x = src;
        if (NormFirst)
        {
            x = x.Add(SelfAttentionBlock(Norm1.Call(x), srcMask, srcKeyPaddingMask, isCausal, cache));
            x = x.Add(FeedForwardBlock(Norm2.Call(x)));
        }
        else
        {
            x = Norm1.Call(x.Add(SelfAttentionBlock(x, srcMask, srcKeyPaddingMask, isCausal, cache)));
            x = Norm2.Call(x.Add(FeedForwardBlock(x)));
        }
        return x;
    }

    Tensor SelfAttentionBlock(Tensor x, Tensor? mask, Tensor? keyPaddingMask, bool isCausal, LayerKeyValueCache? cache) =>
        Dropout1.Call(cache == null
            ? SelfAttn.Call(x, x, x, keyPaddingMask, needWeights: false, attnMask: mask, isCausal: isCausal).Output
            : IncrementalAttention.CallSelfAttention(SelfAttn, x, cache, mask, keyPaddingMask, isCausal));

    Tensor FeedForwardBlock(Tensor x) => Dropout2.Call(Linear2.Call(Dropout.Call(Activation.Apply(Linear1.Call(x)))));

    /// <summary>An independent copy with equal parameters and mode (copy.deepcopy(layer)); the global random stream is not used.</summary>
    public TransformerEncoderLayer Clone()
    {
        TransformerEncoderLayer copy;
        using (DeepSharp.Random.UseOnThisThread(new Generator(0)))
            copy = new TransformerEncoderLayer(DModel, NHead, DimFeedforward, DropoutP, Activation, LayerNormEps, BatchFirst, NormFirst, HasBias, Linear1.Weight.DType);
        TransformerCopy.CopyState(this, copy);
        return copy;
    }
}

/// <summary>
/// One Transformer decoder block (torch.nn.TransformerDecoderLayer): self-attention over the target, cross-attention
/// (multihead_attn) over the encoder's memory and a feed-forward network, each with a residual connection and LayerNorm,
/// post-norm by default or pre-norm with <see cref="NormFirst"/>. Keys: self_attn.*, multihead_attn.*, linear1.*,
/// linear2.*, norm1/2/3.*. Target (T, N, E), memory (S, N, E), or batch-first, or unbatched.
/// </summary>
public class TransformerDecoderLayer : Module<Tensor, Tensor, Tensor>
{
    /// <summary>Model size (d_model).</summary>
    public int DModel { get; }
    /// <summary>Number of attention heads (nhead).</summary>
    public int NHead { get; }
    /// <summary>Hidden size of the feed-forward network (dim_feedforward).</summary>
    public int DimFeedforward { get; }
    /// <summary>Dropout probability (dropout).</summary>
    public double DropoutP { get; }
    /// <summary>LayerNorm epsilon (layer_norm_eps).</summary>
    public double LayerNormEps { get; }
    /// <summary>Whether tensors are (N, T, E) (batch_first).</summary>
    public bool BatchFirst { get; }
    /// <summary>Pre-norm (true) or post-norm (norm_first).</summary>
    public bool NormFirst { get; }
    /// <summary>Whether the linear layers and norms have biases (bias).</summary>
    public bool HasBias { get; }
    /// <summary>The feed-forward activation (activation).</summary>
    public TransformerActivation Activation { get; }

    /// <summary>Self-attention over the target (self_attn).</summary>
    [TorchName("self_attn")] public MultiheadAttention SelfAttn { get; private set; }
    /// <summary>Cross-attention over the memory (multihead_attn).</summary>
    [TorchName("multihead_attn")] public MultiheadAttention MultiheadAttn { get; private set; }
    /// <summary>First feed-forward layer (linear1).</summary>
    [TorchName("linear1")] public Linear Linear1 { get; private set; }
    /// <summary>Dropout inside the feed-forward network (dropout).</summary>
    [TorchName("dropout")] public Dropout Dropout { get; private set; }
    /// <summary>Second feed-forward layer (linear2).</summary>
    [TorchName("linear2")] public Linear Linear2 { get; private set; }
    /// <summary>Norm of the self-attention sublayer (norm1).</summary>
    [TorchName("norm1")] public LayerNorm Norm1 { get; private set; }
    /// <summary>Norm of the cross-attention sublayer (norm2).</summary>
    [TorchName("norm2")] public LayerNorm Norm2 { get; private set; }
    /// <summary>Norm of the feed-forward sublayer (norm3).</summary>
    [TorchName("norm3")] public LayerNorm Norm3 { get; private set; }
    /// <summary>Dropout after self-attention (dropout1).</summary>
    [TorchName("dropout1")] public Dropout Dropout1 { get; private set; }
    /// <summary>Dropout after cross-attention (dropout2).</summary>
    [TorchName("dropout2")] public Dropout Dropout2 { get; private set; }
    /// <summary>Dropout after the feed-forward network (dropout3).</summary>
    [TorchName("dropout3")] public Dropout Dropout3 { get; private set; }

    /// <summary>
    /// Creates the block (torch.nn.TransformerDecoderLayer(d_model, nhead, dim_feedforward=2048, dropout=0.1,
    /// activation="relu", layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True)).
    /// </summary>
    public TransformerDecoderLayer(int dModel, int nhead, int dimFeedforward = 2048, double dropout = 0.1, TransformerActivation? activation = null,
        double layerNormEps = 1e-5, bool batchFirst = false, bool normFirst = false, bool bias = true, DType dtype = DType.Float32)
    {
        if (dimFeedforward <= 0) throw new ArgumentOutOfRangeException(nameof(dimFeedforward), $"TransformerDecoderLayer: dimFeedforward must be positive, got {dimFeedforward}");
        DModel = dModel; NHead = nhead; DimFeedforward = dimFeedforward; DropoutP = dropout; LayerNormEps = layerNormEps;
        BatchFirst = batchFirst; NormFirst = normFirst; HasBias = bias; Activation = activation ?? TransformerActivation.Relu;
        SelfAttn = new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst, dtype: dtype);
        MultiheadAttn = new MultiheadAttention(dModel, nhead, dropout, bias, batchFirst: batchFirst, dtype: dtype);
        Linear1 = new Linear(dModel, dimFeedforward, bias, dtype);
        Dropout = new Dropout(dropout);
        Linear2 = new Linear(dimFeedforward, dModel, bias, dtype);
        Norm1 = new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype);
        Norm2 = new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype);
        Norm3 = new LayerNorm(dModel, layerNormEps, bias: bias, dtype: dtype);
        Dropout1 = new Dropout(dropout);
        Dropout2 = new Dropout(dropout);
        Dropout3 = new Dropout(dropout);
    }

    /// <summary>Runs the block without masks (torch.nn.TransformerDecoderLayer.forward(tgt, memory)).</summary>
    public override Tensor Forward(Tensor tgt, Tensor memory) => Forward(tgt, memory, null);

    /// <summary>Runs the block through the hooks (<c>layer(tgt, memory, ...)</c>); see the full <c>Forward</c>.</summary>
    public Tensor Call(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false, LayerKeyValueCache? cache = null) =>
        Invoke(this, (tgt, memory, tgtMask, memoryMask, tgtKeyPaddingMask, memoryKeyPaddingMask, tgtIsCausal, memoryIsCausal, cache),
            static (m, a) => m.Forward(a.tgt, a.memory, a.tgtMask, a.memoryMask, a.tgtKeyPaddingMask, a.memoryKeyPaddingMask,
                a.tgtIsCausal, a.memoryIsCausal, a.cache));

    /// <summary>
    /// Runs the block (torch.nn.TransformerDecoderLayer.forward(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
    /// memory_key_padding_mask, tgt_is_causal, memory_is_causal)). <paramref name="cache"/> makes the self-attention incremental
    /// and, without gradient recording, keeps the cross-attention's projected memory (<see cref="LayerKeyValueCache.Memory"/>).
    /// </summary>
    public Tensor Forward(Tensor tgt, Tensor memory, Tensor? tgtMask = null, Tensor? memoryMask = null, Tensor? tgtKeyPaddingMask = null,
        Tensor? memoryKeyPaddingMask = null, bool tgtIsCausal = false, bool memoryIsCausal = false, LayerKeyValueCache? cache = null)
    {
        ArgumentNullException.ThrowIfNull(tgt); ArgumentNullException.ThrowIfNull(memory);
        var x = tgt;
        if (NormFirst)
        {
            x = x.Add(SelfAttentionBlock(Norm1.Call(x), tgtMask, tgtKeyPaddingMask, tgtIsCausal, cache));
            x = x.Add(CrossAttentionBlock(Norm2.Call(x), memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal, cache));
            x = x.Add(FeedForwardBlock(Norm3.Call(x)));
        }
        else
        {
            x = Norm1.Call(x.Add(SelfAttentionBlock(x, tgtMask, tgtKeyPaddingMask, tgtIsCausal, cache)));
            x = Norm2.Call(x.Add(CrossAttentionBlock(x, memory, memoryMask, memoryKeyPaddingMask, memoryIsCausal, cache)));
            x = Norm3.Call(x.Add(FeedForwardBlock(x)));
        }
        return x;
    }

    Tensor SelfAttentionBlock(Tensor x, Tensor? mask, Tensor? keyPaddingMask, bool isCausal, LayerKeyValueCache? cache) =>
        Dropout1.Call(cache == null
            ? SelfAttn.Call(x, x, x, keyPaddingMask, needWeights: false, attnMask: mask, isCausal: isCausal).Output
            : IncrementalAttention.CallSelfAttention(SelfAttn, x, cache, mask, keyPaddingMask, isCausal));

    Tensor CrossAttentionBlock(Tensor x, Tensor memory, Tensor? mask, Tensor? keyPaddingMask, bool isCausal, LayerKeyValueCache? cache) =>
        Dropout2.Call(cache == null
            ? MultiheadAttn.Call(x, memory, memory, keyPaddingMask, needWeights: false, attnMask: mask, isCausal: isCausal).Output
            : IncrementalAttention.CallCrossAttention(MultiheadAttn, x, memory, memory, cache.Memory, mask, keyPaddingMask, isCausal));

    Tensor FeedForwardBlock(Tensor x) => Dropout3.Call(Linear2.Call(Dropout.Call(Activation.Apply(Linear1.Call(x)))));

    /// <summary>An independent copy with equal parameters and mode (copy.deepcopy(layer)); the global random stream is not used.</summary>
    public TransformerDecoderLayer Clone()
    {
        TransformerDecoderLayer copy;
        using (DeepSharp.Random.UseOnThisThread(new Generator(0)))
            copy = new TransformerDecoderLayer(DModel, NHead, DimFeedforward, DropoutP, Activation, LayerNormEps, BatchFirst, NormFirst, HasBias, Linear1.Weight.DType);
        TransformerCopy.CopyState(this, copy);
        return copy;
    }
}

/// <summary>Helpers for deep copies of Transformer blocks.</summary>
internal static class TransformerCopy
{
    /// <summary>Copies parameter values, requires-grad flags, training mode and dropout generators from one block into an identically built one.</summary>
    public static void CopyState(Module source, Module target)
    {
        TensorScope.Suspend(() => target.LoadStateDict(source.StateDict()));
        var sourceParameters = source.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        foreach (var (name, p) in target.NamedParameters()) p.RequiresGrad = sourceParameters[name].RequiresGrad;
        var sourceModules = source.NamedModules().ToDictionary(m => m.Name, m => m.Module);
        foreach (var (name, m) in target.NamedModules())
        {
            var s = sourceModules[name];
            if (!s.IsTraining) m.Eval();
            if (s is Dropout sd && m is Dropout td) td.Generator = sd.Generator;
        }
    }
}
