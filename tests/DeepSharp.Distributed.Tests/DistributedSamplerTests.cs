namespace DeepSharp.Distributed.Tests;

/// <summary>DistributedSampler against torch.utils.data.DistributedSampler's rules (no MPI needed: ranks given explicitly).</summary>
public sealed class DistributedSamplerTests
{
    static int[][] Shares(int count, int replicas, bool shuffle, bool dropLast, int epoch = 0) =>
        Enumerable.Range(0, replicas).Select(r =>
        {
            var s = new DistributedSampler(count, replicas, r, shuffle, seed: 11, dropLast: dropLast);
            s.SetEpoch(epoch);
            return s.ToArray();
        }).ToArray();

    [Fact]
    public void UnshuffledPadsWithTheFirstIndicesLikePyTorch()
    {
        // torch: DistributedSampler(range(10), num_replicas=3, rank=r, shuffle=False) -> [0,3,6,9] [1,4,7,0] [2,5,8,1]
        var shares = Shares(10, 3, shuffle: false, dropLast: false);
        Assert.Equal([0, 3, 6, 9], shares[0]);
        Assert.Equal([1, 4, 7, 0], shares[1]);
        Assert.Equal([2, 5, 8, 1], shares[2]);
        Assert.Equal(4, new DistributedSampler(10, 3, 0, shuffle: false).Count);
    }

    [Fact]
    public void DropLastCutsToAMultipleOfTheReplicasLikePyTorch()
    {
        // torch, drop_last=True: num_samples = ceil((10 - 3) / 3) = 3 -> [0,3,6] [1,4,7] [2,5,8]
        var shares = Shares(10, 3, shuffle: false, dropLast: true);
        Assert.Equal([0, 3, 6], shares[0]);
        Assert.Equal([1, 4, 7], shares[1]);
        Assert.Equal([2, 5, 8], shares[2]);
    }

    [Fact]
    public void PaddingRepeatsTheDatasetWhenItIsSmallerThanThePadding()
    {
        var shares = Shares(2, 5, shuffle: false, dropLast: false);
        Assert.Equal([0, 1, 0, 1, 0], shares.Select(s => s.Single()).ToArray());
    }

    [Fact]
    public void ShuffledSharesPartitionOnePermutationThatChangesWithTheEpoch()
    {
        var epoch0 = Shares(100, 4, shuffle: true, dropLast: false);
        Assert.Equal(Enumerable.Range(0, 100), epoch0.SelectMany(s => s).Order());
        Assert.Equal(epoch0, Shares(100, 4, shuffle: true, dropLast: false));   // same seed and epoch: same order
        var epoch1 = Shares(100, 4, shuffle: true, dropLast: false, epoch: 1);
        Assert.NotEqual(epoch0[0], epoch1[0]);
        Assert.NotEqual(Enumerable.Range(0, 25).Select(i => 4 * i), epoch0[0]);  // actually shuffled
        // one replica with the same seed yields the whole permutation whose strided slices the ranks take
        var whole = new DistributedSampler(100, 1, 0, shuffle: true, seed: 11).ToArray();
        for (int r = 0; r < 4; r++) Assert.Equal(whole.Where((_, i) => i % 4 == r), epoch0[r]);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(10, 2, 2));
        Assert.Equal("rank", e.ParamName);
        Assert.Contains("[0, 1]", e.Message);
        Assert.Equal("numReplicas", Assert.Throws<ArgumentOutOfRangeException>(() => new DistributedSampler(10, 0, 0)).ParamName);
    }
}
