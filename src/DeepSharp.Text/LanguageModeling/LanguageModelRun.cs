using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Text.Datasets;

namespace DeepSharp.Text;

/// <summary>The result of <see cref="LanguageModelRun.Evaluate(Func{Tensor, Tensor}, int, int?)"/>.</summary>
/// <param name="Loss">Mean cross-entropy per predicted token, in nats.</param>
/// <param name="Tokens">Predicted (target) tokens.</param>
/// <param name="Characters">Characters (Unicode scalar values) of the text those tokens decode to.</param>
public sealed record LanguageModelEvaluation(double Loss, long Tokens, long Characters)
{
    /// <summary>Bits per token: <see cref="Loss"/> / ln 2.</summary>
    public double BitsPerToken => Loss / Math.Log(2);

    /// <summary>Bits per character: total bits over the characters predicted; equal to bits per token for a
    /// character tokenizer, and the figure that compares models with different tokenizers.</summary>
    public double BitsPerCharacter => Loss * Tokens / Math.Log(2) / Characters;
}

/// <summary>
/// One language-modelling setup shared by the example models (the char-level LSTM, a GPT) and <c>deepsharp train</c>, so
/// that they train on the same data and are scored by the same validation bits-per-character. A model is any function
/// from (B, T) int64 token ids to (B, T, V) logits, so it can be an LSTM, a Transformer or a lookup table. Training is
/// the Trainer's (DeepSharp.Training): this class holds the data and the scoring only.
/// <list type="bullet">
/// <item>Data: documents are split into training and validation sets by a seeded shuffle
/// (<see cref="SplitDocuments"/>), each set joined with a separator and tokenized once; <see cref="TrainLoader"/> gives
/// random windows of the training stream (every offset is a window, shuffled by a seeded data loader) and
/// <see cref="NextTokenLoss"/> the mean next-token cross-entropy to train them on.</item>
/// <item>Evaluation (<see cref="Evaluate(Func{Tensor, Tensor}, int, int?)"/>): the validation stream cut into
/// non-overlapping windows, each scored from a fresh start (no state carried between windows, as nanoGPT's
/// <c>estimate_loss</c>), mean cross-entropy over every position.</item>
/// </list>
/// PyTorch has no such class; it is the data and evaluation part of nanoGPT's train.py (and of char-rnn) as a reusable object.
/// </summary>
public sealed class LanguageModelRun
{
    /// <summary>A run over already split training and validation texts.</summary>
    public LanguageModelRun(ITokenizer tokenizer, string trainText, string validationText, int blockSize)
    {
        ArgumentNullException.ThrowIfNull(tokenizer); ArgumentNullException.ThrowIfNull(trainText); ArgumentNullException.ThrowIfNull(validationText);
        if (blockSize < 1) throw new ArgumentOutOfRangeException(nameof(blockSize), $"LanguageModelRun: blockSize must be at least 1, got {blockSize}");
        Tokenizer = tokenizer;
        BlockSize = blockSize;
        Train = new TextWindowDataset(tokenizer.Encode(trainText), blockSize, stride: 1);
        Validation = new TextWindowDataset(tokenizer.Encode(validationText), blockSize);
        if (Train.Count == 0) throw new ArgumentException($"LanguageModelRun: the training text has {Train.Tokens.Length} tokens, fewer than blockSize + 1 = {blockSize + 1}", nameof(trainText));
        if (Validation.Count == 0) throw new ArgumentException($"LanguageModelRun: the validation text has {Validation.Tokens.Length} tokens, fewer than blockSize + 1 = {blockSize + 1}", nameof(validationText));
    }

    /// <summary>
    /// Splits <paramref name="documents"/> (e.g. <see cref="Fortunes.Load"/>'s entries) into training and validation sets:
    /// a shuffle seeded by <paramref name="seed"/>, the first <paramref name="validationFraction"/> of the shuffled documents
    /// for validation, each set joined with <paramref name="separator"/>. The same documents, fraction and seed give the
    /// same split whatever the tokenizer.
    /// </summary>
    public static LanguageModelRun SplitDocuments(IReadOnlyList<string> documents, ITokenizer tokenizer, int blockSize,
                                                  double validationFraction = 0.1, long seed = 0, string separator = "\n\n")
    {
        ArgumentNullException.ThrowIfNull(documents); ArgumentNullException.ThrowIfNull(separator);
        if (!(validationFraction > 0 && validationFraction < 1))
            throw new ArgumentOutOfRangeException(nameof(validationFraction), $"LanguageModelRun: validationFraction must be in (0, 1), got {validationFraction}");
        ArgumentNullException.ThrowIfNull(tokenizer);
        if (tokenizer.Decode(tokenizer.Encode(separator)) != separator)
            throw new ArgumentException($"LanguageModelRun: the tokenizer does not round-trip the separator {System.Text.Json.JsonSerializer.Serialize(separator, TextJsonContext.Default.String)} " +
                                        "(build a character tokenizer from a corpus that contains it)", nameof(separator));
        var order = Enumerable.Range(0, documents.Count).ToArray();
        var rng = new Generator(seed);
        for (int i = order.Length - 1; i > 0; i--)   // Fisher-Yates
        {
            int j = (int)rng.NextInt64(0, i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        int validationCount = Math.Max(1, (int)Math.Round(documents.Count * validationFraction));
        if (validationCount >= documents.Count)
            throw new ArgumentException($"LanguageModelRun: {documents.Count} document(s) cannot be split with validationFraction {validationFraction}", nameof(documents));
        string Join(IEnumerable<int> ids) => string.Join(separator, ids.Select(i => documents[i]));
        return new LanguageModelRun(tokenizer, Join(order.Skip(validationCount)), Join(order.Take(validationCount)), blockSize);
    }

    /// <summary>The tokenizer both streams were encoded with.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>Window length T of training and evaluation (a Transformer's block size).</summary>
    public int BlockSize { get; }

    /// <summary>Training windows: every offset of the training stream (stride 1).</summary>
    public TextWindowDataset Train { get; }

    /// <summary>Validation windows: non-overlapping (stride = block size).</summary>
    public TextWindowDataset Validation { get; }

    /// <summary>
    /// Batches of <paramref name="batchSize"/> random training windows, (ids (B, T), next ids (B, T)), reshuffled every
    /// pass by <paramref name="generator"/> (or the global generator); a last short batch is dropped unless it is the only one.
    /// </summary>
    public DataLoader TrainLoader(int batchSize, Generator? generator = null)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"LanguageModelRun.TrainLoader: batchSize must be at least 1, got {batchSize}");
        return new DataLoader(Train, batchSize, shuffle: true, dropLast: Train.Count >= batchSize, generator: generator);
    }

    /// <summary>
    /// The mean next-token cross-entropy (nats per token) of <paramref name="logits"/> (B, T, V) against
    /// <paramref name="targets"/> (B, T): F.cross_entropy(logits.view(-1, V), targets.view(-1)) as nanoGPT computes it;
    /// the loss to give the Trainer.
    /// </summary>
    public static Tensor NextTokenLoss(Tensor logits, Tensor targets) => CheckedNextTokenLoss(logits, targets, "NextTokenLoss");

    static Tensor CheckedNextTokenLoss(Tensor logits, Tensor targets, string caller)
    {
        if (logits.Rank != 3 || logits.Shape[0] != targets.Shape[0] || logits.Shape[1] != targets.Shape[1])
            throw new ArgumentException($"LanguageModelRun.{caller}: the model must map ids (B, T) = ({string.Join(", ", targets.Shape)}) to logits (B, T, V), " +
                                        $"got ({string.Join(", ", logits.Shape)})", "model");
        return F.CrossEntropy(logits.Reshape(-1, logits.Shape[2]), targets.Reshape(-1));
    }

    /// <summary>
    /// Scores <paramref name="model"/> on the validation windows (the first <paramref name="maxWindows"/> of them when
    /// given, else all), <paramref name="batchSize"/> windows at a time, under no-grad: mean cross-entropy per token,
    /// and bits per token and per character.
    /// </summary>
    public LanguageModelEvaluation Evaluate(Func<Tensor, Tensor> model, int batchSize = 32, int? maxWindows = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"LanguageModelRun.Evaluate: batchSize must be at least 1, got {batchSize}");
        if (maxWindows is < 1) throw new ArgumentOutOfRangeException(nameof(maxWindows), $"LanguageModelRun.Evaluate: maxWindows must be at least 1, got {maxWindows}");
        int windows = Math.Min(Validation.Count, maxWindows ?? int.MaxValue);
        double totalNats = 0;
        using (Autograd.NoGrad())
            for (int start = 0; start < windows; start += batchSize)
            {
                using var scope = TensorScope.Begin();
                var indices = Enumerable.Range(start, Math.Min(batchSize, windows - start)).ToArray();
                var batch = Validation.GetBatch(indices);
                totalNats += CheckedNextTokenLoss(model(batch[0]), batch[1], "Evaluate").Item() * batch[1].NumEl;
            }
        long tokens = (long)windows * BlockSize;
        // Targets are tokens 1 .. windows*T of the validation stream; count the characters they decode to.
        var targets = Validation.Tokens.Span.Slice(1, (int)tokens);
        long characters = Tokenizer.Decode(targets).EnumerateRunes().LongCount();
        return new LanguageModelEvaluation(totalNats / tokens, tokens, characters);
    }

    /// <summary>Like <see cref="Evaluate(Func{Tensor, Tensor}, int, int?)"/> for a module, in evaluation mode (restored after).</summary>
    public LanguageModelEvaluation Evaluate(Module<Tensor, Tensor> model, int batchSize = 32, int? maxWindows = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        bool wasTraining = model.IsTraining;
        model.Eval();
        try { return Evaluate(model.Call, batchSize, maxWindows); }
        finally { model.Train(wasTraining); }
    }
}
