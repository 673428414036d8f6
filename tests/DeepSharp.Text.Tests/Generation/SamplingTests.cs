namespace DeepSharp.Text.Tests.Generation;

public class SamplingTests
{
    static Tensor RandomLogits(int seed, params int[] shape) => Tensor.Randn(shape, DType.Float32, generator: new Generator(seed)) * 3;

    static double[] Softmax(double[] logits, double temperature = 1)
    {
        double max = logits.Max();
        var e = logits.Select(l => Math.Exp((l - max) / temperature)).ToArray();
        double sum = e.Sum();
        return e.Select(v => v / sum).ToArray();
    }

    [Fact]
    public void GreedyIsArgMaxOfEachRow()
    {
        var logits = RandomLogits(1, 4, 3, 50);
        var ids = Sampling.Greedy(logits);
        Assert.Equal([4, 3], ids.Shape);
        Assert.Equal(DType.Int64, ids.DType);
        Assert.Equal(logits.ArgMax(-1).ToArray<long>(), ids.ToArray<long>());
        var single = Sampling.Greedy(Tensor.FromArray(new[] { 1f, 5f, 5f, -1f }, 4));
        Assert.Equal(0, single.Rank);                                           // (V) logits give a scalar id
        Assert.Equal(1L, single.Item<long>());                                  // the first of tied maxima
    }

    [Fact]
    public void TemperatureTowardsZeroEqualsGreedy()
    {
        var generator = new Generator(5);
        for (int trial = 0; trial < 50; trial++)
        {
            var logits = RandomLogits(100 + trial, 8, 40);
            var greedy = Sampling.Greedy(logits).ToArray<long>();
            Assert.Equal(greedy, Sampling.Sample(logits, temperature: 1e-4, generator: generator).ToArray<long>());
            Assert.Equal(greedy, Sampling.Sample(logits, temperature: 0, generator: generator).ToArray<long>());
        }
    }

    [Fact]
    public void PlainSamplingFollowsTheSoftmax()
    {
        var logits = new double[] { 1.0, 2.0, 0.5, -1.0, 1.5 };
        foreach (double temperature in new[] { 1.0, 0.5, 2.0 })
        {
            var expected = Softmax(logits, temperature);
            var generator = new Generator(7);
            var counts = new int[logits.Length];
            const int draws = 20000;
            var row = Tensor.FromArray(logits, logits.Length);
            for (int i = 0; i < draws; i++) counts[Sampling.SampleIndex(logits, new SamplingOptions { Temperature = temperature }, generator)]++;
            for (int k = 0; k < logits.Length; k++)
                Assert.InRange(counts[k] / (double)draws, expected[k] - 0.015, expected[k] + 0.015);
            var probabilities = Sampling.Probabilities(row, new SamplingOptions { Temperature = temperature }).ToArray<double>();
            for (int k = 0; k < logits.Length; k++) Assert.Equal(expected[k], probabilities[k], 12);
        }
    }

    [Fact]
    public void TopKNeverPicksOutsideTheKBest()
    {
        var generator = new Generator(11);
        for (int trial = 0; trial < 20; trial++)
        {
            var logits = RandomLogits(200 + trial, 1000).ToArray<float>().Select(v => (double)v).ToArray();
            int k = 1 + trial % 7;
            var best = logits.Select((v, i) => (v, i)).OrderByDescending(p => p.v).Take(k).Select(p => p.i).ToHashSet();
            var seen = new HashSet<int>();
            for (int draw = 0; draw < 400; draw++)
            {
                int id = Sampling.SampleIndex(logits, new SamplingOptions { TopK = k, Temperature = 3 }, generator);
                Assert.Contains(id, best);
                seen.Add(id);
            }
            Assert.Equal(k, seen.Count);                                       // a high temperature reaches every one of them
        }
    }

    [Fact]
    public void TopKDistributionIsTheRenormalisedSoftmaxOfTheKBest()
    {
        var logits = new double[] { 0.1, 3.0, 2.0, -4.0, 2.5, 1.0 };
        var probabilities = Sampling.Probabilities(Tensor.FromArray(logits, 6), new SamplingOptions { TopK = 3 }).ToArray<double>();
        var top = Softmax([3.0, 2.0, 2.5]);
        Assert.Equal([0, top[0], top[1], 0, top[2], 0], probabilities, new RoundedComparer());
        var ties = Sampling.Probabilities(Tensor.FromArray(new[] { 1.0, 2.0, 2.0, 2.0 }, 4), new SamplingOptions { TopK = 2 }).ToArray<double>();
        Assert.Equal([0, 0.5, 0.5, 0], ties);                                   // exactly k, ties towards the lower id
    }

    sealed class RoundedComparer : IEqualityComparer<double>
    {
        public bool Equals(double a, double b) => Math.Abs(a - b) < 1e-12;
        public int GetHashCode(double v) => 0;
    }

    [Fact]
    public void TopPKeepsTheSmallestNucleusReachingP()
    {
        var generator = new Generator(13);
        for (int trial = 0; trial < 30; trial++)
        {
            var logits = RandomLogits(300 + trial, 60).ToArray<float>().Select(v => (double)v).ToArray();
            double p = 0.3 + 0.02 * trial;
            var probabilities = Softmax(logits);
            var order = Enumerable.Range(0, logits.Length).OrderByDescending(i => probabilities[i]).ToArray();
            var nucleus = new HashSet<int>();
            double mass = 0;
            foreach (int i in order) { nucleus.Add(i); mass += probabilities[i]; if (mass >= p) break; }
            // The nucleus reaches p, and without its least likely member it would not.
            Assert.True(mass >= p - 1e-12);
            Assert.True(mass - probabilities[order[nucleus.Count - 1]] < p);
            var options = new SamplingOptions { TopP = p };
            var filtered = Sampling.Probabilities(Tensor.FromArray(logits, logits.Length), options).ToArray<double>();
            for (int i = 0; i < logits.Length; i++)
                Assert.Equal(nucleus.Contains(i) ? probabilities[i] / mass : 0, filtered[i], 9);
            for (int draw = 0; draw < 200; draw++) Assert.Contains(Sampling.SampleIndex(logits, options, generator), nucleus);
        }
    }

    [Fact]
    public void TopPAlwaysKeepsTheMostLikelyToken()
    {
        var logits = Tensor.FromArray(new[] { 10.0, 0.0, 0.0 }, 3);
        var probabilities = Sampling.Probabilities(logits, new SamplingOptions { TopP = 1e-9 }).ToArray<double>();
        Assert.Equal([1.0, 0, 0], probabilities);
    }

    [Fact]
    public void TopKThenTopPCompose()
    {
        // softmax of the top 3 of [4, 3, 2, 1] is about [0.665, 0.245, 0.090]: top-p 0.8 then keeps the first two.
        var probabilities = Sampling.Probabilities(Tensor.FromArray(new[] { 4.0, 3.0, 2.0, 1.0 }, 4), new SamplingOptions { TopK = 3, TopP = 0.8 }).ToArray<double>();
        var two = Softmax([4.0, 3.0]);
        Assert.Equal(two[0], probabilities[0], 12);
        Assert.Equal(two[1], probabilities[1], 12);
        Assert.Equal(0, probabilities[2]);
        Assert.Equal(0, probabilities[3]);
    }

    [Fact]
    public void SeededRunsRepeat()
    {
        var logits = RandomLogits(9, 16, 30);
        var options = new SamplingOptions { Temperature = 1.3, TopK = 10, TopP = 0.9 };
        var a = Sampling.Sample(logits, options, new Generator(42)).ToArray<long>();
        var b = Sampling.Sample(logits, options, new Generator(42)).ToArray<long>();
        Assert.Equal(a, b);
        DeepSharp.Random.Seed(123);
        var c = Enumerable.Range(0, 20).SelectMany(_ => Sampling.Sample(logits, options).ToArray<long>()).ToArray();
        DeepSharp.Random.Seed(123);
        var d = Enumerable.Range(0, 20).SelectMany(_ => Sampling.Sample(logits, options).ToArray<long>()).ToArray();
        Assert.Equal(c, d);
        Assert.True(c.Distinct().Count() > 5);
    }

    [Fact]
    public void MaskedTokensAreNeverPicked()
    {
        var logits = new[] { float.NegativeInfinity, 0f, float.NegativeInfinity, 0f };
        var generator = new Generator(1);
        for (int i = 0; i < 200; i++)
        {
            long id = Sampling.Sample(Tensor.FromArray(logits, 4), new SamplingOptions { TopK = 3 }, generator).Item<long>();
            Assert.True(id is 1 or 3);
        }
        Assert.Equal(1L, Sampling.Greedy(Tensor.FromArray(logits, 4)).Item<long>());
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => Sampling.Sample(Tensor.FromArray(new[] { 1f, float.NaN }, 2)));
        Assert.Throws<ArgumentException>(() => Sampling.Greedy(Tensor.FromArray(new[] { float.NegativeInfinity }, 1)));
        Assert.Throws<ArgumentException>(() => Sampling.Sample(Tensor.FromArray(new[] { 1f, float.PositiveInfinity }, 2)));
        var e = Assert.Throws<ArgumentException>(() => Sampling.Sample(Tensor.FromArray(new long[] { 1, 2 }, 2)));
        Assert.Contains("(2)", e.Message);
        Assert.Throws<ArgumentException>(() => Sampling.Sample(Tensor.Zeros(3, 0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(Tensor.Zeros(3), temperature: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(Tensor.Zeros(3), topK: -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(Tensor.Zeros(3), topP: 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Sampling.Sample(Tensor.Zeros(3), topP: 1.5));
    }
}
