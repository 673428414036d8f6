// Generative models on Fashion-MNIST, each trained by the Trainer on a small budget: a denoising autoencoder used as an
// anomaly detector (trained without one class, ROC-AUC of the reconstruction error on the test set), a VAE (test
// negative ELBO and IWAE bound, sample grid, interpolation strip), a class-conditional DCGAN and WGAN-GP and a class-conditional DDPM
// (DDIM samples with classifier-free guidance, EMA weights). FID uses the 256-wide layer of a FashionCnn trained here.
// --classifier-weights PATH / --ddpm-weights PATH load a trained FashionCnn / DDPM (a run's fid-classifier.safetensors,
// ddpm-ema.safetensors) instead of training them, to redo the scoring.
// Run: dotnet run -c Release --project examples/GenerativeFashion -- --train 10000 --seconds 60 --out runs/generative
using DeepSharp.Generative;

var settings = new GenerativeFashion.Settings();
for (int i = 0; i + 1 < args.Length; i += 2)
    settings = args[i] switch
    {
        "--train" => settings with { TrainImages = int.Parse(args[i + 1]) },
        "--seconds" => settings with { SecondsPerModel = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) },
        "--samples" => settings with { Samples = int.Parse(args[i + 1]) },
        "--out" => settings with { OutputFolder = args[i + 1] },
        "--classifier-seconds" => settings with { ClassifierSeconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) },
        "--ddpm-seconds" => settings with { DdpmSeconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) },
        "--ddpm-width" => settings with { DdpmWidth = int.Parse(args[i + 1]) },
        "--classifier-weights" => settings with { ClassifierWeights = args[i + 1] },
        "--ddpm-weights" => settings with { DdpmWeights = args[i + 1] },
        "--ddpm-guidance" => settings with { DdpmGuidance = args[i + 1].Split(',').Select(w => double.Parse(w, System.Globalization.CultureInfo.InvariantCulture)).ToArray() },
        _ => throw new ArgumentException($"unknown option {args[i]} (--train N, --seconds S, --samples N, --out DIR, --classifier-seconds S, --ddpm-seconds S, --ddpm-width C, --ddpm-guidance W[,W...] (w = diffusers' guidance_scale − 1), --classifier-weights PATH, --ddpm-weights PATH)"),
    };
var report = GenerativeFashion.Run(settings, Console.Out);
Console.WriteLine(report);
