using System.Globalization;
using DeepSharp.Vision;

namespace DeepSharp.Cli.Commands;

/// <summary>`deepsharp sample MODEL --count N --out grid.png [--class K] [--steps N] [--seed N]`: a grid of generated images.</summary>
public static class SampleCommand
{
    const string Usage = """
        usage: deepsharp sample MODEL [--count N] [--out grid.png] [--class K|NAME] [--steps N] [--guidance W] [--nrow N] [--seed N]
          Draws --count images (default 64) from a generative model saved by 'deepsharp train --model vae|dcgan|wgan-gp|ddpm'
          (MODEL: its model.safetensors or run folder) and writes them as one PNG grid (default samples.png).
          Conditional models (dcgan, wgan-gp, ddpm) draw every class in turn (a column per class), or only --class K
          (a number or a class name, e.g. --class 3 or --class dress). ddpm: DDIM with --steps (default 25) and
          classifier-free guidance --guidance w (default 2; ε = (1 + w)·ε(c) − w·ε(∅), diffusers' guidance_scale w + 1).
          --seed (default 0) makes the grid reproducible.
        """;

    /// <summary>Runs the command; returns the exit code.</summary>
    public static int Run(string[] args, TextWriter output)
    {
        var p = new ArgParser("sample", args, ["count", "out", "class", "steps", "guidance", "nrow", "seed"]);
        if (p.Help) { output.WriteLine(Usage); return 0; }
        if (p.Positionals.Count != 1)
            throw new UsageException("deepsharp sample: give one model file, e.g. 'deepsharp sample runs/vae/model.safetensors --count 64 --out grid.png'.");
        int count = p.Int("count", 64, 1, 10_000);
        int seed = p.Int("seed", 0, 0);
        double guidance = p.Double("guidance", 2, 0);
        var outPath = p.OptionalString("out") ?? "samples.png";
        var (config, model) = GenerativeConfig.Load(p.Positionals[0], "sample");
        if (!config.CanSample)
            throw new UsageException($"deepsharp sample: {p.Positionals[0]} is an autoencoder ({config.Kind}), which has no prior to sample from; sample a vae, dcgan, wgan-gp or ddpm.");
        int steps = p.Int("steps", Math.Min(25, config.Timesteps), 1, config.Kind == "ddpm" ? config.Timesteps : int.MaxValue);
        if (p.Has("steps") && config.Kind != "ddpm") throw new UsageException($"deepsharp sample: --steps applies to a ddpm; {config.Kind} samples in one pass.");
        Tensor? labels = null;
        string what = config.NumClasses > 0 ? "every class in turn" : "unconditional";
        if (p.OptionalString("class") is { } name)
        {
            int k = ClassIndex(config, name);
            labels = Tensor.Full([count], k, DType.Int64);
            what = $"class {k} ({config.Classes.ElementAtOrDefault(k) ?? k.ToString(CultureInfo.InvariantCulture)})";
        }
        int nrow = p.Int("nrow", labels == null && config.NumClasses > 0 ? config.NumClasses : 8, 1, 1000);
        var images = config.Sample(model, count, labels, steps, guidance, new Generator(seed));
        var folder = Path.GetDirectoryName(Path.GetFullPath(outPath));
        if (folder != null) Directory.CreateDirectory(folder);
        Utils.SaveImage(images, outPath, nrow: nrow);
        var how = config.Kind == "ddpm" ? $", DDIM {steps} steps{(config.NumClasses > 0 ? $", guidance {guidance.ToString(CultureInfo.InvariantCulture)}" : "")}" : "";
        output.WriteLine($"{config.Kind} ({config.Dataset}): {count} samples, {what}{how}, seed {seed}: wrote {outPath}");
        return 0;
    }

    /// <summary>--class as a number in [0, classes) or a class name (case-insensitive).</summary>
    static int ClassIndex(GenerativeConfig config, string name)
    {
        if (config.NumClasses == 0)
            throw new UsageException($"deepsharp sample: a {config.Kind} is unconditional; --class applies to dcgan, wgan-gp and ddpm models.");
        var names = config.Classes.Length == config.NumClasses ? config.Classes : Enumerable.Range(0, config.NumClasses).Select(i => i.ToString(CultureInfo.InvariantCulture)).ToArray();
        if (int.TryParse(name, NumberStyles.Integer, CultureInfo.InvariantCulture, out int k) && k >= 0 && k < config.NumClasses) return k;
        int byName = Array.FindIndex(names, c => string.Equals(c, name, StringComparison.OrdinalIgnoreCase));
        if (byName >= 0) return byName;
        throw new UsageException($"deepsharp sample: unknown class '{name}'; the model knows {config.NumClasses} classes: " +
                                 string.Join(", ", names.Select((c, i) => $"{i} {c}")) + ".");
    }
}
