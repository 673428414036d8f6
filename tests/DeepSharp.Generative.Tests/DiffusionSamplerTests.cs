using DeepSharp.Generative.Diffusion;

namespace DeepSharp.Generative.Tests;

/// <summary>
/// The samplers of <see cref="Ddpm"/> on noise predictors whose ε̂ is known in closed form, so each result has an exact
/// answer: for data x₀ ~ N(μ, s²) per pixel, x_t ~ N(√ᾱ·μ, ᾱs² + 1 − ᾱ) and the optimal ε̂ = E[ε | x_t] is
/// √(1 − ᾱ)·(x_t − √ᾱ·μ)/(ᾱs² + 1 − ᾱ); a sampler that is right turns N(0, 1) into N(μ, s²).
/// </summary>
public class DiffusionSamplerTests
{
    /// <summary>The optimal ε̂ of x₀ ~ N(mean, std²) per pixel (unconditional).</summary>
    sealed class GaussianPredictor(NoiseSchedule schedule, double mean, double std) : INoisePredictor
    {
        public int NumClasses => 0;
        public Tensor Predict(Tensor x, Tensor t, Tensor? labels)
        {
            var alphaBar = NoiseSchedule.At(schedule.AlphasCumprod, t, x.DType);
            return (1 - alphaBar).Sqrt() * (x - alphaBar.Sqrt() * mean) / (alphaBar * (std * std) + (1 - alphaBar));
        }
    }

    /// <summary>ε̂ = a constant per label (labels 0..NumClasses−1), <c>unconditional</c> for "no class" or no labels.</summary>
    sealed class ConstantPredictor(double[] perClass, double unconditional) : INoisePredictor
    {
        public int NumClasses => perClass.Length;
        public Tensor Predict(Tensor x, Tensor t, Tensor? labels)
        {
            var values = labels == null ? Enumerable.Repeat(unconditional, x.Shape[0]).ToArray()
                : labels.ToArray<long>().Select(l => l < perClass.Length ? perClass[l] : unconditional).ToArray();
            return Tensor.FromArray(values).To(x.DType).View(x.Shape[0], 1, 1, 1).Expand([.. x.Shape]).Contiguous();
        }
    }

    static Ddpm Create(NoiseSchedule schedule, int classes = 0) =>
        new(new UNet(new ImageShape(1, 16), channels: 4, numClasses: classes, groups: 4), schedule);

    static (double Mean, double Std) Moments(Tensor samples)
    {
        var v = samples.To(DType.Float64).ToArray<double>();
        double mean = v.Average();
        return (mean, Math.Sqrt(v.Select(e => (e - mean) * (e - mean)).Average()));
    }

    [Fact]
    public void DdimTimestepsAreTrailing()
    {
        var ddpm = Create(NoiseSchedule.Cosine(1000));
        // round(T − i·T/S) − 1 (diffusers' "trailing"); numpy: np.round(np.arange(T, 0, -T / S)).astype(int) - 1
        Assert.Equal(Enumerable.Range(0, 50).Select(i => 999 - 20 * i), ddpm.DdimTimesteps(50));
        Assert.Equal(Enumerable.Range(0, 1000).Select(i => 999 - i), ddpm.DdimTimesteps(1000));
        Assert.Equal([999], ddpm.DdimTimesteps(1));
        Assert.Equal([999, 666, 332], ddpm.DdimTimesteps(3));   // 1000, 666.67, 333.33 rounded, minus 1
        var small = Create(NoiseSchedule.Cosine(10));
        Assert.Equal([9, 6, 2], small.DdimTimesteps(3));         // 10, 6.67, 3.33 → 10, 7, 3
        Assert.Equal([9, 7, 4, 1], small.DdimTimesteps(4));      // 10, 7.5, 5, 2.5 → 10, 8, 5, 2 (half to even), minus 1
        Assert.Equal(Enumerable.Range(0, 25).Select(i => 499 - 20 * i), Create(NoiseSchedule.Cosine(500)).DdimTimesteps(25));
        Assert.Throws<ArgumentOutOfRangeException>(() => ddpm.DdimTimesteps(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => ddpm.DdimTimesteps(1001));
    }

    /// <summary>
    /// DDIM with η = 0 is a deterministic map of the starting noise z; with a Gaussian's ε̂ (and nothing clipped) it is
    /// affine, x₀ = A·z + B per pixel, and drawing z from the same seed recovers A and B exactly (least squares). Over all T
    /// steps DDIM is the probability-flow ODE, so A = s and B = μ; over fewer steps B stays μ (the "leading" spacing, which
    /// starts at T − T/S instead of T − 1, misses it by 2.3 % of μ at 50 steps and 4.6 % at 25 steps) and the spread shrinks
    /// (the discretisation error of DDIM: A = 0.780 at 50 steps for s = 0.8, 0.760 at 25 steps; a double-precision recursion
    /// of the same update gives these values).
    /// </summary>
    [Theory]
    [InlineData(1000, 0.5, 0.8, false, 0.79897)]   // DDIM over every timestep, wide data (clipping would distort it: off)
    [InlineData(50, 0.5, 0.8, false, 0.77987)]
    [InlineData(25, 0.5, 0.8, false, 0.76028)]
    [InlineData(1000, 0.2, 0.15, true, 0.14923)]     // data well inside [−1, 1]: clipping on changes nothing
    [InlineData(25, 0.2, 0.15, true, 0.12444)]
    public void DdimWithEtaZeroRecoversAGaussian(int steps, double mean, double std, bool clip, double expectedSpread)
    {
        var schedule = NoiseSchedule.Cosine(1000);
        var samples = Create(schedule).SampleDdim(64, steps: steps, model: new GaussianPredictor(schedule, mean, std), generator: new Generator(1), clip: clip);
        var z = Tensor.Randn([64, 1, 16, 16], generator: new Generator(1)).To(DType.Float64).ToArray<double>();
        var x = samples.To(DType.Float64).ToArray<double>();
        double zMean = z.Average(), xMean = x.Average();
        double a = z.Zip(x).Sum(p => (p.First - zMean) * (p.Second - xMean)) / z.Sum(v => (v - zMean) * (v - zMean)), b = xMean - a * zMean;
        double residual = z.Zip(x).Max(p => Math.Abs(a * p.First + b - p.Second));
        Assert.True(residual < 1e-4, $"DDIM {steps} steps: not affine in the starting noise (residual {residual})");
        Assert.True(Math.Abs(b - mean) < 1e-3, $"DDIM {steps} steps: mean {b}, want {mean}");
        if (steps == 1000) Assert.True(Math.Abs(a / std - 1) < 0.01, $"DDIM {steps} steps: std {a}, want {std}");
        Assert.True(Math.Abs(a - expectedSpread) < 1e-4, $"DDIM {steps} steps: spread {a}, the recursion gives {expectedSpread}");
    }

    [Theory]
    [InlineData(0.5, 0.8, false)]
    [InlineData(0.3, 0.2, true)]
    public void AncestralSamplingRecoversAGaussian(double mean, double std, bool clip)
    {
        var schedule = NoiseSchedule.Linear(1000);
        var samples = Create(schedule).Sample(64, model: new GaussianPredictor(schedule, mean, std), generator: new Generator(2), clip: clip);
        var (m, s) = Moments(samples);
        Assert.True(Math.Abs(m - mean) < 0.02 && Math.Abs(s / std - 1) < 0.03, $"ancestral: mean {m} (want {mean}), std {s} (want {std})");
    }

    [Fact]
    public void ClippedDdimStepRecomputesEpsilonFromTheClippedX0()
    {
        // ε̂ = 10 everywhere: x̂₀ = (x − √(1 − ᾱ)·10)/√ᾱ ≪ −1, clipped to −1; the step must use ε̂' = (x + √ᾱ)/√(1 − ᾱ), the noise
        // that x̂₀ = −1 implies, so (x + √ᾱ)/√(1 − ᾱ) is carried unchanged from t to the previous timestep
        var schedule = NoiseSchedule.Cosine(100);
        var ddpm = Create(schedule);
        var x = Tensor.Randn([2, 1, 16, 16], generator: new Generator(3)) * 0.1;
        double a = schedule.AlphasCumprod[60], ap = schedule.AlphasCumprod[30];
        var next = ddpm.DdimStep(x, 60, 30, model: new ConstantPredictor([], 10));
        var carried = (x + Math.Sqrt(a)) / Math.Sqrt(1 - a);
        GoldenFile.AssertClose(carried * Math.Sqrt(1 - ap) - Math.Sqrt(ap), next, 1e-5, 1e-5, "clipped DDIM step");
        GoldenFile.AssertClose(carried, (next + Math.Sqrt(ap)) / Math.Sqrt(1 - ap), 1e-4, 1e-4, "carried noise");
        // unclipped, the same step keeps ε̂ = 10 and the unclipped x̂₀
        var unclipped = ddpm.DdimStep(x, 60, 30, model: new ConstantPredictor([], 10), clip: false);
        GoldenFile.AssertClose((x - Math.Sqrt(1 - a) * 10) / Math.Sqrt(a) * Math.Sqrt(ap) + Math.Sqrt(1 - ap) * 10, unclipped, 1e-5, 1e-5, "unclipped DDIM step");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(4)]
    public void GuidanceWeightIsDiffusersScaleMinusOne(double w)
    {
        // ε̂(x, c) = 0.7 for class 0, −0.4 for class 1; ε̂(x, ∅) = 0.1. diffusers' guidance_scale s = w + 1:
        // ε̂ = ε̂(x, ∅) + s·(ε̂(x, c) − ε̂(x, ∅))
        var schedule = NoiseSchedule.Cosine(100);
        var ddpm = Create(schedule, classes: 2);
        var x = Tensor.Randn([2, 1, 16, 16], generator: new Generator(4));
        var labels = Tensor.FromArray(new long[] { 0, 1 });
        double a = schedule.AlphasCumprod[50], ap = schedule.AlphasCumprod[20], s = w + 1;
        var next = ddpm.DdimStep(x, 50, 20, labels, guidance: w, model: new ConstantPredictor([0.7, -0.4], 0.1), clip: false);
        var eps = Tensor.FromArray(new[] { 0.1 + s * (0.7 - 0.1), 0.1 + s * (-0.4 - 0.1) }).To(DType.Float32).View(2, 1, 1, 1);
        var expected = (x - eps * Math.Sqrt(1 - a)) / Math.Sqrt(a) * Math.Sqrt(ap) + eps * Math.Sqrt(1 - ap);
        GoldenFile.AssertClose(expected, next, 1e-5, 1e-5, $"guided DDIM step, w = {w}");
    }
}
