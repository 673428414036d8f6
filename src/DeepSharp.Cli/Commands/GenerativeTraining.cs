using System.Globalization;
using DeepSharp.Data;
using DeepSharp.Generative;
using DeepSharp.Generative.Autoencoders;
using DeepSharp.Generative.Diffusion;
using DeepSharp.Generative.Metrics;
using DeepSharp.Generative.Vae;
using DeepSharp.IO;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Vision;
using DeepSharp.Vision.Models;
using GanPair = DeepSharp.Generative.Gan.Gan;
using GanLoss = DeepSharp.Generative.Gan.GanLoss;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp train --model ae|dae|vae|dcgan|wgan-gp|ddpm`: trains a generative model of DeepSharp.Generative in the
/// <see cref="Trainer"/> (live progress), writes a sample grid per epoch into the run folder, saves DIR/model.safetensors
/// (with the configuration `deepsharp sample` rebuilds it from) and ends with the model's quality line.
/// </summary>
public static class GenerativeTraining
{
    const string Usage = $"""
        usage: deepsharp train --model ae|dae|vae|dcgan|wgan-gp|ddpm [--dataset fashion-mnist|mnist|cifar10] [--epochs N] [--batch-size N]
                               [--lr X] [--latent N] [--width N] [--seed N] [--threads N] [--out DIR] [--data DIR] [--download]
                               [--no-verify] [--limit N] [--test-limit N] [--noise P] [--anomaly-class K] [--critic-steps N]
                               [--timesteps N] [--schedule cosine|linear] [--ema X] [--steps N] [--guidance W]
                               [--fid-samples N] [--fid-classifier FILE] [--checkpoint-every N|Nepochs|Nsteps|none]
               deepsharp train --resume DIR [--threads N]
          Trains the model on 28x28 (or CIFAR-10's 3x32x32, binary batches from --data DIR) images in [0, 1], shows progress, writes DIR/samples-epoch-N.png after each epoch,
          saves DIR/model.safetensors and DIR/history.csv, and ends with the model's quality line:
            ae, dae      roc-auc: X    trained without class --anomaly-class (default 1), which is the anomaly in the test
                                       set; scored by reconstruction error (dae: masking noise, --noise P, default 0.25)
            vae          test nelbo: X  nats per image (Bernoulli pixels, z sampled)
            dcgan, wgan-gp, ddpm  fid: X  between --fid-samples generated (default 500) and the training images, on the
                                       256 features of a FashionCnn: --fid-classifier FILE (a 'deepsharp train --model cnn'
                                       model.safetensors), else one trained here for 1 epoch (DIR/fid-classifier.safetensors);
                                       on 32x32 images the classifier sees their centre 28x28 crop
          GANs and the DDPM are class-conditional. Defaults: 5 epochs, batch 64, seed 42, out runs/MODEL; latent 32 (ae),
          16 (vae), 64 (GANs); width 32 (ddpm 16); lr 1e-3 (ae, vae), 2e-3 (ddpm), 2e-4 (dcgan), 1e-4 (wgan-gp, --critic-steps 5);
          ddpm (the recipe of examples/GenerativeFashion, measured in docs/generative.md): --timesteps 500, cosine schedule,
          EMA 0.995 (the saved weights), DDIM --steps 25 with guidance w = 2 (ε = (1 + w)·ε(c) − w·ε(∅); diffusers' guidance_scale 3).
          --checkpoint-every (default: every epoch) saves DIR/checkpoint.safetensors (both GAN optimizers included) and, for the
          ddpm, DIR/ema.safetensors; --resume DIR continues an interrupted run from them with its own settings (run.json).
          Sample from the saved model: deepsharp sample DIR/model.safetensors --count 64 --out grid.png
          {DashboardOption.Usage}
        """;

    static readonly string[] Options = ["dataset", "model", "epochs", "batch-size", "lr", "latent", "width", "seed", "threads", "out", "data", "limit",
                                        "test-limit", "noise", "anomaly-class", "critic-steps", "timesteps", "schedule", "ema", "steps", "guidance",
                                        "fid-samples", "fid-classifier", "checkpoint-every", .. DashboardOption.Options];

    /// <summary>The EMA copy saved beside the checkpoint (a ddpm's sampled weights), so a resumed run averages on.</summary>
    const string EmaFile = "ema.safetensors";

    /// <summary>The EMA copy of the checkpoint being written: saved before the checkpoint, renamed to
    /// <see cref="EmaFile"/> after it, so a run killed between the two writes still has the EMA of its checkpoint's step.</summary>
    const string PendingEmaFile = "ema.pending.safetensors";

    /// <summary>The metadata key holding the optimizer step an EMA file belongs to.</summary>
    const string EmaStepKey = "deepsharp.step";

    /// <summary>True when --model names a generative model.</summary>
    public static bool Handles(string[] args)
    {
        for (int i = 0; i < args.Length; i++)
        {
            var value = args[i] == "--model" && i + 1 < args.Length ? args[i + 1] : args[i].StartsWith("--model=", StringComparison.Ordinal) ? args[i][8..] : null;
            if (GenerativeConfig.IsGenerative(value)) return true;
        }
        return false;
    }

    sealed record Data(Tensor TrainImages, Tensor TrainLabels, Tensor TestImages, Tensor TestLabels, string[] Classes);

    /// <summary>Runs the command (continuing the run in <paramref name="resumeFolder"/> from its checkpoint when given); returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output, string? resumeFolder = null)
    {
        var p = new ArgParser("train", args, Options, ["download", "no-verify", DashboardOption.Flag]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count > 0) throw new UsageException($"deepsharp train: unexpected argument '{p.Positionals[0]}'. Run 'deepsharp train --model vae --help'.");
        var kind = p.String("model", "vae", GenerativeConfig.Kinds);
        var dataset = p.String("dataset", "fashion-mnist", "fashion-mnist", "mnist", "cifar10");
        int epochs = p.Int("epochs", 5, 1, 10_000), batchSize = p.Int("batch-size", 64, 1, 65_536), seed = p.Int("seed", 42, 0);
        int threads = p.Int("threads", Environment.ProcessorCount, 1, 1024);
        int latent = p.Int("latent", kind switch { "vae" => 16, "ae" or "dae" => 32, _ => 64 }, 1, 4096);
        int width = p.Int("width", kind == "ddpm" ? 16 : 32, 4, 1024);
        if (kind == "ddpm" && width % 4 != 0) throw new UsageException($"deepsharp train: --width of a ddpm must be a multiple of 4 (got {width}).");
        int anomalyClass = p.Int("anomaly-class", 1, 0, 9);
        int steps = p.Int("steps", 25, 1, 10_000), fidSamples = p.Int("fid-samples", 500, 2, 100_000);
        var every = RunResume.ParseEvery(p);
        var outDir = resumeFolder ?? p.OptionalString("out") ?? Path.Combine("runs", kind);
        RunFolder.CheckNotAFile(outDir);

        KernelThreadPool.SetThreadCount(threads);
        DeepSharp.Random.Seed(seed);
        var data = Load(p, dataset, output);
        var config = new GenerativeConfig(kind, dataset, data.Classes, new ImageShape(data.TrainImages.Shape[1], data.TrainImages.Shape[3]), latent, width,
            kind is "dcgan" or "wgan-gp" or "ddpm" ? data.Classes.Length : 0, p.Int("timesteps", 500, 2, 100_000), p.String("schedule", "cosine", "cosine", "linear"));
        if (kind == "ddpm" && steps > config.Timesteps) throw new UsageException($"deepsharp train: --steps must be at most --timesteps ({config.Timesteps}), got {steps}.");
        var model = config.Build();
        if (resumeFolder == null)
        {
            outDir = RunFolder.Create(outDir, output);
            RunResume.WriteRunFile(outDir, args, threads);
        }
        var run = new RunState(config, model, outDir, seed, steps, p.Double("guidance", 2, 0));
        var trainImages = kind is "ae" or "dae" ? Without(data.TrainImages, data.TrainLabels, anomalyClass) : data.TrainImages;
        var loader = new DataLoader(new TensorDataset(trainImages, kind is "ae" or "dae" ? Without(data.TrainLabels, data.TrainLabels, anomalyClass) : data.TrainLabels),
                                    batchSize, shuffle: true);
        var (trainer, ema, lr) = CreateTrainer(config, model, p);
        output.WriteLine($"model {kind}: {model.ParameterCount():N0} parameters; lr {lr.ToString(CultureInfo.InvariantCulture)}; batch {batchSize}; {epochs} epochs; " +
                         $"{trainImages.Shape[0]} training images{(kind is "ae" or "dae" ? $" (without class {anomalyClass}, {data.Classes[anomalyClass]})" : "")}; seed {seed}; {threads} threads");
        var csvPath = Path.Combine(outDir, "history.csv");
        if (resumeFolder != null) Resume(trainer, ema, outDir, csvPath, epochs, output);
        var callbacks = new List<ICallback> { new CsvLogger(csvPath) };
        if (ema != null) callbacks.Add(ema);
        if (every.Callback(outDir) is PeriodicCheckpoint checkpoints) callbacks.Add(new CheckpointWithEma(checkpoints, ema, outDir));
        callbacks.Add(new EpochGrid(epoch => run.Grid(ema?.Averaged ?? model, data.TestImages), outDir, config.NumClasses > 0 ? config.NumClasses : 8));
        var dashboard = DashboardOption.Start(p, "train", $"{kind} on {dataset}", new Dictionary<string, string> { ["model"] = $"{model.ParameterCount():N0} parameters",
            ["lr"] = lr.ToString(CultureInfo.InvariantCulture), ["batch"] = $"{batchSize}", ["epochs"] = $"{epochs}", ["run"] = outDir }, output);
        callbacks.AddRange([.. DashboardOption.Callbacks(dashboard), .. DashboardOption.SampleGrids(dashboard, outDir)]);
        var started = DateTime.UtcNow;
        trainer.Fit(loader, null, epochs, callbacks);
        var saved = ema?.Averaged ?? model;
        var modelPath = Path.Combine(outDir, "model.safetensors");
        SafeTensors.Save(modelPath, saved.StateDict(), config.Metadata());
        output.WriteLine($"saved {modelPath} and {csvPath}{(ema != null ? " (EMA weights)" : "")} ({(DateTime.UtcNow - started).TotalSeconds:F0}s of training)");
        output.WriteLine(run.Quality(saved, data, anomalyClass, fidSamples, p.OptionalString("fid-classifier"), output));
        DashboardOption.Finish(dashboard, outDir, output);
        return 0;
    }

    static void Resume(Trainer trainer, ExponentialMovingAverage? ema, string outDir, string csvPath, int epochs, TextWriter output)
    {
        trainer.LoadCheckpoint(Path.Combine(outDir, RunResume.CheckpointFile));
        if (ema != null) ema.Averaged.LoadStateDict(ResumeEma(outDir, trainer.GlobalStep));
        RunResume.RestoreHistory(trainer, csvPath);
        output.WriteLine($"resuming {outDir} from its checkpoint: step {trainer.GlobalStep}, {trainer.Epoch} of {epochs} epochs done");
    }

    /// <summary>
    /// The EMA weights of the checkpoint's step: <see cref="EmaFile"/>, or the pending copy where the run was killed after
    /// writing the checkpoint and before renaming it (the file whose step metadata matches). A folder with neither is
    /// an error naming both files.
    /// </summary>
    static Dictionary<string, Tensor> ResumeEma(string outDir, long step)
    {
        foreach (var name in new[] { PendingEmaFile, EmaFile })
        {
            var path = Path.Combine(outDir, name);
            if (!File.Exists(path)) continue;
            var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
            // files written before the step was recorded: the final EMA file is the checkpoint's
            if (!metadata.TryGetValue(EmaStepKey, out var saved) ? name == EmaFile : saved == step.ToString(CultureInfo.InvariantCulture)) return tensors;
        }
        throw new FileNotFoundException($"--resume {outDir}: the ddpm run has a checkpoint at step {step} but no EMA weights of that step ({EmaFile} or {PendingEmaFile})",
            Path.Combine(outDir, EmaFile));
    }

    /// <summary>The periodic checkpoint, and with it the EMA copy (which is not part of the trained model) at the same step:
    /// the EMA is written first as <see cref="PendingEmaFile"/> (tagged with the step), the checkpoint next, then the pending
    /// file replaces <see cref="EmaFile"/>; killed anywhere in between, the folder holds the EMA of its checkpoint's step.</summary>
    sealed class CheckpointWithEma : ICallback
    {
        readonly PeriodicCheckpoint checkpoint;
        readonly ExponentialMovingAverage? ema;
        readonly string emaPath, pendingPath;

        public CheckpointWithEma(PeriodicCheckpoint checkpoint, ExponentialMovingAverage? ema, string outDir)
        {
            this.checkpoint = checkpoint; this.ema = ema;
            emaPath = Path.Combine(outDir, EmaFile); pendingPath = Path.Combine(outDir, PendingEmaFile);
            if (ema != null)
                checkpoint.BeforeSave = trainer => SafeTensors.Save(pendingPath, ema.Averaged.StateDict(),
                    new Dictionary<string, string> { [EmaStepKey] = trainer.GlobalStep.ToString(CultureInfo.InvariantCulture) });
        }

        public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs) => After(() => checkpoint.OnBatchEnd(trainer, batch, logs));
        public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) => After(() => checkpoint.OnEpochEnd(trainer, epoch, logs));

        void After(Action save)
        {
            long before = checkpoint.LastSavedStep;
            save();
            if (ema != null && checkpoint.LastSavedStep != before) File.Move(pendingPath, emaPath, overwrite: true);
        }
    }

    static Data Load(ArgParser p, string dataset, TextWriter output)
    {
        int limit = p.Has("limit") ? p.Int("limit", 0, 1) : 0, testLimit = p.Has("test-limit") ? p.Int("test-limit", 0, 1) : 0;
        var data = ImageTraining.LoadData(dataset, p.OptionalString("data"), p.Flag("download"), limit, testLimit, output, verify: !p.Flag("no-verify"));
        output.WriteLine($"{dataset}: {data.Train.Count} training and {data.Test.Count} test images from {data.Source}");
        var (trainImages, trainLabels) = Stack(data.Train);
        var (testImages, testLabels) = Stack(data.Test);
        return new Data(trainImages, trainLabels, testImages, testLabels, data.Info.Classes);
    }

    static (Tensor Images, Tensor Labels) Stack(IDataset<Tensor[]> items)
    {
        var images = new List<Tensor>(); var labels = new List<Tensor>();
        foreach (var batch in new DataLoader(items, 1000)) { images.Add(batch[0]); labels.Add(batch[1]); }
        return (Tensor.Cat(images, 0), Tensor.Cat(labels, 0));
    }

    static Tensor Without(Tensor values, Tensor labels, int excluded) =>
        values.IndexSelect(0, Tensor.FromArray(labels.ToArray<long>().Select((l, i) => (l, (long)i)).Where(e => e.l != excluded).Select(e => e.Item2).ToArray()));

    /// <summary>The trainer of each kind (with its step and optimizers), the DDPM's EMA callback, and the learning rate.</summary>
    static (Trainer Trainer, ExponentialMovingAverage? Ema, double Lr) CreateTrainer(GenerativeConfig config, Module model, ArgParser p)
    {
        switch (model)
        {
            case ConvAutoencoder ae:
            {
                double lr = p.Double("lr", 1e-3, 0);
                var corruption = config.Kind == "dae" ? new MaskingNoise(p.Double("noise", 0.25, 0)) : null;
                return (new Trainer(ae, new Adam(ae.Parameters(), lr), step: AutoencoderSteps.Reconstruction(ae, corruption)), null, lr);
            }
            case ConvVae vae:
            {
                double lr = p.Double("lr", 1e-3, 0);
                return (new Trainer(vae, new Adam(vae.Parameters(), lr), step: Elbo.Step(vae)), null, lr);
            }
            case GanPair gan:
            {
                var loss = config.Kind == "dcgan" ? GanLoss.NonSaturating : GanLoss.WassersteinGradientPenalty;
                var (lr, betas) = loss == GanLoss.NonSaturating ? (p.Double("lr", 2e-4, 0), (0.5, 0.999)) : (p.Double("lr", 1e-4, 0), (0.5, 0.9));
                Optimizer optG = new Adam(gan.Generator.Parameters(), lr, betas), optD = new Adam(gan.Discriminator.Parameters(), lr, betas);
                int criticSteps = p.Int("critic-steps", loss == GanLoss.NonSaturating ? 1 : 5, 1, 100);
                return (new Trainer(gan, [optG, optD], gan.Step(loss, optG, optD, criticSteps)) { AutomaticOptimization = false }, null, lr);
            }
            case UNet unet:
            {
                double lr = p.Double("lr", 2e-3, 0);
                var ddpm = new Ddpm(unet, config.CreateSchedule());
                var ema = new ExponentialMovingAverage(unet, config.Build(), p.Double("ema", 0.995, 0));
                return (new Trainer(unet, new Adam(unet.Parameters(), lr), step: ddpm.Step()), ema, lr);
            }
            default: throw new InvalidOperationException($"no trainer for {model.GetType().Name}");
        }
    }

    /// <summary>A run's sampling and scoring: the grid after each epoch and the quality line at the end.</summary>
    sealed record RunState(GenerativeConfig Config, Module Model, string OutDir, int Seed, int Steps, double Guidance)
    {
        /// <summary>8 test images above their reconstructions (autoencoders), or samples from fixed noise (a row per class when conditional).</summary>
        public Tensor Grid(Module model, Tensor testImages)
        {
            if (model is ConvAutoencoder ae)
            {
                var originals = testImages.Narrow(0, 0, Math.Min(8, testImages.Shape[0])).Contiguous();
                using var _ = Autograd.NoGrad();
                bool training = ae.IsTraining; ae.Eval();
                var reconstructions = ae.Call(originals);
                ae.Train(training);
                return Tensor.Cat([originals, reconstructions], 0);
            }
            int count = Config.NumClasses > 0 ? 2 * Config.NumClasses : 16;
            return Config.Sample(model, count, null, Math.Min(Steps, 20), Guidance, new Generator(Seed));
        }

        /// <summary>Computes and returns the closing line: roc-auc, test nelbo or fid.</summary>
        public string Quality(Module model, Data data, int anomalyClass, int fidSamples, string? classifierPath, TextWriter output)
        {
            switch (model)
            {
                case ConvAutoencoder ae:
                    var scores = AnomalyDetection.ReconstructionScores(ae, data.TestImages);
                    var isAnomaly = data.TestLabels.ToArray<long>().Select(l => l == anomalyClass).ToArray();
                    if (!isAnomaly.Contains(true) || isAnomaly.All(a => a))
                        throw new UsageException($"deepsharp train: the test images need both class {anomalyClass} and other classes for the ROC-AUC; raise --test-limit.");
                    return $"roc-auc: {AnomalyDetection.RocAuc(scores, isAnomaly).ToString("F4", CultureInfo.InvariantCulture)} (class {anomalyClass}, {data.Classes[anomalyClass]}, as the anomaly)";
                case ConvVae vae:
                    return $"test nelbo: {Elbo.NegativeElbo(vae, data.TestImages).ToString("F2", CultureInfo.InvariantCulture)} nats per image";
                default:
                    var scorer = FidClassifier(data, classifierPath, output);
                    var samples = ClassifierView(Config.Sample(model, fidSamples, null, Steps, Guidance, new Generator(Seed + 1)));
                    var fid = scorer.Score(scorer.Statistics(ClassifierView(data.TrainImages)), samples);
                    var labels = Tensor.FromArray(Enumerable.Range(0, fidSamples).Select(i => (long)(i % Config.NumClasses)).ToArray());
                    output.WriteLine($"class accuracy of the samples (by the FID classifier): {scorer.ClassAccuracy(samples, labels).ToString("P1", CultureInfo.InvariantCulture)}");
                    return $"fid: {fid.ToString("F2", CultureInfo.InvariantCulture)} ({fidSamples} samples vs {data.TrainImages.Shape[0]} training images on {scorer.Describe(256)})";
            }
        }

        /// <summary>What the FashionCnn (a 28×28 network) sees: the images themselves, or the centre 28×28 crop of larger ones (CIFAR-10's 32×32).</summary>
        static Tensor ClassifierView(Tensor images) =>
            images.Shape[3] <= 28 ? images : images.Narrow(2, (images.Shape[2] - 28) / 2, 28).Narrow(3, (images.Shape[3] - 28) / 2, 28).Contiguous();

        FidScorer FidClassifier(Data data, string? path, TextWriter output)
        {
            if (path != null)
            {
                var (loaded, _) = EvaluateCommand.LoadModel(path, "train");
                if (loaded is not FashionCnn) throw new UsageException($"deepsharp train: --fid-classifier must be a 'deepsharp train --model cnn' model (FashionCnn), got {loaded.GetType().Name}.");
                return new FidScorer(loaded, "classifier.2", path);
            }
            var classifier = new FashionCnn(data.Classes.Length, inChannels: data.TrainImages.Shape[1]);
            var trainer = new Trainer(classifier, new Adam(classifier.Parameters(), 1e-3), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
            trainer.Fit(new DataLoader(new TensorDataset(ClassifierView(data.TrainImages), data.TrainLabels), 64, shuffle: true), null, 1);
            var file = Path.Combine(OutDir, "fid-classifier.safetensors");
            SafeTensors.Save(file, classifier.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "cnn", ["deepsharp.dataset"] = Config.Dataset });
            var scorer = new FidScorer(classifier, "classifier.2", file);
            output.WriteLine($"FID classifier: FashionCnn trained 1 epoch here ({file}), test accuracy {scorer.ClassAccuracy(ClassifierView(data.TestImages), data.TestLabels).ToString("P1", CultureInfo.InvariantCulture)}");
            return scorer;
        }
    }

    /// <summary>Writes DIR/samples-epoch-N.png after each epoch.</summary>
    sealed class EpochGrid(Func<int, Tensor> grid, string folder, int nrow) : ICallback
    {
        public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) =>
            Utils.SaveImage(grid(epoch), Path.Combine(folder, $"samples-epoch-{epoch}.png"), nrow: nrow);
    }
}
