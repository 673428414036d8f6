using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The attention kernels' in-place e^(x − shift) with its sum, against double-precision exp.</summary>
[Collection("KernelThreads")]   // MaxVectorBits is process-wide
public class SoftmaxExpTests
{
    static float Ulp(float x) => MathF.BitIncrement(MathF.Abs(x)) - MathF.Abs(x);

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(15)]
    [InlineData(16)]
    [InlineData(37)]
    [InlineData(128)]
    [InlineData(1000)]
    public void MatchesDoubleExpWithinTwoUlpAndSumsTheRow(int length)
    {
        var rng = new Random(length);
        var x = new float[length];
        for (int i = 0; i < length; i++) x[i] = (float)(rng.NextDouble() * 120 - 100);   // [−100, 20): underflow included
        float shift = x.Max() - 5;   // as a softmax shifts by its row maximum (a little below: e^x up to e^5 too)
        var y = (float[])x.Clone();
        float sum = SoftmaxExp.ExpShiftedSum(y.AsSpan(), shift);
        double expectedSum = 0;
        for (int i = 0; i < length; i++)
        {
            float arg = x[i] - shift;
            double e = Math.Exp(arg);
            if (arg < -87.3f) Assert.Equal(0f, y[i]);   // not a normal float: flushed to zero
            else Assert.True(Math.Abs(y[i] - e) <= 2 * Ulp((float)e), $"x − shift = {arg:R}: {y[i]:R} vs {e:R}");
            expectedSum += y[i];
        }
        Assert.True(Math.Abs(sum - expectedSum) <= 1e-6 * Math.Max(1, Math.Abs(expectedSum)), $"sum {sum:R} vs {expectedSum:R}");
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void DenseArgumentsNearZeroAndTheEndsOfTheRangeOnEveryPath(int vectorBits)
    {
        SoftmaxExp.MaxVectorBits = vectorBits;
        try { DenseArguments(); }
        finally { SoftmaxExp.MaxVectorBits = 512; }
    }

    static void DenseArguments()
    {
        var args = new List<float>();
        for (float a = -87.3f; a <= 88f; a += 0.0137f) args.Add(a);
        args.AddRange([0f, -0f, 1e-8f, -1e-8f, 88f, -87.29f, 0.34657359f, -0.34657359f]);
        foreach (int offset in new[] { 0, 3 })   // vector bodies and scalar tails
        {
            var y = args.Skip(offset).ToArray();
            var x = (float[])y.Clone();
            SoftmaxExp.ExpShiftedSum(y.AsSpan(), 0f);
            for (int i = 0; i < y.Length; i++)
            {
                double e = Math.Exp(x[i]);
                Assert.True(Math.Abs(y[i] - e) <= 2 * Ulp((float)e), $"x = {x[i]:R}: {y[i]:R} vs {e:R}");
            }
        }
    }

    [Theory]
    [InlineData(512)]
    [InlineData(256)]
    [InlineData(0)]
    public void MaskedEntriesGiveExactZerosNaNStaysNaNAndLargeArgumentsSaturate(int vectorBits)
    {
        SoftmaxExp.MaxVectorBits = vectorBits;
        try { MaskedEntries(); }
        finally { SoftmaxExp.MaxVectorBits = 512; }
    }

    static void MaskedEntries()
    {
        foreach (int length in new[] { 3, 16, 21 })
        {
            var y = new float[length];
            for (int i = 0; i < length; i++) y[i] = i % 3 == 0 ? float.NegativeInfinity : i % 3 == 1 ? float.NaN : 1000f;
            float sum = SoftmaxExp.ExpShiftedSum(y.AsSpan(), 0f);
            for (int i = 0; i < length; i++)
            {
                if (i % 3 == 0) Assert.Equal(0f, y[i]);
                else if (i % 3 == 1) Assert.True(float.IsNaN(y[i]));
                else Assert.True(float.IsFinite(y[i]) && y[i] > 1e38f);   // e^88, the clamp
            }
            Assert.True(float.IsNaN(sum));
        }
    }

    [Fact]
    public void DoubleRowsTakeTheExactExponential()
    {
        var y = new double[] { -1, 0, 2.5, -700, double.NegativeInfinity };
        double sum = SoftmaxExp.ExpShiftedSum(y.AsSpan(), 0.5);
        double expected = 0;
        foreach (var (x, e) in new double[] { -1, 0, 2.5, -700, double.NegativeInfinity }.Zip(y))
        {
            Assert.Equal(Math.Exp(x - 0.5), e, 15);
            expected += e;
        }
        Assert.Equal(expected, sum, 12);
    }
}
