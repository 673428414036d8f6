// A character-level LSTM language model on Debian's fortunes corpus (apt-get install fortunes): a seeded 90/10 split
// of the fortunes, training by the Trainer under a time and/or step budget, validation bits per character, and a few samples drawn by
// feeding the LSTM state one character at a time.
// Run: dotnet run -c Release --project examples/CharLstm -- --seconds 300
// Options: --seconds S  --steps N  --hidden H  --layers L  --embedding E  --block T  --batch B  --lr LR  --eval-windows W  --seed S
using DeepSharp;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text;
using DeepSharp.Text.Datasets;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

var options = CharLstm.Options.Parse(args);
CharLstm.Run(options, Console.WriteLine);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class CharLstm
{
    /// <summary>Settings of a run (defaults: the documented 5-minute run).</summary>
    public sealed record Options
    {
        /// <summary>Training time budget in seconds (null: steps only).</summary>
        public double? Seconds { get; init; } = 300;
        /// <summary>Training step budget (null: time only).</summary>
        public int? Steps { get; init; }
        /// <summary>LSTM hidden size.</summary>
        public int Hidden { get; init; } = 256;
        /// <summary>LSTM layers.</summary>
        public int Layers { get; init; } = 1;
        /// <summary>Character embedding size.</summary>
        public int Embedding { get; init; } = 64;
        /// <summary>Window length T for training and evaluation.</summary>
        public int BlockSize { get; init; } = 128;
        /// <summary>Windows per batch.</summary>
        public int BatchSize { get; init; } = 64;
        /// <summary>Peak learning rate of AdamW (warm-up, then cosine decay over the budget).</summary>
        public double LearningRate { get; init; } = 1.5e-2;
        /// <summary>Validation windows to score (null: the whole validation set).</summary>
        public int? EvalWindows { get; init; }
        /// <summary>Seed of the split, the initialisation, the batches and the samples.</summary>
        public long Seed { get; init; }
        /// <summary>Fortune categories to use (null: all).</summary>
        public string[]? Categories { get; init; }

        /// <summary>Reads <c>--seconds 300 --steps 1000 ...</c>; "--seconds 0" means no time limit.</summary>
        public static Options Parse(string[] args)
        {
            var o = new Options();
            for (int i = 0; i < args.Length; i += 2)
            {
                string name = args[i], value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"CharLstm: {name} needs a value", nameof(args));
                o = name switch
                {
                    "--seconds" => o with { Seconds = double.Parse(value) is var s && s > 0 ? s : null },
                    "--steps" => o with { Steps = int.Parse(value) },
                    "--hidden" => o with { Hidden = int.Parse(value) },
                    "--layers" => o with { Layers = int.Parse(value) },
                    "--embedding" => o with { Embedding = int.Parse(value) },
                    "--block" => o with { BlockSize = int.Parse(value) },
                    "--batch" => o with { BatchSize = int.Parse(value) },
                    "--lr" => o with { LearningRate = double.Parse(value) },
                    "--eval-windows" => o with { EvalWindows = int.Parse(value) },
                    "--seed" => o with { Seed = long.Parse(value) },
                    _ => throw new ArgumentException($"CharLstm: unknown option '{name}'", nameof(args)),
                };
            }
            return o;
        }
    }

    /// <summary>Embedding → LSTM (batch first) → linear head over the characters.</summary>
    public sealed class Model(int vocabSize, int embedding, int hidden, int layers) : Module<Tensor, Tensor>
    {
        readonly Embedding embed = new(vocabSize, embedding);
        readonly LSTM lstm = new(embedding, hidden, numLayers: layers, batchFirst: true);
        readonly Linear head = new(hidden, vocabSize);

        /// <summary>Logits (B, T, V) for ids (B, T), starting from zero state.</summary>
        public override Tensor Forward(Tensor ids) => Forward(ids, null).Logits;

        /// <summary>Logits (B, T, V) and the state after the last step, starting from <paramref name="state"/>.</summary>
        public (Tensor Logits, (Tensor H, Tensor C) State) Forward(Tensor ids, (Tensor H, Tensor C)? state)
        {
            var (output, next) = lstm.Call(embed.Call(ids), state);         // (B, T, H)
            return (head.Call(output), next);
        }

        /// <summary><see cref="Forward(Tensor, ValueTuple{Tensor, Tensor}?)"/> through the module's hooks, as <c>model(ids, state)</c>.</summary>
        public (Tensor Logits, (Tensor H, Tensor C) State) Call(Tensor ids, (Tensor H, Tensor C)? state) =>
            Invoke(this, (ids, state), static (m, a) => m.Forward(a.ids, a.state));
    }

    /// <summary>The fortunes split 90/10 by a shuffle seeded with <paramref name="seed"/>, with a character tokenizer.</summary>
    public static LanguageModelRun Data(int blockSize, long seed = 0, string[]? categories = null)
    {
        var fortunes = Fortunes.Load(categories: categories);
        var tokenizer = CharTokenizer.FromCorpus(fortunes);
        return LanguageModelRun.SplitDocuments(fortunes, tokenizer, blockSize, validationFraction: 0.1, seed: seed);
    }

    /// <summary>
    /// A next-token function for <see cref="Generation"/> that keeps the LSTM state: it feeds only the tokens it has not
    /// seen (the prompt on the first call, then the one new token), so each step costs one LSTM step.
    /// </summary>
    public static Func<IReadOnlyList<int>, Tensor> Stepper(Model model)
    {
        (Tensor H, Tensor C)? state = null;
        int seen = 0;
        return context =>
        {
            var fresh = new long[context.Count - seen];
            for (int i = 0; i < fresh.Length; i++) fresh[i] = context[seen + i];
            seen = context.Count;
            var (logits, next) = model.Call(Tensor.FromArray(fresh, 1, fresh.Length), state);
            state = next;
            return logits;   // (1, n, V): Generation samples from the last row
        };
    }

    /// <summary>What a run measured.</summary>
    public sealed record Report(long Steps, double Seconds, LanguageModelEvaluation Validation, string[] Samples);

    /// <summary>Trains, evaluates and samples; writes progress to <paramref name="log"/>.</summary>
    public static Report Run(Options o, Action<string> log)
    {
        DeepSharp.Random.Seed(o.Seed);
        var data = Data(o.BlockSize, o.Seed, o.Categories);
        var tokenizer = data.Tokenizer;
        log($"fortunes: {data.Train.Tokens.Length:N0} training and {data.Validation.Tokens.Length:N0} validation characters, vocabulary {tokenizer.VocabSize}");
        var model = new Model(tokenizer.VocabSize, o.Embedding, o.Hidden, o.Layers);
        var optimizer = new AdamW(model.Parameters(), lr: o.LearningRate, weightDecay: 0.01);
        var budget = new TrainingBudget { MaxSeconds = o.Seconds, MaxSteps = o.Steps };
        log($"LSTM({o.Embedding}, {o.Hidden}, layers {o.Layers}), {model.Parameters().Sum(p => p.NumEl):N0} parameters; batch {o.BatchSize} x {o.BlockSize}, budget {budget}");
        // The Trainer: next-token loss, gradient norm clipped at 1, warm-up then cosine decay over the budget in force.
        var trainer = new Trainer(model, optimizer, LanguageModelRun.NextTokenLoss, metrics: [], progress: new PlainProgress(TextWriter.Null))
        {
            ClipGradNorm = 1.0, StepSchedulerPerBatch = true,
        };
        trainer.Scheduler = ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed);
        trainer.Fit(data.TrainLoader(o.BatchSize, new Generator(o.Seed)), validation: null, budget, [new StepLogger(50, log)]);
        var validation = data.Evaluate(model, batchSize: 64, maxWindows: o.EvalWindows);
        log($"validation: {validation.BitsPerCharacter:F3} bits per character (loss {validation.Loss:F4} nats) over {validation.Tokens:N0} characters, " +
            $"after {trainer.GlobalStep} steps in {trainer.TrainingSeconds:F0} s");

        model.Eval();
        var sampling = new SamplingOptions { Temperature = 0.8, TopK = 40 };
        var generator = new Generator(o.Seed);
        string[] prompts = ["Q: ", "The ", "If "];
        var samples = prompts.Select(prompt =>
            prompt + Generation.GenerateText(tokenizer, Stepper(model), prompt, maxNewTokens: 240, sampling, generator: generator)).ToArray();
        foreach (var sample in samples) log($"--- sample (temperature 0.8, top-k 40)\n{sample}");
        return new Report(trainer.GlobalStep, trainer.TrainingSeconds, validation, samples);
    }
}
