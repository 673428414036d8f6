using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

public class ActivationKernelTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(1031)]
    public void SiluBackwardMatchesTheReferenceFloat(int n)
    {
        var rng = new System.Random(n);
        var x = new float[n]; var g = new float[n];
        for (int i = 0; i < n; i++) { x[i] = (float)(rng.NextDouble() * 16 - 8); g[i] = (float)(rng.NextDouble() * 2 - 1); }
        x[0] = 0; if (n > 2) { x[1] = -90; x[2] = 90; }                      // σ saturating at both ends
        var fast = new float[n]; var reference = new float[n];
        ActivationKernels.SiluBackward<float>(x, g, fast);
        ActivationKernels.SiluBackwardReference<float>(x, g, reference);
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(fast[i] - reference[i]) <= 1e-6f * (1 + Math.Abs(reference[i])), $"{i}: {fast[i]} vs {reference[i]}");
    }

    [Theory]
    [InlineData(5)]
    [InlineData(67)]
    public void SiluBackwardMatchesTheReferenceDouble(int n)
    {
        var rng = new System.Random(n);
        var x = new double[n]; var g = new double[n];
        for (int i = 0; i < n; i++) { x[i] = rng.NextDouble() * 16 - 8; g[i] = rng.NextDouble() * 2 - 1; }
        var fast = new double[n]; var reference = new double[n];
        ActivationKernels.SiluBackward<double>(x, g, fast);
        ActivationKernels.SiluBackwardReference<double>(x, g, reference);
        for (int i = 0; i < n; i++) Assert.Equal(reference[i], fast[i], 1e-13);
    }

    [Fact]
    public void SiluBackwardRejectsMismatchedLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationKernels.SiluBackward<float>(new float[3], new float[4], new float[3]));
        Assert.Contains("SiluBackward", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(17)]
    [InlineData(33)]
    [InlineData(1031)]
    public void ReluBackwardIsBitwiseTheReferenceFloat(int n)
    {
        var rng = new System.Random(n);
        var y = new float[n]; var g = new float[n];
        for (int i = 0; i < n; i++) { y[i] = rng.Next(3) == 0 ? 0 : (float)(rng.NextDouble() * 4); g[i] = (float)(rng.NextDouble() * 2 - 1); }
        float[] special = [float.NaN, float.PositiveInfinity, -0f, 1e-45f, float.MaxValue];       // NaN and +∞ pass no gradient
        for (int i = 0; i < special.Length && i < n; i++) y[(i * 5) % n] = special[i];
        if (n > 3) { g[1] = float.NaN; g[2] = -1; y[2] = 0; }                                  // NaN·0 is NaN, −1·0 is −0
        var fast = new float[n]; var reference = new float[n];
        ActivationKernels.ReluBackward<float>(y, g, fast);
        ActivationKernels.ReluBackwardReference<float>(y, g, reference);
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.SingleToInt32Bits(reference[i]), BitConverter.SingleToInt32Bits(fast[i]));
    }

    [Theory]
    [InlineData(5)]
    [InlineData(67)]
    public void ReluBackwardIsBitwiseTheReferenceDouble(int n)
    {
        var rng = new System.Random(n);
        var y = new double[n]; var g = new double[n];
        for (int i = 0; i < n; i++) { y[i] = rng.Next(3) == 0 ? 0 : rng.NextDouble() * 4; g[i] = rng.NextDouble() * 2 - 1; }
        y[0] = double.PositiveInfinity; y[n - 1] = double.NaN; g[1] = -3; y[1] = 0;
        var fast = new double[n]; var reference = new double[n];
        ActivationKernels.ReluBackward<double>(y, g, fast);
        ActivationKernels.ReluBackwardReference<double>(y, g, reference);
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(reference[i]), BitConverter.DoubleToInt64Bits(fast[i]));
    }

    [Fact]
    public void ReluBackwardRejectsMismatchedLengths()
    {
        var e = Assert.Throws<ArgumentException>(() => ActivationKernels.ReluBackward<float>(new float[3], new float[4], new float[3]));
        Assert.Contains("ReluBackward", e.Message);
    }
}
