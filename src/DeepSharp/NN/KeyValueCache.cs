using System.Collections;

namespace DeepSharp.NN;

/// <summary>
/// The keys and values one self-attention layer has seen so far, per head: (N, H, T, head_dim) each. A Transformer layer
/// given it (<see cref="TransformerEncoderLayer"/>, <see cref="TransformerDecoderLayer"/>, or a model's own attention such
/// as DeepSharp.Text's GPT) appends the new tokens' keys and values and attends over everything cached, so a decoder
/// generating token by token projects each token once and does O(T) work per token instead of re-running the whole
/// prefix (the past_key_values of Hugging Face models; PyTorch core has no equivalent).
/// <para>
/// Without gradient recording (inference under <see cref="Autograd.NoGrad"/>), appends copy into a buffer whose
/// capacity doubles when full, created outside any <see cref="TensorScope"/> so it survives per-step scopes. While
/// recording, appends concatenate differentiably instead.
/// </para>
/// </summary>
public sealed class LayerKeyValueCache
{
    Tensor? keys, values;      // (N, H, capacity, D), or exactly (N, H, Length, D) after a differentiable append

    /// <summary>Number of cached positions.</summary>
    public int Length { get; private set; }

    /// <summary>The cached keys (N, H, Length, head_dim), or null when empty.</summary>
    public Tensor? Keys => keys == null || Length == 0 ? null : keys.Narrow(2, 0, Length);

    /// <summary>The cached values (N, H, Length, head_dim), or null when empty.</summary>
    public Tensor? Values => values == null || Length == 0 ? null : values.Narrow(2, 0, Length);

    /// <summary>
    /// The inputs (N, k−1, channels) of the last k−1 tokens to a causal convolution of kernel k over time, for a layer that
    /// has one (the q/k/v convolution of DeepSharp.Text's GPT attention); null: none yet, i.e. zeros.
    /// </summary>
    public Tensor? ConvState { get; set; }

    /// <summary>
    /// The projected keys and values of the sequence this layer attends over besides itself (a decoder layer's
    /// cross-attention over the encoder memory), kept for the whole sequence (<see cref="MemoryKeyValueCache"/>).
    /// </summary>
    public MemoryKeyValueCache Memory { get; } = new();

    /// <summary>Forgets everything (keeps the key/value buffers for reuse).</summary>
    public void Reset() { Length = 0; ConvState = null; Memory.Reset(); }

    /// <summary>
    /// Appends keys and values (N, H, T_new, D) and returns all of them, (N, H, Length, D) after the append.
    /// </summary>
    public (Tensor Keys, Tensor Values) Append(Tensor newKeys, Tensor newValues)
    {
        ArgumentNullException.ThrowIfNull(newKeys); ArgumentNullException.ThrowIfNull(newValues);
        if (newKeys.Rank != 4 || newValues.Rank != 4 || !newKeys.Shape.Take(3).SequenceEqual(newValues.Shape.Take(3)) || newKeys.DType != newValues.DType)
            throw new ArgumentException($"LayerKeyValueCache.Append: keys and values must be (N, H, T, D) of one dtype with equal N, H and T, got {ShapeUtil.Format(newKeys.shape)} {newKeys.DType.TorchName()} and {ShapeUtil.Format(newValues.shape)} {newValues.DType.TorchName()}");
        if (keys != null && Length > 0 && (keys.shape[0] != newKeys.shape[0] || keys.shape[1] != newKeys.shape[1] || keys.shape[3] != newKeys.shape[3]
            || values!.shape[3] != newValues.shape[3] || keys.DType != newKeys.DType))
            throw new ArgumentException($"LayerKeyValueCache.Append: new keys {ShapeUtil.Format(newKeys.shape)} / values {ShapeUtil.Format(newValues.shape)} do not match the cached (N, H, ·, D) = keys {ShapeUtil.Format(keys.shape)}, values {ShapeUtil.Format(values!.shape)}; call Reset() to start a new sequence");
        int t = newKeys.shape[2];
        if (Autograd.IsGradEnabled && (newKeys.RequiresGrad || newValues.RequiresGrad || keys is { RequiresGrad: true }))
        {
            keys = Length == 0 ? newKeys : Tensor.Cat([Keys!, newKeys], 2);
            values = Length == 0 ? newValues : Tensor.Cat([Values!, newValues], 2);
            Length += t;
            return (keys, values);
        }
        int needed = Length + t;
        if (keys == null || keys.RequiresGrad || keys.shape[2] < needed || Length == 0 && !SameLayout(keys, newKeys, values!, newValues))
        {
            int capacity = Math.Max(needed, keys == null || Length == 0 ? Math.Max(needed, 16) : 2 * keys.shape[2]);
            var (oldKeys, oldValues) = (Keys, Values);
            (keys, values) = TensorScope.Suspend(() =>
                (Tensor.Zeros([newKeys.shape[0], newKeys.shape[1], capacity, newKeys.shape[3]], newKeys.DType),
                 Tensor.Zeros([newValues.shape[0], newValues.shape[1], capacity, newValues.shape[3]], newValues.DType)));
            if (oldKeys != null)
                using (Autograd.NoGrad())
                {
                    keys.Narrow(2, 0, Length).CopyFrom(oldKeys.Detach());
                    values.Narrow(2, 0, Length).CopyFrom(oldValues!.Detach());
                }
        }
        using (Autograd.NoGrad())
        {
            keys.Narrow(2, Length, t).CopyFrom(newKeys.Detach());
            values!.Narrow(2, Length, t).CopyFrom(newValues.Detach());
        }
        Length = needed;
        return (Keys!, Values!);
    }

    static bool SameLayout(Tensor keys, Tensor newKeys, Tensor values, Tensor newValues) =>
        keys.shape[0] == newKeys.shape[0] && keys.shape[1] == newKeys.shape[1] && keys.shape[3] == newKeys.shape[3]
        && values.shape[3] == newValues.shape[3] && keys.DType == newKeys.DType;
}

/// <summary>
/// The projected keys and values (N, H, S, head_dim) of a fixed sequence that a layer attends over, such as the encoder
/// memory of a decoder's cross-attention: a <see cref="TransformerDecoderLayer"/> given a cache computes them on the first call and reuses
/// them while it is given the same key and value tensors (the same objects), so a decoder generating token by token
/// projects the memory once instead of once per token. Only used without gradient recording. Reset (or pass another
/// memory tensor) for a new sequence.
/// </summary>
public sealed class MemoryKeyValueCache
{
    Tensor? key, value;   // the tensors the cached projections were computed from (compared by reference)

    /// <summary>The cached keys (N, H, S, head_dim), or null when empty.</summary>
    public Tensor? Keys { get; private set; }
    /// <summary>The cached values (N, H, S, head_dim), or null when empty.</summary>
    public Tensor? Values { get; private set; }

    /// <summary>Whether the cache holds the projections of exactly these key and value tensors.</summary>
    public bool Holds(Tensor key, Tensor value) => Keys != null && ReferenceEquals(this.key, key) && ReferenceEquals(this.value, value);

    /// <summary>Keeps copies (outside any <see cref="TensorScope"/>) of the projected keys and values of key and value.</summary>
    internal void Store(Tensor key, Tensor value, Tensor keys, Tensor values)
    {
        (this.key, this.value) = (key, value);
        (Keys, Values) = TensorScope.Suspend(() => (keys.Detach().Contiguous().Clone(), values.Detach().Contiguous().Clone()));
    }

    /// <summary>Forgets the cached projections.</summary>
    public void Reset() { key = value = null; Keys = Values = null; }
}

/// <summary>
/// One <see cref="LayerKeyValueCache"/> per attention layer of a model, created on first use: pass it to
/// <see cref="TransformerEncoder"/> / <see cref="TransformerDecoder"/> (layer i uses <c>cache[i]</c>). See
/// docs/attention.md for a token-by-token generation loop.
/// </summary>
public sealed class KeyValueCache : IReadOnlyList<LayerKeyValueCache>
{
    readonly List<LayerKeyValueCache> layers = [];

    /// <summary>Creates an empty cache; layers are added as they are asked for.</summary>
    public KeyValueCache() { }

    /// <summary>The cache of layer <paramref name="layer"/>, created if needed.</summary>
    public LayerKeyValueCache this[int layer]
    {
        get
        {
            if (layer < 0) throw new ArgumentOutOfRangeException(nameof(layer), $"KeyValueCache: layer index must be non-negative, got {layer}");
            while (layers.Count <= layer) layers.Add(new LayerKeyValueCache());
            return layers[layer];
        }
    }

    /// <summary>Number of layers created so far.</summary>
    public int Count => layers.Count;

    /// <summary>Number of cached positions (that of layer 0; 0 when empty).</summary>
    public int Length => layers.Count == 0 ? 0 : layers[0].Length;

    /// <summary>Forgets every layer's keys and values, to start a new sequence.</summary>
    public void Reset() { foreach (var l in layers) l.Reset(); }

    /// <inheritdoc/>
    public IEnumerator<LayerKeyValueCache> GetEnumerator() => layers.GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
