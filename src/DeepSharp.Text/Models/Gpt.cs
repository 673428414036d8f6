using DeepSharp.NN;

namespace DeepSharp.Text.Models;

/// <summary>
/// The hyperparameters of a <see cref="Gpt"/> (nanoGPT's GPTConfig).
/// </summary>
/// <param name="VocabSize">Number of token ids V (vocab_size).</param>
/// <param name="ContextLength">Longest sequence the model reads, the number of learned positions (block_size).</param>
/// <param name="Layers">Number of Transformer blocks (n_layer).</param>
/// <param name="Heads">Attention heads per block (n_head); must divide <paramref name="Width"/>.</param>
/// <param name="Width">Model width C, the size of every token's vector (n_embd).</param>
/// <param name="Dropout">Dropout after the embeddings, on the attention weights and after each sublayer (dropout).</param>
/// <param name="PreNorm">LayerNorm before each sublayer plus a final LayerNorm (GPT-2, the default) or after each
/// residual sum (the original Transformer and GPT-1).</param>
/// <param name="TiedHead">The output layer reuses the token embedding matrix (GPT-2's weight tying) instead of a
/// separate V × C matrix.</param>
/// <param name="Rotary">Rotary position embeddings (RoPE, as GPT-NeoX and LLaMA) on every head's queries and keys instead
/// of GPT-2's learned position table <c>wpe</c>: attention then sees relative positions from the first step.</param>
/// <param name="Activation">The feed-forward activation: "gelu" (exact, GPT-2's) or "relu" (cheaper on a CPU).</param>
/// <param name="ConvKernel">Primer's multi-dconv-head attention: a causal depthwise convolution over this many steps of
/// every block's q|k|v projection (<see cref="CausalSelfAttention.ProjectionConv"/>, initialised to the identity); 0 (the
/// default, GPT-2) for none.</param>
public sealed record GptConfig(int VocabSize, int ContextLength = 128, int Layers = 4, int Heads = 4, int Width = 128,
                               double Dropout = 0.0, bool PreNorm = true, bool TiedHead = true, bool Rotary = false,
                               string Activation = "gelu", int ConvKernel = 0)
{
    /// <summary>Hidden size of each block's feed-forward network: 4 × <see cref="Width"/>, as in GPT-2.</summary>
    [System.Text.Json.Serialization.JsonIgnore] public int FeedForward => 4 * Width;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (VocabSize < 1) throw new ArgumentOutOfRangeException(nameof(VocabSize), $"GptConfig: VocabSize must be at least 1, got {VocabSize}");
        if (ContextLength < 1) throw new ArgumentOutOfRangeException(nameof(ContextLength), $"GptConfig: ContextLength must be at least 1, got {ContextLength}");
        if (Layers < 1) throw new ArgumentOutOfRangeException(nameof(Layers), $"GptConfig: Layers must be at least 1, got {Layers}");
        if (Heads < 1 || Width < 1 || Width % Heads != 0)
            throw new ArgumentException($"GptConfig: Width ({Width}) must be a positive multiple of Heads ({Heads})", nameof(Width));
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), $"GptConfig: Dropout must be in [0, 1), got {Dropout}");
        if (ConvKernel < 0) throw new ArgumentOutOfRangeException(nameof(ConvKernel), $"GptConfig: ConvKernel must be 0 (none) or a kernel size ≥ 1, got {ConvKernel}");
        if (Activation is not ("gelu" or "relu"))
            throw new ArgumentException($"GptConfig: Activation must be \"gelu\" or \"relu\", got \"{Activation}\"", nameof(Activation));
    }
}

/// <summary>
/// A GPT-style decoder-only Transformer language model, in the shape of nanoGPT's model.py: token embedding plus
/// learned position embedding, a stack of <see cref="GptBlock"/>s (<see cref="CausalSelfAttention"/> and a GELU (or ReLU)
/// feed-forward network), a final LayerNorm and a linear head over the vocabulary.
/// <para>
/// <c>Forward(ids)</c> maps (B, T) token ids to (B, T, V) next-token logits. <c>Forward(ids, cache)</c> decodes
/// incrementally: only the new tokens are embedded and projected, their keys and values are appended to the
/// <see cref="KeyValueCache"/>, and attention reads the cache, so each generated token costs O(T) instead of a full
/// pass over the prefix; the logits equal the full forward's.
/// </para>
/// State-dict keys: <c>wte.weight</c>, <c>wpe.weight</c>, <c>h.layers.{i}.self_attn.in_proj_weight</c>, ...,
/// <c>h.layers.{i}.self_attn.qkv_conv.weight</c> (with <see cref="GptConfig.ConvKernel"/>),
/// <c>ln_f.weight</c> (pre-norm only), <c>lm_head.weight</c> (untied head only).
/// </summary>
public sealed class Gpt : LanguageModel
{
    /// <summary>The <see cref="LanguageModel.Kind"/> of this model.</summary>
    public const string KindName = "gpt";

    [TorchName("wte")] readonly Embedding tokenEmbedding;              // (V, C)
    [TorchName("wpe")] readonly LearnedPositionalEmbedding? positions;  // (context, C); null with rotary embeddings
    [TorchName("drop")] readonly Dropout embeddingDropout;
    [TorchName("h")] readonly GptBlocks blocks;                         // Layers × (attention, feed-forward)
    [TorchName("ln_f")] readonly LayerNorm? finalNorm;                  // pre-norm only
    [TorchName("lm_head")] readonly Linear? head;                       // (V, C); null when tied to wte

    /// <summary>Builds the model from <paramref name="config"/> and initialises it as GPT-2 does (see <see cref="ResetParameters"/>).</summary>
    public Gpt(GptConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        int c = config.Width;
        tokenEmbedding = new Embedding(config.VocabSize, c);
        positions = config.Rotary ? null : new LearnedPositionalEmbedding(config.ContextLength, c, batchFirst: true);
        embeddingDropout = new Dropout(config.Dropout);
        var rotary = config.Rotary ? new RotaryEmbedding(c / config.Heads, maxPositions: config.ContextLength) : null;   // shared: it only caches tables
        blocks = new GptBlocks(Enumerable.Range(0, config.Layers).Select(i => NewBlock(config, rotary, i)).ToList());
        finalNorm = config.PreNorm ? new LayerNorm(c) : null;
        head = config.TiedHead ? null : new Linear(c, config.VocabSize, bias: false);
        ResetParameters();
    }

    /// <summary>
    /// Block <paramref name="index"/> with its q/k/v convolution. <see cref="ResetParameters"/> draws every weight again, but
    /// building draws from the global random stream too; drawing what earlier versions drew (the default weights of one
    /// block, whose copies made the stack, and each convolution) keeps a seed giving the same model and training run.
    /// </summary>
    static GptBlock NewBlock(GptConfig config, RotaryEmbedding? rotary, int index)
    {
        var conv = config.ConvKernel > 0 ? new CausalDepthwiseConv1d(3 * config.Width, config.ConvKernel) : null;
        if (index == 0) return new GptBlock(config, rotary, conv);
        var state = DeepSharp.Random.GetState();
        var block = new GptBlock(config, rotary, conv);
        DeepSharp.Random.SetState(state);
        return block;
    }

    /// <summary>The configuration the model was built from.</summary>
    public GptConfig Config { get; }

    /// <inheritdoc/>
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <inheritdoc/>
    public override int? ContextLength => Config.ContextLength;

    /// <inheritdoc/>
    public override string ConfigJson() => Serialize(Config);

    /// <summary>
    /// GPT-2's initialisation (nanoGPT's _init_weights): every weight matrix and embedding N(0, 0.02), biases zero,
    /// LayerNorms one/zero, and the projections that write into the residual stream (attention out_proj and the
    /// feed-forward's second layer) N(0, 0.02/√(2·Layers)) so the residual's variance does not grow with depth. Projection
    /// convolutions (<see cref="GptConfig.ConvKernel"/>) start as the identity, so the model starts as a plain GPT.
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        const double std = 0.02;
        double residualStd = std / Math.Sqrt(2.0 * Config.Layers);
        Init.Normal(tokenEmbedding.Weight, 0, std, generator);
        if (positions != null) Init.Normal(positions.Weight, 0, std, generator);
        for (int i = 0; i < blocks.Count; i++)
        {
            var layer = blocks[i];
            Init.Normal(layer.Attention.InProjWeight, 0, std, generator);
            Init.Zeros(layer.Attention.InProjBias);
            Init.Normal(layer.Attention.OutProj.Weight, 0, residualStd, generator);
            Init.Zeros(layer.Attention.OutProj.Bias!);
            Init.Normal(layer.Linear1.Weight, 0, std, generator);
            Init.Zeros(layer.Linear1.Bias!);
            Init.Normal(layer.Linear2.Weight, 0, residualStd, generator);
            Init.Zeros(layer.Linear2.Bias!);
            layer.Attention.ProjectionConv?.ResetToIdentity();
        }
        if (head != null) Init.Normal(head.Weight, 0, std, generator);
    }

    /// <summary>Next-token logits (B, T, V) for token ids (B, T), T ≤ <see cref="GptConfig.ContextLength"/> (GPT.forward).</summary>
    public override Tensor Forward(Tensor ids) => Forward(ids, null);

    /// <summary>Next-token logits through the hooks (<c>model(ids, cache)</c>), as <see cref="Forward(Tensor, KeyValueCache?)"/>.</summary>
    public Tensor Call(Tensor ids, KeyValueCache? cache) => Invoke(this, (ids, cache), static (m, a) => m.Forward(a.ids, a.cache));

    /// <summary>
    /// Next-token logits (B, T, V) for the new token ids (B, T) that follow the <paramref name="cache"/>'s
    /// <c>cache.Length</c> tokens (all of them when the cache is null or empty). The new tokens' keys and values are
    /// appended to the cache. Cached plus new tokens must fit in <see cref="GptConfig.ContextLength"/>.
    /// </summary>
    public Tensor Forward(Tensor ids, KeyValueCache? cache)
    {
        CheckIds(ids, "Gpt");
        int start = cache?.Length ?? 0, t = ids.Shape[1];
        if (start + t > Config.ContextLength)
            throw new ArgumentException($"Gpt: {start} cached + {t} new tokens exceed the context length {Config.ContextLength}; " +
                                        "crop the input (or reset the cache and feed the last tokens again)", nameof(ids));

        var x = tokenEmbedding.Call(ids);                           // (B, T, C) token vectors
        if (positions != null) x = positions.Call(x, start);        // (B, T, C) + position vectors start .. start+T-1
                                                                    // (with rotary embeddings, attention rotates q and k instead)
        x = embeddingDropout.Call(x);
        x = blocks.Call(x, cache);                                  // (B, T, C), token i attends to tokens <= i
        if (finalNorm != null) x = finalNorm.Call(x);               // (B, T, C)
        return head != null ? head.Call(x)                           // (B, T, V)
                            : F.Linear(x, tokenEmbedding.Weight);   // (B, T, V) through the tied (V, C) embedding
    }

    /// <summary>
    /// A stateful next-token function for <see cref="Generation.Generate"/> (see <see cref="LanguageModel.CreateStepper"/>)
    /// backed by a <see cref="KeyValueCache"/>. Within the context length every logit equals the full forward's. When the
    /// window is full, the cache restarts from the last <paramref name="keep"/> tokens, the new one included (re-read in
    /// one pass), and grows again: the default, half the context, costs O(T) per token on average; <c>ContextLength</c>
    /// re-reads the whole window at every token and sees exactly what nanoGPT's crop-to-block_size generate() sees.
    /// </summary>
    public Func<IReadOnlyList<int>, Tensor> CreateStepper(int? keep)
    {
        int window = Config.ContextLength;
        int kept = keep ?? Math.Max(1, window / 2);
        if (kept < 1 || kept > window)
            throw new ArgumentOutOfRangeException(nameof(keep), $"Gpt.CreateStepper: keep must be in [1, {window}] (the context length), got {kept}");
        var cache = new KeyValueCache();
        var fed = new List<int>();   // the tokens whose keys and values the cache holds, in order
        int seen = 0;                // how much of the caller's context has been fed
        return context =>
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.Count == 0) throw new ArgumentException("Gpt stepper: the context is empty; give at least one token", nameof(context));
            if (context.Count <= seen) { cache.Reset(); fed.Clear(); seen = 0; }   // not a continuation: start over
            var fresh = new List<int>();
            for (int i = seen; i < context.Count; i++) fresh.Add(context[i]);
            seen = context.Count;
            if (fed.Count + fresh.Count > window)
            {
                // Window full: keep the last tokens (at least one new one) and re-read them from an empty cache.
                var all = fed.Concat(fresh).ToList();
                int n = Math.Min(all.Count, Math.Max(kept, Math.Min(fresh.Count, window)));
                fresh = all.GetRange(all.Count - n, n);
                cache.Reset(); fed.Clear();
            }
            fed.AddRange(fresh);
            var ids = Tensor.FromArray(fresh.Select(t => (long)t).ToArray(), 1, fresh.Count);   // (1, n)
            bool wasTraining = IsTraining;
            Eval();
            try { using (Autograd.NoGrad()) return Call(ids, cache); }                          // (1, n, V)
            finally { Train(wasTraining); }
        };
    }

    /// <inheritdoc/>
    public override Func<IReadOnlyList<int>, Tensor> CreateStepper() => CreateStepper(null);
}
