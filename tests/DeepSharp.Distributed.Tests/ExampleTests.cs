namespace DeepSharp.Distributed.Tests;

/// <summary>examples/DistributedFashion under <c>mpiexec -np 2</c> on a reduced budget.</summary>
public sealed class ExampleTests
{
    [Fact]
    public void DistributedFashionExampleTrainsOnTwoRanksWithIdenticalReplicas()
    {
        Requires.FashionMnist();
        var outDir = Directory.CreateTempSubdirectory("deepsharp-dist-example-").FullName;
        try
        {
            var result = MpiRun.Program(2, "DistributedFashion.dll", ["--train-images", "1024", "--test-images", "500", "--epochs", "1",
                "--batch-size", "64", "--out", outDir], timeoutSeconds: 240);
            Assert.True(result.ExitCode == 0, result.ToString());
            Assert.Equal(1, result.Count("2 ranks over MPI"));
            Assert.Equal(1, result.Count("replicas identical on all 2 ranks: yes"));
            var line = result.Output.Split('\n').Single(l => l.StartsWith("test accuracy ", StringComparison.Ordinal));
            double accuracy = double.Parse(line.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(accuracy, 0.4, 1.0);   // 16 steps of a small CNN: well above chance (0.1)
            Assert.True(File.Exists(Path.Combine(outDir, "model.safetensors")), result.ToString());
            Assert.Equal(2, File.ReadAllLines(Path.Combine(outDir, "history.csv")).Length);   // header + one epoch, written once
        }
        finally { Directory.Delete(outDir, recursive: true); }
    }
}
