using System.Globalization;
using System.Text.RegularExpressions;
using DeepSharp.IO;

namespace DeepSharp.Robustness.Tests;

/// <summary>`deepsharp train --adversarial ...` then `deepsharp attack ...` end to end on a small slice.</summary>
public class CliAttackTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    static double Read(string output, string label) =>
        double.Parse(Regex.Match(output, label + @": (\d\.\d+)").Groups[1].Value, CultureInfo.InvariantCulture);

    [Fact]
    public void AdversarialTrainingThenAttackFromTheCommandLine()
    {
        Requires.FashionMnist();
        var dir = Path.Combine(Path.GetTempPath(), $"cli-attack-{Guid.NewGuid():N}");
        var (code, output, err) = Run("train", "--model", "lenet", "--limit", "1200", "--epochs", "1", "--adversarial", "trades", "--eps", "0.1",
            "--attack-steps", "2", "--threads", "1", "--out", dir, "--val-fraction", "0");
        Assert.True(code == 0, err);
        Assert.Contains("test accuracy:", output);
        var model = Path.Combine(dir, "model.safetensors");
        Assert.Equal("trades eps=0.1", SafeTensors.LoadWithMetadata(model).Metadata["deepsharp.adversarial"]);

        var png = Path.Combine(dir, "examples.png");
        (code, output, err) = Run("attack", model, "--method", "pgd", "--eps", "0.1", "--steps", "5", "--limit", "120", "--out", png);
        Assert.True(code == 0, err);
        Assert.Contains("PGD(eps=0.1, alpha=0.05, steps=5, random_start=True) on 120 fashion-mnist test images", output);
        double clean = Read(output, "clean accuracy"), robust = Read(output, "robust accuracy");
        Assert.InRange(robust, 0, clean);
        Assert.Equal(8, Regex.Matches(output, @"^  \d\. .+ -> .+ -> .+$", RegexOptions.Multiline).Count);
        var image = Vision.Imaging.Image.Load(png);
        Assert.Equal((3 * (84 + 2) + 2, 8 * (84 + 2) + 2), (image.Height, image.Width));

        (code, output, err) = Run("attack", model, "--method", "fgsm", "--eps", "0.2", "--limit", "60");
        Assert.True(code == 0, err);
        Assert.Contains("FGSM(eps=0.2) on 60", output);
        Assert.True(File.Exists(Path.Combine(dir, "attack_fgsm.png")));
        Directory.Delete(dir, recursive: true);
    }

    [Fact]
    public void BadOptionsAreUsageErrors()
    {
        var (code, _, err) = Run("attack", "missing.safetensors", "--method", "cw");
        Assert.Equal(2, code);
        Assert.Contains("fgsm", err);
        (code, _, err) = Run("attack");
        Assert.Equal(2, code);
        (code, _, err) = Run("train", "--adversarial", "free");
        Assert.Equal(2, code);
        Assert.Contains("trades", err);
        (code, var output, _) = Run("attack", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--method fgsm|pgd|pgd-l2", output);
    }
}
