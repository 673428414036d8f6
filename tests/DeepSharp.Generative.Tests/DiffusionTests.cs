using DeepSharp.Data;
using DeepSharp.Generative.Diffusion;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Generative.Tests;

public class DiffusionTests
{
    [Theory]
    [InlineData("schedule_linear")]
    [InlineData("schedule_cosine")]
    public void SchedulesMatchPyTorch(string name)
    {
        var schedule = name == "schedule_linear" ? NoiseSchedule.Linear(1000) : NoiseSchedule.Cosine(1000);
        GoldenFile.AssertClose(GoldenFile.Tensor(name, "betas"), Tensor.FromArray(schedule.Betas), 1e-12, 1e-15, $"{name} betas");
        GoldenFile.AssertClose(GoldenFile.Tensor(name, "alphas_cumprod"), Tensor.FromArray(schedule.AlphasCumprod), 1e-10, 1e-15, $"{name} ᾱ");
        Assert.Throws<ArgumentException>(() => NoiseSchedule.Create("quadratic", 10));
    }

    [Fact]
    public void TimestepEmbeddingIsSinThenCos()
    {
        var e = TimestepEmbedding.Sinusoidal(Tensor.FromArray(new long[] { 0, 5 }), 8);
        Assert.Equal([2, 8], e.Shape);
        // frequencies 10000^(−i/3), i = 0..3; t = 5: sin(5), …, cos(5·10000^(−1))
        Assert.Equal(Math.Sin(5), e[1, 0].Item(), 5);
        Assert.Equal(Math.Cos(5 * Math.Pow(10000, -1.0 / 3)), e[1, 5].Item(), 5);
        Assert.Equal(1.0, e[0, 4].Item(), 6);
    }

    [Theory]
    [InlineData(1, 28, 0)]
    [InlineData(3, 32, 10)]
    public void UNetPredictsNoiseOfTheImageShape(int channels, int size, int classes)
    {
        var unet = new UNet(new ImageShape(channels, size), channels: 8, numClasses: classes, groups: 4);
        var x = Tensor.Randn(2, channels, size, size);
        var t = Tensor.FromArray(new long[] { 3, 999 });
        var labels = classes > 0 ? Tensor.FromArray(new long[] { 1, classes }) : null;   // the second is "no class"
        Assert.Equal(x.Shape, unet.Predict(x, t, labels).Shape);
        Assert.Throws<ArgumentException>(() => unet.Predict(x, Tensor.FromArray(new long[] { 1 }), labels));
    }

    [Fact]
    public void TrainsInTheTrainerWithEmaAndSamplesWithDdimAndGuidance()
    {
        // data: images of one constant grey level per class; the model learns them in a few hundred steps
        var labels = Tensor.RandInt(0, 2, [64]);
        var images = (labels.To(DType.Float32) * 0.6f + 0.2f).View(64, 1, 1, 1).Expand(64, 1, 28, 28).Contiguous();
        var unet = new UNet(ImageShape.FashionMnist, channels: 8, numClasses: 2, groups: 4);
        var ddpm = new Ddpm(unet, NoiseSchedule.Cosine(100));
        var ema = new ExponentialMovingAverage(unet, new UNet(ImageShape.FashionMnist, channels: 8, numClasses: 2, groups: 4), decay: 0.9);
        var trainer = new Trainer(unet, new Adam(unet.Parameters(), 3e-3), step: ddpm.Step(), progress: new PlainProgress(TextWriter.Null));
        var history = trainer.Fit(new DataLoader(new TensorDataset(images, labels), batchSize: 16, shuffle: true), null, 60, [ema]);
        Assert.True(history[^1]["loss"] < history[0]["loss"] * 0.5, $"loss {history[0]["loss"]} → {history[^1]["loss"]}");
        Assert.False(unet.Parameters().First().Equal(ema.Averaged.Parameters().First()));

        var asked = Tensor.FromArray(new long[] { 0, 0, 1, 1 });
        var samples = ddpm.SampleDdim(4, steps: 20, labels: asked, guidance: 3, model: (UNet)ema.Averaged, generator: new Generator(5));
        Assert.Equal([4, 1, 28, 28], samples.Shape);
        var means = samples.Flatten(1).Mean(1).ToArray<float>();   // class 0 → grey 0.2 (−0.6 in [−1, 1]), class 1 → 0.8 (+0.6)
        Assert.True(means[0] < 0 && means[1] < 0 && means[2] > 0 && means[3] > 0, $"means {string.Join(", ", means)}");
        var ancestral = ddpm.Sample(2, generator: new Generator(6));
        Assert.Equal([2, 1, 28, 28], ancestral.Shape);
        Assert.Throws<ArgumentException>(() => ddpm.Sample(2, Tensor.FromArray(new long[] { 0, 2 })));
    }

    [Fact]
    public void EmaFollowsTheFormula()
    {
        var a = new DeepSharp.NN.Linear(2, 1); var b = new DeepSharp.NN.Linear(2, 1);
        var ema = new ExponentialMovingAverage(a, b, decay: 0.75);
        Assert.True(a.Weight.Equal(b.Weight));
        using (Autograd.NoGrad()) a.Weight.FillInPlace(1);
        var before = b.Weight.Clone();
        ema.Update();
        Assert.True(b.Weight.AllClose(before * 0.75 + 0.25));
    }
}
