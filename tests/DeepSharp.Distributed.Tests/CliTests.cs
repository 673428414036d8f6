namespace DeepSharp.Distributed.Tests;

/// <summary>The multi-rank example: <c>mpiexec -np 2 deepsharp train --distributed</c> on a slice of Fashion-MNIST.</summary>
public sealed class CliTests
{
    [Fact]
    public void TrainDistributedPrintsOnceAndWritesOneRunFolder()
    {
        Requires.FashionMnist();
        var outDir = Path.Combine(Path.GetTempPath(), $"deepsharp-dist-test-{Guid.NewGuid():N}");
        try
        {
            var result = MpiRun.Program(2, "DeepSharp.Cli.dll", ["train", "--distributed", "--model", "mlp", "--epochs", "1",
                "--limit", "1024", "--test-limit", "500", "--batch-size", "64", "--out", outDir], timeoutSeconds: 240);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(1, result.Count("distributed: 2 ranks over MPI"));
            Assert.Equal(1, result.Count("test accuracy: "));
            Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")), result.ToString());
            Assert.False(Directory.Exists(Path.Combine(outDir, "version_2")), "a second rank wrote into the run folder");
            double accuracy = double.Parse(result.Output.Split('\n').Single(l => l.StartsWith("test accuracy: "))[15..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(accuracy, 0.4, 1.0);   // 1 epoch of 1024 images: well above chance (0.1)
        }
        finally { if (Directory.Exists(outDir)) Directory.Delete(outDir, recursive: true); }
    }

    [Fact]
    public void TrainDistributedZeroGivesTheWeightsOfPlainDdpAndAWholeCheckpoint()
    {
        Requires.FashionMnist();
        var root = Directory.CreateTempSubdirectory("deepsharp-zero-test-").FullName;
        try
        {
            string[] common = ["train", "--distributed", "--model", "mlp", "--epochs", "1", "--limit", "1024", "--test-limit", "200", "--batch-size", "64"];
            var plain = MpiRun.Program(2, "DeepSharp.Cli.dll", [.. common, "--out", Path.Combine(root, "plain")], timeoutSeconds: 240);
            Assert.True(plain.ExitCode == 0, plain.ToString());
            var zero = MpiRun.Program(2, "DeepSharp.Cli.dll", [.. common, "--zero", "--out", Path.Combine(root, "zero")], timeoutSeconds: 240);
            Assert.True(zero.ExitCode == 0, zero.ToString());
            Assert.Equal(1, zero.Count("optimizer state sharded (ZeRO-1)"));
            Assert.Equal(File.ReadAllBytes(Path.Combine(root, "plain", "model.safetensors")), File.ReadAllBytes(Path.Combine(root, "zero", "model.safetensors")));
            // the checkpoint holds the whole optimizer state, gathered from both ranks: as large as the plain run's
            Assert.Equal(new FileInfo(Path.Combine(root, "plain", "checkpoint.safetensors")).Length, new FileInfo(Path.Combine(root, "zero", "checkpoint.safetensors")).Length);
        }
        finally { Directory.Delete(root, recursive: true); }
    }
}
