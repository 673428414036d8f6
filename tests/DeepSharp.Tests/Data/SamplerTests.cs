using DeepSharp.Data;

namespace DeepSharp.Tests.Data;

public class SamplerTests
{
    [Fact]
    public void SequentialAndRandomSamplers()
    {
        Assert.Equal([0, 1, 2, 3], new SequentialSampler(4));
        var random = new RandomSampler(20, generator: new Generator(9));
        var e1 = random.ToArray(); var e2 = random.ToArray();
        Assert.Equal(Enumerable.Range(0, 20), e1.Order());
        Assert.NotEqual(e1, e2);   // reshuffled each epoch
        Assert.Equal(e1, new RandomSampler(20, generator: new Generator(9)).ToArray());

        var longer = new RandomSampler(5, numSamples: 12, generator: new Generator(1)).ToArray();
        Assert.Equal(12, longer.Length);
        Assert.Equal(Enumerable.Range(0, 5), longer.Take(5).Order());
        Assert.Equal(Enumerable.Range(0, 5), longer.Skip(5).Take(5).Order());

        var withReplacement = new RandomSampler(3, replacement: true, numSamples: 300, generator: new Generator(2)).ToArray();
        Assert.All(withReplacement, i => Assert.InRange(i, 0, 2));
        Assert.Equal(3, withReplacement.Distinct().Count());
    }

    [Fact]
    public void RandomSamplerUsesGlobalSeed()
    {
        DeepSharp.Random.Seed(77);
        var a = new RandomSampler(30).ToArray();
        DeepSharp.Random.Seed(77);
        var b = new RandomSampler(30).ToArray();
        Assert.Equal(a, b);
    }

    [Fact]
    public void WeightedSamplerFrequenciesFollowWeights()
    {
        double[] weights = [1, 0, 3, 6];
        const int n = 40000;
        var counts = new int[4];
        foreach (int i in new WeightedRandomSampler(weights, n, generator: new Generator(11))) counts[i]++;
        Assert.Equal(0, counts[1]);
        for (int i = 0; i < 4; i++)
        {
            double p = weights[i] / 10, expected = n * p, sd = Math.Sqrt(n * p * (1 - p));
            Assert.InRange(counts[i], expected - 5 * sd - 1e-9, expected + 5 * sd + 1e-9);
        }
    }

    [Fact]
    public void WeightedSamplerWithoutReplacement()
    {
        var weights = Tensor.FromArray(new[] { 100.0, 1, 1, 0, 1 });
        var sampler = new WeightedRandomSampler(weights, 4, replacement: false, generator: new Generator(4));
        var drawn = sampler.ToArray();
        Assert.Equal([0, 1, 2, 4], drawn.Order());

        // the heavy item is almost always drawn first
        int first = 0;
        for (int s = 0; s < 200; s++) if (new WeightedRandomSampler(weights, 1, replacement: false, generator: new Generator(s)).First() == 0) first++;
        Assert.InRange(first, 180, 200);

        Assert.Contains("without replacement", Assert.Throws<ArgumentException>(() => new WeightedRandomSampler(weights, 5, replacement: false)).Message);
        Assert.Throws<ArgumentException>(() => new WeightedRandomSampler([1, -1.0], 2));
        Assert.Throws<ArgumentException>(() => new WeightedRandomSampler([0, 0.0], 2));
    }

    [Fact]
    public void SubsetRandomSamplerAndBatchSampler()
    {
        var subset = new SubsetRandomSampler([10, 20, 30, 40], new Generator(3));
        Assert.Equal([10, 20, 30, 40], subset.Order());
        Assert.Equal(4, subset.Count);

        var batches = new BatchSampler(new SequentialSampler(7), 3).ToArray();
        Assert.Equal(3, batches.Length);
        Assert.Equal([6], batches[2]);
        var dropped = new BatchSampler(new SequentialSampler(7), 3, dropLast: true);
        Assert.Equal(2, dropped.Count);
        Assert.Equal(2, dropped.Count());
    }
}
