using DeepSharp.Data;
using DeepSharp.Generative;
using DeepSharp.Generative.Autoencoders;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Generative.Tests;

public class AutoencoderTests
{
    [Theory]
    [InlineData(1, 28)]
    [InlineData(3, 32)]
    public void ReconstructsTheInputShapeInUnitRange(int channels, int size)
    {
        var ae = new ConvAutoencoder(new ImageShape(channels, size), latent: 8, width: 4);
        var x = Tensor.Rand(3, channels, size, size);
        var y = ae.Call(x);
        Assert.Equal(x.Shape, y.Shape);
        Assert.True(y.Min().Item() >= 0 && y.Max().Item() <= 1);
        Assert.Equal([3, 8], ae.Encode(x).Shape);
    }

    [Fact]
    public void WrongImageShapeNamesTheShapes()
    {
        var ae = new ConvAutoencoder(ImageShape.FashionMnist, latent: 4, width: 4);
        var ex = Assert.Throws<ArgumentException>(() => ae.Call(Tensor.Rand(2, 3, 32, 32)));
        Assert.Contains("(N, 1, 28, 28)", ex.Message);
        Assert.Contains("(2, 3, 32, 32)", ex.Message);
        Assert.Throws<ArgumentException>(() => new ConvAutoencoder(new ImageShape(1, 30)));
    }

    [Fact]
    public void GaussianNoiseHasTheRequestedSpreadAndMaskingTheRequestedRate()
    {
        var x = Tensor.Full([1, 1, 100, 100], 0.5);
        var noisy = new GaussianNoise(0.1, Clamp: false).Apply(x);
        Assert.InRange((noisy - x).Std().Item(), 0.095, 0.105);
        var masked = new MaskingNoise(0.3).Apply(x);
        double zeroFraction = masked.Eq(0).To(DType.Float64).Mean().Item();
        Assert.InRange(zeroFraction, 0.27, 0.33);
        Assert.Equal(0.5, masked.Max().Item(), 6);
        Assert.Throws<ArgumentException>(() => new MaskingNoise(1.5).Apply(x));
    }

    [Fact]
    public void RocAucMatchesHandComputedValuesWithTies()
    {
        // sklearn.metrics.roc_auc_score([0,0,1,1],[0.1,0.4,0.35,0.8]) = 0.75; with a tie counted as half
        Assert.Equal(0.75, AnomalyDetection.RocAuc([0.1, 0.4, 0.35, 0.8], [false, false, true, true]), 12);
        Assert.Equal(1.0, AnomalyDetection.RocAuc([1, 2, 3, 4], [false, false, true, true]), 12);
        Assert.Equal(0.5, AnomalyDetection.RocAuc([1, 1, 1, 1], [false, true, false, true]), 12);
        // positive/negative pairs: (0.2,0.2) ½, (0.2,0.5) 0, (0.9,·) 2, (0.1,·) 0 → 2.5 / 6
        Assert.Equal(2.5 / 6, AnomalyDetection.RocAuc([0.2, 0.2, 0.5, 0.9, 0.1], [false, true, false, true, true]), 12);
        Assert.Throws<ArgumentException>(() => AnomalyDetection.RocAuc([1, 2], [true, true]));
    }

    [Fact]
    public void DenoisingAutoencoderTrainsInTheTrainerAndAnomaliesScoreHigher()
    {
        // normal data: smooth horizontal gradients; anomalies: checkerboards the autoencoder never saw
        var normal = Tensor.Linspace(0, 1, 28).View(1, 1, 1, 28).Expand(64, 1, 28, 28) * Tensor.Rand(64, 1, 1, 1);
        var ae = new ConvAutoencoder(ImageShape.FashionMnist, latent: 8, width: 8);
        var trainer = new Trainer(ae, new Adam(ae.Parameters(), 3e-3), step: AutoencoderSteps.Reconstruction(ae, new GaussianNoise(0.1)),
            progress: new PlainProgress(TextWriter.Null));
        var loader = new DataLoader(new TensorDataset(normal.Contiguous()), batchSize: 16, shuffle: true);
        var history = trainer.Fit(loader, epochs: 15);
        Assert.True(history[^1]["loss"] < history[0]["loss"] * 0.5, $"loss {history[0]["loss"]} → {history[^1]["loss"]}");
        var board = new float[8, 1, 28, 28];
        for (int n = 0; n < 8; n++) for (int i = 0; i < 28; i++) for (int j = 0; j < 28; j++) board[n, 0, i, j] = (i + j) % 2;
        var checker = Tensor.FromArray(board);
        var scores = AnomalyDetection.ReconstructionScores(ae, Tensor.Cat([normal.Narrow(0, 0, 8).Contiguous(), checker], 0));
        var auc = AnomalyDetection.RocAuc(scores, Enumerable.Range(0, 16).Select(i => i >= 8).ToArray());
        Assert.True(auc > 0.95, $"ROC-AUC {auc}");
    }
}
