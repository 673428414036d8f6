using System.Globalization;
using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp train`: trains an image classifier on (Fashion-)MNIST or CIFAR and reports the test accuracy.</summary>
public static class TrainCommand
{
    const string Usage = $"""
        usage: deepsharp train [--dataset fashion-mnist|mnist|cifar10|cifar100|folder:PATH] [--image-size N] [--model cnn|mlp|lenet|ZOO-NAME]
                               [--epochs N] [--batch-size N] [--lr X] [--optimizer adam|adamw|sgd] [--seed N]
                               [--threads N] [--out DIR] [--data DIR] [--download] [--no-verify] [--limit N] [--test-limit N]
                               [--val-fraction X] [--workers N] [--schedule cosine|none] [--pretrained FILE] [--freeze-backbone]
                               [--head-lr X] [--checkpoint-every N|Nepochs|Nsteps|none] [--resume DIR] [--on-nan stop|skip] [--precision fp32|bf16|fp16]
          Trains the model, shows progress, saves DIR/model.safetensors, DIR/history.csv and DIR/curve.svg,
          and ends with the line "test accuracy: 0.XXXX". Defaults: fashion-mnist, cnn, 5 epochs, batch 128, adam,
          lr 1e-3 (mlp 2e-3; sgd: 0.05 with momentum 0.9), seed 42, all cores, out runs/<model>, 10% of training data for validation,
          cosine decay of the learning rate to 0 over the run (stepped per batch). --data DIR reads the dataset from DIR
          only (no fallback); local Fashion-MNIST/MNIST files must match the official checksums unless --no-verify.
          --limit N uses the first N training images, --test-limit N the first N test images (default: all).
          A DIR that holds an earlier run is kept: the new run writes to DIR/version_2 (then version_3, ...).
          --checkpoint-every N|Nepochs|Nsteps|none (default: every epoch) saves DIR/checkpoint.safetensors;
          --resume DIR continues an interrupted run from it (with its own settings; --threads/--workers may be given)
          to the weights an uninterrupted run reaches. --on-nan stop|skip: a NaN or infinite loss stops the run before
          the optimizer step (exit code 3), or skips that batch.
          --model takes any model-zoo name too (resnet18, mobilenet_v2, vgg11_bn, ...) if it fits the image size.
          folder:PATH trains on your own pictures (JPEG, PNG, BMP, GIF, PPM/PGM), one sub-folder per class (PATH/train and
          PATH/val when present, else a sixth held out), cropped and resized to --image-size (default 64) pixels.
          Transfer learning: --pretrained FILE loads every tensor but the classifier head from a safetensors file (e.g. a
          model.safetensors of an earlier run of the same --model); --freeze-backbone then trains only the head;
          --head-lr X gives the head its own learning rate (the backbone keeps --lr).
          Adversarial training: --adversarial pgd|trades --eps X [--attack-steps N] trains on PGD examples (Madry et al.) or
          with the TRADES loss (beta 6) within an L-inf ball of eps (default 0.1, 10 steps); see 'deepsharp attack'.
          Data-parallel: mpirun -np N deepsharp train --distributed ... splits each batch of --batch-size over N MPI ranks
          (MPICH; docs/distributed.md); rank 0 prints and writes the run folder; --zero shards the optimizer state over the ranks (ZeRO-1);
          --pipeline N [--chunks M] cuts the model into N stages on the N ranks instead (GPipe, M micro-batches per batch, default 4).
          {DashboardOption.Usage}
        Generative models: deepsharp train --model ae|dae|vae|dcgan|wgan-gp|ddpm ...  (see 'deepsharp train --model vae --help')
        Language models: deepsharp train --dataset text:PATH|fortunes --model gpt|lstm ...  (see 'deepsharp train --model gpt --help')
        Graphs: deepsharp train --model gcn|sage|gat|mlp --dataset karate|debian-packages, --model gin --dataset cycles (see 'deepsharp train --dataset karate --help')
        """;

    static readonly string[] Options = ["dataset", "model", "epochs", "batch-size", "lr", "optimizer", "seed", "threads", "out", "data", "limit", "test-limit",
                                        "val-fraction", "workers", "schedule", "checkpoint-every", "resume", "on-nan", "adversarial", "eps", "attack-steps", "precision", .. ImageTraining.Options, .. DashboardOption.Options, .. DistributedTrain.Options];

    static readonly string[] Flags = ["download", "no-verify", DistributedTrain.Flag, DistributedTrain.ZeroFlag, DashboardOption.Flag, .. ImageTraining.Flags];

    /// <summary>Runs the command: a new run, or `--resume RUN` to continue one from its checkpoint.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        bool resuming = args.Any(a => a == "--resume" || a.StartsWith("--resume=", StringComparison.Ordinal));
        if (!resuming && TextTrainCommand.Handles(args)) return TextTrainCommand.Run(args, output);
        if (!resuming && GenerativeTraining.Handles(args)) return GenerativeTraining.Run(args, output);
        if (!resuming && GraphTrainCommand.Handles(args)) return GraphTrainCommand.Run(args, output);
        if (!resuming && AudioTraining.Handles(args)) return AudioTraining.Run(args, output);
        var p = new ArgParser("train", args, Options, Flags);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count > 0) throw new UsageException($"deepsharp train: unexpected argument '{p.Positionals[0]}'. Run 'deepsharp train --help'.");
        if (p.OptionalString("resume") is not { } resume) return Train(p, args, resumeFolder: null, output);
        var others = args.Where(a => a.StartsWith("--", StringComparison.Ordinal)).Select(a => a[2..].Split('=')[0])
                         .Where(name => !RunResume.ResumeOptions.Contains(name)).ToList();
        if (others.Count > 0)
            throw new UsageException($"deepsharp train: --resume continues a run with its own settings; only --threads and --workers may go with it (got --{others[0]}).");
        var stored = RunResume.ReadRunFile(resume, p);
        if (TextTrainCommand.Handles(stored))
        {
            if (p.Has("workers")) throw new UsageException("deepsharp train: a language-model run has no --workers; only --threads may go with --resume.");
            return TextTrainCommand.Run(stored, output, resume);
        }
        if (GenerativeTraining.Handles(stored))
        {
            if (p.Has("workers")) throw new UsageException("deepsharp train: a generative run has no --workers; only --threads may go with --resume.");
            return GenerativeTraining.Run(stored, output, resume);
        }
        return Train(new ArgParser("train", stored, Options, Flags), stored, resume, output);
    }

    /// <summary>One run: parses the settings, loads the data, trains (from the checkpoint of <paramref name="resumeFolder"/> when given), tests and saves.</summary>
    static int Train(ArgParser p, string[] args, string? resumeFolder, TextWriter output)
    {
        var datasetName = p.OptionalString("dataset") is { } d && FolderImages.IsFolder(d) ? d
            : p.String("dataset", "fashion-mnist", [.. ImageTraining.DatasetNames, "folder:PATH"]);
        int imageSize = p.Int("image-size", FolderImages.DefaultImageSize, 8, 4096);
        var modelName = ImageTraining.CheckModelName(p.String("model", "cnn"), datasetName, imageSize);
        int epochs = p.Int("epochs", 5, 1, 10_000);
        int batchSize = p.Int("batch-size", 128, 1, 65_536);
        var optimizerName = p.String("optimizer", "adam", "adam", "adamw", "sgd");
        double lr = p.Double("lr", optimizerName == "sgd" ? 0.05 : modelName == "mlp" ? 2e-3 : 1e-3, 0);
        int seed = p.Int("seed", 42, 0);
        int threads = p.Int("threads", Environment.ProcessorCount, 1, 1024);
        int limit = Limit(p, "limit", "training"), testLimit = Limit(p, "test-limit", "test");
        int workers = p.Int("workers", 1, 0, 64);
        double valFraction = p.Double("val-fraction", 0.1, 0);
        var schedule = p.String("schedule", "cosine", "cosine", "none");
        var onNan = p.String("on-nan", "stop", "stop", "skip");
        var every = RunResume.ParseEvery(p);
        if (valFraction >= 1) throw new UsageException("deepsharp train: --val-fraction must be below 1.");
        var outDir = resumeFolder ?? p.OptionalString("out") ?? Path.Combine("runs", modelName);
        RunFolder.CheckNotAFile(outDir);
        double? headLr = p.Has("head-lr") ? p.Double("head-lr", lr, 0) : null;
        if (p.Flag("freeze-backbone") && !p.Has("pretrained"))
            throw new UsageException("deepsharp train: --freeze-backbone needs --pretrained FILE (a frozen random backbone learns little).");

        var distributed = DistributedTrain.Start(p, ref output, ref threads);   // null without --distributed
        if (distributed != null) outDir = distributed.RunFolder(outDir);
        KernelThreadPool.SetThreadCount(threads);
        DeepSharp.Random.Seed(seed);
        var data = ImageTraining.LoadData(datasetName, p.OptionalString("data"), p.Flag("download"), limit, testLimit, output, imageSize, verify: !p.Flag("no-verify"));
        output.WriteLine($"{datasetName}: {data.Train.Count} training and {data.Test.Count} test images from {data.Source}");

        var all = data.Train;
        int valCount = (int)Math.Round(all.Count * valFraction);
        var split = DeepSharp.Data.Dataset.RandomSplit(all, [all.Count - valCount, valCount], new Generator(seed));
        var trainLoader = distributed?.Loader(split[0], batchSize, workers, seed) ?? new DataLoader(split[0], batchSize, shuffle: true, numWorkers: workers);
        // Validation and test batches have the training batch's size, so evaluation reuses the buffers the training step's
        // forward pass gave back to the array cache instead of adding a second set several times larger (docs/cli.md, memory).
        var valLoader = valCount > 0 ? new DataLoader(split[1], batchSize) : null;

        var model = ImageTraining.CreateModel(modelName, data.Info);
        if (p.OptionalString("pretrained") is { } pretrained) ImageTraining.LoadPretrained(model, modelName, pretrained, output);
        var optimizer = ImageTraining.CreateOptimizer(optimizerName, model, lr, headLr, p.Flag("freeze-backbone"), output);
        output.WriteLine($"model {modelName}: {model.ParameterCount():N0} parameters; {optimizerName} lr {lr.ToString(CultureInfo.InvariantCulture)}; " +
                         $"batch {batchSize}; {epochs} epochs; {schedule} schedule; seed {seed}; {threads} threads");
        if (resumeFolder == null)
        {
            outDir = RunFolder.Create(outDir, output);
            RunResume.WriteRunFile(outDir, args, threads);
        }
        var csvPath = Path.Combine(outDir, "history.csv");
        var adversarial = p.String("adversarial", "none", "none", "pgd", "trades");
        var trainer = PrecisionTraining.Create(p, model, optimizer, output) ?? distributed?.PipelineTrainer(model, optimizer, split[0], output) ?? (adversarial == "none" ? new Trainer(distributed?.Wrap(model) ?? model, optimizer, F.CrossEntropy)
            : new Trainer(model, optimizer, Robustness.AdversarialTraining.Step(Robustness.AdversarialTraining.ParseMethod(adversarial), model,
                p.Double("eps", 0.1, 0), p.Int("attack-steps", 10, 1)), [new Training.Metrics.Accuracy()]));
        trainer.OnNonFiniteLoss = onNan == "skip" ? NonFiniteLossAction.SkipBatch : NonFiniteLossAction.Throw;
        if (schedule == "cosine")
        {
            // cosine decay of the learning rate to zero over every batch of the run (CosineAnnealingLR stepped per batch)
            int batchesPerEpoch = (split[0].Count + batchSize - 1) / batchSize;
            trainer.Scheduler = new CosineAnnealingLR(optimizer, Math.Max(1, epochs * batchesPerEpoch));
            trainer.StepSchedulerPerBatch = true;
        }
        if (resumeFolder != null) Resume(trainer, outDir, csvPath, epochs, output);
        var callbacks = new List<ICallback> { new CsvLogger(csvPath) };
        if (every.Callback(outDir) is { } checkpoints) callbacks.Add(checkpoints);
        distributed?.Configure(trainer, callbacks);
        var dashboard = DashboardOption.Start(p, "train", $"{modelName} on {datasetName}", new Dictionary<string, string> { ["model"] = $"{model.ParameterCount():N0} parameters",
            ["optimizer"] = $"{optimizerName} lr {lr.ToString(CultureInfo.InvariantCulture)}", ["batch"] = $"{batchSize}", ["epochs"] = $"{epochs}", ["run"] = outDir }, output);
        callbacks.AddRange(DashboardOption.Callbacks(dashboard, model, valCount > 0 ? split[1] : data.Test, data.Info.Classes));
        var started = DateTime.UtcNow;
        trainer.Fit(trainLoader, valLoader, epochs, callbacks);
        PrecisionTraining.Report(output);
        if (trainer.SkippedBatches > 0) output.WriteLine($"skipped {trainer.SkippedBatches} batches whose loss or gradients were not finite (--on-nan skip)");
        Finish(trainer, data, batchSize, modelName, datasetName, outDir, csvPath, DateTime.UtcNow - started, output,
               adversarial == "none" ? null : $"{adversarial} eps={p.Double("eps", 0.1, 0).ToString(CultureInfo.InvariantCulture)}");
        DashboardOption.Finish(dashboard, outDir, output);
        distributed?.Finish();
        return 0;
    }

    static void Resume(Trainer trainer, string outDir, string csvPath, int epochs, TextWriter output)
    {
        trainer.LoadCheckpoint(Path.Combine(outDir, RunResume.CheckpointFile));
        RunResume.RestoreHistory(trainer, csvPath);
        output.WriteLine($"resuming {outDir} from its checkpoint: step {trainer.GlobalStep}, {trainer.Epoch} of {epochs} epochs done");
    }

    /// <summary>Tests the trained model, saves it with the curve, and prints the closing lines.</summary>
    static void Finish(Trainer trainer, ImageData data, int batchSize, string modelName, string datasetName, string outDir, string csvPath, TimeSpan elapsed, TextWriter output,
                       string? adversarial = null)
    {
        var test = trainer.Evaluate(new DataLoader(data.Test, batchSize));
        var modelPath = Path.Combine(outDir, "model.safetensors");
        var metadata = new Dictionary<string, string>
        {
            ["deepsharp.model"] = modelName, ["deepsharp.dataset"] = data.Info.Name,
            ["test_accuracy"] = test["acc"].ToString("F4", CultureInfo.InvariantCulture),
        };
        if (adversarial != null) metadata["deepsharp.adversarial"] = adversarial;
        if (FolderImages.IsFolder(datasetName)) foreach (var (key, value) in FolderImages.Metadata(data.Info)) metadata[key] = value;
        SafeTensors.Save(modelPath, DistributedTrain.Unwrap(trainer.Model).StateDict(), metadata);
        TrainingCurve.WriteSvg(Path.Combine(outDir, "curve.svg"), trainer.History, $"{modelName} on {datasetName}");
        output.WriteLine($"saved {modelPath}, {csvPath} and {Path.Combine(outDir, "curve.svg")} ({elapsed.TotalSeconds:F0}s of training)");
        output.WriteLine($"test loss: {test["loss"].ToString("F4", CultureInfo.InvariantCulture)}");
        output.WriteLine($"test accuracy: {test["acc"].ToString("F4", CultureInfo.InvariantCulture)}");
    }


    /// <summary>A `--limit`-style option: absent means every image; present, it must be at least 1.</summary>
    static int Limit(ArgParser p, string name, string split)
    {
        if (!p.Has(name)) return 0;
        int n = p.Int(name, 0);
        if (n < 1) throw new UsageException($"deepsharp train: --{name} must be at least 1 (got {n}); leave it out to use every {split} image.");
        return n;
    }
}
