using DeepSharp.NN;

namespace DeepSharp.Tests.Core;

/// <summary>Generator.FillNormal (the bulk, vectorised Box–Muller behind Tensor.Randn and Init.Normal): same stream as NextNormal, statistics, seeding.</summary>
[Collection(SerialCollection.Name)]
public class BulkNormalTests
{
    [Fact]
    public void LargeFillsSharedAcrossThePoolEqualTheSerialFillBitForBit()
    {
        // from 2^18 values on the blocks are transformed across the kernel pool; with one thread the fill is serial.
        // Odd lengths, a spare pending at the start, more than one chunk of 1024 blocks, float and double; the values
        // after the fill (the spare and the generator state) too
        int saved = DeepSharp.Kernels.KernelThreadPool.ThreadCount;
        try
        {
            foreach (int n in new[] { (1 << 18) + 1, 600_001, 2 * 1024 * 256 * 2 + 777 })
            {
                double[] Doubles(int threads)
                {
                    DeepSharp.Kernels.KernelThreadPool.SetThreadCount(threads);
                    var g = new Generator(n);
                    var head = new double[3];
                    g.FillNormal(head);                       // leaves a spare
                    var v = new double[n];
                    g.FillNormal(v);
                    return [.. head, .. v, g.NextNormal(), g.NextUInt64()];
                }
                float[] Floats(int threads)
                {
                    DeepSharp.Kernels.KernelThreadPool.SetThreadCount(threads);
                    var v = new float[n];
                    new Generator(n + 1).FillNormal(v);
                    return v;
                }
                // the same stream in the same order: equal to the last bit or so. Not bit for bit: TensorPrimitives'
                // vector log/sin/cos round the last bit of a double differently before and after the JIT tiers them up
                // (with DOTNET_TieredCompilation=0 the two fills are identical), so a fill early in a process can
                // differ from a later one by an ulp
                var serial = Doubles(1); var parallel = Doubles(2);
                Assert.Equal(serial.Length, parallel.Length);
                for (int i = 0; i < serial.Length; i++)
                    Assert.True(Math.Abs(serial[i] - parallel[i]) <= 4e-16 * Math.Max(1, Math.Abs(serial[i])), $"n = {n}, value {i}: {serial[i]:R} vs {parallel[i]:R}");
                var fs = Floats(1); var fp = Floats(2);
                for (int i = 0; i < fs.Length; i++)
                    Assert.True(fs[i] == fp[i] || Math.Abs(fs[i] - fp[i]) <= 1.2e-7f * Math.Max(1, Math.Abs(fs[i])), $"n = {n}, float {i}: {fs[i]:R} vs {fp[i]:R}");
            }
        }
        finally { DeepSharp.Kernels.KernelThreadPool.SetThreadCount(saved); }
    }

    [Fact]
    public void InitDrawsInPlaceTheValuesOfTheFreshTensorRoute()
    {
        // Init.Normal / Init.Uniform write a contiguous float tensor in place: the values Randn / Rand give, scaled and
        // shifted the same way; a non-contiguous target takes the copy route with the same values in logical order
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var w = Tensor.Zeros([37, 53], dtype);
            int version = w.Version;
            Init.Normal(w, mean: 0.25, std: 0.5, generator: new Generator(11));
            Assert.True(w.Version > version);
            var expected = Tensor.Randn([37, 53], dtype, generator: new Generator(11)).Mul(0.5).Add(0.25);
            Assert.Equal(expected.ToArray<double>(), w.ToArray<double>());
            var t = Tensor.Zeros([53, 37], dtype).Transpose(0, 1);
            Init.Normal(t, mean: 0.25, std: 0.5, generator: new Generator(11));
            Assert.Equal(expected.ToArray<double>(), t.ToArray<double>());

            Init.Uniform(w, -0.3, 0.7, generator: new Generator(12));
            var w2 = Tensor.Zeros([53, 37], dtype).Transpose(0, 1);
            Init.Uniform(w2, -0.3, 0.7, generator: new Generator(12));
            Assert.Equal(w2.ToArray<double>(), w.ToArray<double>());
            Assert.All(w.ToArray<double>(), v => Assert.InRange(v, -0.3, 0.7));
        }
        // a 16-bit target: drawn and scaled in float32, rounded once when copied in (the 16-bit fresh tensor threw before)
        var half = Tensor.Zeros([37, 53], DType.Float16);
        Init.Normal(half, mean: 0.25, std: 0.5, generator: new Generator(11));
        var rounded = Tensor.Randn([37, 53], DType.Float32, generator: new Generator(11)).Mul(0.5).Add(0.25).To(DType.Float16);
        Assert.Equal(rounded.ToArray<double>(), half.ToArray<double>());
    }

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
    public void FillUniformFollowsTheNextSingleAndNextDoubleStreams()
    {
        var scalar = new Generator(8); var bulk = new Generator(8);
        var floats = new float[1003]; var doubles = new double[517];
        bulk.FillUniform(floats);
        bulk.FillUniform(doubles);
        Assert.Equal(Enumerable.Range(0, floats.Length).Select(_ => scalar.NextSingle()).ToArray(), floats);
        Assert.Equal(Enumerable.Range(0, doubles.Length).Select(_ => scalar.NextDouble()).ToArray(), doubles);
        Assert.Equal(scalar.NextUInt64(), bulk.NextUInt64());   // the same state after the bulk draws
        Assert.Equal(Tensor.Rand([1003], generator: new Generator(8)).ToArray<float>(), floats);
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
