namespace DeepSharp.NN;

/// <summary>
/// The output projection of <see cref="MultiheadAttention"/> (torch.nn.modules.linear.NonDynamicallyQuantizableLinear):
/// a plain <see cref="Linear"/> whose distinct type exists in PyTorch only to keep quantisation away from it. Keys
/// "out_proj.weight" and "out_proj.bias".
/// </summary>
public class NonDynamicallyQuantizableLinear(int inFeatures, int outFeatures, bool bias = true, DType dtype = DType.Float32)
    : Linear(inFeatures, outFeatures, bias, dtype);

/// <summary>
/// Multi-head attention (torch.nn.MultiheadAttention): the query, key and value are projected, split into
/// <see cref="NumHeads"/> heads of size embed_dim / num_heads, attended with scaled dot-product attention, merged and
/// projected by <see cref="OutProj"/>. Parameters as in PyTorch: "in_proj_weight" (3E, E) and "in_proj_bias" (3E)
/// when key and value have the embedding size, otherwise "q_proj_weight" (E, E), "k_proj_weight" (E, kdim),
/// "v_proj_weight" (E, vdim); "bias_k"/"bias_v" (1, 1, E) with addBiasKv; "out_proj.weight"/"out_proj.bias".
/// <para>
/// Shapes: query (L, N, E), key (S, N, kdim), value (S, N, vdim) — or (N, L, E) … with <see cref="BatchFirst"/> — or
/// unbatched (L, E), (S, kdim), (S, vdim). Output like query; weights (N, L, S) averaged over heads, or (N, H, L, S).
/// Bool masks follow MultiheadAttention's convention: <c>true</c> marks what may NOT be attended (the opposite of
/// <see cref="F.ScaledDotProductAttention"/>); float masks are added to the scores.
/// </para>
/// Without <c>needWeights</c> the heads are attended by the fused lean kernel straight from the projection's memory
/// (one packed q|k|v projection for self-attention), with no reshaping copies in forward or backward.
/// </summary>
public class MultiheadAttention : Module<Tensor, Tensor, Tensor, (Tensor Output, Tensor? Weights)>
{
    /// <summary>Total size of the model (embed_dim).</summary>
    public int EmbedDim { get; }
    /// <summary>Size of the key features (kdim).</summary>
    public int KDim { get; }
    /// <summary>Size of the value features (vdim).</summary>
    public int VDim { get; }
    /// <summary>Number of parallel heads (num_heads).</summary>
    public int NumHeads { get; }
    /// <summary>Size of each head, embed_dim / num_heads (head_dim).</summary>
    public int HeadDim { get; }
    /// <summary>Dropout probability on the attention weights while training (dropout).</summary>
    public double DropoutP { get; }
    /// <summary>Whether batched tensors are (N, L, E) rather than (L, N, E) (batch_first).</summary>
    public bool BatchFirst { get; }
    /// <summary>Whether a zero key and value are appended to the sequences (add_zero_attn).</summary>
    public bool AddZeroAttn { get; }
    /// <summary>Whether q, k and v share one packed projection (_qkv_same_embed_dim).</summary>
    public bool QkvSameEmbedDim => InProjWeight != null;

    /// <summary>Packed q|k|v projection (3E, E) when kdim == vdim == E, else null (in_proj_weight).</summary>
    [TorchName("in_proj_weight")] public Tensor? InProjWeight { get; private set; }
    /// <summary>Query projection (E, E) when kdim or vdim differ from E (q_proj_weight).</summary>
    [TorchName("q_proj_weight")] public Tensor? QProjWeight { get; private set; }
    /// <summary>Key projection (E, kdim) when kdim or vdim differ from E (k_proj_weight).</summary>
    [TorchName("k_proj_weight")] public Tensor? KProjWeight { get; private set; }
    /// <summary>Value projection (E, vdim) when kdim or vdim differ from E (v_proj_weight).</summary>
    [TorchName("v_proj_weight")] public Tensor? VProjWeight { get; private set; }
    /// <summary>Packed q|k|v projection bias (3E), or null without bias (in_proj_bias).</summary>
    [TorchName("in_proj_bias")] public Tensor? InProjBias { get; private set; }
    /// <summary>Learned key appended to every sequence (1, 1, E), with addBiasKv (bias_k).</summary>
    [TorchName("bias_k")] public Tensor? BiasK { get; private set; }
    /// <summary>Learned value appended to every sequence (1, 1, E), with addBiasKv (bias_v).</summary>
    [TorchName("bias_v")] public Tensor? BiasV { get; private set; }
    /// <summary>The output projection (out_proj).</summary>
    [TorchName("out_proj")] public NonDynamicallyQuantizableLinear OutProj { get; private set; }

    /// <summary>
    /// Optional rotary position embedding applied to every head's queries and keys after projection (positions
    /// continue from a <see cref="LayerKeyValueCache"/>'s length). Not part of nn.MultiheadAttention; not registered, so
    /// state-dict keys stay PyTorch's.
    /// </summary>
    [NotRegistered] public RotaryEmbedding? Rotary { get; set; }

    /// <summary>
    /// Optional causal depthwise convolution over time of the packed q|k|v projection (3E channels), applied before the
    /// heads are split: Primer's multi-dconv-head attention (So et al. 2021), which lets each query, key and value mix
    /// the few preceding tokens' projections and makes small language models learn markedly faster per step. Needs
    /// self-attention with the packed in-projection. With a <see cref="LayerKeyValueCache"/> the last k−1 projections are
    /// kept in <see cref="LayerKeyValueCache.ConvState"/>, so incremental decoding gives the full forward's outputs.
    /// Not part of nn.MultiheadAttention; registered as "qkv_conv" (after PyTorch's keys) when set.
    /// </summary>
    [TorchName("qkv_conv")] public CausalDepthwiseConv1d? ProjectionConv { get; set; }

    /// <summary>
    /// Creates the layer (torch.nn.MultiheadAttention(embed_dim, num_heads, dropout, bias, add_bias_kv, add_zero_attn,
    /// kdim, vdim, batch_first)) and initialises it like PyTorch (<see cref="ResetParameters"/>).
    /// </summary>
    public MultiheadAttention(int embedDim, int numHeads, double dropout = 0.0, bool bias = true, bool addBiasKv = false, bool addZeroAttn = false,
        int? kdim = null, int? vdim = null, bool batchFirst = false, DType dtype = DType.Float32)
    {
        if (embedDim <= 0) throw new ArgumentOutOfRangeException(nameof(embedDim), $"MultiheadAttention: embedDim must be positive, got {embedDim}");
        if (numHeads <= 0 || embedDim % numHeads != 0)
            throw new ArgumentException($"MultiheadAttention: embedDim ({embedDim}) must be divisible by numHeads ({numHeads})", nameof(numHeads));
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), $"MultiheadAttention: dropout must be in [0, 1], got {dropout}");
        EmbedDim = embedDim; NumHeads = numHeads; HeadDim = embedDim / numHeads; DropoutP = dropout; BatchFirst = batchFirst; AddZeroAttn = addZeroAttn;
        KDim = kdim ?? embedDim; VDim = vdim ?? embedDim;
        if (KDim <= 0 || VDim <= 0) throw new ArgumentOutOfRangeException(nameof(kdim), $"MultiheadAttention: kdim ({KDim}) and vdim ({VDim}) must be positive");
        if (KDim == embedDim && VDim == embedDim) InProjWeight = Parameter(Tensor.Empty([3 * embedDim, embedDim], dtype));
        else
        {
            QProjWeight = Parameter(Tensor.Empty([embedDim, embedDim], dtype));
            KProjWeight = Parameter(Tensor.Empty([embedDim, KDim], dtype));
            VProjWeight = Parameter(Tensor.Empty([embedDim, VDim], dtype));
        }
        if (bias) InProjBias = Parameter(Tensor.Empty([3 * embedDim], dtype));
        OutProj = new NonDynamicallyQuantizableLinear(embedDim, embedDim, bias, dtype);
        if (addBiasKv)
        {
            BiasK = Parameter(Tensor.Empty([1, 1, embedDim], dtype));
            BiasV = Parameter(Tensor.Empty([1, 1, embedDim], dtype));
        }
        ResetParameters();
    }

    /// <summary>
    /// PyTorch's initialisation (MultiheadAttention._reset_parameters): xavier_uniform for the input projections,
    /// zeros for in_proj_bias and out_proj.bias, xavier_normal for bias_k/bias_v. out_proj.weight keeps Linear's default.
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        if (InProjWeight != null) Init.XavierUniform(InProjWeight, generator: generator);
        else
        {
            Init.XavierUniform(QProjWeight!, generator: generator);
            Init.XavierUniform(KProjWeight!, generator: generator);
            Init.XavierUniform(VProjWeight!, generator: generator);
        }
        if (InProjBias != null) Init.Zeros(InProjBias);
        if (OutProj.Bias != null) Init.Zeros(OutProj.Bias);
        if (BiasK != null) Init.XavierNormal(BiasK, generator: generator);
        if (BiasV != null) Init.XavierNormal(BiasV, generator: generator);
    }

    /// <summary>Attends <paramref name="query"/> over <paramref name="key"/>/<paramref name="value"/> with PyTorch's defaults (forward(query, key, value)).</summary>
    public override (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value) => Forward(query, key, value, null);

    /// <summary>
    /// Runs the layer through the hooks (<c>mha(query, key, value, key_padding_mask=..., need_weights=...)</c>); the
    /// arguments are those of the full <c>Forward</c>.
    /// </summary>
    public (Tensor Output, Tensor? Weights) Call(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, bool needWeights = true,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false, LayerKeyValueCache? cache = null,
        MemoryKeyValueCache? memoryCache = null) =>
        Invoke(this, (query, key, value, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal, cache, memoryCache),
            static (m, a) => m.Forward(a.query, a.key, a.value, a.keyPaddingMask, a.needWeights, a.attnMask, a.averageAttnWeights,
                a.isCausal, a.cache, a.memoryCache));

    /// <summary>
    /// Attends <paramref name="query"/> over <paramref name="key"/>/<paramref name="value"/> (torch.nn.MultiheadAttention.forward).
    /// <paramref name="keyPaddingMask"/> (N, S) or unbatched (S,): bool true = ignore that key, or float added.
    /// <paramref name="attnMask"/> (L, S) or (N·H, L, S): bool true = not allowed, or float added.
    /// <paramref name="isCausal"/> additionally hides later keys (key j from query i when j &gt; i; with a
    /// <paramref name="cache"/> of P cached positions, when j &gt; P + i). With <paramref name="needWeights"/> the
    /// attention weights after dropout are returned, averaged over heads unless <paramref name="averageAttnWeights"/> is false.
    /// <paramref name="cache"/> (self-attention only) receives this call's keys and values and supplies the earlier ones;
    /// masks then cover all P + S keys. <paramref name="memoryCache"/> (attention over another sequence, e.g. a decoder's
    /// cross-attention over the encoder memory) keeps the projected keys and values of <paramref name="key"/> and
    /// <paramref name="value"/> and reuses them while the same tensors come again, so incremental decoding projects the
    /// memory once per sequence instead of once per token; it is only used when gradients are not being recorded.
    /// </summary>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, bool needWeights = true,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false, LayerKeyValueCache? cache = null,
        MemoryKeyValueCache? memoryCache = null)
    {
        const string op = "MultiheadAttention";
        ArgumentNullException.ThrowIfNull(query); ArgumentNullException.ThrowIfNull(key); ArgumentNullException.ThrowIfNull(value);
        var (originalKey, originalValue) = (key, value);
        bool selfAttention = ReferenceEquals(query, key) && ReferenceEquals(key, value);
        bool keyIsValue = ReferenceEquals(key, value);
        if (query.Rank is not (2 or 3))
            throw new ArgumentException($"{op}: query must be 3-D (batched) or 2-D (unbatched), got shape {ShapeUtil.Format(query.shape)}", nameof(query));
        if (key.Rank != query.Rank || value.Rank != query.Rank)
            throw new ArgumentException($"{op}: query, key and value must all be batched (3-D) or all unbatched (2-D), got {ShapeUtil.Format(query.shape)}, {ShapeUtil.Format(key.shape)}, {ShapeUtil.Format(value.shape)}");
        bool batched = query.Rank == 3, batchFirst = BatchFirst || !batched;
        if (!batched)
        {
            query = query.Unsqueeze(0); key = selfAttention ? query : key.Unsqueeze(0); value = keyIsValue ? key : value.Unsqueeze(0);
            if (keyPaddingMask is { Rank: 1 }) keyPaddingMask = keyPaddingMask.Unsqueeze(0);
        }
        int seqDim = batchFirst ? 1 : 0, batchDim = 1 - seqDim;
        int n = query.shape[batchDim], l = query.shape[seqDim], s = key.shape[seqDim];
        string shapes = $"query {ShapeUtil.Format(query.shape)}, key {ShapeUtil.Format(key.shape)}, value {ShapeUtil.Format(value.shape)}";
        if (query.shape[2] != EmbedDim || key.shape[2] != KDim || value.shape[2] != VDim)
            throw new ArgumentException($"{op}: expected feature sizes (E={EmbedDim}, kdim={KDim}, vdim={VDim}), got {shapes}");
        if (key.shape[batchDim] != n || value.shape[batchDim] != n || value.shape[seqDim] != s)
            throw new ArgumentException($"{op}: batch sizes and key/value sequence lengths must agree ({(batchFirst ? "N, L, E" : "L, N, E")} layout), got {shapes}");
        if (!query.IsFloatingPoint || key.DType != query.DType || value.DType != query.DType)
            throw new ArgumentException($"{op}: query, key and value must be floating point of one dtype, got {query.DType.TorchName()}, {key.DType.TorchName()}, {value.DType.TorchName()}");
        bool extraKeys = BiasK != null || AddZeroAttn;
        if (cache != null && (!selfAttention || extraKeys))
            throw new ArgumentException($"{op}: a key/value cache needs self-attention (query, key and value the same tensor) and no addBiasKv/addZeroAttn", nameof(cache));
        if (memoryCache != null && selfAttention)
            throw new ArgumentException($"{op}: a memory cache is for attention over another sequence (key and value not the query); use cache for self-attention", nameof(memoryCache));
        // the memory's projected keys and values: reused from the memory cache, or computed and then stored in it
        bool useMemoryCache = memoryCache != null && !Autograd.IsGradEnabled;
        bool memoryHit = useMemoryCache && memoryCache!.Holds(originalKey, originalValue);

        int past = cache?.Length ?? 0, totalKeys = past + s;
        var mask = CombinedMask(op, attnMask, keyPaddingMask, n, l, totalKeys, query.DType);
        double p = IsTraining ? DropoutP : 0;
        double scale = 1 / Math.Sqrt(HeadDim);

        if (ProjectionConv != null && (InProjWeight == null || !selfAttention))
            throw new ArgumentException($"{op}: ProjectionConv needs self-attention (query, key and value the same tensor) with the packed in_proj_weight");
        // projections and the per-head (N, H, ·, D) views the attention reads
        Tensor[] sources;
        ScaledDotProductAttentionOp.Selector select;
        if (memoryHit)
        {
            sources = [ProjectQuery(query)];
            var (keys, values) = (memoryCache!.Keys!, memoryCache.Values!);
            select = src => (Heads(src[0], 1, 0, batchFirst), keys, values);
        }
        else if (InProjWeight != null && selfAttention)
        {
            sources = [F.Linear(query, InProjWeight, InProjBias)];                         // (…, 3E)
            if (ProjectionConv != null) sources = [ConvolveProjection(op, sources[0], batchFirst, cache)];
            select = src => (Heads(src[0], 3, 0, batchFirst), Heads(src[0], 3, 1, batchFirst), Heads(src[0], 3, 2, batchFirst));
        }
        else if (InProjWeight != null && keyIsValue)
        {
            int e = EmbedDim;
            sources = [ProjectQuery(query), F.Linear(key, InProjWeight.Narrow(0, e, 2 * e), InProjBias?.Narrow(0, e, 2 * e))];
            select = src => (Heads(src[0], 1, 0, batchFirst), Heads(src[1], 2, 0, batchFirst), Heads(src[1], 2, 1, batchFirst));
        }
        else
        {
            int e = EmbedDim;
            var (wk, wv) = InProjWeight != null
                ? (InProjWeight.Narrow(0, e, e), InProjWeight.Narrow(0, 2 * e, e))
                : (KProjWeight!, VProjWeight!);
            sources = [ProjectQuery(query), F.Linear(key, wk, InProjBias?.Narrow(0, e, e)),
                       F.Linear(value, wv, InProjBias?.Narrow(0, 2 * e, e))];
            select = src => (Heads(src[0], 1, 0, batchFirst), Heads(src[1], 1, 0, batchFirst), Heads(src[2], 1, 0, batchFirst));
        }
        if (useMemoryCache && !memoryHit)
        {
            var (_, kh, vh) = select(sources);
            memoryCache!.Store(originalKey, originalValue, kh, vh);
        }
        if (Rotary != null || cache != null || extraKeys)
        {
            // materialise the head views and transform them with recorded ops
            var (qh, kh, vh) = select(sources);
            if (Rotary != null) { qh = Rotary.Call(qh, past); kh = Rotary.Call(kh, past); }
            if (cache != null) (kh, vh) = cache.Append(kh, vh);
            if (BiasK != null)
            {
                kh = Tensor.Cat([kh, BiasK.Reshape(1, NumHeads, 1, HeadDim).Expand(n, NumHeads, 1, HeadDim)], 2);
                vh = Tensor.Cat([vh, BiasV!.Reshape(1, NumHeads, 1, HeadDim).Expand(n, NumHeads, 1, HeadDim)], 2);
                mask = PadKeys(mask);
            }
            if (AddZeroAttn)
            {
                kh = Tensor.Cat([kh, Tensor.Zeros([n, NumHeads, 1, HeadDim], kh.DType)], 2);
                vh = Tensor.Cat([vh, Tensor.Zeros([n, NumHeads, 1, HeadDim], vh.DType)], 2);
                mask = PadKeys(mask);
            }
            sources = [qh, kh, vh];
            select = src => (src[0], src[1], src[2]);
        }

        Tensor heads;                                                                   // (N, H, L, D)
        Tensor? weights = null;
        if (needWeights || mask is { RequiresGrad: true } || p >= 1)
        {
            var (qh, kh, vh) = select(sources);
            (heads, weights) = ScaledDotProductAttentionOp.Plain(qh, kh, vh, mask, isCausal, past, scale, p, null);
        }
        else
        {
            int[] order = batchFirst ? [0, 2, 1, 3] : [2, 0, 1, 3];                     // memory (N, L, H, D) or (L, N, H, D)
            heads = ScaledDotProductAttentionOp.Lean(sources, select, mask, isCausal, past, scale, p, F.DropoutSeed(p, null), order);
        }
        var merged = batchFirst ? heads.Permute(0, 2, 1, 3).Reshape(n, l, EmbedDim) : heads.Permute(2, 0, 1, 3).Reshape(l, n, EmbedDim);
        var output = OutProj.Call(merged);
        if (!batched) output = output.Squeeze(0);
        if (weights != null)
        {
            if (averageAttnWeights) weights = weights.Mean(1);
            if (!batched) weights = weights.Squeeze(0);
        }
        return (output, weights);
    }

    /// <summary>The query projection alone: the first E rows of in_proj_weight (or q_proj_weight) and of in_proj_bias.</summary>
    Tensor ProjectQuery(Tensor query) =>
        F.Linear(query, InProjWeight?.Narrow(0, 0, EmbedDim) ?? QProjWeight!, InProjBias?.Narrow(0, 0, EmbedDim));

    /// <summary>
    /// Gives <paramref name="copy"/> this layer's options that are not PyTorch's: the same <see cref="Rotary"/> (it only
    /// caches tables) and a <see cref="ProjectionConv"/> of the same shape, so that copying the state dict afterwards makes
    /// an equal layer (used by the Transformer layers' Clone).
    /// </summary>
    internal void CopyOptionsTo(MultiheadAttention copy)
    {
        copy.Rotary = Rotary;
        copy.ProjectionConv = ProjectionConv is { } conv
            ? new CausalDepthwiseConv1d(conv.InChannels, conv.KernelSize[0], conv.Bias != null, conv.Weight.DType)
            : null;
    }

    /// <summary>
    /// The packed projection (N, T, 3E) (or (T, N, 3E)) through <see cref="ProjectionConv"/>; with a cache, the kept
    /// projections of the previous k−1 tokens come first (zeros at the start of a sequence) and the new last k−1 are kept.
    /// </summary>
    Tensor ConvolveProjection(string op, Tensor projection, bool batchFirst, LayerKeyValueCache? cache)
    {
        var conv = ProjectionConv!;
        if (conv.InChannels != 3 * EmbedDim)
            throw new ArgumentException($"{op}: ProjectionConv has {conv.InChannels} channels but the packed q|k|v projection has 3·embed_dim = {3 * EmbedDim}");
        var x = batchFirst ? projection : projection.Transpose(0, 1);              // (N, T, 3E)
        int history = conv.KernelSize[0] - 1;
        Tensor y;
        if (cache == null || history == 0) y = conv.Call(x);
        else
        {
            int n = x.shape[0], t = x.shape[1];
            var state = cache.ConvState;
            if (state != null && (state.shape[0] != n || state.shape[1] != history || state.shape[2] != x.shape[2] || state.DType != x.DType))
                throw new ArgumentException($"{op}: the cache's ConvState {ShapeUtil.Format(state.shape)} does not fit the new projections {ShapeUtil.Format(x.shape)} (expected ({n}, {history}, {x.shape[2]})); call Reset() to start a new sequence");
            var full = Tensor.Cat([state ?? Tensor.Zeros([n, history, x.shape[2]], x.DType), x], 1);  // (N, k−1+T, 3E)
            y = conv.Call(full).Narrow(1, history, t);
            var kept = full.Narrow(1, t, history);
            cache.ConvState = Autograd.IsGradEnabled && kept.RequiresGrad ? kept : TensorScope.Suspend(() => kept.Detach().Clone());
        }
        return batchFirst ? y : y.Transpose(0, 1);
    }

    /// <summary>
    /// The (N, H, T, D) heads of chunk <paramref name="index"/> of <paramref name="chunks"/> in a projection (N, T, chunks·E)
    /// (or (T, N, chunks·E)): a strided view, no copy.
    /// </summary>
    Tensor Heads(Tensor projection, int chunks, int index, bool batchFirst)
    {
        var split = projection.Reshape(projection.shape[0], projection.shape[1], chunks, NumHeads, HeadDim);
        var chunk = chunks == 1 ? split.Squeeze(2) : split.Select(2, index);              // (d0, d1, H, D)
        return batchFirst ? chunk.Permute(0, 2, 1, 3) : chunk.Permute(1, 2, 0, 3);
    }

    /// <summary>attnMask and keyPaddingMask as one additive mask broadcasting to (N, H, L, S), or null.</summary>
    Tensor? CombinedMask(string op, Tensor? attnMask, Tensor? keyPaddingMask, int n, int l, int s, DType dtype)
    {
        Tensor? result = null;
        if (attnMask != null)
        {
            CheckMaskType(op, attnMask, nameof(attnMask));
            Tensor m;
            if (attnMask.Rank == 2 && attnMask.shape[0] == l && attnMask.shape[1] == s) m = attnMask;
            else if (attnMask.Rank == 3 && attnMask.shape[0] == n * NumHeads && attnMask.shape[1] == l && attnMask.shape[2] == s)
                m = attnMask.Reshape(n, NumHeads, l, s);
            else
                throw new ArgumentException($"{op}: attnMask must be (L, S) = ({l}, {s}) or (N·num_heads, L, S) = ({n * NumHeads}, {l}, {s}), got shape {ShapeUtil.Format(attnMask.shape)}", nameof(attnMask));
            result = ToAdditive(m, dtype);
        }
        if (keyPaddingMask != null)
        {
            CheckMaskType(op, keyPaddingMask, nameof(keyPaddingMask));
            if (keyPaddingMask.Rank != 2 || keyPaddingMask.shape[0] != n || keyPaddingMask.shape[1] != s)
                throw new ArgumentException($"{op}: keyPaddingMask must be (N, S) = ({n}, {s}) (or (S,) unbatched), got shape {ShapeUtil.Format(keyPaddingMask.shape)}", nameof(keyPaddingMask));
            var padding = ToAdditive(keyPaddingMask, dtype).Reshape(n, 1, 1, s);
            result = result == null ? padding : result.Add(padding);
        }
        return result;
    }

    static void CheckMaskType(string op, Tensor mask, string name)
    {
        if (mask.DType != DType.Bool && !mask.IsFloatingPoint)
            throw new ArgumentException($"{op}: {name} must be bool or floating point, got {mask.DType.TorchName()}", name);
    }

    /// <summary>MultiheadAttention's convention: bool true = masked out (−∞); float masks are added as they are.</summary>
    static Tensor ToAdditive(Tensor mask, DType dtype) =>
        mask.DType == DType.Bool ? Tensor.Where(mask, Tensor.Scalar(double.NegativeInfinity, dtype), 0.0) : mask.To(dtype);

    /// <summary>Appends a visible (0) column for an extra key, as F.pad(mask, (0, 1)) does.</summary>
    static Tensor? PadKeys(Tensor? mask)
    {
        if (mask == null) return null;
        var shape = mask.Shape.ToArray(); shape[^1] = 1;
        return Tensor.Cat([mask, Tensor.Zeros(shape, mask.DType)], -1);
    }
}
