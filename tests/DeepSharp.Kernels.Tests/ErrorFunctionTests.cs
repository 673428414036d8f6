using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The vectorised float32 erf / normal-CDF kernels against the scalar references.</summary>
public class ErrorFunctionTests
{
    [Fact]
    public void Float32ErfKernelsMatchTheScalarReference()
    {
        var x = new float[1003];                                   // not a multiple of the vector width or of the chunk
        for (int i = 0; i < x.Length; i++) x[i] = (i - 501) * 0.013f;
        var erf = new float[x.Length]; var cdf = new float[x.Length];
        ErrorFunction.Erf<float>(x, erf);
        ErrorFunction.NormalCdf<float>(x, cdf, timesX: false);
        for (int i = 0; i < x.Length; i++)
        {
            double e = ErrorFunction.ErfFast(x[i]), c = 0.5 * ErrorFunction.ErfcFast(-x[i] * 0.7071067811865476);
            Assert.True(Math.Abs(erf[i] - e) <= 1e-6 * Math.Abs(e) + 1e-9, $"erf({x[i]}) = {erf[i]}, reference {e}");
            Assert.True(Math.Abs(cdf[i] - c) <= 2e-6 * Math.Abs(c) + 1e-9, $"Φ({x[i]}) = {cdf[i]}, reference {c}");
            Assert.True(Math.Abs(e - ErrorFunction.Erf(x[i])) <= 2e-7, $"reference erf({x[i]}) is off");
        }
    }
}
