using DeepSharp.IO;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// `deepsharp train --model ae|dae|vae|dcgan|wgan-gp|ddpm` and `deepsharp sample`, run as the real command on tiny
/// budgets (a few hundred images, one epoch, small widths): the progress, the grid per epoch, the saved model, the
/// quality line, sampling from the saved file, and the one-line errors.
/// </summary>
public class CliGenerativeTests
{
    static (string Root, string Output) Train(params string[] args)
    {
        Requires.FashionMnist();
        var root = CliProcess.TempDir("cli-gen");
        var (code, output, err) = CliProcess.Run(["train", .. args, "--epochs", "1", "--threads", "2", "--out", "run"], root, timeoutSeconds: 120);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains("epoch 1/1", output);
        Assert.True(File.Exists(Path.Combine(root, "run", "model.safetensors")), output);
        Assert.True(File.Exists(Path.Combine(root, "run", "history.csv")), output);
        AssertPng(Path.Combine(root, "run", "samples-epoch-1.png"));
        return (root, output);
    }

    static void AssertPng(string path)
    {
        Assert.True(File.Exists(path), $"{path} is missing");
        var bytes = File.ReadAllBytes(path);
        Assert.True(bytes.Length > 100 && bytes[1] == 'P' && bytes[2] == 'N' && bytes[3] == 'G', $"{path} is not a PNG");
    }

    static string Line(string output, string prefix) =>
        output.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(prefix, StringComparison.Ordinal)) ?? throw new Xunit.Sdk.XunitException($"no '{prefix}' line in:\n{output}");

    /// <summary>The number after "name: " in a quality line such as "fid: 12.34 (500 samples ...)".</summary>
    static double Number(string line) => double.Parse(line[(line.IndexOf(": ", StringComparison.Ordinal) + 2)..].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public void VaeTrainsEndsWithTestNelboAndSamplesReproducibly()
    {
        var (root, output) = Train("--model", "vae", "--limit", "256", "--test-limit", "100");
        double nelbo = Number(Line(output, "test nelbo: "));
        Assert.InRange(nelbo, 50, 800);   // nats per 784 Bernoulli pixels: below 784·ln 2 ≈ 543 after any learning, far above 0
        var meta = SafeTensors.ReadHeader(Path.Combine(root, "run", "model.safetensors")).Metadata;
        Assert.Equal("vae", meta["deepsharp.model"]);
        Assert.Equal("16", meta["deepsharp.gen.latent"]);

        var (code, sampled, err) = CliProcess.Run(["sample", "run/model.safetensors", "--count", "8", "--out", "a.png", "--seed", "3"], root);
        Assert.True(code == 0, err);
        Assert.Contains("8 samples", sampled);
        CliProcess.Run(["sample", "run", "--count", "8", "--out", "b.png", "--seed", "3"], root);
        CliProcess.Run(["sample", "run", "--count", "8", "--out", "c.png", "--seed", "4"], root);
        AssertPng(Path.Combine(root, "a.png"));
        Assert.Equal(File.ReadAllBytes(Path.Combine(root, "a.png")), File.ReadAllBytes(Path.Combine(root, "b.png")));
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(root, "a.png")), File.ReadAllBytes(Path.Combine(root, "c.png")));
        CliProcess.Fails(ExitCodes.Usage, "--count must be between 1 and 10000 (got 0)", "sample", Path.Combine(root, "run"), "--count", "0");
        CliProcess.Fails(ExitCodes.Usage, "a vae is unconditional; --class applies to dcgan, wgan-gp and ddpm", "sample", Path.Combine(root, "run"), "--class", "3");
        CliProcess.Fails(ExitCodes.Usage, "--steps applies to a ddpm", "sample", Path.Combine(root, "run"), "--steps", "10");
        CliProcess.Fails(ExitCodes.Usage, "is a generative model (vae); 'evaluate' takes image classifiers", "evaluate", Path.Combine(root, "run", "model.safetensors"));
    }

    [Fact]
    public void ConditionalDdpmEndsWithFidAndSamplesOneClass()
    {
        var (root, output) = Train("--model", "ddpm", "--limit", "200", "--test-limit", "100", "--width", "8", "--timesteps", "50", "--steps", "5", "--fid-samples", "20");
        Assert.True(Number(Line(output, "fid: ")) >= 0);
        Assert.Contains("(EMA weights)", output);
        Assert.True(File.Exists(Path.Combine(root, "run", "fid-classifier.safetensors")));

        var (code, sampled, err) = CliProcess.Run(["sample", "run/model.safetensors", "--count", "6", "--out", "dress.png", "--class", "dress", "--steps", "4"], root);
        Assert.True(code == 0, err);
        Assert.Contains("class 3 (Dress), DDIM 4 steps, guidance 2", sampled);
        AssertPng(Path.Combine(root, "dress.png"));
        var model = Path.Combine(root, "run", "model.safetensors");
        var line = CliProcess.Fails(ExitCodes.Usage, "unknown class '12'", "sample", model, "--class", "12");
        Assert.Contains("3 Dress", line);
        CliProcess.Fails(ExitCodes.Usage, "--steps must be between 1 and 50 (got 60)", "sample", model, "--steps", "60");
    }

    [Theory]
    [InlineData("dae", "roc-auc: ")]
    [InlineData("dcgan", "fid: ")]
    [InlineData("wgan-gp", "fid: ")]
    public void EachModelEndsWithItsQualityLine(string kind, string quality)
    {
        var (root, output) = Train("--model", kind, "--limit", "192", "--test-limit", "200", "--width", "8", "--fid-samples", "20");
        double value = Number(Line(output, quality));
        if (kind == "dae")
        {
            Assert.InRange(value, 0, 1);
            CliProcess.Fails(ExitCodes.Usage, "is an autoencoder (dae), which has no prior to sample from", "sample", Path.Combine(root, "run"));
        }
        else
        {
            Assert.True(value >= 0, output);
            var (code, _, err) = CliProcess.Run(["sample", "run", "--count", "20", "--out", "grid.png"], root);
            Assert.True(code == 0, err);
            AssertPng(Path.Combine(root, "grid.png"));
        }
    }

    /// <summary>A CIFAR-10 folder in the binary batches format (label byte + 3072 pixel bytes per record), written here: 8 random records per batch file.</summary>
    static string SyntheticCifar10(string root)
    {
        var folder = Path.Combine(root, "cifar-10-batches-bin");
        Directory.CreateDirectory(folder);
        var random = new System.Random(5);
        foreach (var name in new[] { "data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin" })
        {
            var bytes = new byte[8 * (1 + 3072)];
            random.NextBytes(bytes);
            for (int r = 0; r < 8; r++) bytes[r * 3073] = (byte)(r % 10);   // labels 0..7
            File.WriteAllBytes(Path.Combine(folder, name), bytes);
        }
        return root;
    }

    [Theory]
    [InlineData("vae", "test nelbo: ")]
    [InlineData("dcgan", "fid: ")]
    public void TrainsOnACifar10FolderOf32By32ColourImages(string kind, string quality)
    {
        var root = CliProcess.TempDir("cli-gen-cifar");
        var data = SyntheticCifar10(Path.Combine(root, "data"));
        var (code, output, err) = CliProcess.Run(["train", "--model", kind, "--dataset", "cifar10", "--data", data, "--epochs", "1", "--batch-size", "16",
                                                  "--width", "8", "--fid-samples", "20", "--threads", "2", "--out", "run"], root, timeoutSeconds: 120);
        Assert.True(code == 0, $"exit {code}: {err}\n{output}");
        Assert.Contains("40 training and 8 test images", output);
        Assert.True(double.IsFinite(Number(Line(output, quality))), output);
        var meta = SafeTensors.ReadHeader(Path.Combine(root, "run", "model.safetensors")).Metadata;
        Assert.Equal(("3", "32", "cifar10"), (meta["deepsharp.gen.channels"], meta["deepsharp.gen.size"], meta["deepsharp.dataset"]));
        AssertPng(Path.Combine(root, "run", "samples-epoch-1.png"));
        var sampled = CliProcess.Run(["sample", "run", "--count", "4", "--out", "grid.png"], root);
        Assert.True(sampled.Code == 0, sampled.Err);
        AssertPng(Path.Combine(root, "grid.png"));
    }

    [Fact]
    public void SampleRefusesAnImageClassifierAndMissingFiles()
    {
        var dir = CliProcess.TempDir("cli-gen");
        var classifier = Path.Combine(dir, "model.safetensors");
        SafeTensors.Save(classifier, new Dictionary<string, Tensor> { ["fc.weight"] = Tensor.Zeros(10, 784) },
            new Dictionary<string, string> { ["deepsharp.model"] = "mlp", ["deepsharp.dataset"] = "fashion-mnist" });
        CliProcess.Fails(ExitCodes.Usage, "is an image classifier (mlp trained on fashion-mnist); 'sample' takes a generative model", "sample", classifier);
        CliProcess.Fails(ExitCodes.Failure, "model file not found", "sample", Path.Combine(dir, "nothing.safetensors"));
        CliProcess.Fails(ExitCodes.Usage, "give one model file", "sample");
        CliProcess.Fails(ExitCodes.Usage, "--model must be one of", "train", "--model", "gan");
    }
}
