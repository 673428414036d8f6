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

    [Fact]
    public void SyncBatchNormBackwardPassesGradCheckAndMatchesPyTorch()
    {
        var result = MpiRun.Worker(2, "syncbn-grad");
        AssertAllOk(result, 2, "syncbn-grad");
        Assert.Equal(1, result.Count("rank 0: SyncBatchNorm gradcheck (3x2x2x2 per rank): 28 gradients agree"));   // 24 input elements, 2 weights, 2 biases
        Assert.Equal(2, result.Count("SyncBatchNorm vs torch BatchNorm bn2d_4x2x3x3 on 2 ranks × 2: equal within 1e-12"));
        Assert.Equal(2, result.Count("SyncBatchNorm vs torch BatchNorm bn1d_8x3 on 2 ranks × 4: equal within 1e-12"));
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
