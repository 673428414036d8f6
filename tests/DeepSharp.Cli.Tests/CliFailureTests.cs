using DeepSharp.Vision.Datasets;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// The real `deepsharp` process turns every failure into one line on standard error and a documented exit code
/// (docs/cli.md), never a stack trace (issue 13).
/// </summary>
[Collection(SerialCollection.Name)]   // real training processes: one at a time on a small machine
public class CliFailureTests
{
    const string FashionMnist = "/usr/share/datasets/fashion-mnist";

    [Theory]
    [InlineData("--lr", "Infinity")]
    [InlineData("--lr", "1e400")]
    [InlineData("--lr", "-Infinity")]
    [InlineData("--lr", "NaN")]
    [InlineData("--val-fraction", "1e999")]
    public void NonFiniteNumbersAreUsageErrors(string option, string value)
    {
        var line = CliProcess.Fails(2, $"{option} must be a finite number", "train", "--model", "mlp", option, value);
        Assert.StartsWith("deepsharp train: ", line);
    }

    [Fact]
    public void OutAtAnExistingFileIsAUsageError()
    {
        var file = Path.Combine(CliProcess.TempDir(), "model.txt");
        File.WriteAllText(file, "not a folder");
        CliProcess.Fails(2, $"--out {file} is a file", "train", "--model", "mlp", "--out", file);
        CliProcess.Fails(2, $"inside {file}, which is a file", "train", "--model", "mlp", "--out", Path.Combine(file, "run"));
    }

    [Fact]
    public void DownloadWithoutANetworkIsOneLine()
    {
        // every request goes to a proxy on a closed port: a machine without network, whatever this one has
        var offline = new Dictionary<string, string>
        {
            ["HTTP_PROXY"] = "http://127.0.0.1:9", ["HTTPS_PROXY"] = "http://127.0.0.1:9",
            ["http_proxy"] = "http://127.0.0.1:9", ["https_proxy"] = "http://127.0.0.1:9", ["NO_PROXY"] = "", ["no_proxy"] = "",
        };
        var line = CliProcess.FailsIn(offline, 1, "could not download train-images-idx3-ubyte.gz",
            "train", "--dataset", "mnist", "--data", CliProcess.TempDir(), "--download");
        Assert.Contains("--data DIR", line);
    }

    [Fact]
    public void ADivergingRunEndsWithExitCode3AndOneLine()
    {
        Requires.FashionMnist();
        var line = CliProcess.Fails(3, "training diverged", "train", "--model", "mlp", "--limit", "512", "--test-limit", "10", "--epochs", "1",
            "--lr", "1e30", "--threads", "1", "--out", Path.Combine(CliProcess.TempDir(), "run"));
        Assert.Contains("the optimizer step was not taken", line);
        Assert.Contains("--on-nan skip", line);
    }

    [Fact]
    public void ADivergingLanguageModelEndsWithExitCode3AndOneLine()
    {
        var root = CliProcess.TempDir();
        var text = Path.Combine(root, "input.txt");
        File.WriteAllText(text, string.Concat(Enumerable.Repeat("the quick brown fox jumps over the lazy dog. ", 200)));
        CliProcess.Fails(3, "training diverged", "train", "--dataset", $"text:{text}", "--model", "gpt", "--layers", "1", "--heads", "2",
            "--width", "16", "--context", "16", "--steps", "30", "--lr", "1000", "--sample-tokens", "0", "--threads", "1", "--out", Path.Combine(root, "run"));
    }

    [Fact]
    public void OnNanSkipSkipsTheBadBatchesInsteadOfStopping()
    {
        Requires.FashionMnist();
        var (code, output, err) = CliProcess.Run(["train", "--model", "mlp", "--limit", "512", "--test-limit", "10", "--epochs", "1",
                                                  "--lr", "1e30", "--on-nan", "skip", "--threads", "1", "--out", "run"]);
        Assert.True(code == 0, err);
        Assert.Contains("skipped a batch: the loss is", output);
        Assert.Matches(@"skipped \d+ batches whose loss or gradients were not finite", output);
    }

    [Theory]
    [InlineData("missing", "does not exist")]
    [InlineData("file", "is a file")]
    [InlineData("empty", "were not found in")]
    public void ADataPathThatDoesNotHoldTheDatasetIsAnError(string kind, string expected)
    {
        var root = CliProcess.TempDir();
        var path = Path.Combine(root, "data");
        if (kind == "file") File.WriteAllText(path, "x");
        if (kind == "empty") Directory.CreateDirectory(path);
        var line = CliProcess.Fails(1, expected, "train", "--model", "mlp", "--data", path, "--out", Path.Combine(root, "run"));
        Assert.DoesNotContain(FashionMnist, line);   // no fallback to the installed copy
        Assert.False(File.Exists(Path.Combine(root, "run", "history.csv")));
    }

    [Theory]
    [InlineData("--limit")]
    [InlineData("--test-limit")]
    public void ALimitOfZeroIsRefused(string option) =>
        CliProcess.Fails(2, $"{option} must be at least 1 (got 0)", "train", "--model", "mlp", option, "0");

    [Fact]
    public void LimitShrinksTheTrainingDataOnlyUnlessTestLimitSaysSo()
    {
        Requires.FashionMnist();
        var root = CliProcess.TempDir();
        var (code, output, err) = CliProcess.Run(["train", "--model", "mlp", "--limit", "64", "--epochs", "1", "--threads", "1", "--out", "a"], root);
        Assert.True(code == 0, err);
        Assert.Contains("fashion-mnist: 64 training and 10000 test images", output);
        (code, output, err) = CliProcess.Run(["train", "--model", "mlp", "--limit", "64", "--test-limit", "100", "--epochs", "1", "--threads", "1", "--out", "b"], root);
        Assert.True(code == 0, err);
        Assert.Contains("fashion-mnist: 64 training and 100 test images", output);
    }

    /// <summary>Fashion-MNIST-named IDX files whose content is not the official release's (shifted labels).</summary>
    static string LookAlikeDataset()
    {
        var dir = CliProcess.TempDir("lookalike");
        var random = new System.Random(1);
        foreach (var (prefix, n) in new[] { ("train", 64), ("t10k", 16) })
        {
            var images = new byte[n * 28 * 28];
            random.NextBytes(images);
            Idx.WriteBytes(Path.Combine(dir, $"{prefix}-images-idx3-ubyte.gz"), images, [n, 28, 28], gzip: true);
            Idx.WriteBytes(Path.Combine(dir, $"{prefix}-labels-idx1-ubyte.gz"), Enumerable.Range(1, n).Select(i => (byte)(i % 10)).ToArray(), [n], gzip: true);
        }
        return dir;
    }

    [Fact]
    public void LookAlikeDatasetFilesAreRefusedUnlessNoVerify()
    {
        var data = LookAlikeDataset();
        var line = CliProcess.Fails(1, "is not the official train-images-idx3-ubyte", "train", "--model", "mlp", "--data", data, "--epochs", "1");
        Assert.Contains("--no-verify", line);
        var (code, output, err) = CliProcess.Run(["train", "--model", "mlp", "--data", data, "--epochs", "1", "--no-verify", "--threads", "1", "--out", "run"]);
        Assert.True(code == 0, err);
        Assert.Contains("64 training and 16 test images", output);
    }

    [Fact]
    public void VerboseAddsTheStackTraceAfterTheLine()
    {
        var (code, _, err) = CliProcess.Run(["train", "--lr", "Infinity", "--verbose"]);
        Assert.Equal(2, code);
        var lines = err.Split('\n');
        Assert.Contains("--lr must be a finite number", lines[0]);
        Assert.Contains(lines, l => l.TrimStart().StartsWith("at DeepSharp.Cli.", StringComparison.Ordinal));
    }
}
