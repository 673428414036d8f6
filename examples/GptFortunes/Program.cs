// A character-level GPT on Debian's fortunes corpus (apt-get install fortunes), set up like examples/CharLstm:
// the same seeded 90/10 split of the fortunes, the same time/step budget, AdamW with warm-up and cosine decay, and the
// same validation bits per character (LanguageModelRun), trained by the Trainer. Samples are drawn through the model's key/value cache.
// With --compare-lstm it then trains the char-LSTM of examples/CharLstm (its defaults) under the same budget and
// prints both results.
// --model lstm trains only the LSTM (to run the two side by side as separate processes, e.g. with --threads 1 each).
// Run: dotnet run -c Release --project examples/GptFortunes -- --seconds 300 --compare-lstm
// Options: --seconds S  --steps N  --layers L  --heads H  --width C  --block T  --batch B  --lr LR  --dropout P  --beta2 B2  --conv K  --activation A
//          --eval-windows W  --seed S  --threads N  --model gpt|lstm  --compare-lstm  --learned-positions  --gelu
// (--layers 4 --batch 32 --lr 3e-3 --learned-positions --gelu is the textbook GPT-2 setup; see docs/examples.md for why
// the defaults differ)
using DeepSharp;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text;
using DeepSharp.Text.Datasets;
using DeepSharp.Text.Models;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

var (options, compareLstm) = GptFortunes.Options.Parse(args);
if (options.Threads is int threads) KernelThreadPool.SetThreadCount(threads);
if (options.Model == "lstm") { GptFortunes.RunLstm(options, Console.WriteLine); return; }
var gpt = GptFortunes.Run(options, Console.WriteLine);
if (compareLstm)
{
    var lstm = GptFortunes.RunLstm(options, Console.WriteLine);
    Console.WriteLine($"equal budget: GPT {gpt.Validation.BitsPerCharacter:F3} bpc ({gpt.Steps} steps, {gpt.Seconds:F0} s), " +
                      $"LSTM {lstm.Validation.BitsPerCharacter:F3} bpc ({lstm.Steps} steps, {lstm.Seconds:F0} s)");
}

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class GptFortunes
{
    /// <summary>Settings of a run (defaults: the documented 5-minute run).</summary>
    public sealed record Options
    {
        /// <summary>Training time budget in seconds (null: steps only).</summary>
        public double? Seconds { get; init; } = 300;
        /// <summary>Training step budget (null: time only).</summary>
        public int? Steps { get; init; }
        /// <summary>Transformer blocks (2: at a few minutes of CPU, two blocks that run twice as fast beat four).</summary>
        public int Layers { get; init; } = 2;
        /// <summary>Attention heads per block.</summary>
        public int Heads { get; init; } = 4;
        /// <summary>Model width (embedding size).</summary>
        public int Width { get; init; } = 128;
        /// <summary>Context length: the window for training and evaluation, and the learned positions.</summary>
        public int BlockSize { get; init; } = 128;
        /// <summary>Windows per batch (8: under a time budget, more and smaller steps learn faster).</summary>
        public int BatchSize { get; init; } = 8;
        /// <summary>Peak learning rate of AdamW (warm-up, then cosine decay over the budget).</summary>
        public double LearningRate { get; init; } = 1.5e-3;
        /// <summary>AdamW's β₂ (0.99 suits small batches, as nanoGPT's shakespeare_char config).</summary>
        public double Beta2 { get; init; } = 0.999;
        /// <summary>Feed-forward activation, "gelu" or "relu" (the default: cheaper than the exact GELU on a CPU, and as good here).</summary>
        public string Activation { get; init; } = "relu";
        /// <summary>Rotary position embeddings (the default) instead of the learned position table: attention sees relative
        /// positions from the first step, which speeds up early learning a lot.</summary>
        public bool Rotary { get; init; } = true;
        /// <summary>Primer's causal depthwise convolution over the q/k/v projections: kernel size (4, the default: at a
        /// few minutes of CPU the local view it gives attention is worth far more than its 5 % of step time; 0: none).</summary>
        public int ConvKernel { get; init; } = 4;
        /// <summary>Dropout (0: the budget is far too short to overfit).</summary>
        public double Dropout { get; init; }
        /// <summary>Validation windows to score (null: the whole validation set).</summary>
        public int? EvalWindows { get; init; }
        /// <summary>Seed of the split, the initialisation, the batches and the samples.</summary>
        public long Seed { get; init; }
        /// <summary>Fortune categories to use (null: all).</summary>
        public string[]? Categories { get; init; }
        /// <summary>Kernel threads (null: all cores).</summary>
        public int? Threads { get; init; }
        /// <summary>"gpt" (the default) or "lstm" (the comparison model alone).</summary>
        public string Model { get; init; } = "gpt";

        /// <summary>Reads <c>--seconds 300 --steps 1000 ...</c> ("--seconds 0" means no time limit) and <c>--compare-lstm</c>.</summary>
        public static (Options Options, bool CompareLstm) Parse(string[] args)
        {
            var o = new Options();
            bool compare = false;
            for (int i = 0; i < args.Length; i += 2)
            {
                if (args[i] == "--compare-lstm") { compare = true; i--; continue; }
                if (args[i] == "--learned-positions") { o = o with { Rotary = false }; i--; continue; }
                if (args[i] == "--gelu") { o = o with { Activation = "gelu" }; i--; continue; }
                string name = args[i], value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"GptFortunes: {name} needs a value", nameof(args));
                o = name switch
                {
                    "--seconds" => o with { Seconds = double.Parse(value) is var s && s > 0 ? s : null },
                    "--steps" => o with { Steps = int.Parse(value) },
                    "--layers" => o with { Layers = int.Parse(value) },
                    "--heads" => o with { Heads = int.Parse(value) },
                    "--width" => o with { Width = int.Parse(value) },
                    "--block" => o with { BlockSize = int.Parse(value) },
                    "--batch" => o with { BatchSize = int.Parse(value) },
                    "--lr" => o with { LearningRate = double.Parse(value) },
                    "--dropout" => o with { Dropout = double.Parse(value) },
                    "--beta2" => o with { Beta2 = double.Parse(value) },
                    "--activation" => o with { Activation = value },
                    "--conv" => o with { ConvKernel = int.Parse(value) },
                    "--eval-windows" => o with { EvalWindows = int.Parse(value) },
                    "--seed" => o with { Seed = long.Parse(value) },
                    "--threads" => o with { Threads = int.Parse(value) },
                    "--model" => o with { Model = value is "gpt" or "lstm" ? value : throw new ArgumentException($"GptFortunes: --model must be gpt or lstm, got '{value}'", nameof(args)) },
                    _ => throw new ArgumentException($"GptFortunes: unknown option '{name}'", nameof(args)),
                };
            }
            return (o, compare);
        }
    }

    /// <summary>The fortunes split 90/10 by a shuffle seeded with <paramref name="seed"/>, with a character tokenizer
    /// (the same data as examples/CharLstm for the same seed).</summary>
    public static LanguageModelRun Data(int blockSize, long seed = 0, string[]? categories = null)
    {
        var fortunes = Fortunes.Load(categories: categories);
        return LanguageModelRun.SplitDocuments(fortunes, CharTokenizer.FromCorpus(fortunes), blockSize, validationFraction: 0.1, seed: seed);
    }

    /// <summary>What a run measured: optimizer steps, seconds of training, validation scores, samples.</summary>
    public sealed record Report(long Steps, double Seconds, LanguageModelEvaluation Validation, string[] Samples);

    /// <summary>Trains the GPT, evaluates and samples; writes progress to <paramref name="log"/>.</summary>
    public static Report Run(Options o, Action<string> log)
    {
        DeepSharp.Random.Seed(o.Seed);
        var data = Data(o.BlockSize, o.Seed, o.Categories);
        log($"fortunes: {data.Train.Tokens.Length:N0} training and {data.Validation.Tokens.Length:N0} validation characters, vocabulary {data.Tokenizer.VocabSize}");
        var model = new Gpt(new GptConfig(data.Tokenizer.VocabSize, o.BlockSize, o.Layers, o.Heads, o.Width, o.Dropout, Rotary: o.Rotary, Activation: o.Activation, ConvKernel: o.ConvKernel));
        log($"GPT(layers {o.Layers}, heads {o.Heads}, width {o.Width}, context {o.BlockSize}{(o.Rotary ? ", rotary" : "")}, {o.Activation}{(o.ConvKernel > 0 ? $", q/k/v conv {o.ConvKernel}" : "")}), {model.ParameterCount():N0} parameters");
        return TrainAndSample(model, data, o, o.LearningRate, o.Beta2, log);
    }

    /// <summary>
    /// The char-LSTM of examples/CharLstm with its defaults (embedding 64, hidden 256, one layer; batch 64, lr 0.015) on
    /// the same data, budget and evaluation. It draws the same initial weights as CharLstm.Model for the same seed.
    /// </summary>
    public static Report RunLstm(Options o, Action<string> log)
    {
        DeepSharp.Random.Seed(o.Seed);
        var data = Data(o.BlockSize, o.Seed, o.Categories);
        var model = new LstmLanguageModel(new LstmLanguageModelConfig(data.Tokenizer.VocabSize, EmbeddingDim: 64, HiddenSize: 256));
        log($"LSTM(embedding 64, hidden 256), {model.ParameterCount():N0} parameters");
        return TrainAndSample(model, data, o with { BatchSize = 64 }, learningRate: 0.015, beta2: 0.999, log);
    }

    static Report TrainAndSample(LanguageModel model, LanguageModelRun data, Options o, double learningRate, double beta2, Action<string> log)
    {
        var optimizer = new AdamW(model.Parameters(), lr: learningRate, betas: (0.9, beta2), weightDecay: 0.01);
        var budget = new TrainingBudget { MaxSeconds = o.Seconds, MaxSteps = o.Steps };
        log($"batch {o.BatchSize} x {o.BlockSize}, lr {learningRate}, budget {budget}");
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

        var sampling = new SamplingOptions { Temperature = 0.8, TopK = 40 };
        var generator = new Generator(o.Seed);
        string[] prompts = ["Q: ", "The ", "If "];
        // CreateStepper keeps a KV cache (GPT) or the recurrent state (LSTM): one incremental step per character.
        var samples = prompts.Select(prompt =>
            prompt + Generation.GenerateText(data.Tokenizer, model.CreateStepper(), prompt, maxNewTokens: 240, sampling, generator: generator)).ToArray();
        foreach (var sample in samples) log($"--- sample (temperature 0.8, top-k 40)\n{sample}");
        return new Report(trainer.GlobalStep, trainer.TrainingSeconds, validation, samples);
    }
}
