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
public partial class MultiheadAttention : Module<Tensor, Tensor, Tensor, (Tensor Output, Tensor? Weights)>
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
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false) =>
        Invoke(this, (query, key, value, keyPaddingMask, needWeights, attnMask, averageAttnWeights, isCausal),
            static (m, a) => m.Forward(a.query, a.key, a.value, a.keyPaddingMask, a.needWeights, a.attnMask, a.averageAttnWeights, a.isCausal));

    /// <summary>
    /// Attends <paramref name="query"/> over <paramref name="key"/>/<paramref name="value"/> (torch.nn.MultiheadAttention.forward(query,
    /// key, value, key_padding_mask, need_weights, attn_mask, average_attn_weights, is_causal)).
    /// <paramref name="keyPaddingMask"/> (N, S) or unbatched (S,): bool true = ignore that key, or float added.
    /// <paramref name="attnMask"/> (L, S) or (N·H, L, S): bool true = not allowed, or float added.
    /// <paramref name="isCausal"/> additionally hides later keys (key j from query i when j &gt; i). With
    /// <paramref name="needWeights"/> the attention weights after dropout are returned, averaged over heads unless
    /// <paramref name="averageAttnWeights"/> is false; without, the output comes from the fused lean kernel.
    /// </summary>
    public (Tensor Output, Tensor? Weights) Forward(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask = null, bool needWeights = true,
        Tensor? attnMask = null, bool averageAttnWeights = true, bool isCausal = false)
    {
        var inputs = CheckInputs(query, key, value, keyPaddingMask);
        var mask = CombinedMask(attnMask, inputs.KeyPaddingMask, inputs.N, inputs.L, inputs.S, inputs.Query.DType);
        var (sources, select, layout) = Project(inputs);
        if (BiasK != null || AddZeroAttn)
        {
            (sources, select, mask) = AppendExtraKeys(sources, select, mask, inputs.N);
            var (extended, extendedWeights, _) = Attend(sources, select, mask, isCausal, 0, needWeights, inputs.BatchFirst);
            return MergeHeads(inputs, extended, extendedWeights, averageAttnWeights);
        }
        var (heads, weights, merged) = Attend(sources, select, mask, isCausal, 0, needWeights, inputs.BatchFirst, layout);
        return MergeHeads(inputs, heads, weights, averageAttnWeights, merged);
    }
}
