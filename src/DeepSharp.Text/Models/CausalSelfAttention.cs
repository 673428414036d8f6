using DeepSharp.NN;

namespace DeepSharp.Text.Models;

/// <summary>
/// The causal self-attention of a <see cref="Gpt"/> block (nanoGPT's CausalSelfAttention): one packed q|k|v projection,
/// optionally Primer's causal depthwise convolution of it over time, heads of Width / Heads features, optionally rotary
/// position embeddings on queries and keys, causal attention, and the output projection. With a
/// <see cref="LayerKeyValueCache"/> it decodes incrementally: the new tokens' keys and values are appended to the cache
/// (and the last k−1 projections kept for the convolution), so each new token costs O(T) and its output equals the full
/// forward's.
/// <para>
/// State-dict keys are nn.MultiheadAttention's, which GPT checkpoints have always used (nanoGPT calls them c_attn and
/// c_proj): "in_proj_weight" (3C, C), "in_proj_bias" (3C), "out_proj.weight", "out_proj.bias", and "qkv_conv.weight"
/// (3C, 1, k) with a convolution. The rotary embedding only caches tables and is not registered (it may be shared).
/// </para>
/// Without rotary embeddings or a cache, the fused attention kernel reads the heads straight from the packed projection
/// (<see cref="F.PackedScaledDotProductAttention"/>); otherwise from the rotated head views and the cache's buffers.
/// </summary>
public sealed class CausalSelfAttention : Module<Tensor, Tensor>
{
    /// <summary>Model width C (n_embd).</summary>
    public int Width { get; }
    /// <summary>Number of heads H (n_head).</summary>
    public int NumHeads { get; }
    /// <summary>Size of each head, C / H.</summary>
    public int HeadDim { get; }
    /// <summary>Dropout probability on the attention weights while training (attn_dropout).</summary>
    public double DropoutP { get; }

    /// <summary>The packed q|k|v projection weight (3C, C) (nanoGPT's c_attn.weight; key "in_proj_weight").</summary>
    [TorchName("in_proj_weight")] public Tensor InProjWeight { get; }
    /// <summary>The packed q|k|v projection bias (3C) (c_attn.bias; key "in_proj_bias").</summary>
    [TorchName("in_proj_bias")] public Tensor InProjBias { get; }
    /// <summary>The output projection (c_proj; key "out_proj").</summary>
    [TorchName("out_proj")] public Linear OutProj { get; }
    /// <summary>
    /// Primer's multi-dconv-head attention (So et al. 2021): a causal depthwise convolution over time of the packed
    /// projection (3C channels), letting every query, key and value mix the few preceding tokens' projections; null for none.
    /// </summary>
    [TorchName("qkv_conv")] public CausalDepthwiseConv1d? ProjectionConv { get; }
    /// <summary>Rotary position embeddings applied to every head's queries and keys (null: none; not registered).</summary>
    [NotRegistered] public RotaryEmbedding? Rotary { get; }

    /// <summary>
    /// Creates the layer for width <paramref name="width"/> and <paramref name="numHeads"/> heads, with an optional
    /// <paramref name="rotary"/> embedding (of HeadDim or fewer features) and <paramref name="projectionConv"/> (3·width
    /// channels), initialised as nn.MultiheadAttention is (see <see cref="ResetParameters"/>).
    /// </summary>
    public CausalSelfAttention(int width, int numHeads, double dropout = 0.0, RotaryEmbedding? rotary = null, CausalDepthwiseConv1d? projectionConv = null)
    {
        if (width <= 0 || numHeads <= 0 || width % numHeads != 0)
            throw new ArgumentException($"CausalSelfAttention: width ({width}) must be a positive multiple of numHeads ({numHeads})", nameof(numHeads));
        if (!(dropout >= 0 && dropout <= 1)) throw new ArgumentOutOfRangeException(nameof(dropout), $"CausalSelfAttention: dropout must be in [0, 1], got {dropout}");
        if (rotary != null && rotary.Dim > width / numHeads)
            throw new ArgumentException($"CausalSelfAttention: the rotary embedding rotates {rotary.Dim} features but a head has {width / numHeads}", nameof(rotary));
        if (projectionConv != null && projectionConv.InChannels != 3 * width)
            throw new ArgumentException($"CausalSelfAttention: the projection convolution has {projectionConv.InChannels} channels but the packed q|k|v projection has 3·width = {3 * width}", nameof(projectionConv));
        Width = width; NumHeads = numHeads; HeadDim = width / numHeads; DropoutP = dropout;
        InProjWeight = Parameter(Tensor.Empty(3 * width, width));
        InProjBias = Parameter(Tensor.Empty(3 * width));
        OutProj = new Linear(width, width);
        ProjectionConv = projectionConv;
        Rotary = rotary;
        ResetParameters();
    }

    /// <summary>
    /// nn.MultiheadAttention's initialisation (its keys, its defaults): xavier_uniform for in_proj_weight, zeros for the
    /// biases; out_proj.weight keeps Linear's default. The convolution is left as it is. <see cref="Gpt.ResetParameters"/>
    /// re-initialises all of it as GPT-2 does.
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        Init.XavierUniform(InProjWeight, generator: generator);
        Init.Zeros(InProjBias);
        Init.Zeros(OutProj.Bias!);
    }

    /// <summary>Causal self-attention of <paramref name="x"/> (B, T, C) → (B, T, C).</summary>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary><see cref="Forward(Tensor, LayerKeyValueCache?)"/> through the hooks.</summary>
    public Tensor Call(Tensor x, LayerKeyValueCache? cache) =>
        cache == null ? Call(x) : Invoke(this, (x, cache), static (m, a) => m.Forward(a.x, a.cache));

    /// <summary>
    /// Causal self-attention of the new tokens <paramref name="x"/> (B, T, C) that follow the P tokens held by
    /// <paramref name="cache"/> (none when null or empty): token i attends to the cached tokens and to new tokens ≤ i,
    /// rotary positions continue from P, and the new keys, values and convolution inputs are appended to the cache.
    /// </summary>
    public Tensor Forward(Tensor x, LayerKeyValueCache? cache)
    {
        CheckInput(x);
        int b = x.Shape[0], t = x.Shape[1], past = cache?.Length ?? 0;
        double p = IsTraining ? DropoutP : 0;
        var qkv = F.Linear(x, InProjWeight, InProjBias);                       // (B, T, 3C) every token's q|k|v
        if (ProjectionConv != null) qkv = Convolve(qkv, cache);                // each channel a mix of the last k tokens'
        if (Rotary == null && cache == null)                                   // the kernel reads the heads in place
            return OutProj.Call(F.PackedScaledDotProductAttention(qkv, NumHeads, p, isCausal: true));
        var heads = qkv.Reshape(b, t, 3, NumHeads, HeadDim);                   // (B, T, 3, H, D) view
        var q = heads.Select(2, 0).Transpose(1, 2);                            // (B, H, T, D) views
        var k = heads.Select(2, 1).Transpose(1, 2);
        var v = heads.Select(2, 2).Transpose(1, 2);
        if (Rotary != null) { q = Rotary.Call(q, past); k = Rotary.Call(k, past); }   // positions P .. P+T−1
        if (cache != null) (k, v) = cache.Append(k, v);                        // (B, H, P+T, D)
        var y = F.ScaledDotProductAttention(q, k, v, LaterKeysMask(t, past), p, isCausal: past == 0);   // (B, H, T, D)
        return OutProj.Call(y.Transpose(1, 2).Reshape(b, t, Width));        // heads side by side: (B, T, C)
    }

    /// <summary>
    /// With P cached tokens and T &gt; 1 new ones, the mask that hides key j from new token i when j &gt; P + i (true =
    /// attend, as F.ScaledDotProductAttention wants); null otherwise (no cache: isCausal; one new token sees every key).
    /// </summary>
    static Tensor? LaterKeysMask(int t, int past)
    {
        if (past == 0 || t == 1) return null;
        var visible = new bool[t * (past + t)];
        for (int i = 0; i < t; i++)
            for (int j = 0; j <= past + i; j++) visible[i * (past + t) + j] = true;
        return Tensor.FromArray(visible, t, past + t);
    }

    /// <summary>
    /// The packed projection (B, T, 3C) through <see cref="ProjectionConv"/>; with a cache, the kept projections of the
    /// previous k−1 tokens come first (zeros at the start of a sequence) and the new last k−1 are kept.
    /// </summary>
    Tensor Convolve(Tensor qkv, LayerKeyValueCache? cache)
    {
        var conv = ProjectionConv!;
        int history = conv.KernelSize[0] - 1;
        if (cache == null || history == 0) return conv.Call(qkv);
        int b = qkv.Shape[0], t = qkv.Shape[1], channels = qkv.Shape[2];
        var state = cache.ConvState;
        if (state != null && (state.Shape[0] != b || state.Shape[1] != history || state.Shape[2] != channels || state.DType != qkv.DType))
            throw new ArgumentException($"CausalSelfAttention: the cache's ConvState {Format(state.Shape)} does not fit the new projections {Format(qkv.Shape)} (expected ({b}, {history}, {channels})); call Reset() to start a new sequence");
        var full = Tensor.Cat([state ?? Tensor.Zeros([b, history, channels], qkv.DType), qkv], 1);   // (B, k−1+T, 3C)
        var kept = full.Narrow(1, t, history);
        cache.ConvState = Autograd.IsGradEnabled && kept.RequiresGrad ? kept : TensorScope.Suspend(() => kept.Detach().Clone());
        return conv.Call(full).Narrow(1, history, t);
    }

    void CheckInput(Tensor x)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank != 3 || x.Shape[2] != Width || !x.IsFloatingPoint)
            throw new ArgumentException($"CausalSelfAttention: x must be floating point (B, T, C) with C = {Width}, got {x.DType.TorchName()} of shape {Format(x.Shape)}", nameof(x));
    }

    static string Format(IReadOnlyList<int> shape) => $"({string.Join(", ", shape)})";

    /// <inheritdoc/>
    public override string ExtraRepr() => $"width={Width}, num_heads={NumHeads}, dropout={PyFloat(DropoutP)}" + (Rotary != null ? ", rotary=True" : "");
}
