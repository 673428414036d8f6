using DeepSharp.Data;
using DeepSharp.Generative.Vae;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Generative.Tests;

public class VaeTests
{
    [Fact]
    public void ForwardReturnsReconstructionMeanAndLogVar()
    {
        var vae = new ConvVae(ImageShape.FashionMnist, latent: 5, width: 4);
        var (recon, mean, logVar) = vae.Call(Tensor.Rand(3, 1, 28, 28));
        Assert.Equal([3, 1, 28, 28], recon.Shape);
        Assert.Equal([3, 5], mean.Shape);
        Assert.Equal([3, 5], logVar.Shape);
        Assert.Equal([4, 1, 28, 28], vae.Sample(4).Shape);
        var strip = vae.Interpolate(Tensor.Rand(1, 28, 28), Tensor.Rand(1, 28, 28), steps: 7);
        Assert.Equal([7, 1, 28, 28], strip.Shape);
    }

    [Fact]
    public void KlAndReconstructionTermsMatchClosedForms()
    {
        // KL(N(μ,σ²)‖N(0,1)) per dimension = ½(μ² + σ² − 1 − log σ²); μ = 1, log σ² = log 4 → ½(1 + 4 − 1 − 1.386294361) = 1.306852820
        var kl = Elbo.KlDivergence(Tensor.FromArray(new double[,] { { 1, 0 } }), Tensor.FromArray(new double[,] { { Math.Log(4), 0 } }));
        Assert.Equal(1.3068528194400546, kl.Item(), 12);
        // Bernoulli: −[x log σ(l) + (1−x) log(1−σ(l))]; l = 0 → log 2 per pixel
        var x = Tensor.Full([2, 1, 4, 4], 0.3, DType.Float64);
        var bernoulli = Elbo.ReconstructionNll(Tensor.Zeros([2, 1, 4, 4], DType.Float64), x, VaeLikelihood.Bernoulli);
        Assert.Equal(16 * Math.Log(2), bernoulli[0].Item(), 10);
        // Gaussian with std 0.5 at the mean: 16·(log 0.5 + ½ log 2π)
        var gaussian = Elbo.ReconstructionNll(x, x, VaeLikelihood.Gaussian, gaussianStd: 0.5);
        Assert.Equal(16 * (Math.Log(0.5) + 0.5 * Math.Log(2 * Math.PI)), gaussian[1].Item(), 10);
        Assert.Throws<ArgumentException>(() => Elbo.ReconstructionNll(Tensor.Zeros(2, 1, 4, 4), Tensor.Zeros(2, 1, 4, 5), VaeLikelihood.Bernoulli));
    }

    [Fact]
    public void ReparameterizationPassesGradientsToMeanAndLogVar()
    {
        var mean = Tensor.Randn([4, 3], DType.Float64, requiresGrad: true);
        var logVar = Tensor.Randn([4, 3], DType.Float64, requiresGrad: true);
        GradCheck.Check(inputs => ConvVae.Reparameterize(inputs[0], inputs[1], new Generator(7)), [mean, logVar]);
    }

    [Fact]
    public void ImportanceWeightedBoundIsTighterWithMoreSamplesAndEqualsElboAtKOne()
    {
        var vae = new ConvVae(ImageShape.FashionMnist, latent: 4, width: 4);
        var images = Tensor.Rand(16, 1, 28, 28);
        double nelbo = Elbo.NegativeElbo(vae, images, generator: new Generator(1));
        double k1 = Elbo.ImportanceWeightedBound(vae, images, k: 1, generator: new Generator(1));
        double k50 = Elbo.ImportanceWeightedBound(vae, images, k: 50, generator: new Generator(2));
        // k = 1 estimates the KL by one sample where NegativeElbo uses its closed form: equal in expectation
        Assert.True(Math.Abs(nelbo - k1) < 0.05 * 4, $"IWAE k=1 {k1} vs −ELBO {nelbo}");
        Assert.True(k50 <= nelbo + 1e-6, $"IWAE k=50 {k50} vs −ELBO {nelbo}");
        Assert.Throws<ArgumentOutOfRangeException>(() => Elbo.ImportanceWeightedBound(vae, images, k: 0));
    }

    [Theory]
    [InlineData(VaeLikelihood.Bernoulli, 1.0)]
    [InlineData(VaeLikelihood.Gaussian, 4.0)]
    public void TrainsInTheTrainerAndLowersTheNegativeElbo(VaeLikelihood likelihood, double beta)
    {
        var images = (Tensor.Linspace(0, 1, 28).View(1, 1, 1, 28).Expand(64, 1, 28, 28) * Tensor.Rand(64, 1, 1, 1)).Contiguous();
        var vae = new ConvVae(ImageShape.FashionMnist, latent: 4, width: 8, likelihood: likelihood);
        double before = Elbo.NegativeElbo(vae, images);
        var trainer = new Trainer(vae, new Adam(vae.Parameters(), 3e-3), step: Elbo.Step(vae, beta), progress: new PlainProgress(TextWriter.Null));
        var history = trainer.Fit(new DataLoader(new TensorDataset(images), batchSize: 16, shuffle: true), epochs: 10);
        double after = Elbo.NegativeElbo(vae, images);
        Assert.True(after < before - 10, $"−ELBO {before} → {after}");
        Assert.True(history[^1].ContainsKey("kl") && history[^1].ContainsKey("recon"));
    }
}
