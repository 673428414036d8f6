using DeepSharp.NN;

namespace DeepSharp.Text.Models;

/// <summary>The hyperparameters of an <see cref="LstmLanguageModel"/> (a char-rnn).</summary>
/// <param name="VocabSize">Number of token ids V.</param>
/// <param name="EmbeddingDim">Size of each token's embedding vector.</param>
/// <param name="HiddenSize">LSTM hidden (and cell) state size H.</param>
/// <param name="Layers">Stacked LSTM layers.</param>
/// <param name="Dropout">Dropout between stacked LSTM layers (torch.nn.LSTM's dropout; no effect with one layer).</param>
public sealed record LstmLanguageModelConfig(int VocabSize, int EmbeddingDim = 64, int HiddenSize = 256, int Layers = 1, double Dropout = 0.0)
{
    /// <summary>Throws an <see cref="ArgumentException"/> naming the first bad field.</summary>
    public void Validate()
    {
        if (VocabSize < 1) throw new ArgumentOutOfRangeException(nameof(VocabSize), $"LstmLanguageModelConfig: VocabSize must be at least 1, got {VocabSize}");
        if (EmbeddingDim < 1) throw new ArgumentOutOfRangeException(nameof(EmbeddingDim), $"LstmLanguageModelConfig: EmbeddingDim must be at least 1, got {EmbeddingDim}");
        if (HiddenSize < 1) throw new ArgumentOutOfRangeException(nameof(HiddenSize), $"LstmLanguageModelConfig: HiddenSize must be at least 1, got {HiddenSize}");
        if (Layers < 1) throw new ArgumentOutOfRangeException(nameof(Layers), $"LstmLanguageModelConfig: Layers must be at least 1, got {Layers}");
        if (!(Dropout >= 0 && Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(Dropout), $"LstmLanguageModelConfig: Dropout must be in [0, 1), got {Dropout}");
    }
}

/// <summary>
/// A recurrent language model (Karpathy's char-rnn, PyTorch's word_language_model example): embedding → multi-layer
/// <see cref="LSTM"/> (batch first) → linear head over the vocabulary. <c>Forward(ids)</c> maps (B, T) ids to
/// (B, T, V) logits from a zero state; <c>Forward(ids, state)</c> continues from a given state and returns the state
/// after the last step, which is what generation carries from token to token. It has no context limit.
/// State-dict keys: <c>embed.weight</c>, <c>lstm.weight_ih_l0</c>, ..., <c>head.weight</c>, <c>head.bias</c>.
/// </summary>
public sealed class LstmLanguageModel : LanguageModel
{
    /// <summary>The <see cref="LanguageModel.Kind"/> of this model.</summary>
    public const string KindName = "lstm";

    readonly Embedding embed;   // (V, E)
    readonly LSTM lstm;         // E → H, Layers deep
    readonly Linear head;       // H → V

    /// <summary>Builds the model from <paramref name="config"/> with PyTorch's default initialisation of each layer.</summary>
    public LstmLanguageModel(LstmLanguageModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        embed = new Embedding(config.VocabSize, config.EmbeddingDim);
        lstm = new LSTM(config.EmbeddingDim, config.HiddenSize, numLayers: config.Layers, batchFirst: true, dropout: config.Dropout);
        head = new Linear(config.HiddenSize, config.VocabSize);
    }

    /// <summary>The configuration the model was built from.</summary>
    public LstmLanguageModelConfig Config { get; }

    /// <inheritdoc/>
    public override int VocabSize => Config.VocabSize;

    /// <inheritdoc/>
    public override string Kind => KindName;

    /// <inheritdoc/>
    public override int? ContextLength => null;

    /// <inheritdoc/>
    public override string ConfigJson() => Serialize(Config);

    /// <summary>Logits (B, T, V) for ids (B, T), starting from a zero state.</summary>
    public override Tensor Forward(Tensor ids) => Forward(ids, null).Logits;

    /// <summary>Logits and the next state through the hooks (<c>model(ids, state)</c>), as <see cref="Forward(Tensor, ValueTuple{Tensor, Tensor}?)"/>.</summary>
    public (Tensor Logits, (Tensor H, Tensor C) State) Call(Tensor ids, (Tensor H, Tensor C)? state) =>
        Invoke(this, (ids, state), static (m, a) => m.Forward(a.ids, a.state));

    /// <summary>
    /// Logits (B, T, V) for ids (B, T) starting from <paramref name="state"/> ((Layers, B, H) each; null = zeros), and the
    /// state after the last step (torch.nn.LSTM's (h_n, c_n)).
    /// </summary>
    public (Tensor Logits, (Tensor H, Tensor C) State) Forward(Tensor ids, (Tensor H, Tensor C)? state)
    {
        CheckIds(ids, "LstmLanguageModel");
        var x = embed.Call(ids);                          // (B, T, E)
        var (output, next) = lstm.Call(x, state);        // (B, T, H); h, c (Layers, B, H)
        return (head.Call(output), next);                // (B, T, V)
    }

    /// <summary>A stateful next-token function (see <see cref="LanguageModel.CreateStepper"/>) that carries the LSTM state:
    /// each generated token costs one LSTM step.</summary>
    public override Func<IReadOnlyList<int>, Tensor> CreateStepper()
    {
        (Tensor H, Tensor C)? state = null;
        int seen = 0;
        return context =>
        {
            ArgumentNullException.ThrowIfNull(context);
            if (context.Count == 0) throw new ArgumentException("LstmLanguageModel stepper: the context is empty; give at least one token", nameof(context));
            if (context.Count <= seen) { state = null; seen = 0; }   // not a continuation: start over
            var fresh = new long[context.Count - seen];
            for (int i = 0; i < fresh.Length; i++) fresh[i] = context[seen + i];
            seen = context.Count;
            bool wasTraining = IsTraining;
            Eval();
            try
            {
                using (Autograd.NoGrad())
                {
                    var (logits, next) = Call(Tensor.FromArray(fresh, 1, fresh.Length), state);      // (1, n, V)
                    state = next;
                    return logits;
                }
            }
            finally { Train(wasTraining); }
        };
    }
}
