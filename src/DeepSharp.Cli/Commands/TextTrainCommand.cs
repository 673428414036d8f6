using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using DeepSharp.Data;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text;
using DeepSharp.Text.Datasets;
using DeepSharp.Text.Models;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp train --dataset text:PATH|fortunes --model gpt|lstm`: parses the arguments, then trains a language model
/// with the <see cref="Trainer"/> (its budget, progress display, gradient clipping, warm-up and cosine schedule over the
/// budget) on the data split of <see cref="LanguageModelRun"/>, reports validation bits per character, prints a sample and saves
/// DIR/model.safetensors (weights, kind and configuration in the metadata), DIR/tokenizer.json and DIR/config.json.
/// </summary>
public static class TextTrainCommand
{
    const string Usage = """
        usage: deepsharp train --dataset text:PATH|fortunes[:CATEGORY,...] [--model gpt|lstm] [--tokenizer char|bpe]
                               [--vocab-size N] [--context N] [--layers N] [--heads N] [--width N] [--embedding N]
                               [--dropout X] [--activation relu|gelu] [--conv K] [--learned-positions] [--post-norm] [--untied-head]
                               [--epochs N | --steps N] [--time SECONDS]
                               [--batch-size N] [--lr X] [--seed N] [--threads N] [--out DIR] [--val-fraction X]
                               [--eval-windows N] [--prompt TEXT] [--sample-tokens N] [--temperature T] [--on-nan stop|skip]
                               [--checkpoint-every N|Nepochs|Nsteps|none]   (continue a killed run: deepsharp train --resume DIR)
          Trains a character-level (or byte-BPE) language model on a UTF-8 text file (text:PATH; the last 10% is the
          validation text) or Debian's fortunes (fortunes: a seeded 90/10 split of the fortunes, the examples' split),
          shows progress, prints the validation bits per character (and loss/perplexity per token for bpe) and a sample,
          and saves DIR/model.safetensors, DIR/tokenizer.json, DIR/config.json and DIR/history.csv for 'deepsharp generate'
          (and run.json with checkpoint.safetensors, every epoch by default, for --resume DIR).
          Models: gpt (default: 2 layers, 4 heads, width 128, rotary positions, relu, Primer's q/k/v convolution over
          --conv 4 steps (0: none), pre-norm, tied head; the GPT-2 setup is --layers 4 --learned-positions
          --activation gelu --conv 0) or lstm (embedding 64, hidden = --width 256, 1 layer).
          Budget: --epochs (default 1; one epoch = as many windows as the training text has tokens), --steps, and/or
          --time (seconds; whichever ends first; with --time alone training runs until the time is up).
          Defaults: context 128, AdamW (weight decay 0.01) with batch 8 and lr 1.5e-3 (gpt) or batch 64 and lr 0.015
          (lstm), gradient norm clipped at 1, warm-up then cosine decay over the budget; seed 42; out runs/MODEL;
          vocab-size 512 for bpe.
        """;

    static readonly string[] Options = ["dataset", "model", "tokenizer", "vocab-size", "context", "layers", "heads", "width", "embedding", "dropout", "activation", "conv",
                                        "epochs", "steps", "time", "batch-size", "lr", "seed", "threads", "out", "val-fraction", "eval-windows",
                                        "prompt", "sample-tokens", "temperature", "on-nan", "checkpoint-every"];

    /// <summary>True when the arguments ask for a language model (a text dataset or --model gpt|lstm), not an image classifier.</summary>
    public static bool Handles(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            string? Value(string name) => args[i] == "--" + name && i + 1 < args.Length ? args[i + 1]
                                        : args[i].StartsWith("--" + name + "=", StringComparison.Ordinal) ? args[i][(name.Length + 3)..] : null;
            if (Value("dataset") is { } d && (d.StartsWith("text:", StringComparison.Ordinal) || d == "fortunes" || d.StartsWith("fortunes:", StringComparison.Ordinal))) return true;
            if (Value("model") is "gpt" or "lstm") return true;
        }
        return false;
    }

    /// <summary>The corpus named by --dataset: whole documents (fortunes) or one text (a file).</summary>
    sealed record Corpus(string Name, IReadOnlyList<string>? Documents, string? Text)
    {
        public string All => Text ?? string.Join("\n\n", Documents!);
    }

    static Corpus LoadCorpus(string dataset)
    {
        if (dataset.StartsWith("text:", StringComparison.Ordinal))
        {
            var path = dataset[5..];
            if (path.Length == 0) throw new UsageException("deepsharp train: --dataset text:PATH needs a file path, e.g. --dataset text:input.txt.");
            if (!File.Exists(path)) throw new UsageException($"deepsharp train: text file not found: {path}.");
            return new Corpus(Path.GetFileName(path), null, File.ReadAllText(path));
        }
        if (dataset == "fortunes" || dataset.StartsWith("fortunes:", StringComparison.Ordinal))
        {
            var categories = dataset == "fortunes" ? null : dataset[9..].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            try { return new Corpus(dataset, Fortunes.Load(categories: categories), null); }
            catch (DirectoryNotFoundException e) { throw new UsageException($"deepsharp train: {e.Message}"); }
            catch (ArgumentException e) { throw new UsageException($"deepsharp train: {e.Message}"); }
        }
        throw new UsageException($"deepsharp train: --model gpt and lstm train on text: use --dataset text:PATH or --dataset fortunes (got '{dataset}').");
    }

    /// <summary>Runs the command: a new run, or the run of <paramref name="resumeFolder"/> (its run.json's arguments) from its checkpoint.</summary>
    public static int Run(string[] args, TextWriter output, string? resumeFolder = null)
    {
        var p = new ArgParser("train", args, Options, ["post-norm", "untied-head", "learned-positions"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count > 0) throw new UsageException($"deepsharp train: unexpected argument '{p.Positionals[0]}'. Run 'deepsharp train --model gpt --help'.");
        var datasetName = p.OptionalString("dataset") ?? "fortunes";
        var modelName = p.String("model", "gpt", "gpt", "lstm");
        var tokenizerName = p.String("tokenizer", "char", "char", "bpe");
        int vocabSize = p.Int("vocab-size", 512, 257, 1 << 20);
        int context = p.Int("context", 128, 1, 1 << 16);
        var createModel = ModelFactory(p, modelName, context);
        int? epochs = p.Has("epochs") ? p.Int("epochs", 1, 1, 1_000_000) : null;
        int? steps = p.Has("steps") ? p.Int("steps", 1, 1, int.MaxValue) : null;
        double? seconds = p.Has("time") ? p.Double("time", 0, 0) : null;
        if (epochs != null && steps != null) throw new UsageException("deepsharp train: give --epochs or --steps, not both.");
        if (seconds is <= 0) throw new UsageException("deepsharp train: --time must be a positive number of seconds.");
        int batchSize = p.Int("batch-size", modelName == "gpt" ? 8 : 64, 1, 65_536);
        double lr = p.Double("lr", modelName == "gpt" ? 1.5e-3 : 0.015, 0);
        int seed = p.Int("seed", 42, 0);
        int threads = p.Int("threads", Environment.ProcessorCount, 1, 1024);
        double valFraction = p.Double("val-fraction", 0.1, 0);
        if (!(valFraction > 0 && valFraction < 1)) throw new UsageException("deepsharp train: --val-fraction must be between 0 and 1.");
        int? evalWindows = p.Has("eval-windows") ? p.Int("eval-windows", 1, 1) : null;
        string prompt = p.OptionalString("prompt") ?? "";
        int sampleTokens = p.Int("sample-tokens", 200, 0, 1_000_000);
        double temperature = p.Double("temperature", 0.8, 0);
        var onNan = p.String("on-nan", "stop", "stop", "skip");
        var every = RunResume.ParseEvery(p);
        var outDir = resumeFolder ?? p.OptionalString("out") ?? Path.Combine("runs", modelName);
        RunFolder.CheckNotAFile(outDir);

        KernelThreadPool.SetThreadCount(threads);
        DeepSharp.Random.Seed(seed);
        var corpus = LoadCorpus(datasetName);

        // Tokenizer (its vocabulary or merges come from the whole corpus) and the shared split of LanguageModelRun.
        var clock = Stopwatch.StartNew();
        ITokenizer tokenizer = tokenizerName == "bpe" ? ByteBpeTokenizer.Train(corpus.All, vocabSize) : CharTokenizer.FromCorpus(corpus.All);
        var run = Split(corpus, tokenizer, context, valFraction, datasetName);
        output.WriteLine($"{corpus.Name}: {run.Train.Tokens.Length:N0} training and {run.Validation.Tokens.Length:N0} validation tokens; " +
                         $"{tokenizerName} tokenizer, vocabulary {tokenizer.VocabSize} ({clock.Elapsed.TotalSeconds:F1}s)");

        var model = createModel(tokenizer.VocabSize);
        var optimizer = new AdamW(model.Parameters(), lr, weightDecay: 0.01);

        // Budget: epochs of at most one pass's worth of steps (as many windows as the text has tokens), a validation after each.
        int stepsPerEpoch = (int)Math.Max(1, run.Train.Tokens.Length / ((long)batchSize * context));
        int? totalSteps = steps ?? (epochs is int epochCount ? (int)Math.Min(int.MaxValue, (long)epochCount * stepsPerEpoch) : seconds == null ? stepsPerEpoch : null);
        int perEpoch = Math.Min(stepsPerEpoch, totalSteps ?? stepsPerEpoch);
        var budget = new TrainingBudget { MaxSteps = totalSteps, MaxSeconds = seconds };
        output.WriteLine($"model {modelName}: {model.ParameterCount():N0} parameters, {model.ConfigJson()}");
        output.WriteLine($"AdamW lr {lr.ToString(CultureInfo.InvariantCulture)}; batch {batchSize} x {context}; budget {budget} " +
                         $"in epochs of {perEpoch} steps; seed {seed}; {threads} threads");

        var trainer = new Trainer(model, optimizer, LanguageModelRun.NextTokenLoss, metrics: [],
                                  progress: Training.Progress.ForConsole(output == Console.Out ? null : output))
        {
            ClipGradNorm = 1.0, StepSchedulerPerBatch = true, BatchesPerEpoch = perEpoch,
            OnNonFiniteLoss = onNan == "skip" ? NonFiniteLossAction.SkipBatch : NonFiniteLossAction.Throw,
        };
        trainer.Scheduler = ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed);
        outDir = PrepareFolder(trainer, outDir, resumeFolder, args, threads, budget, output);
        var csvPath = Path.Combine(outDir, "history.csv");
        var callbacks = new List<ICallback> { new CsvLogger(csvPath) };
        if (every.Callback(outDir) is { } checkpoints) callbacks.Add(checkpoints);
        var validationWindows = Enumerable.Range(0, Math.Min(run.Validation.Count, evalWindows ?? int.MaxValue)).ToArray();
        var validation = new DataLoader(new Subset<Tensor[]>(run.Validation, validationWindows), 64);
        bool severalEpochs = totalSteps is not int t || t > perEpoch;
        trainer.Fit(run.TrainLoader(batchSize, new Generator(seed)), severalEpochs ? validation : null, budget, callbacks);

        var result = run.Evaluate(model, batchSize: 64, maxWindows: evalWindows);
        Report(trainer, result, (long)batchSize * context, tokenizerName == "bpe", output);

        // Save before sampling, so a long sample cannot lose the model.
        Save(model, tokenizer, trainer, result, outDir, datasetName, tokenizerName, output);

        if (sampleTokens > 0) Sample(model, tokenizer, prompt, sampleTokens, temperature, seed, output);
        output.WriteLine($"validation bits per character: {F4(result.BitsPerCharacter)}");
        return 0;
    }

    /// <summary>The shared split of LanguageModelRun: by documents (fortunes), or the last <paramref name="valFraction"/> of one text.</summary>
    static LanguageModelRun Split(Corpus corpus, ITokenizer tokenizer, int context, double valFraction, string datasetName)
    {
        try
        {
            if (corpus.Documents != null) return LanguageModelRun.SplitDocuments(corpus.Documents, tokenizer, context, valFraction, seed: 0);
            int cut = (int)(corpus.Text!.Length * (1 - valFraction));
            if (cut > 0 && char.IsLowSurrogate(corpus.Text[cut])) cut--;   // never split a surrogate pair
            return new LanguageModelRun(tokenizer, corpus.Text[..cut], corpus.Text[cut..], context);
        }
        catch (ArgumentException e) { throw new UsageException($"deepsharp train: {datasetName} is too small for --context {context}: {e.Message}"); }
    }

    /// <summary>A new numbered run folder with its run.json, or the resumed run's folder with the trainer restored from its checkpoint.</summary>
    static string PrepareFolder(Trainer trainer, string outDir, string? resumeFolder, string[] args, int threads, TrainingBudget budget, TextWriter output)
    {
        if (resumeFolder == null)
        {
            outDir = RunFolder.Create(outDir, output);
            RunResume.WriteRunFile(outDir, args, threads);
            return outDir;
        }
        trainer.LoadCheckpoint(Path.Combine(outDir, RunResume.CheckpointFile));
        RunResume.RestoreHistory(trainer, Path.Combine(outDir, "history.csv"));
        output.WriteLine($"resuming {outDir} from its checkpoint: step {trainer.GlobalStep} of {budget}");
        return outDir;
    }

    /// <summary>model.safetensors (with the run's figures as metadata), tokenizer.json and config.json in <paramref name="outDir"/>.</summary>
    static void Save(LanguageModel model, ITokenizer tokenizer, Trainer trainer, LanguageModelEvaluation result, string outDir,
                     string datasetName, string tokenizerName, TextWriter output)
    {
        var modelPath = Path.Combine(outDir, "model.safetensors");
        var metadata = new Dictionary<string, string>
        {
            ["deepsharp.dataset"] = datasetName, ["deepsharp.tokenizer"] = tokenizerName,
            ["validation_bits_per_character"] = F4(result.BitsPerCharacter), ["validation_loss"] = F4(result.Loss),
            ["steps"] = trainer.GlobalStep.ToString(CultureInfo.InvariantCulture), ["seconds"] = trainer.TrainingSeconds.ToString("F1", CultureInfo.InvariantCulture),
        };
        model.Save(modelPath, metadata);
        tokenizer.Save(Path.Combine(outDir, "tokenizer.json"));
        File.WriteAllText(Path.Combine(outDir, "config.json"),
            $"{{\"model\": \"{model.Kind}\", \"config\": {model.ConfigJson()}, \"training\": {JsonSerializer.Serialize(metadata, CliJsonContext.Default.DictionaryStringString)}}}\n");
        output.WriteLine($"saved {modelPath}, tokenizer.json, config.json and history.csv in {outDir}");
    }

    /// <summary>Parses and checks the model options (validated before any data is read); the model is built once the vocabulary is known.</summary>
    static Func<int, LanguageModel> ModelFactory(ArgParser p, string modelName, int context)
    {
        int layers = p.Int("layers", modelName == "gpt" ? 2 : 1, 1, 256);
        int heads = p.Int("heads", 4, 1, 1024);
        int width = p.Int("width", modelName == "gpt" ? 128 : 256, 1, 1 << 16);
        int embedding = p.Int("embedding", 64, 1, 1 << 16);
        double dropout = p.Double("dropout", 0.0, 0);
        var activation = p.String("activation", "relu", "relu", "gelu");
        int convKernel = p.Int("conv", 4, 0, 64);
        if (dropout >= 1) throw new UsageException("deepsharp train: --dropout must be below 1.");
        if (modelName == "gpt" && width % heads != 0) throw new UsageException($"deepsharp train: --width ({width}) must be a multiple of --heads ({heads}).");
        bool preNorm = !p.Flag("post-norm"), tiedHead = !p.Flag("untied-head"), rotary = !p.Flag("learned-positions");
        return vocab => modelName == "gpt"
            ? new Gpt(new GptConfig(vocab, context, layers, heads, width, dropout, PreNorm: preNorm, TiedHead: tiedHead,
                                    Rotary: rotary, Activation: activation, ConvKernel: convKernel))
            : new LstmLanguageModel(new LstmLanguageModelConfig(vocab, embedding, width, layers, dropout));
    }

    static void Sample(LanguageModel model, ITokenizer tokenizer, string prompt, int tokens, double temperature, int seed, TextWriter output)
    {
        output.WriteLine($"--- sample (temperature {temperature.ToString(CultureInfo.InvariantCulture)}):");
        GenerateCommand.Sample(model, tokenizer, prompt, tokens, new SamplingOptions { Temperature = temperature }, new Generator(seed), output);
        output.WriteLine();
        output.WriteLine("---");
    }

    static void Report(Trainer trainer, LanguageModelEvaluation result, long tokensPerStep, bool perToken, TextWriter output)
    {
        output.WriteLine($"trained {trainer.GlobalStep} steps in {trainer.TrainingSeconds:F1}s ({trainer.GlobalStep * tokensPerStep / Math.Max(trainer.TrainingSeconds, 1e-9):F0} tokens/s)");
        if (perToken)
            output.WriteLine($"validation loss: {F4(result.Loss)} nats per token (perplexity {Math.Exp(result.Loss).ToString("F2", CultureInfo.InvariantCulture)}), " +
                             $"{F4(result.BitsPerToken)} bits per token");
    }

    static string F4(double value) => value.ToString("F4", CultureInfo.InvariantCulture);
}
