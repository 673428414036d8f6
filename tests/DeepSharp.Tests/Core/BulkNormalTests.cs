using DeepSharp.NN;

namespace DeepSharp.Tests.Core;

/// <summary>Generator.FillNormal (the bulk, vectorised Box–Muller behind Tensor.Randn and Init.Normal): same stream as NextNormal, statistics, seeding.</summary>
public class BulkNormalTests
{
    [Fact]
    public void FillNormalFollowsTheNextNormalStream()
    {
        var scalar = new Generator(5); var bulk = new Generator(5);
        var expected = Enumerable.Range(0, 1001).Select(_ => scalar.NextNormal()).ToArray();
        var values = new double[1001];
        bulk.FillNormal(values.AsSpan(0, 7));            // odd lengths keep the spare value for the next call
        bulk.FillNormal(values.AsSpan(7, 600));
        bulk.FillNormal(values.AsSpan(607));
        for (int i = 0; i < values.Length; i++) Assert.Equal(expected[i], values[i], 1e-12);
        Assert.Equal(scalar.NextNormal(), bulk.NextNormal(), 1e-12);   // both generators end in the same state
        Assert.Equal(scalar.NextUInt64(), bulk.NextUInt64());
    }

    [Fact]
    public void RandnIsReproducibleAndStandardNormal()
    {
        var a = Tensor.Randn([200_000], generator: new Generator(9)).ToArray<float>();
        var b = Tensor.Randn([200_000], generator: new Generator(9)).ToArray<float>();
        Assert.Equal(a, b);
        double mean = a.Average(v => (double)v), std = Math.Sqrt(a.Average(v => (v - mean) * (v - mean)));
        Assert.InRange(mean, -0.01, 0.01);
        Assert.InRange(std, 0.99, 1.01);
        Assert.InRange(a.Count(v => Math.Abs(v) > 1.96) / (double)a.Length, 0.046, 0.054);   // two-sided 5% tail
    }

    [Fact]
    public void InitNormalAndTruncNormalStatistics()
    {
        var w = Tensor.Empty([400, 500]);
        Init.Normal(w, mean: 0.5, std: 0.02, generator: new Generator(3));
        var v = w.ToArray<float>();
        double mean = v.Average(x => (double)x), std = Math.Sqrt(v.Average(x => (x - mean) * (x - mean)));
        Assert.InRange(mean, 0.4998, 0.5002);
        Assert.InRange(std, 0.0198, 0.0202);
        var t = Tensor.Empty([100_000], DType.Float64);
        Init.TruncNormal(t, mean: 1, std: 2, a: -1, b: 2, generator: new Generator(4));
        var tv = t.ToArray<double>();
        Assert.All(tv, x => Assert.InRange(x, -1.0, 2.0));
        Assert.InRange(tv.Min(), -1.0, -0.99);
        Assert.InRange(tv.Max(), 1.99, 2.0);
    }
}
