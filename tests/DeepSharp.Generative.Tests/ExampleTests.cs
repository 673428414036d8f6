namespace DeepSharp.Generative.Tests;

/// <summary>examples/GenerativeFashion on a reduced budget: every model trains, grids are written, the numbers are sane.</summary>
public class ExampleTests
{
    [Fact]
    public void GenerativeFashionRunsOnASmallBudget()
    {
        Requires.FashionMnist();
        var folder = Path.Combine(Path.GetTempPath(), "deepsharp-generative-" + Guid.NewGuid().ToString("N"));
        try
        {
            var log = new StringWriter();
            var report = GenerativeFashion.Run(new GenerativeFashion.Settings(TrainImages: 1000, TestImages: 300, SecondsPerModel: 6,
                Samples: 60, OutputFolder: folder), log);
            Assert.True(report.ClassifierAccuracy > 0.3, log.ToString());   // chance is 0.1
            Assert.True(report.AnomalyRocAuc > 0.5, log.ToString());
            Assert.InRange(report.VaeNegativeElbo, 100, 550);                // untrained: ≈ 544 nats (784·log 2)
            Assert.True(report.VaeIwae <= report.VaeNegativeElbo + 1, log.ToString());
            Assert.True(double.IsFinite(report.DcganFid) && double.IsFinite(report.WganFid) && double.IsFinite(report.DdpmFid)
                        && report.FidFloor < report.DcganFid && report.DdpmSteps > 0, log.ToString());
            foreach (var png in new[] { "vae-samples.png", "vae-interpolation.png", "dcgan-samples.png", "wgan-gp-samples.png", "ddpm-samples.png" })
                Assert.True(new FileInfo(Path.Combine(folder, png)).Length > 100, png);
            Assert.Contains("roc-auc:", log.ToString());
            Assert.Contains("conditional WGAN-GP:", log.ToString());
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }
}
