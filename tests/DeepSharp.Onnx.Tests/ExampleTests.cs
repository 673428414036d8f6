namespace DeepSharp.Onnx.Tests;

/// <summary>examples/OnnxExport end to end at toy size, and its speed comparison on small workloads.</summary>
public sealed class ExampleTests
{
    [Fact]
    public void OnnxExportExampleTrainsExportsAndRunsInOnnxRuntime()
    {
        Requires.FashionMnist();
        var dir = Path.Combine(Path.GetTempPath(), $"onnx-example-{Guid.NewGuid():N}");
        try
        {
            var options = OnnxExportExample.Options.Parse(["--train-images", "1000", "--epochs", "1", "--test-images", "600", "--out", dir]);
            var log = new StringWriter();
            var result = OnnxExportExample.Run(options, log);
            Assert.True(File.Exists(result.OnnxPath));
            Assert.Equal(600, result.Images);
            Assert.InRange(result.DeepSharpAccuracy, 0.5, 1);   // well above chance (0.1) after one short epoch
            Assert.Equal(result.DeepSharpAccuracy, result.OrtAccuracy);
            Assert.Equal(result.DeepSharpAccuracy, result.ImportedAccuracy);
            Assert.Equal(600, result.Agreements);
            Assert.InRange(result.MaxDifference, 0, 1e-4);
            Assert.Contains("all three agree on 600 of 600", log.ToString());
        }
        finally
        {
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void SpeedComparisonRunsBothRuntimes()
    {
        var log = new StringWriter();
        var timings = OnnxSpeed.Compare(log, runs: 1, reps: 1, small: true);
        Assert.Equal(2, timings.Count);
        Assert.All(timings, t => Assert.True(t.DeepSharpMs[0] > 0 && t.OrtMs[0] > 0));
        Assert.Contains("ratio", log.ToString());
    }
}
