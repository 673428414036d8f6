using System.Globalization;
using DeepSharp.Generative;
using DeepSharp.Generative.Autoencoders;
using DeepSharp.Generative.Diffusion;
using DeepSharp.Generative.Vae;
using DeepSharp.IO;
using DeepSharp.NN;
using GanPair = DeepSharp.Generative.Gan.Gan;
using GanLoss = DeepSharp.Generative.Gan.GanLoss;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// The settings of a generative model saved by `deepsharp train --model ae|dae|vae|dcgan|wgan-gp|ddpm`: what the
/// safetensors metadata records ("deepsharp.model", "deepsharp.dataset", "deepsharp.gen.*") so that `deepsharp sample`
/// rebuilds the same architecture, and the module it builds.
/// </summary>
public sealed record GenerativeConfig(string Kind, string Dataset, string[] Classes, ImageShape Shape, int Latent, int Width, int NumClasses,
    int Timesteps, string Schedule)
{
    /// <summary>The --model names of the generative models.</summary>
    public static readonly string[] Kinds = ["ae", "dae", "vae", "dcgan", "wgan-gp", "ddpm"];

    /// <summary>True for a generative --model name.</summary>
    public static bool IsGenerative(string? kind) => kind != null && Kinds.Contains(kind);

    /// <summary>True for the kinds with a prior to sample from (not the autoencoders).</summary>
    public bool CanSample => Kind is "vae" or "dcgan" or "wgan-gp" or "ddpm";

    /// <summary>The metadata that records this configuration.</summary>
    public Dictionary<string, string> Metadata() => new()
    {
        ["deepsharp.model"] = Kind, ["deepsharp.dataset"] = Dataset, ["deepsharp.classes"] = string.Join(",", Classes),
        ["deepsharp.gen.channels"] = Shape.Channels.ToString(CultureInfo.InvariantCulture), ["deepsharp.gen.size"] = Shape.Size.ToString(CultureInfo.InvariantCulture),
        ["deepsharp.gen.latent"] = Latent.ToString(CultureInfo.InvariantCulture), ["deepsharp.gen.width"] = Width.ToString(CultureInfo.InvariantCulture),
        ["deepsharp.gen.num_classes"] = NumClasses.ToString(CultureInfo.InvariantCulture),
        ["deepsharp.gen.timesteps"] = Timesteps.ToString(CultureInfo.InvariantCulture), ["deepsharp.gen.schedule"] = Schedule,
    };

    /// <summary>Reads the configuration back from a file's metadata (<paramref name="path"/> names it in errors).</summary>
    public static GenerativeConfig FromMetadata(IReadOnlyDictionary<string, string> metadata, string path)
    {
        int Int(string key) => metadata.TryGetValue("deepsharp.gen." + key, out var s) && int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v
            : throw new InvalidDataException($"{path}: the metadata lacks 'deepsharp.gen.{key}'; it was not written by 'deepsharp train --model {metadata.GetValueOrDefault("deepsharp.model")}'");
        return new GenerativeConfig(metadata["deepsharp.model"], metadata.GetValueOrDefault("deepsharp.dataset", "fashion-mnist"),
            metadata.GetValueOrDefault("deepsharp.classes", "").Split(',', StringSplitOptions.RemoveEmptyEntries),
            new ImageShape(Int("channels"), Int("size")), Int("latent"), Int("width"), Int("num_classes"), Int("timesteps"),
            metadata.GetValueOrDefault("deepsharp.gen.schedule", "cosine"));
    }

    /// <summary>The U-Net's GroupNorm groups: 8, or fewer for narrow widths (the width must be a multiple).</summary>
    public int Groups => Width % 8 == 0 ? 8 : Width % 4 == 0 ? 4 : 2;

    /// <summary>Builds the untrained module: a ConvAutoencoder, ConvVae, Gan (generator + discriminator) or UNet.</summary>
    public Module Build() => Kind switch
    {
        "ae" or "dae" => new ConvAutoencoder(Shape, Latent, Width),
        "vae" => new ConvVae(Shape, Latent, Width),
        "dcgan" => GanPair.Create(Shape, GanLoss.NonSaturating, Latent, Width, NumClasses),
        "wgan-gp" => GanPair.Create(Shape, GanLoss.WassersteinGradientPenalty, Latent, Width, NumClasses),
        "ddpm" => new UNet(Shape, Width, NumClasses, Groups),
        _ => throw new UsageException($"deepsharp: '{Kind}' is not a generative model ({string.Join(", ", Kinds)})"),
    };

    /// <summary>The noise schedule of a DDPM.</summary>
    public NoiseSchedule CreateSchedule() => NoiseSchedule.Create(Schedule, Timesteps);

    /// <summary>
    /// <paramref name="count"/> images in [0, 1] from <paramref name="model"/> (built by <see cref="Build"/>): VAE decodes
    /// z ~ N(0, I), GANs run the generator, DDPM runs DDIM over <paramref name="steps"/> steps with classifier-free guidance
    /// <paramref name="guidance"/>. Conditional models take <paramref name="labels"/> (N,) or cycle through the classes.
    /// </summary>
    public Tensor Sample(Module model, int count, Tensor? labels, int steps, double guidance, Generator? generator)
    {
        if (NumClasses > 0) labels ??= Tensor.FromArray(Enumerable.Range(0, count).Select(i => (long)(i % NumClasses)).ToArray());
        var parts = new List<Tensor>();
        for (int done = 0; done < count; done += 250)
        {
            int n = Math.Min(250, count - done);
            var part = labels?.Narrow(0, done, n).Contiguous();
            parts.Add(model switch
            {
                ConvVae vae => vae.Sample(n, generator),
                GanPair gan => gan.Generator.Sample(n, part, generator) * 0.5 + 0.5,
                UNet unet => new Ddpm(unet, CreateSchedule()).SampleDdim(n, steps, labels: part, guidance: part == null ? 0 : guidance, generator: generator) * 0.5 + 0.5,
                _ => throw new UsageException($"deepsharp sample: a {Kind} has no prior to sample from; sample a vae, dcgan, wgan-gp or ddpm"),
            });
        }
        return Tensor.Cat(parts, 0);
    }

    /// <summary>Loads a generative model saved by `deepsharp train` (the file or its run folder): its configuration and weights.</summary>
    public static (GenerativeConfig Config, Module Model) Load(string path, string command)
    {
        if (Directory.Exists(path)) path = Path.Combine(path, "model.safetensors");
        if (!File.Exists(path)) throw new FileNotFoundException($"model file not found: {path} (train one with 'deepsharp train --model vae|dcgan|wgan-gp|ddpm --out DIR')", path);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        var kind = metadata.GetValueOrDefault("deepsharp.model");
        if (!IsGenerative(kind))
        {
            var what = kind == null ? "has no 'deepsharp.model' metadata" : ModelKinds.IsLanguageModel(kind) ? $"is a language model ({kind})"
                : $"is an image classifier ({kind}{(metadata.TryGetValue("deepsharp.dataset", out var d) ? $" trained on {d}" : "")})";
            throw new UsageException($"deepsharp {command}: {path} {what}; '{command}' takes a generative model saved by 'deepsharp train --model vae|dcgan|wgan-gp|ddpm'");
        }
        var config = FromMetadata(metadata, path);
        var model = config.Build();
        model.LoadStateDict(tensors);
        model.Eval();
        return (config, model);
    }
}
