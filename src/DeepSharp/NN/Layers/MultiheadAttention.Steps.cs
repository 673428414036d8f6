namespace DeepSharp.NN;

// The steps of MultiheadAttention.Forward: checking and batching the inputs, the projections, bias_k/bias_v and the zero
// key, attention (plain with weights, or the lean kernel straight from the projections' memory), merging the heads and
// the masks. Internal so that the Transformer layers' incremental decoding (IncrementalAttention) reuses them.
public partial class MultiheadAttention
{
    const string Op = "MultiheadAttention";

    /// <summary>The inputs of one call in batched form, with their layout and sizes: N batch, L queries, S keys.</summary>
    internal readonly record struct Inputs(Tensor Query, Tensor Key, Tensor Value, Tensor? KeyPaddingMask, bool Batched, bool BatchFirst,
        int N, int L, int S, bool SelfAttention, bool KeyIsValue);

    /// <summary>Checks ranks, sizes and dtypes; unbatched inputs become a batch of one (batch-first).</summary>
    internal Inputs CheckInputs(Tensor query, Tensor key, Tensor value, Tensor? keyPaddingMask)
    {
        ArgumentNullException.ThrowIfNull(query); ArgumentNullException.ThrowIfNull(key); ArgumentNullException.ThrowIfNull(value);
        bool selfAttention = ReferenceEquals(query, key) && ReferenceEquals(key, value);
        bool keyIsValue = ReferenceEquals(key, value);
        if (query.Rank is not (2 or 3))
            throw new ArgumentException($"{Op}: query must be 3-D (batched) or 2-D (unbatched), got shape {ShapeUtil.Format(query.shape)}", nameof(query));
        if (key.Rank != query.Rank || value.Rank != query.Rank)
            throw new ArgumentException($"{Op}: query, key and value must all be batched (3-D) or all unbatched (2-D), got {ShapeUtil.Format(query.shape)}, {ShapeUtil.Format(key.shape)}, {ShapeUtil.Format(value.shape)}");
        bool batched = query.Rank == 3, batchFirst = BatchFirst || !batched;
        if (!batched)
        {
            query = query.Unsqueeze(0); key = selfAttention ? query : key.Unsqueeze(0); value = keyIsValue ? key : value.Unsqueeze(0);
            if (keyPaddingMask is { Rank: 1 }) keyPaddingMask = keyPaddingMask.Unsqueeze(0);
        }
        int seqDim = batchFirst ? 1 : 0, batchDim = 1 - seqDim;
        int n = query.shape[batchDim], l = query.shape[seqDim], s = key.shape[seqDim];
        if (query.shape[2] != EmbedDim || key.shape[2] != KDim || value.shape[2] != VDim)
            throw new ArgumentException($"{Op}: expected feature sizes (E={EmbedDim}, kdim={KDim}, vdim={VDim}), got {Shapes(query, key, value)}");
        if (key.shape[batchDim] != n || value.shape[batchDim] != n || value.shape[seqDim] != s)
            throw new ArgumentException($"{Op}: batch sizes and key/value sequence lengths must agree ({(batchFirst ? "N, L, E" : "L, N, E")} layout), got {Shapes(query, key, value)}");
        if (!query.IsFloatingPoint || key.DType != query.DType || value.DType != query.DType)
            throw new ArgumentException($"{Op}: query, key and value must be floating point of one dtype, got {query.DType.TorchName()}, {key.DType.TorchName()}, {value.DType.TorchName()}");
        return new Inputs(query, key, value, keyPaddingMask, batched, batchFirst, n, l, s, selfAttention, keyIsValue);
    }

    static string Shapes(Tensor query, Tensor key, Tensor value) =>
        $"query {ShapeUtil.Format(query.shape)}, key {ShapeUtil.Format(key.shape)}, value {ShapeUtil.Format(value.shape)}";

    /// <summary>
    /// The projections, the selector of their per-head (N, H, ·, D) views and the same as a chunk layout the lean kernel
    /// reads in place: one packed q|k|v projection for self-attention, query plus packed k|v when key and value are one
    /// tensor, else three.
    /// </summary>
    internal (Tensor[] Sources, ScaledDotProductAttentionOp.Selector Select, ScaledDotProductAttentionOp.HeadLayout Layout) Project(in Inputs inputs)
    {
        bool bf = inputs.BatchFirst;
        int e = EmbedDim;
        if (InProjWeight != null && inputs.SelfAttention)
            return ([F.Linear(inputs.Query, InProjWeight, InProjBias)], Selector(SelectorKind.Packed, bf), Layout(SelectorKind.Packed, bf));   // (…, 3E)
        if (InProjWeight != null && inputs.KeyIsValue)
            return ([ProjectQuery(inputs.Query), F.Linear(inputs.Key, InProjWeight.Narrow(0, e, 2 * e), InProjBias?.Narrow(0, e, 2 * e))],
                    Selector(SelectorKind.QueryAndPackedKeyValue, bf), Layout(SelectorKind.QueryAndPackedKeyValue, bf));
        var (wk, wv) = InProjWeight != null ? (InProjWeight.Narrow(0, e, e), InProjWeight.Narrow(0, 2 * e, e)) : (KProjWeight!, VProjWeight!);
        return ([ProjectQuery(inputs.Query), F.Linear(inputs.Key, wk, InProjBias?.Narrow(0, e, e)), F.Linear(inputs.Value, wv, InProjBias?.Narrow(0, 2 * e, e))],
                Selector(SelectorKind.Separate, bf), Layout(SelectorKind.Separate, bf));
    }

    /// <summary>The chunk layout of a projection kind: the selector's heads, described instead of made.</summary>
    ScaledDotProductAttentionOp.HeadLayout Layout(SelectorKind kind, bool bf) => kind switch
    {
        SelectorKind.Packed => new(NumHeads, bf, new(0, 3, 0), new(0, 3, 1), new(0, 3, 2)),
        SelectorKind.QueryAndPackedKeyValue => new(NumHeads, bf, new(0, 1, 0), new(1, 2, 0), new(1, 2, 1)),
        _ => new(NumHeads, bf, new(0, 1, 0), new(1, 1, 0), new(2, 1, 0)),
    };

    enum SelectorKind { Packed, QueryAndPackedKeyValue, Separate }

    readonly ScaledDotProductAttentionOp.Selector?[] selectors = new ScaledDotProductAttentionOp.Selector?[6];

    /// <summary>The head selector of a projection layout, made once per layout and batch-first flag (it reads only this module).</summary>
    ScaledDotProductAttentionOp.Selector Selector(SelectorKind kind, bool bf) => selectors[(int)kind * 2 + (bf ? 1 : 0)] ??= (kind, bf) switch
    {
        (SelectorKind.Packed, true) => src => (Heads(src[0], 3, 0, true), Heads(src[0], 3, 1, true), Heads(src[0], 3, 2, true)),
        (SelectorKind.Packed, false) => src => (Heads(src[0], 3, 0, false), Heads(src[0], 3, 1, false), Heads(src[0], 3, 2, false)),
        (SelectorKind.QueryAndPackedKeyValue, true) => src => (Heads(src[0], 1, 0, true), Heads(src[1], 2, 0, true), Heads(src[1], 2, 1, true)),
        (SelectorKind.QueryAndPackedKeyValue, false) => src => (Heads(src[0], 1, 0, false), Heads(src[1], 2, 0, false), Heads(src[1], 2, 1, false)),
        (_, true) => src => (Heads(src[0], 1, 0, true), Heads(src[1], 1, 0, true), Heads(src[2], 1, 0, true)),
        _ => src => (Heads(src[0], 1, 0, false), Heads(src[1], 1, 0, false), Heads(src[2], 1, 0, false)),
    };

    /// <summary>The query projection alone: the first E rows of in_proj_weight (or q_proj_weight) and of in_proj_bias.</summary>
    internal Tensor ProjectQuery(Tensor query) =>
        F.Linear(query, InProjWeight?.Narrow(0, 0, EmbedDim) ?? QProjWeight!, InProjBias?.Narrow(0, 0, EmbedDim));

    /// <summary>The (N, H, T, D) heads of chunk <paramref name="index"/> of a projection (N, T, chunks·E) (or (T, N, chunks·E)): a view.</summary>
    internal Tensor Heads(Tensor projection, int chunks, int index, bool batchFirst) => F.Heads(projection, chunks, index, NumHeads, batchFirst);

    /// <summary>
    /// Appends bias_k/bias_v (addBiasKv) and then a zero key and value (addZeroAttn) to every sequence, with a visible
    /// mask column for each, as PyTorch does; the head views are materialised and the selector becomes the identity.
    /// </summary>
    (Tensor[] Sources, ScaledDotProductAttentionOp.Selector Select, Tensor? Mask) AppendExtraKeys(Tensor[] sources,
        ScaledDotProductAttentionOp.Selector select, Tensor? mask, int n)
    {
        var (qh, kh, vh) = select(sources);
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
        return ([qh, kh, vh], src => (src[0], src[1], src[2]), mask);
    }

    /// <summary>
    /// Attention of the selected heads: the plain path when the weights are wanted (or the mask requires grad, or dropout
    /// is 1), else the lean kernel reading the sources in place and writing (N, L, H, D) or (L, N, H, D) memory. Key j is
    /// hidden from query i when <paramref name="isCausal"/> and j &gt; i + <paramref name="causalOffset"/>. With a
    /// <paramref name="layout"/> of contiguous sources the lean kernel reads the chunks it describes and returns the heads
    /// already merged, (N, L, H·D) or (L, N, H·D) (<c>Merged</c> true): no head views, no permute, no reshape.
    /// </summary>
    internal (Tensor Heads, Tensor? Weights, bool Merged) Attend(Tensor[] sources, ScaledDotProductAttentionOp.Selector select, Tensor? mask,
        bool isCausal, int causalOffset, bool needWeights, bool batchFirst, ScaledDotProductAttentionOp.HeadLayout? layout = null)
    {
        double p = IsTraining ? DropoutP : 0;
        double scale = 1 / Math.Sqrt(HeadDim);
        if (needWeights || mask is { RequiresGrad: true } || p >= 1)
        {
            var (qh, kh, vh) = select(sources);
            var (output, weights) = ScaledDotProductAttentionOp.Plain(qh, kh, vh, mask, isCausal, causalOffset, scale, p, null);
            return (output, weights, false);
        }
        if (layout is { } heads && heads.Applies(sources))
            return (ScaledDotProductAttentionOp.LeanMerged(sources, heads, mask, isCausal, causalOffset, scale, p, F.DropoutSeed(p, null)), null, true);
        int[] order = batchFirst ? [0, 2, 1, 3] : [2, 0, 1, 3];
        return (ScaledDotProductAttentionOp.Lean(sources, select, mask, isCausal, causalOffset, scale, p, F.DropoutSeed(p, null), order), null, false);
    }

    /// <summary>
    /// The heads (N, H, L, D) merged (unless <paramref name="merged"/>: already (N, L, E) or (L, N, E)) and projected by
    /// out_proj, in the input's layout; the weights averaged over heads if asked.
    /// </summary>
    internal (Tensor Output, Tensor? Weights) MergeHeads(in Inputs inputs, Tensor heads, Tensor? weights, bool averageAttnWeights, bool merged = false)
    {
        var (n, l) = (inputs.N, inputs.L);
        var output = OutProj.Call(merged ? heads
            : inputs.BatchFirst ? heads.Permute(0, 2, 1, 3).Reshape(n, l, EmbedDim) : heads.Permute(2, 0, 1, 3).Reshape(l, n, EmbedDim));
        if (!inputs.Batched) output = output.Squeeze(0);
        if (weights != null)
        {
            if (averageAttnWeights) weights = weights.Mean(1);
            if (!inputs.Batched) weights = weights.Squeeze(0);
        }
        return (output, weights);
    }

    /// <summary>attnMask and keyPaddingMask as one additive mask broadcasting to (N, H, L, S), or null.</summary>
    internal Tensor? CombinedMask(Tensor? attnMask, Tensor? keyPaddingMask, int n, int l, int s, DType dtype)
    {
        Tensor? result = null;
        if (attnMask != null)
        {
            CheckMaskType(attnMask, nameof(attnMask));
            Tensor m;
            if (attnMask.Rank == 2 && attnMask.shape[0] == l && attnMask.shape[1] == s) m = attnMask;
            else if (attnMask.Rank == 3 && attnMask.shape[0] == n * NumHeads && attnMask.shape[1] == l && attnMask.shape[2] == s)
                m = attnMask.Reshape(n, NumHeads, l, s);
            else
                throw new ArgumentException($"{Op}: attnMask must be (L, S) = ({l}, {s}) or (N·num_heads, L, S) = ({n * NumHeads}, {l}, {s}), got shape {ShapeUtil.Format(attnMask.shape)}", nameof(attnMask));
            result = ToAdditive(m, dtype);
        }
        if (keyPaddingMask != null)
        {
            CheckMaskType(keyPaddingMask, nameof(keyPaddingMask));
            if (keyPaddingMask.Rank != 2 || keyPaddingMask.shape[0] != n || keyPaddingMask.shape[1] != s)
                throw new ArgumentException($"{Op}: keyPaddingMask must be (N, S) = ({n}, {s}) (or (S,) unbatched), got shape {ShapeUtil.Format(keyPaddingMask.shape)}", nameof(keyPaddingMask));
            var padding = ToAdditive(keyPaddingMask, dtype).Reshape(n, 1, 1, s);
            result = result == null ? padding : result.Add(padding);
        }
        return result;
    }

    static void CheckMaskType(Tensor mask, string name)
    {
        if (mask.DType != DType.Bool && !mask.IsFloatingPoint)
            throw new ArgumentException($"{Op}: {name} must be bool or floating point, got {mask.DType.TorchName()}", name);
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
