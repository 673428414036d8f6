using DeepSharp.NN;

namespace DeepSharp.Text.Models;

/// <summary>
/// One Transformer block of a <see cref="Gpt"/> (nanoGPT's Block): <see cref="CausalSelfAttention"/> and a feed-forward
/// network linear2(dropout(activation(linear1(x)))), each with a residual connection and a LayerNorm, before the sublayer
/// (pre-norm, GPT-2) or after the residual sum (post-norm, GPT-1). State-dict keys are those of the
/// <see cref="TransformerEncoderLayer"/> GPT checkpoints have always used: "self_attn.*", "linear1.*", "linear2.*",
/// "norm1.*", "norm2.*" (nanoGPT: attn, mlp.c_fc, mlp.c_proj, ln_1, ln_2).
/// </summary>
public sealed class GptBlock : Module<Tensor, Tensor>
{
    /// <summary>Whether the LayerNorms come before the sublayers (pre-norm) rather than after the residual sums.</summary>
    public bool PreNorm { get; }
    /// <summary>The feed-forward activation.</summary>
    public TransformerActivation Activation { get; }

    /// <summary>Causal self-attention (attn; key "self_attn").</summary>
    [TorchName("self_attn")] public CausalSelfAttention Attention { get; }
    /// <summary>First feed-forward layer, C → 4C (mlp.c_fc; key "linear1").</summary>
    [TorchName("linear1")] public Linear Linear1 { get; }
    [TorchName("dropout")] readonly Dropout feedForwardDropout;
    /// <summary>Second feed-forward layer, 4C → C (mlp.c_proj; key "linear2").</summary>
    [TorchName("linear2")] public Linear Linear2 { get; }
    /// <summary>Norm of the attention sublayer (ln_1; key "norm1").</summary>
    [TorchName("norm1")] public LayerNorm Norm1 { get; }
    /// <summary>Norm of the feed-forward sublayer (ln_2; key "norm2").</summary>
    [TorchName("norm2")] public LayerNorm Norm2 { get; }
    [TorchName("dropout1")] readonly Dropout attentionDropout;
    [TorchName("dropout2")] readonly Dropout outputDropout;

    /// <summary>
    /// Builds the block of <paramref name="config"/>: its width, heads, feed-forward size, dropout, activation and norm
    /// placement, with the given (possibly shared) <paramref name="rotary"/> embedding and q/k/v <paramref name="projectionConv"/>.
    /// </summary>
    public GptBlock(GptConfig config, RotaryEmbedding? rotary = null, CausalDepthwiseConv1d? projectionConv = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        int c = config.Width;
        PreNorm = config.PreNorm;
        Activation = config.Activation;
        Attention = new CausalSelfAttention(c, config.Heads, config.Dropout, rotary, projectionConv);
        Linear1 = new Linear(c, config.FeedForward);
        feedForwardDropout = new Dropout(config.Dropout);
        Linear2 = new Linear(config.FeedForward, c);
        Norm1 = new LayerNorm(c);
        Norm2 = new LayerNorm(c);
        attentionDropout = new Dropout(config.Dropout);
        outputDropout = new Dropout(config.Dropout);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary><see cref="Forward(Tensor, LayerKeyValueCache?)"/> through the hooks.</summary>
    public Tensor Call(Tensor x, LayerKeyValueCache? cache) =>
        cache == null ? Call(x) : Invoke(this, (x, cache), static (m, a) => m.Forward(a.x, a.cache));

    /// <summary>The block on (B, T, C); with <paramref name="cache"/> the attention decodes incrementally (see <see cref="CausalSelfAttention"/>).</summary>
    public Tensor Forward(Tensor x, LayerKeyValueCache? cache)
    {
        if (PreNorm)
        {
            x = x.Add(attentionDropout.Call(Attention.Call(Norm1.Call(x), cache)));
            return x.Add(FeedForward(Norm2.Call(x)));
        }
        x = Norm1.Call(x.Add(attentionDropout.Call(Attention.Call(x, cache))));
        return Norm2.Call(x.Add(FeedForward(x)));
    }

    Tensor FeedForward(Tensor x) => outputDropout.Call(Linear2.Call(feedForwardDropout.Call(Activation.Apply(Linear1.Call(x)))));
}

/// <summary>
/// The stack of a <see cref="Gpt"/>'s blocks (nanoGPT's transformer.h), under "layers.0", "layers.1", ... as the
/// <see cref="TransformerEncoder"/> that earlier GPT checkpoints were saved from.
/// </summary>
internal sealed class GptBlocks(IEnumerable<GptBlock> blocks) : Module<Tensor, Tensor>
{
    [TorchName("layers")] readonly ModuleList layers = new(blocks);

    /// <summary>Number of blocks.</summary>
    public int Count => layers.Count;

    /// <summary>The block at <paramref name="index"/>.</summary>
    public GptBlock this[int index] => (GptBlock)layers[index];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x) => Forward(x, null);

    /// <summary><see cref="Forward(Tensor, KeyValueCache?)"/> through the hooks.</summary>
    public Tensor Call(Tensor x, KeyValueCache? cache) =>
        cache == null ? Call(x) : Invoke(this, (x, cache), static (m, a) => m.Forward(a.x, a.cache));

    /// <summary>Every block in turn; block i appends to and attends over <c>cache[i]</c>.</summary>
    public Tensor Forward(Tensor x, KeyValueCache? cache)
    {
        for (int i = 0; i < Count; i++) x = this[i].Call(x, cache?[i]);
        return x;
    }
}
