using DeepSharp.Generative.Metrics;
using DeepSharp.Vision.Models;

namespace DeepSharp.Generative.Tests;

public class FidTests
{
    [Theory]
    [InlineData("fid_full")]
    [InlineData("fid_relu")]
    [InlineData("fid_same")]
    public void FrechetDistanceMatchesScipySqrtm(string name)
    {
        var a = FeatureStatistics.FromFeatures(GoldenFile.Tensor(name, "a"));
        var b = FeatureStatistics.FromFeatures(GoldenFile.Tensor(name, "b"));
        double expected = GoldenFile.Case(name).GetProperty("fid").GetDouble();
        Assert.True(Math.Abs(FrechetDistance.Compute(a, b) - expected) <= 1e-7 * Math.Max(1, Math.Abs(expected)),
            $"{name}: expected {expected:G12}, got {FrechetDistance.Compute(a, b):G12}");
    }

    [Fact]
    public void SquareRootSquaresBackAndCovarianceIsNumpys()
    {
        var features = Tensor.FromArray(new double[,] { { 1, 2 }, { 3, 1 }, { 0, 0 }, { 2, 5 } });
        var stats = FeatureStatistics.FromFeatures(features);
        // numpy.cov(rowvar=False): deviations (−½, 1.5, −1.5, ½) and (0, −1, −2, 3): variance 5/3, covariance 3/3
        Assert.Equal(5.0 / 3, stats.Covariance[0, 0], 12);
        Assert.Equal(1.0, stats.Covariance[0, 1], 12);
        var root = FrechetDistance.SquareRoot(stats.Covariance);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                Assert.Equal(stats.Covariance[i, j], root[i, 0] * root[0, j] + root[i, 1] * root[1, j], 10);
        Assert.Throws<ArgumentException>(() => FeatureStatistics.FromFeatures(Tensor.Zeros(1, 3)));
    }

    [Fact]
    public void ScorerTakesTheFashionCnnPenultimateLayerAndNamesIt()
    {
        var scorer = new FidScorer(new FashionCnn(), checkpoint: "test");
        var images = Tensor.Rand(6, 1, 28, 28);
        var features = scorer.Features(images, batchSize: 4);
        Assert.Equal([6, 256], features.Shape);
        Assert.True(features.Min().Item() >= 0);                 // after the ReLU
        Assert.Equal(0, scorer.Score(images, images), 6);
        Assert.Contains("FashionCnn classifier.2", scorer.Describe(256));
        Assert.Contains("has no layer", Assert.Throws<ArgumentException>(() => new FidScorer(new FashionCnn(), "classifier.9")).Message);
    }
}
