using DeepSharp.Data;
using DeepSharp.Generative.Gan;
using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Generative.Tests;

public class GanTests
{
    [Theory]
    [InlineData(1, 28, 0)]
    [InlineData(3, 32, 0)]
    [InlineData(1, 28, 10)]
    public void GeneratorAndDiscriminatorShapes(int channels, int size, int classes)
    {
        var shape = new ImageShape(channels, size);
        var gan = Gan.Gan.Create(shape, GanLoss.NonSaturating, latent: 8, width: 4, numClasses: classes);
        var labels = classes > 0 ? Tensor.FromArray(new long[] { 0, 3, 9 }) : null;
        var images = gan.Generator.Generate(Tensor.Randn(3, 8), labels);
        Assert.Equal([3, channels, size, size], images.Shape);
        Assert.True(images.Abs().Max().Item() <= 1);
        Assert.Equal([3], gan.Discriminator.Judge(images, labels).Shape);
    }

    [Fact]
    public void BadLabelsAndNoiseGetClearErrors()
    {
        var g = new DcganGenerator(ImageShape.FashionMnist, latent: 8, width: 4, numClasses: 10);
        Assert.Contains("labels must be in [0, 10)", Assert.Throws<ArgumentException>(() => g.Generate(Tensor.Randn(2, 8), Tensor.FromArray(new long[] { 1, 10 }))).Message);
        Assert.Contains("labels are required", Assert.Throws<ArgumentException>(() => g.Generate(Tensor.Randn(2, 8), null)).Message);
        Assert.Contains("(N, 8)", Assert.Throws<ArgumentException>(() => g.Generate(Tensor.Randn(2, 9), Tensor.FromArray(new long[] { 1, 2 }))).Message);
    }

    [Fact]
    public void DcganInitialisationIsNormalWithStd002()
    {
        var g = new DcganGenerator(ImageShape.Cifar10, latent: 64, width: 32);
        var weights = g.NamedParameters().Where(p => p.Tensor.Rank == 4).Select(p => p.Tensor.Flatten()).ToArray();
        var all = Tensor.Cat(weights, 0);
        Assert.InRange(all.Std().Item(), 0.0195, 0.0205);
        Assert.InRange(all.Mean().Item(), -0.0005, 0.0005);
        var bnWeights = Tensor.Cat(g.NamedParameters().Where(p => p.Name.EndsWith(".weight") && p.Tensor.Rank == 1).Select(p => p.Tensor).ToArray(), 0);
        Assert.InRange(bnWeights.Mean().Item(), 0.99, 1.01);
        Assert.InRange(bnWeights.Std().Item(), 0.01, 0.03);
    }

    static Func<Tensor, Tensor> GroupNormCritic(Dictionary<string, Tensor> p) => x =>
    {
        var h = F.LeakyRelu(F.Conv2d(x, p["conv"], p["conv_b"], stride: 2, padding: 1), 0.2);
        h = F.GroupNorm(h, 1, p["gn_w"], p["gn_b"]);
        h = F.LeakyRelu(F.ConvTranspose2d(h, p["convt"], null, stride: 2, padding: 1), 0.2);
        return F.Linear(h.Flatten(1), p["lin"], p["lin_b"]).Flatten();
    };

    static Func<Tensor, Tensor> BatchNormCritic(Dictionary<string, Tensor> p) => x =>
    {
        var h = F.BatchNorm(F.Conv2d(x, p["conv"], null, stride: 2, padding: 1), null, null, p["bn_w"], p["bn_b"], training: true);
        return F.Linear(F.LeakyRelu(h, 0.2).Flatten(1), p["lin"]).Flatten();
    };

    [Theory]
    [InlineData("gp_groupnorm")]
    [InlineData("gp_batchnorm")]
    public void GradientPenaltyAndItsGradientsMatchPyTorch(string name)
    {
        var c = GoldenFile.Case(name);
        var p = c.GetProperty("params").EnumerateObject().ToDictionary(e => e.Name, e => GoldenFile.Tensor(e.Value).RequiresGrad_());
        var points = GoldenFile.Tensor(c.GetProperty("points")).RequiresGrad_();
        var critic = name == "gp_groupnorm" ? GroupNormCritic(p) : BatchNormCritic(p);
        var penalty = Gan.Gan.PenaltyAt(critic, points);
        Assert.Equal(c.GetProperty("penalty").GetDouble(), penalty.Item(), 10);
        var names = p.Keys.ToArray();
        var grads = Autograd.Grad([penalty], [points, .. names.Select(k => p[k])], allowUnused: true);
        GoldenFile.AssertClose(GoldenFile.Tensor(c.GetProperty("grad_points")), grads[0]!, 1e-7, 1e-10, $"{name} ∂/∂points");
        var expected = c.GetProperty("grads");
        for (int i = 0; i < names.Length; i++)
            GoldenFile.AssertClose(GoldenFile.Tensor(expected.GetProperty(names[i])), grads[i + 1] ?? Tensor.ZerosLike(p[names[i]]), 1e-7, 1e-10, $"{name} ∂/∂{names[i]}");
    }

    [Theory]
    [InlineData("gp_groupnorm")]
    [InlineData("gp_batchnorm")]
    public void GradientPenaltyPassesSecondOrderGradCheck(string name)
    {
        // GradCheck differentiates the penalty, itself a gradient: a finite-difference check of the double backward of
        // conv, transposed conv, LeakyReLU, group norm / training batch norm and linear
        var c = GoldenFile.Case(name);
        var p = c.GetProperty("params").EnumerateObject().ToDictionary(e => e.Name, e => GoldenFile.Tensor(e.Value).RequiresGrad_());
        var names = p.Keys.ToArray();
        var points = GoldenFile.Tensor(c.GetProperty("points")).Narrow(0, 0, 2).Contiguous().RequiresGrad_();
        GradCheck.Check(inputs =>
        {
            using var _ = Autograd.EnableGrad();
            var parameters = names.Select((k, i) => (k, inputs[i + 1])).ToDictionary(e => e.k, e => e.Item2);
            var critic = name == "gp_groupnorm" ? GroupNormCritic(parameters) : BatchNormCritic(parameters);
            return Gan.Gan.PenaltyAt(critic, inputs[0]);
        }, [points, .. names.Select(k => p[k])], eps: 1e-6, atol: 1e-6, rtol: 1e-4);
    }

    [Theory]
    [InlineData(GanLoss.NonSaturating, 0)]
    [InlineData(GanLoss.WassersteinGradientPenalty, 10)]
    public void TrainsThroughTheTrainerWithTwoOptimizers(GanLoss loss, int classes)
    {
        var images = Tensor.Rand(32, 1, 28, 28);
        var labels = Tensor.RandInt(0, 10, [32]);
        var gan = Gan.Gan.Create(ImageShape.FashionMnist, loss, latent: 8, width: 4, numClasses: classes);
        var (optG, optD) = gan.Optimizers(loss);
        var before = gan.Generator.NamedParameters().First().Tensor.Clone();
        var beforeD = gan.Discriminator.NamedParameters().First().Tensor.Clone();
        var trainer = new Trainer(gan, [optG, optD], gan.Step(loss, optG, optD, criticSteps: loss == GanLoss.NonSaturating ? 1 : 2),
            progress: new PlainProgress(TextWriter.Null)) { AutomaticOptimization = false };
        var history = trainer.Fit(new DataLoader(new TensorDataset(images, labels), batchSize: 8), epochs: 1);
        Assert.Equal(4, trainer.GlobalStep);
        Assert.True(double.IsFinite(history[^1]["d_loss"]) && double.IsFinite(history[^1]["g_loss"]));
        if (loss != GanLoss.NonSaturating) Assert.True(history[^1].ContainsKey("gp"));
        Assert.False(before.Equal(gan.Generator.NamedParameters().First().Tensor));
        Assert.False(beforeD.Equal(gan.Discriminator.NamedParameters().First().Tensor));
    }
}
