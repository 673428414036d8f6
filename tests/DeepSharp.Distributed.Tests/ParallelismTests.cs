namespace DeepSharp.Distributed.Tests;

/// <summary>
/// ZeRO-1, SyncBatchNorm, GPipe and resuming on another number of ranks, each under mpiexec; the ranks check their own
/// results against the same computation in one process (tests/DeepSharp.Distributed.Worker).
/// </summary>
public sealed class ParallelismTests
{
    static void AssertAllOk(MpiRun.Result result, int ranks, string scenario)
    {
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.True(result.Count($": OK {scenario}") == ranks, result.ToString());
    }

    [Fact]
    public void ZeroStageOneEqualsPlainDdpWithLessStatePerRank()
    {
        var result = MpiRun.Worker(2, "zero");
        AssertAllOk(result, 2, "zero");
        Assert.Equal(2, result.Count("ZeRO-1 vs plain DDP: max |difference| 0.00E+000"));
        Assert.Equal(2, result.Count("bytes with ZeRO-1 vs 49232 bytes plain"));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void SyncBatchNormOnRanksEqualsBatchNormOnTheWholeBatch(int ranks)
    {
        var result = MpiRun.Worker(ranks, "syncbn");
        AssertAllOk(result, ranks, "syncbn");
        Assert.Equal(ranks, result.Count($"SyncBatchNorm 2-D on {ranks} ranks × 4 equals BatchNorm on {4 * ranks}"));
    }

    [Theory]
    [InlineData(2, 4)]
    [InlineData(3, 3)]
    [InlineData(2, 1)]
    public void PipelineEqualsTheModelInOneProcess(int ranks, int chunks)
    {
        var result = MpiRun.Worker(ranks, "pipeline", [chunks.ToString()]);
        AssertAllOk(result, ranks, "pipeline");
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(1, 2)]
    public void ACheckpointResumesOnAnotherNumberOfRanks(int savedOn, int resumedOn)
    {
        var dir = Directory.CreateTempSubdirectory("deepsharp-resume-").FullName;
        try
        {
            AssertAllOk(MpiRun.Worker(savedOn, "resume", ["save", dir]), savedOn, "resume");
            Assert.True(File.Exists(Path.Combine(dir, $"ckpt-{savedOn}.ckpt")));
            var result = MpiRun.Worker(resumedOn, "resume", ["load", dir, savedOn.ToString()]);
            AssertAllOk(result, resumedOn, "resume");
            Assert.Equal(resumedOn, result.Count($"saved on {savedOn} ranks, resumed on {resumedOn}, vs one process"));
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
