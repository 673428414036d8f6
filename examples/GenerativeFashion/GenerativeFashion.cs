using DeepSharp.Data;
using DeepSharp.Generative.Autoencoders;
using DeepSharp.Generative.Diffusion;
using DeepSharp.Generative.Gan;
using DeepSharp.Generative.Metrics;
using DeepSharp.Generative.Vae;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Vision;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

namespace DeepSharp.Generative;

/// <summary>The example's pieces, public so the test suite runs the same code with a smaller budget.</summary>
public static class GenerativeFashion
{
    /// <summary>
    /// Budget and output of a run. <c>ClassifierWeights</c> / <c>DdpmWeights</c>: a FashionCnn or a DDPM U-Net (the
    /// ddpm-ema.safetensors a run writes) to load instead of training, so a run's scores can be redone without retraining.
    /// <c>DdpmGuidance</c>: the guidance weights w scored (Ho and Salimans' w; diffusers' guidance_scale = w + 1).
    /// </summary>
    public sealed record Settings(int TrainImages = 10000, int TestImages = 2000, double SecondsPerModel = 60, int Samples = 1000,
        string OutputFolder = "runs/generative", int HeldOutClass = 1, long Seed = 0, double? ClassifierSeconds = null, double? DdpmSeconds = null,
        int DdpmWidth = 16, double[]? DdpmGuidance = null, string? ClassifierWeights = null, string? DdpmWeights = null);

    /// <summary>The numbers a run measured.</summary>
    public sealed record Report(double ClassifierAccuracy, double FidFloor, double AnomalyRocAuc, double VaeNegativeElbo, double VaeIwae,
        double VaeFid, double DcganFid, double DcganClassAccuracy, double WganFid, double WganClassAccuracy, double DdpmFid, double DdpmClassAccuracy,
        long DdpmSteps, double Seconds);

    /// <summary>Trains every model under <paramref name="settings"/>, writes grids into its folder and returns the numbers.</summary>
    public static Report Run(Settings settings, TextWriter log)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        DeepSharp.Random.Seed(settings.Seed);
        Directory.CreateDirectory(settings.OutputFolder);
        var train = MnistDataset.LoadFashion(train: true).Take(settings.TrainImages);
        var test = MnistDataset.LoadFashion(train: false).Take(settings.TestImages);
        var budget = new TrainingBudget { MaxSeconds = settings.SecondsPerModel };
        string Png(string name) => Path.Combine(settings.OutputFolder, name);

        // the FID classifier: FashionCnn, features of classifier.2 (ReLU after Linear(3136, 256))
        var classifier = new FashionCnn();
        if (settings.ClassifierWeights is string classifierWeights) LoadWeights(classifier, classifierWeights, "--classifier-weights");
        else
        {
            Fit(new Trainer(classifier, new Adam(classifier.Parameters(), 1e-3), F.CrossEntropy, progress: Quiet), Loader(train, true),
                budget with { MaxSeconds = settings.ClassifierSeconds ?? settings.SecondsPerModel });
            DeepSharp.IO.SafeTensors.Save(Png("fid-classifier.safetensors"), classifier.StateDict());
        }
        var scorer = new FidScorer(classifier, "classifier.2", settings.ClassifierWeights ?? Png("fid-classifier.safetensors"));
        double accuracy = scorer.ClassAccuracy(test.Images, test.Labels);
        var realStats = scorer.Statistics(train.Images);
        double floor = scorer.Score(realStats, test.Images);
        log.WriteLine($"classifier: test accuracy {accuracy:P2}; FID on {scorer.Describe(256)}; floor (test vs train) {floor:F2}");

        double auc = Anomaly(train, test, settings, budget, log);
        var (nelbo, iwae, vaeFid) = VariationalAutoencoder(train, test, settings, budget, scorer, realStats, Png, log);
        var (ganFid, ganAccuracy) = ConditionalGan(GanLoss.NonSaturating, train, settings, budget, scorer, realStats, Png, log);
        var (wganFid, wganAccuracy) = ConditionalGan(GanLoss.WassersteinGradientPenalty, train, settings, budget, scorer, realStats, Png, log);
        var (ddpmFid, ddpmAccuracy, ddpmSteps) = Diffusion(train, settings, budget with { MaxSeconds = settings.DdpmSeconds ?? settings.SecondsPerModel },
            scorer, realStats, Png, log);
        return new Report(accuracy, floor, auc, nelbo, iwae, vaeFid, ganFid, ganAccuracy, wganFid, wganAccuracy, ddpmFid, ddpmAccuracy, ddpmSteps,
            clock.Elapsed.TotalSeconds);
    }

    static readonly IProgressReporter Quiet = new PlainProgress(TextWriter.Null);

    static DataLoader Loader(MnistDataset data, bool withLabels, int batchSize = 64) =>
        new(withLabels ? new TensorDataset(data.Images, data.Labels) : new TensorDataset(data.Images), batchSize: batchSize, shuffle: true);

    static void Fit(Trainer trainer, DataLoader loader, TrainingBudget budget) =>
        trainer.Fit(loader, null, budget with { MaxEpochs = budget.MaxEpochs ?? 50 });

    static double Anomaly(MnistDataset train, MnistDataset test, Settings settings, TrainingBudget budget, TextWriter log)
    {
        var normal = Indices(train.Labels, l => l != settings.HeldOutClass);
        var ae = new ConvAutoencoder(ImageShape.FashionMnist, latent: 32);
        var trainer = new Trainer(ae, new Adam(ae.Parameters(), 1e-3), step: AutoencoderSteps.Reconstruction(ae, new MaskingNoise(0.25)), progress: Quiet);
        Fit(trainer, new DataLoader(new TensorDataset(train.Images.IndexSelect(0, normal)), batchSize: 64, shuffle: true), budget);
        var scores = AnomalyDetection.ReconstructionScores(ae, test.Images);
        var isAnomaly = test.Labels.ToArray<long>().Select(l => l == settings.HeldOutClass).ToArray();
        double auc = AnomalyDetection.RocAuc(scores, isAnomaly);
        log.WriteLine($"denoising AE without class {settings.HeldOutClass} ({train.Classes[settings.HeldOutClass]}): {trainer.GlobalStep} steps, roc-auc: {auc:F4}");
        return auc;
    }

    static (double, double, double) VariationalAutoencoder(MnistDataset train, MnistDataset test, Settings settings, TrainingBudget budget,
        FidScorer scorer, FeatureStatistics realStats, Func<string, string> png, TextWriter log)
    {
        var vae = new ConvVae(ImageShape.FashionMnist, latent: 16);
        var trainer = new Trainer(vae, new Adam(vae.Parameters(), 1e-3), step: Elbo.Step(vae), progress: Quiet);
        Fit(trainer, Loader(train, false), budget);
        double nelbo = Elbo.NegativeElbo(vae, test.Images);
        double iwae = Elbo.ImportanceWeightedBound(vae, test.Images.Narrow(0, 0, Math.Min(500, test.Count)).Contiguous(), k: 50);
        var samples = Batched(settings.Samples, n => vae.Sample(n));
        double fid = scorer.Score(realStats, samples);
        Utils.SaveImage(samples.Narrow(0, 0, Math.Min(64, samples.Shape[0])), png("vae-samples.png"));
        var strips = Enumerable.Range(0, 6).Select(i => vae.Interpolate(test.Images[i], test.Images[i + 6], steps: 10)).ToArray();
        Utils.SaveImage(Tensor.Cat(strips, 0), png("vae-interpolation.png"), nrow: 10);
        log.WriteLine($"VAE: {trainer.GlobalStep} steps, test nelbo: {nelbo:F2} nats, IWAE (k = 50, 500 images): {iwae:F2} nats, fid: {fid:F2}");
        return (nelbo, iwae, fid);
    }

    /// <summary>A class-conditional DCGAN (non-saturating loss, batch-norm discriminator) or WGAN-GP (layer-norm critic, 5 critic steps, λ = 10).</summary>
    static (double, double) ConditionalGan(GanLoss loss, MnistDataset train, Settings settings, TrainingBudget budget, FidScorer scorer,
        FeatureStatistics realStats, Func<string, string> png, TextWriter log)
    {
        bool wgan = loss == GanLoss.WassersteinGradientPenalty;
        var gan = Gan.Gan.Create(ImageShape.FashionMnist, loss, latent: 64, width: 32, numClasses: 10);
        var (optG, optD) = gan.Optimizers(loss);
        var trainer = new Trainer(gan, [optG, optD], gan.Step(loss, optG, optD, criticSteps: wgan ? 5 : 1), progress: Quiet) { AutomaticOptimization = false };
        Fit(trainer, Loader(train, true), budget);
        var labels = ClassLabels(settings.Samples);
        var samples = Batched(settings.Samples, n => gan.Generator.Sample(n, labels.Narrow(0, 0, n).Contiguous())) * 0.5 + 0.5;
        double fid = scorer.Score(realStats, samples), accuracy = scorer.ClassAccuracy(samples, labels);
        Utils.SaveImage(gan.Generator.Sample(100, ClassLabels(100)) * 0.5 + 0.5, png(wgan ? "wgan-gp-samples.png" : "dcgan-samples.png"), nrow: 10);
        log.WriteLine($"conditional {(wgan ? "WGAN-GP" : "DCGAN")}: {trainer.GlobalStep} steps, fid: {fid:F2}, class accuracy {accuracy:P1}");
        return (fid, accuracy);
    }

    static (double, double, long) Diffusion(MnistDataset train, Settings settings, TrainingBudget budget, FidScorer scorer,
        FeatureStatistics realStats, Func<string, string> png, TextWriter log)
    {
        var unet = new UNet(ImageShape.FashionMnist, channels: settings.DdpmWidth, numClasses: 10);
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(500));
        var ema = new ExponentialMovingAverage(unet, new UNet(ImageShape.FashionMnist, channels: settings.DdpmWidth, numClasses: 10), decay: 0.995);
        var trainer = new Trainer(unet, new Adam(unet.Parameters(), 2e-3), step: ddpm.Step(), progress: Quiet);
        if (settings.DdpmWeights is string ddpmWeights) LoadWeights(ema.Averaged, ddpmWeights, "--ddpm-weights");   // sampled as trained: 0 steps here
        else
        {
            trainer.Fit(Loader(train, true), null, budget with { MaxEpochs = 1000 }, [ema]);
            DeepSharp.IO.SafeTensors.Save(png("ddpm-ema.safetensors"), ema.Averaged.StateDict());
        }
        int count = Math.Min(settings.Samples, 500);
        var labels = ClassLabels(count);
        // the first guidance weight is the reported one and draws ddpm-samples.png; the others are logged (ddpm-samples-wW.png)
        double[] weights = settings.DdpmGuidance is { Length: > 0 } g ? g : [2];
        (double Fid, double Accuracy) first = default;
        for (int k = 0; k < weights.Length; k++)
        {
            double w = weights[k];
            var samples = Batched(count, n => ddpm.SampleDdim(n, steps: 25, labels: labels.Narrow(0, 0, n).Contiguous(), guidance: w, model: (UNet)ema.Averaged)) * 0.5 + 0.5;
            double fid = scorer.Score(realStats, samples), accuracy = scorer.ClassAccuracy(samples, labels);
            Utils.SaveImage(samples.Narrow(0, 0, Math.Min(100, count)), png(k == 0 ? "ddpm-samples.png" : $"ddpm-samples-w{w:0.##}.png"), nrow: 10);
            log.WriteLine($"conditional DDPM (c = {settings.DdpmWidth}, cosine, T = 500, DDIM 25 steps, guidance {w:0.##}, EMA): {trainer.GlobalStep} steps, " +
                          $"fid: {fid:F2} ({count} samples), class accuracy {accuracy:P1}");
            if (k == 0) first = (fid, accuracy);
        }
        return (first.Fid, first.Accuracy, trainer.GlobalStep);
    }

    static void LoadWeights(Module module, string path, string option)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{option}: no such file {path}", path);
        module.LoadStateDict(DeepSharp.IO.SafeTensors.Load(path));   // strict: a file of another model throws, naming the keys
    }

    /// <summary>Labels 0, 1, …, 9, 0, 1, … (N,) int64: rows of a 10-wide grid show one class each column.</summary>
    static Tensor ClassLabels(int count) => Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % 10)).ToArray());

    static Tensor Batched(int count, Func<int, Tensor> make)
    {
        var parts = new List<Tensor>();
        for (int done = 0; done < count; done += 250) parts.Add(make(Math.Min(250, count - done)));
        return Tensor.Cat(parts, 0);
    }

    static Tensor Indices(Tensor labels, Func<long, bool> keep) =>
        Tensor.FromArray(labels.ToArray<long>().Select((l, i) => (l, (long)i)).Where(p => keep(p.l)).Select(p => p.Item2).ToArray());
}
