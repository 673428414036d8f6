namespace DeepSharp.NN;

/// <summary>
/// Which implementation <see cref="F.ScaledDotProductAttention"/> uses (PyTorch chooses among SDPBackend.MATH,
/// FLASH_ATTENTION and EFFICIENT_ATTENTION the same way).
/// </summary>
public enum AttentionPath
{
    /// <summary>The lean path whenever it applies (no broadcasting between batch dims, mask not requiring grad, p &lt; 1), else the plain one.</summary>
    Auto,
    /// <summary>
    /// Composed of differentiable ops (the "math" backend): materialises the (L, S) attention weights of every batch entry.
    /// Supports broadcasting batch dims, masks that require grad, and higher-order gradients.
    /// </summary>
    Plain,
    /// <summary>
    /// The fused, memory-lean kernel (the "flash" backend): keys are processed in blocks with an online softmax, so only
    /// a tile of scores exists at a time; backward recomputes the tiles from the saved per-row log-sum-exp.
    /// </summary>
    Lean,
}

// Scaled dot-product attention: the public entry points, input checks, mask conversion and the choice of path.
public static partial class F
{
    /// <summary>
    /// Scaled dot-product attention softmax(scale·Q·Kᵀ + mask)·V (torch.nn.functional.scaled_dot_product_attention,
    /// PyTorch 2.x). query (..., L, E), key (..., S, E), value (..., S, Ev) → (..., L, Ev).
    /// <para>
    /// <paramref name="attnMask"/> broadcasts to (..., L, S): a bool mask marks with <c>true</c> the entries that take part
    /// in attention (PyTorch's SDPA convention — the opposite of <see cref="MultiheadAttention"/>'s bool masks); a float mask
    /// is added to the scores. <paramref name="isCausal"/> hides key j from query i when j &gt; i (top-left aligned, as
    /// torch's is_causal) and cannot be combined with a mask. <paramref name="scale"/> defaults to 1/√E.
    /// <paramref name="dropoutP"/> drops attention weights whenever it is positive (pass 0 in evaluation, as with torch).
    /// A row that sees no key gives NaN, as in PyTorch.
    /// </para>
    /// The result may be a non-contiguous view: for inputs of rank ≥ 4, such as (N, H, L, E), the output's memory holds
    /// (N, L, H, Ev), so <c>output.Transpose(1, 2).Reshape(N, L, H·Ev)</c> costs no copy.
    /// </summary>
    public static Tensor ScaledDotProductAttention(Tensor query, Tensor key, Tensor value, Tensor? attnMask = null, double dropoutP = 0.0,
        bool isCausal = false, double? scale = null, AttentionPath path = AttentionPath.Auto, Generator? generator = null)
    {
        const string op = "ScaledDotProductAttention";
        CheckAttentionInputs(op, query, key, value, attnMask, dropoutP);
        if (isCausal && attnMask != null)
            throw new ArgumentException($"{op}: pass either attnMask or isCausal, not both (as torch's scaled_dot_product_attention)", nameof(isCausal));
        var mask = attnMask == null ? null : AdditiveMask(attnMask, query.DType);
        double s = scale ?? 1 / Math.Sqrt(query.Shape[^1]);
        bool leanPossible = LeanApplies(query, key, value, mask, dropoutP, out var reason);
        if (path == AttentionPath.Lean && !leanPossible)
            throw new ArgumentException($"{op}: the lean path cannot be used here: {reason}; use AttentionPath.Plain or Auto", nameof(path));
        if (path == AttentionPath.Plain || !leanPossible)
            return ScaledDotProductAttentionOp.Plain(query, key, value, mask, isCausal, 0, s, dropoutP, generator).Output;
        int rank = query.Rank;
        int[]? order = rank >= 4 ? [.. Enumerable.Range(0, rank - 3), rank - 2, rank - 3, rank - 1] : null;
        return ScaledDotProductAttentionOp.Lean([UnitStride(query), UnitStride(key), UnitStride(value)], src => (src[0], src[1], src[2]),
            mask, isCausal, 0, s, dropoutP, DropoutSeed(dropoutP, generator), order);
    }

    /// <summary>
    /// Scaled dot-product attention that also returns the attention weights (..., L, S) after dropout — what
    /// nn.MultiheadAttention returns with need_weights — by the plain path. Arguments as in <see cref="ScaledDotProductAttention"/>.
    /// </summary>
    public static (Tensor Output, Tensor Weights) ScaledDotProductAttentionWithWeights(Tensor query, Tensor key, Tensor value,
        Tensor? attnMask = null, double dropoutP = 0.0, bool isCausal = false, double? scale = null, Generator? generator = null)
    {
        const string op = "ScaledDotProductAttentionWithWeights";
        CheckAttentionInputs(op, query, key, value, attnMask, dropoutP);
        if (isCausal && attnMask != null)
            throw new ArgumentException($"{op}: pass either attnMask or isCausal, not both", nameof(isCausal));
        var mask = attnMask == null ? null : AdditiveMask(attnMask, query.DType);
        return ScaledDotProductAttentionOp.Plain(query, key, value, mask, isCausal, 0, scale ?? 1 / Math.Sqrt(query.Shape[^1]), dropoutP, generator);
    }

    /// <summary>
    /// Multi-head self-attention read straight from a packed q|k|v projection (flash-attn's flash_attn_qkvpacked_func;
    /// PyTorch has no single call for it). <paramref name="qkv"/> (N, T, 3·E) holds every token's query, key and value side
    /// by side, as one Linear(E, 3·E) makes them (nn.MultiheadAttention's in_proj_weight, nanoGPT's c_attn); each is split
    /// into <paramref name="numHeads"/> heads of E / numHeads features. Returns the heads' outputs merged back to (N, T, E),
    /// what in PyTorch is <c>q, k, v = qkv.split(E, 2)</c>, each <c>.view(N, T, H, D).transpose(1, 2)</c>, then
    /// <c>scaled_dot_product_attention(q, k, v, dropout_p=dropoutP, is_causal=isCausal, scale=scale).transpose(1, 2).reshape(N, T, E)</c>.
    /// The fused kernel reads the heads in place and its backward writes one gradient of the packed projection: no copies
    /// either way. <paramref name="isCausal"/> hides key j from query i when j &gt; i; <paramref name="scale"/> defaults to 1/√(E / numHeads).
    /// </summary>
    public static Tensor PackedScaledDotProductAttention(Tensor qkv, int numHeads, double dropoutP = 0.0, bool isCausal = false,
        double? scale = null, Generator? generator = null)
    {
        const string op = "PackedScaledDotProductAttention";
        ArgumentNullException.ThrowIfNull(qkv);
        if (qkv.Rank != 3 || qkv.shape[2] % 3 != 0)
            throw new ArgumentException($"{op}: qkv must be a packed projection (N, T, 3·E), got shape {ShapeUtil.Format(qkv.shape)}", nameof(qkv));
        if (!qkv.IsFloatingPoint) throw new ArgumentException($"{op}: qkv must be floating point, got {qkv.DType.TorchName()}", nameof(qkv));
        int n = qkv.shape[0], t = qkv.shape[1], e = qkv.shape[2] / 3;
        if (numHeads <= 0 || e % numHeads != 0)
            throw new ArgumentException($"{op}: the embedding size E = {e} (qkv {ShapeUtil.Format(qkv.shape)}) must be divisible by numHeads ({numHeads})", nameof(numHeads));
        if (!(dropoutP >= 0 && dropoutP <= 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutP), $"{op}: dropoutP must be in [0, 1], got {dropoutP}");
        var packed = qkv.Contiguous();                                             // the kernel and its gradient share this layout
        double s = scale ?? 1 / Math.Sqrt(e / numHeads);
        var layout = new ScaledDotProductAttentionOp.HeadLayout(numHeads, true, new(0, 3, 0), new(0, 3, 1), new(0, 3, 2));
        if (dropoutP >= 1)
        {
            var (q, k, v) = layout.Select([packed]);
            var heads = ScaledDotProductAttentionOp.Plain(q, k, v, null, isCausal, 0, s, dropoutP, generator).Output;   // (N, H, T, D)
            return heads.Transpose(1, 2).Reshape(n, t, e);
        }
        return ScaledDotProductAttentionOp.LeanMerged([packed], layout, null, isCausal, 0, s, dropoutP, DropoutSeed(dropoutP, generator));
    }

    /// <summary>
    /// The (N, H, T, D) heads of chunk <paramref name="index"/> of <paramref name="chunks"/> in a projection (N, T, chunks·E)
    /// (or (T, N, chunks·E) when not <paramref name="batchFirst"/>): a strided view, no copy.
    /// </summary>
    internal static Tensor Heads(Tensor projection, int chunks, int index, int numHeads, bool batchFirst)
    {
        int headDim = projection.shape[2] / (chunks * numHeads);
        if (projection.IsContiguous && !Autograd.ShouldRecord(projection))
        {
            // the view the reshape, select and permute below end at, built at once (nothing to record): chunk `index` of a
            // contiguous (d0, d1, chunks·H·D) projection is (d0, d1, H, D) with strides (s0, s1, D, 1) from index·H·D on
            int s1 = projection.shape[2], s0 = s1 * Math.Max(projection.shape[1], 1);   // the reshape's contiguous strides
            var shape = batchFirst ? ShapeUtil.Interned([projection.shape[0], numHeads, projection.shape[1], headDim])
                : ShapeUtil.Interned([projection.shape[1], numHeads, projection.shape[0], headDim]);
            var strides = batchFirst ? ShapeUtil.Interned([s0, headDim, s1, 1]) : ShapeUtil.Interned([s1, headDim, s0, 1]);
            return projection.MakeView(shape, strides, projection.offset + index * numHeads * headDim);
        }
        var split = projection.Reshape(projection.shape[0], projection.shape[1], chunks, numHeads, headDim);
        var chunk = chunks == 1 ? split.Squeeze(2) : split.Select(2, index);              // (d0, d1, H, D)
        return batchFirst ? chunk.Permute(0, 2, 1, 3) : chunk.Permute(1, 2, 0, 3);
    }

    /// <summary>
    /// An additive causal mask of shape (size, size): 0 on and below the diagonal, −∞ above
    /// (torch.nn.Transformer.generate_square_subsequent_mask).
    /// </summary>
    public static Tensor CausalMask(int size, DType dtype = DType.Float32)
    {
        if (size < 0) throw new ArgumentOutOfRangeException(nameof(size), $"CausalMask: size must be non-negative, got {size}");
        return ScaledDotProductAttentionOp.CausalMask(size, size, 0, dtype);
    }

    /// <summary>Checks shapes and dtypes of an attention call; returns the broadcast batch shape.</summary>
    internal static int[] CheckAttentionInputs(string op, Tensor query, Tensor key, Tensor value, Tensor? attnMask, double dropoutP)
    {
        ArgumentNullException.ThrowIfNull(query); ArgumentNullException.ThrowIfNull(key); ArgumentNullException.ThrowIfNull(value);
        string shapes = $"query {ShapeUtil.Format(query.shape)}, key {ShapeUtil.Format(key.shape)}, value {ShapeUtil.Format(value.shape)}";
        if (!query.IsFloatingPoint) throw new ArgumentException($"{op}: query must be floating point, got {query.DType.TorchName()}", nameof(query));
        if (key.DType != query.DType || value.DType != query.DType)
            throw new ArgumentException($"{op}: query, key and value must have the same dtype, got {query.DType.TorchName()}, {key.DType.TorchName()}, {value.DType.TorchName()}");
        if (query.Rank < 2 || key.Rank < 2 || value.Rank < 2)
            throw new ArgumentException($"{op}: query, key and value need at least 2 dims (..., L, E), got {shapes}");
        if (key.shape[^1] != query.shape[^1])
            throw new ArgumentException($"{op}: query and key must have the same embedding size (last dim), got {shapes}", nameof(key));
        if (key.shape[^2] != value.shape[^2])
            throw new ArgumentException($"{op}: key and value must have the same sequence length (dim -2), got {shapes}", nameof(value));
        int[] batch;
        try { batch = ShapeUtil.Broadcast(ShapeUtil.Broadcast(query.shape[..^2], key.shape[..^2], op), value.shape[..^2], op); }
        catch (ArgumentException) { throw new ArgumentException($"{op}: the batch dims of {shapes} do not broadcast"); }
        if (!(dropoutP >= 0 && dropoutP <= 1))
            throw new ArgumentOutOfRangeException(nameof(dropoutP), $"{op}: dropoutP must be in [0, 1], got {dropoutP}");
        if (attnMask != null)
        {
            if (attnMask.DType != DType.Bool && !attnMask.IsFloatingPoint)
                throw new ArgumentException($"{op}: attnMask must be bool or floating point, got {attnMask.DType.TorchName()}", nameof(attnMask));
            int[] target = [.. batch, query.shape[^2], key.shape[^2]];
            if (!BroadcastsTo(attnMask.shape, target))
                throw new ArgumentException($"{op}: attnMask of shape {ShapeUtil.Format(attnMask.shape)} does not broadcast to the attention shape {ShapeUtil.Format(target)} (batch..., L, S)", nameof(attnMask));
        }
        return batch;
    }

    internal static bool BroadcastsTo(int[] shape, int[] target)
    {
        if (shape.Length > target.Length) return false;
        for (int i = 1; i <= shape.Length; i++)
            if (shape[^i] != 1 && shape[^i] != target[^i]) return false;
        return true;
    }

    /// <summary>A bool mask (true = attend) as 0/−∞; a float mask converted to <paramref name="dtype"/> (gradients still flow).</summary>
    internal static Tensor AdditiveMask(Tensor mask, DType dtype) =>
        mask.DType == DType.Bool ? Tensor.Where(mask, Tensor.Scalar(0, dtype), double.NegativeInfinity) : mask.To(dtype);

    static bool LeanApplies(Tensor q, Tensor k, Tensor v, Tensor? mask, double dropoutP, out string reason)
    {
        reason = "";
        if (!q.shape[..^2].SequenceEqual(k.shape[..^2]) || !q.shape[..^2].SequenceEqual(v.shape[..^2]))
            reason = $"the batch dims of query {ShapeUtil.Format(q.shape)}, key {ShapeUtil.Format(k.shape)} and value {ShapeUtil.Format(v.shape)} differ (it does not broadcast them)";
        else if (mask is { RequiresGrad: true }) reason = "the mask requires grad";
        else if (dropoutP >= 1) reason = "dropoutP is 1";
        return reason.Length == 0;
    }

    static Tensor UnitStride(Tensor t) => ScaledDotProductAttentionOp.KernelReadable(t) ? t : t.Contiguous();

    /// <summary>The seed of the lean kernel's hashed dropout mask, drawn from <paramref name="generator"/> or the global stream.</summary>
    internal static ulong DropoutSeed(double p, Generator? generator)
    {
        if (p <= 0) return 0;
        ulong seed = 0;
        DeepSharp.Random.With(generator, g => seed = g.NextUInt64());
        return seed;
    }
}
