namespace DeepSharp.NN;

/// <summary>
/// Incremental decoding through a <see cref="MultiheadAttention"/>'s weights, for Transformer layers given a
/// <see cref="LayerKeyValueCache"/> (torch.nn.MultiheadAttention has no cache, so none is in its forward):
/// self-attention that appends the new tokens' keys and values to the cache and attends over all of them, and attention
/// over a fixed sequence (a decoder's cross-attention over the encoder memory) that projects it once per sequence.
/// </summary>
internal static class IncrementalAttention
{
    /// <summary>
    /// <see cref="SelfAttention"/> through the layer's hooks (<see cref="Module.Invoke"/>): hooks see the arguments of
    /// <see cref="MultiheadAttention.Call"/> (x as query, key and value; needWeights false) followed by the cache, and the
    /// output as (Output, Weights: null).
    /// </summary>
    public static Tensor CallSelfAttention(MultiheadAttention attention, Tensor x, LayerKeyValueCache cache, Tensor? attnMask = null,
        Tensor? keyPaddingMask = null, bool isCausal = false) =>
        Module.Invoke(attention, (x, x, x, keyPaddingMask, false, attnMask, true, isCausal, cache),
            static (m, a) => ((Tensor Output, Tensor? Weights))(SelfAttention(m, a.Item1, a.Item9, a.Item6, a.Item4, a.Item8), null)).Output;

    /// <summary><see cref="CrossAttention"/> through the layer's hooks, seen as by <see cref="CallSelfAttention"/>.</summary>
    public static Tensor CallCrossAttention(MultiheadAttention attention, Tensor query, Tensor key, Tensor value, MemoryKeyValueCache cache,
        Tensor? attnMask = null, Tensor? keyPaddingMask = null, bool isCausal = false) =>
        Module.Invoke(attention, (query, key, value, keyPaddingMask, false, attnMask, true, isCausal, cache),
            static (m, a) => ((Tensor Output, Tensor? Weights))(CrossAttention(m, a.Item1, a.Item2, a.Item3, a.Item9, a.Item6, a.Item4, a.Item8), null)).Output;

    /// <summary>
    /// Self-attention of the new tokens <paramref name="x"/> over the P cached tokens and themselves; their keys and values
    /// are appended to <paramref name="cache"/>. Masks cover all P + S keys; <paramref name="isCausal"/> hides key j from new
    /// token i when j &gt; P + i. The output of forward(x, x, x, need_weights=False) over the whole sequence, for the new rows.
    /// </summary>
    public static Tensor SelfAttention(MultiheadAttention attention, Tensor x, LayerKeyValueCache cache, Tensor? attnMask = null,
        Tensor? keyPaddingMask = null, bool isCausal = false)
    {
        if (attention.BiasK != null || attention.AddZeroAttn)
            throw new ArgumentException("MultiheadAttention: incremental decoding with a key/value cache does not support addBiasKv or addZeroAttn", nameof(attention));
        var inputs = attention.CheckInputs(x, x, x, keyPaddingMask);
        int past = cache.Length;
        var mask = attention.CombinedMask(attnMask, inputs.KeyPaddingMask, inputs.N, inputs.L, past + inputs.S, inputs.Query.DType);
        var (sources, select, _) = attention.Project(inputs);
        var (queries, keys, values) = select(sources);                                   // (N, H, S, D) views of the projection
        (keys, values) = cache.Append(keys, values);                                     // (N, H, P + S, D)
        var (heads, _, _) = attention.Attend([queries, keys, values], src => (src[0], src[1], src[2]), mask, isCausal, past,
                                          needWeights: false, inputs.BatchFirst);
        return attention.MergeHeads(inputs, heads, null, averageAttnWeights: false).Output;
    }

    /// <summary>
    /// Attention of <paramref name="query"/> over a fixed <paramref name="key"/>/<paramref name="value"/> sequence, such as
    /// the encoder memory: without gradient recording their projected keys and values are kept in <paramref name="cache"/>
    /// and reused while the same tensors (the same objects) come again, so a decoder generating token by token projects the
    /// memory once instead of once per token. While recording (gradients must reach the memory) it is a plain forward.
    /// </summary>
    public static Tensor CrossAttention(MultiheadAttention attention, Tensor query, Tensor key, Tensor value, MemoryKeyValueCache cache,
        Tensor? attnMask = null, Tensor? keyPaddingMask = null, bool isCausal = false)
    {
        if (Autograd.IsGradEnabled || attention.BiasK != null || attention.AddZeroAttn)
            return attention.Forward(query, key, value, keyPaddingMask, needWeights: false, attnMask: attnMask, isCausal: isCausal).Output;
        var inputs = attention.CheckInputs(query, key, value, keyPaddingMask);
        if (inputs.SelfAttention)
            throw new ArgumentException("MultiheadAttention: a memory cache is for attention over another sequence (key and value not the query)", nameof(key));
        var mask = attention.CombinedMask(attnMask, inputs.KeyPaddingMask, inputs.N, inputs.L, inputs.S, inputs.Query.DType);
        Tensor[] sources;
        ScaledDotProductAttentionOp.Selector select;
        if (cache.Holds(key, value))
        {
            var (keys, values) = (cache.Keys!, cache.Values!);
            bool batchFirst = inputs.BatchFirst;
            sources = [attention.ProjectQuery(inputs.Query)];
            select = src => (attention.Heads(src[0], 1, 0, batchFirst), keys, values);
        }
        else
        {
            (sources, select, _) = attention.Project(inputs);
            var (_, keys, values) = select(sources);
            cache.Store(key, value, keys, values);
        }
        var (heads, _, _) = attention.Attend(sources, select, mask, isCausal, 0, needWeights: false, inputs.BatchFirst);
        return attention.MergeHeads(inputs, heads, null, averageAttnWeights: false).Output;
    }
}
