using DeepSharp.IO;

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

    [Fact]
    public void TrainPipelineOnTwoRanksEqualsTheOneStageRun()
    {
        Requires.FashionMnist();
        var root = Directory.CreateTempSubdirectory("deepsharp-pipeline-test-").FullName;
        try
        {
            // one thread per rank in both runs, so that the kernels sum in the same order
            string[] common = ["train", "--distributed", "--model", "mlp", "--epochs", "1", "--limit", "1024", "--test-limit", "200",
                               "--batch-size", "64", "--threads", "1"];
            var two = MpiRun.Program(2, "DeepSharp.Cli.dll", [.. common, "--pipeline", "2", "--out", Path.Combine(root, "two")], timeoutSeconds: 240);
            Assert.True(two.ExitCode == 0, two.ToString());
            Assert.Equal(1, two.Count("pipeline of 2 stages × 4 micro-batches"));
            Assert.Equal(1, two.Count("pipeline stages: rank 0: flatten..layers_1 (401,920 parameters); rank 1: layers_2..layers_4 (133,898 parameters)"));
            Assert.Equal(1, two.Count("test accuracy: "));
            double accuracy = double.Parse(two.Output.Split('\n').Single(l => l.StartsWith("test accuracy: "))[15..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(accuracy, 0.4, 1.0);
            Assert.False(Directory.Exists(Path.Combine(root, "two", "version_2")), "a second rank wrote into the run folder");

            // the same micro-batches through one stage in one process: the same weights, both stages gathered into the file
            var one = MpiRun.Program(1, "DeepSharp.Cli.dll", [.. common, "--pipeline", "1", "--out", Path.Combine(root, "one")], timeoutSeconds: 240);
            Assert.True(one.ExitCode == 0, one.ToString());
            var expected = SafeTensors.Load(Path.Combine(root, "one", "model.safetensors"));
            var actual = SafeTensors.Load(Path.Combine(root, "two", "model.safetensors"));
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, tensor) in expected)
                Assert.True(tensor.ToArray<float>().SequenceEqual(actual[name].ToArray<float>()), $"{name} differs between the 2-stage and the 1-stage run");

            var wrong = MpiRun.Program(2, "DeepSharp.Cli.dll", [.. common, "--pipeline", "3", "--out", Path.Combine(root, "wrong")], timeoutSeconds: 120);
            Assert.NotEqual(0, wrong.ExitCode);
            Assert.Contains("--pipeline 3 needs 3 ranks, one per stage; this job has 2", wrong.Output);
        }
        finally { Directory.Delete(root, recursive: true); }
    }

    [Fact]
    public void PipelineOptionsWithoutTheirPartnersAreUsageErrors()
    {
        // refused before MPI starts, so no launcher is needed
        string cli = Path.Combine(AppContext.BaseDirectory, "DeepSharp.Cli.dll");
        foreach (var (args, message) in new (string[], string)[]
        {
            (["train", "--pipeline", "2"], "--pipeline N cuts the model into N stages on N MPI ranks; it needs --distributed"),
            (["train", "--distributed", "--pipeline", "2", "--zero"], "--zero shards data-parallel optimizer state; it does not go with --pipeline"),
            (["train", "--distributed", "--chunks", "2"], "--chunks sets the micro-batches of --pipeline; give --pipeline N too"),
        })
        {
            var (code, output) = MpiRun.Execute("dotnet", [cli, .. args], TimeSpan.FromSeconds(60), []);
            Assert.True(code == 2, $"exit {code}: {output}");
            Assert.Contains(message, output);
        }
    }
}
