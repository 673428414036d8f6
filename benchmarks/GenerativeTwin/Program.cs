// The DeepSharp side of the PyTorch twins in benchmarks/pytorch_generative_twin.py: trains the autoencoder, the
// denoising autoencoder, the VAE, the conditional DCGAN, the conditional WGAN-GP or the conditional DDPM of
// DeepSharp.Generative with the same recipe (architecture, initialisation, optimizer, batch 64, the first --train
// Fashion-MNIST images, --epochs), in the Trainer, and prints the mean wall time of a step (data loading included) as
// step_ms, the mean over the steps after the first --warmup (default 3) as steady_ms (the first steps carry the JIT
// compilation of every kernel the model touches, ~0.2 s in all, and tiered compilation keeps promoting methods for
// several dozen steps more: over a short run it dominates step_ms; docs/generative.md uses --warmup 100), the means
// of consecutive 30-step windows as window_ms (w1/w2/...: how long the warm-up lasts), the
// ROC-AUC of the held-out --anomaly-class (ae, dae: trained without it), the test negative ELBO (vae) or the FID and class
// accuracy of --samples samples under the FashionCnn in --classifier (without one, a timing-only run, they are not scored). With --twin FILE (the twin's samples) it scores those with the same classifier, the same
// reference statistics and the same FID code, so both sides are measured by one yardstick.
// Usage: dotnet run -c Release --project benchmarks/GenerativeTwin -- --model ae|dae|vae|dcgan|wgan-gp|ddpm
//            [--classifier FID.safetensors] [--train 10000] [--test 2000] [--epochs 3] [--samples 500] [--threads 2]
//            [--anomaly-class 1] [--critic-steps 5] [--twin twin-MODEL.safetensors] [--warmup 3]
using System.Diagnostics;
using System.Globalization;
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.Generative;
using DeepSharp.Generative.Autoencoders;
using DeepSharp.Generative.Diffusion;
using DeepSharp.Generative.Gan;
using DeepSharp.Generative.Metrics;
using DeepSharp.Generative.Vae;
using DeepSharp.IO;
using DeepSharp.Kernels;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

var options = new Dictionary<string, string>();
for (int i = 0; i + 1 < args.Length; i += 2) options[args[i].TrimStart('-')] = args[i + 1];
string Opt(string name, string fallback) => options.GetValueOrDefault(name, fallback);
int Int(string name, int fallback) => int.Parse(Opt(name, fallback.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
var kind = Opt("model", "vae");
int trainCount = Int("train", 10000), testCount = Int("test", 2000), epochs = Int("epochs", 3), sampleCount = Int("samples", 500);
KernelThreadPool.SetThreadCount(Int("threads", 2));
DeepSharp.Random.Seed(Int("seed", 0));
var train = MnistDataset.LoadFashion(train: true).Take(trainCount);
var test = MnistDataset.LoadFashion(train: false).Take(testCount);
int anomalyClass = Int("anomaly-class", 1);
// the autoencoders train on the rows whose label is not the anomaly class
var normal = Tensor.FromArray(train.Labels.ToArray<long>().Select((l, i) => (l, (long)i)).Where(e => e.l != anomalyClass).Select(e => e.Item2).ToArray());
var loader = kind is "ae" or "dae"
    ? new DataLoader(new TensorDataset(train.Images.IndexSelect(0, normal), train.Labels.IndexSelect(0, normal)), batchSize: 64, shuffle: true)
    : new DataLoader(new TensorDataset(train.Images, train.Labels), batchSize: 64, shuffle: true);
var quiet = new PlainProgress(TextWriter.Null);
var result = new Dictionary<string, string> { ["model"] = kind, ["train"] = $"{trainCount}", ["epochs"] = $"{epochs}", ["batch"] = "64" };

// Trains in the Trainer over the epochs and records the mean wall time of a step.
void Fit(Trainer trainer, params ICallback[] callbacks)
{
    var clock = Stopwatch.StartNew();
    var steady = new SteadyClock(Int("warmup", 3));
    trainer.Fit(loader, null, epochs, [.. callbacks, steady]);
    result["steps"] = $"{trainer.GlobalStep}";
    result["step_ms"] = (clock.Elapsed.TotalMilliseconds / trainer.GlobalStep).ToString("F1", CultureInfo.InvariantCulture);
    result["steady_ms"] = steady.MeanMilliseconds.ToString("F1", CultureInfo.InvariantCulture);
    result["window_ms"] = steady.WindowMilliseconds;
}

Tensor labels = Tensor.FromArray(Enumerable.Range(0, sampleCount).Select(i => (long)(i % 10)).ToArray());
Tensor Batched(Func<Tensor, Tensor> make)
{
    var parts = new List<Tensor>();
    for (int done = 0; done < sampleCount; done += 250) parts.Add(make(labels.Narrow(0, done, Math.Min(250, sampleCount - done)).Contiguous()));
    return Tensor.Cat(parts, 0);
}

Tensor? samples = null;
switch (kind)
{
    case "ae" or "dae":
        var ae = new ConvAutoencoder(ImageShape.FashionMnist, latent: 32, width: 32);
        Fit(new Trainer(ae, new Adam(ae.Parameters(), 1e-3), step: AutoencoderSteps.Reconstruction(ae, kind == "dae" ? new MaskingNoise(0.25) : null), progress: quiet));
        var scores = AnomalyDetection.ReconstructionScores(ae, test.Images);
        result["anomaly_class"] = $"{anomalyClass}";
        result["roc_auc"] = AnomalyDetection.RocAuc(scores, test.Labels.ToArray<long>().Select(l => l == anomalyClass).ToArray()).ToString("F4", CultureInfo.InvariantCulture);
        break;
    case "vae":
        var vae = new ConvVae(ImageShape.FashionMnist, latent: 16, width: 32);
        Fit(new Trainer(vae, new Adam(vae.Parameters(), 1e-3), step: Elbo.Step(vae), progress: quiet));
        result["test_nelbo"] = Elbo.NegativeElbo(vae, test.Images).ToString("F2", CultureInfo.InvariantCulture);
        break;
    case "dcgan":
        var gan = Gan.Create(ImageShape.FashionMnist, GanLoss.NonSaturating, latent: 64, width: 32, numClasses: 10);
        var (optG, optD) = gan.Optimizers(GanLoss.NonSaturating);
        Fit(new Trainer(gan, [optG, optD], gan.Step(GanLoss.NonSaturating, optG, optD), progress: quiet) { AutomaticOptimization = false });
        samples = Batched(l => gan.Generator.Sample(l.Shape[0], l)) * 0.5 + 0.5;
        break;
    case "wgan-gp":
        var wgan = Gan.Create(ImageShape.FashionMnist, GanLoss.WassersteinGradientPenalty, latent: 64, width: 32, numClasses: 10);
        var (optWg, optWd) = wgan.Optimizers(GanLoss.WassersteinGradientPenalty);
        Fit(new Trainer(wgan, [optWg, optWd], wgan.Step(GanLoss.WassersteinGradientPenalty, optWg, optWd, criticSteps: Int("critic-steps", 5)), progress: quiet) { AutomaticOptimization = false });
        samples = Batched(l => wgan.Generator.Sample(l.Shape[0], l)) * 0.5 + 0.5;
        break;
    case "ddpm":
        var unet = new UNet(ImageShape.FashionMnist, channels: 16, numClasses: 10);
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(500));
        var ema = new ExponentialMovingAverage(unet, new UNet(ImageShape.FashionMnist, channels: 16, numClasses: 10), decay: 0.995);
        Fit(new Trainer(unet, new Adam(unet.Parameters(), 2e-3), step: ddpm.Step(), progress: quiet), ema);
        samples = Batched(l => ddpm.SampleDdim(l.Shape[0], steps: 25, labels: l, guidance: 2, model: (UNet)ema.Averaged)) * 0.5 + 0.5;
        break;
    default: throw new ArgumentException($"--model must be ae, dae, vae, dcgan, wgan-gp or ddpm, got {kind}");
}

if (samples != null && !options.ContainsKey("classifier"))
    result["fid"] = "not scored (no --classifier FILE, a FashionCnn, was given)";
else if (samples != null)
{
    var classifierPath = options["classifier"];
    var classifier = new FashionCnn();
    classifier.LoadStateDict(SafeTensors.Load(classifierPath));
    var scorer = new FidScorer(classifier, "classifier.2", classifierPath);
    var reference = scorer.Statistics(train.Images);
    result["fid_on"] = $"{scorer.Describe(256)}, reference: the {trainCount} training images";
    result["fid"] = scorer.Score(reference, samples).ToString("F2", CultureInfo.InvariantCulture);
    result["class_accuracy"] = scorer.ClassAccuracy(samples, labels).ToString("F3", CultureInfo.InvariantCulture);
    if (options.TryGetValue("twin", out var twinPath))
    {
        var twin = SafeTensors.Load(twinPath);
        result["twin_fid"] = scorer.Score(reference, twin["samples"]).ToString("F2", CultureInfo.InvariantCulture);
        result["twin_class_accuracy"] = scorer.ClassAccuracy(twin["samples"], twin["labels"]).ToString("F3", CultureInfo.InvariantCulture);
    }
}
Console.WriteLine(string.Join(", ", result.Select(kv => $"{kv.Key}: {kv.Value}")));

// Mean wall time of the steps after the first warmSteps (data loading included): the clock starts when warm-up batch
// warmSteps ends and stops when the last batch ends, so epoch boundaries count as they do in step_ms. Also the mean of
// each consecutive window of 30 steps from the start of training (how long the warm-up lasts).
sealed class SteadyClock(int warmSteps) : ICallback
{
    const int Window = 30;
    readonly Stopwatch clock = new();
    readonly List<double> windows = [];
    double warmEnd, lastEnd, windowStart;
    int batches;

    public double MeanMilliseconds => batches <= warmSteps ? double.NaN : (lastEnd - warmEnd) / (batches - warmSteps);

    /// <summary>Means (ms) of the 30-step windows, "w1/w2/...", the last full window included.</summary>
    public string WindowMilliseconds => string.Join("/", windows.Select(w => w.ToString("F1", CultureInfo.InvariantCulture)));

    public void OnTrainBegin(Trainer trainer) => clock.Start();

    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
    {
        lastEnd = clock.Elapsed.TotalMilliseconds;
        if (++batches == warmSteps) warmEnd = lastEnd;
        if (batches % Window == 0)
        {
            windows.Add((lastEnd - windowStart) / Window);
            windowStart = lastEnd;
        }
    }
}
