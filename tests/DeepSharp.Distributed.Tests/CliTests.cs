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
}
