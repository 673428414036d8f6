namespace DeepSharp.Quantization.Tests;

/// <summary>examples/QuantizeFashion on a reduced budget: trained, quantized both ways, saved, reloaded and measured.</summary>
public class ExampleTests
{
    [Fact]
    public void QuantizeFashionRunsOnASmallBudget()
    {
        Requires.FashionMnist();
        var folder = Path.Combine(Path.GetTempPath(), "deepsharp-quantize-" + Guid.NewGuid().ToString("N"));
        try
        {
            var log = new StringWriter();
            var r = QuantizeFashion.Run(new QuantizeFashion.Settings(TrainImages: 2000, TestImages: 500, CalibrationImages: 128, TimingRounds: 2, OutputFolder: folder), log);
            Assert.True(r.FloatAccuracy > 0.5, log.ToString());   // chance is 0.1
            Assert.True(Math.Abs(r.FloatAccuracy - r.StaticAccuracy) < 0.03, log.ToString());
            Assert.True(Math.Abs(r.FloatAccuracy - r.DynamicAccuracy) < 0.03, log.ToString());
            Assert.True(r.StaticBytes * 3.5 < r.FloatBytes, log.ToString());   // int8 weights: about 4x smaller
            Assert.True(r.StaticMs > 0 && r.DynamicMs > 0, log.ToString());
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true); }
    }

    /// <summary>examples/QuantizeLstm on a reduced budget: the LSTM language model's LSTM dynamically quantized keeps
    /// its next-character accuracy and loss.</summary>
    [Fact]
    public void QuantizeLstmRunsOnASmallBudget()
    {
        Requires.Fortunes();
        var log = new StringWriter();
        var r = QuantizeLstm.Run(new QuantizeLstm.Settings(TrainSteps: 40, Hidden: 64, EvalWindows: 16, TimingRounds: 1), log);
        Assert.True(r.FloatAccuracy > 0.2, log.ToString() + r);   // the most frequent character (space) alone is about 0.15
        Assert.True(Math.Abs(r.FloatAccuracy - r.Int8Accuracy) < 0.02, r.ToString());
        Assert.True(Math.Abs(r.FloatLoss - r.Int8Loss) < 0.02, r.ToString());
        Assert.True(r.FloatMs > 0 && r.Int8Ms > 0, r.ToString());
    }
}
