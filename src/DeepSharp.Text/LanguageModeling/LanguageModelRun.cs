using System.Diagnostics;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text.Datasets;

namespace DeepSharp.Text;

/// <summary>
/// How long a training run may go: a number of optimizer steps, a wall-clock time, or both (whichever ends first).
/// A step budget repeats exactly; a time budget is what makes two models comparable on one machine.
/// (nanoGPT's <c>max_iters</c>; Lightning's <c>Trainer(max_steps=, max_time=)</c>.)
/// </summary>
public sealed record TrainingBudget
{
    /// <summary>Most optimizer steps to take; null for no step limit.</summary>
    public int? MaxSteps { get; init; }

    /// <summary>Most seconds of training (evaluation excluded); null for no time limit.</summary>
    public double? MaxSeconds { get; init; }

    /// <summary>A budget of <paramref name="steps"/> optimizer steps.</summary>
    public static TrainingBudget Steps(int steps) => new() { MaxSteps = steps };

    /// <summary>A budget of <paramref name="seconds"/> seconds of training.</summary>
    public static TrainingBudget Seconds(double seconds) => new() { MaxSeconds = seconds };

    /// <summary>The fraction of the budget used after <paramref name="steps"/> steps and <paramref name="seconds"/> seconds
    /// (the larger of the two fractions, 0 to 1).</summary>
    public double Used(int steps, double seconds) =>
        Math.Clamp(Math.Max(MaxSteps is int s ? (double)steps / s : 0, MaxSeconds is double t ? seconds / t : 0), 0, 1);

    internal void Validate()
    {
        if (MaxSteps is null && MaxSeconds is null)
            throw new ArgumentException("TrainingBudget: set MaxSteps, MaxSeconds or both", "budget");
        if (MaxSteps is < 1) throw new ArgumentOutOfRangeException("budget", $"TrainingBudget: MaxSteps must be at least 1, got {MaxSteps}");
        if (MaxSeconds is double t && !(t > 0)) throw new ArgumentOutOfRangeException("budget", $"TrainingBudget: MaxSeconds must be positive, got {t}");
    }
}

/// <summary>What <see cref="LanguageModelRun.Fit(Func{Tensor, Tensor}, Optimizer, int, TrainingBudget, double?, Func{double, double}?, Generator?, int, Action{LanguageModelProgress}?)"/> did.</summary>
/// <param name="Steps">Optimizer steps taken.</param>
/// <param name="Seconds">Training time in seconds.</param>
/// <param name="Tokens">Target tokens trained on (steps × batch × block size).</param>
/// <param name="TrainLoss">Mean training loss (nats per token) over the last logging interval.</param>
public sealed record LanguageModelFitResult(int Steps, double Seconds, long Tokens, double TrainLoss);

/// <summary>A progress line of a training run: step, time, running training loss, learning rate, throughput.</summary>
public sealed record LanguageModelProgress(int Step, double Seconds, double TrainLoss, double LearningRate, double TokensPerSecond)
{
    /// <inheritdoc/>
    public override string ToString() =>
        $"step {Step,6}  {Seconds,7:F1}s  loss {TrainLoss:F4}  ({TrainLoss / Math.Log(2):F3} bits/token)  lr {LearningRate:G3}  {TokensPerSecond:F0} tok/s";
}

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
/// One language-modelling setup shared by the example models (the char-level LSTM, a GPT), so that they train on the
/// same data, under the same kind of budget, and are scored by the same validation bits-per-character. A model is any
/// function from (B, T) int64 token ids to (B, T, V) logits, so it can be an LSTM, a Transformer or a lookup table.
/// <list type="bullet">
/// <item>Data: documents are split into training and validation sets by a seeded shuffle
/// (<see cref="SplitDocuments"/>), each set joined with a separator and tokenized once.</item>
/// <item>Training (<see cref="Fit(Func{Tensor, Tensor}, Optimizer, int, TrainingBudget, double?, Func{double, double}?, Generator?, int, Action{LanguageModelProgress}?)"/>):
/// random windows of the training stream (every offset is a window, shuffled by a seeded data loader), mean
/// next-token cross-entropy, optional gradient-norm clipping and learning-rate schedule, until the budget ends.</item>
/// <item>Evaluation (<see cref="Evaluate(Func{Tensor, Tensor}, int, int?)"/>): the validation stream cut into
/// non-overlapping windows, each scored from a fresh start (no state carried between windows, as nanoGPT's
/// <c>estimate_loss</c>), mean cross-entropy over every position.</item>
/// </list>
/// PyTorch has no such class; it is the data/loop/eval part of nanoGPT's train.py (and of char-rnn) as a reusable object.
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
            throw new ArgumentException($"LanguageModelRun: the tokenizer does not round-trip the separator {System.Text.Json.JsonSerializer.Serialize(separator)} " +
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
    /// Trains <paramref name="model"/> ((B, T) ids → (B, T, V) logits) with <paramref name="optimizer"/> on batches of
    /// <paramref name="batchSize"/> random training windows until <paramref name="budget"/> is used. With
    /// <paramref name="clipGradNorm"/> gradients are clipped to that global norm; with <paramref name="learningRate"/> each
    /// group's learning rate is its initial one times learningRate(fraction of the budget used), e.g.
    /// <see cref="WarmupCosine"/>. Batches are drawn with <paramref name="generator"/> (or the global one).
    /// <paramref name="log"/> gets a line every <paramref name="logEvery"/> steps and at the end.
    /// </summary>
    public LanguageModelFitResult Fit(Func<Tensor, Tensor> model, Optimizer optimizer, int batchSize, TrainingBudget budget,
                                      double? clipGradNorm = 1.0, Func<double, double>? learningRate = null, Generator? generator = null,
                                      int logEvery = 100, Action<LanguageModelProgress>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(optimizer); ArgumentNullException.ThrowIfNull(budget);
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), $"LanguageModelRun.Fit: batchSize must be at least 1, got {batchSize}");
        if (logEvery < 1) throw new ArgumentOutOfRangeException(nameof(logEvery), $"LanguageModelRun.Fit: logEvery must be at least 1, got {logEvery}");
        budget.Validate();
        var baseRates = optimizer.ParamGroups.Select(g => g.Lr).ToArray();
        var loader = new DataLoader(Train, batchSize, shuffle: true, dropLast: Train.Count >= batchSize, generator: generator);
        var clock = Stopwatch.StartNew();
        int step = 0;
        double intervalLoss = 0, lastLoss = double.NaN;
        int intervalSteps = 0;
        long tokens = 0;
        bool done = false;
        while (!done)
            foreach (var batch in loader)
            {
                double used = budget.Used(step, clock.Elapsed.TotalSeconds);
                if (used >= 1) { done = true; break; }
                if (learningRate != null)
                    for (int g = 0; g < baseRates.Length; g++) optimizer.ParamGroups[g].Lr = baseRates[g] * learningRate(used);
                double loss = TrainStep(model, optimizer, batch[0], batch[1], clipGradNorm, step);
                step++;
                tokens += batch[1].NumEl;
                intervalLoss += loss; intervalSteps++;
                if (step % logEvery == 0)
                {
                    lastLoss = intervalLoss / intervalSteps;
                    log?.Invoke(Progress(step, clock.Elapsed.TotalSeconds, lastLoss, optimizer, tokens));
                    intervalLoss = 0; intervalSteps = 0;
                }
            }
        if (intervalSteps > 0)
        {
            lastLoss = intervalLoss / intervalSteps;
            log?.Invoke(Progress(step, clock.Elapsed.TotalSeconds, lastLoss, optimizer, tokens));
        }
        return new LanguageModelFitResult(step, clock.Elapsed.TotalSeconds, tokens, lastLoss);
    }

    /// <summary>Like <see cref="Fit(Func{Tensor, Tensor}, Optimizer, int, TrainingBudget, double?, Func{double, double}?, Generator?, int, Action{LanguageModelProgress}?)"/>
    /// for a module whose <c>Forward</c> returns the logits; it is put in training mode first.</summary>
    public LanguageModelFitResult Fit(Module<Tensor, Tensor> model, Optimizer optimizer, int batchSize, TrainingBudget budget,
                                      double? clipGradNorm = 1.0, Func<double, double>? learningRate = null, Generator? generator = null,
                                      int logEvery = 100, Action<LanguageModelProgress>? log = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        model.Train();
        return Fit(model.Call, optimizer, batchSize, budget, clipGradNorm, learningRate, generator, logEvery, log);
    }

    static LanguageModelProgress Progress(int step, double seconds, double loss, Optimizer optimizer, long tokens) =>
        new(step, seconds, loss, optimizer.ParamGroups[0].Lr, tokens / Math.Max(seconds, 1e-9));

    static double TrainStep(Func<Tensor, Tensor> model, Optimizer optimizer, Tensor x, Tensor y, double? clipGradNorm, int step)
    {
        // As the Trainer does: the first step creates gradients and optimizer state, later ones recycle their temporaries.
        using var scope = step == 0 ? null : TensorScope.Begin();
        optimizer.ZeroGrad(setToNone: step == 0);
        var loss = NextTokenLoss(model(x), y, "Fit");
        loss.Backward();
        if (clipGradNorm is double maxNorm) GradClip.ClipGradNorm(optimizer.Parameters(), maxNorm);
        optimizer.Step();
        double value = loss.Item();
        if (!double.IsFinite(value))
            throw new InvalidOperationException($"LanguageModelRun.Fit: the loss became {value} at step {step + 1}; lower the learning rate or clip gradients");
        return value;
    }

    static Tensor NextTokenLoss(Tensor logits, Tensor targets, string caller)
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
                totalNats += NextTokenLoss(model(batch[0]), batch[1], "Evaluate").Item() * batch[1].NumEl;
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

    /// <summary>
    /// A learning-rate factor for <c>Fit</c>: linear warm-up from 0 over the first <paramref name="warmup"/> of the budget,
    /// then cosine decay to <paramref name="minFactor"/> at its end (nanoGPT's get_lr, in budget fractions).
    /// </summary>
    public static Func<double, double> WarmupCosine(double warmup = 0.02, double minFactor = 0.1)
    {
        if (!(warmup >= 0 && warmup < 1)) throw new ArgumentOutOfRangeException(nameof(warmup), $"WarmupCosine: warmup must be in [0, 1), got {warmup}");
        if (!(minFactor >= 0 && minFactor <= 1)) throw new ArgumentOutOfRangeException(nameof(minFactor), $"WarmupCosine: minFactor must be in [0, 1], got {minFactor}");
        return used =>
        {
            if (used < warmup) return (used + 1e-3) / (warmup + 1e-3);
            double decay = (used - warmup) / (1 - warmup);
            return minFactor + (1 - minFactor) * 0.5 * (1 + Math.Cos(Math.PI * Math.Clamp(decay, 0, 1)));
        };
    }
}
