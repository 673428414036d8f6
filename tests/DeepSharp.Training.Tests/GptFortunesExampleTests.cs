
namespace DeepSharp.Training.Tests;

/// <summary>A short run of examples/GptFortunes (a small GPT, a step budget of a few seconds).</summary>
public class GptFortunesExampleTests(ITestOutputHelper output)
{
    [Fact]
    public void SmallGptLearnsFortunesBelowTheUnigramBaseline()
    {
        Requires.Fortunes();
        var lines = new List<string>();
        var options = new GptFortunes.Options { Seconds = null, Steps = 300, Layers = 2, Heads = 2, Width = 32, BlockSize = 32, BatchSize = 16, EvalWindows = 64 };
        var report = GptFortunes.Run(options, lines.Add);
        // The unigram (character frequency) model of this split is ~4.8 bits per character (CharLstmUnigramBaselineIsAboutFiveBits).
        output.WriteLine($"validation bpc {report.Validation.BitsPerCharacter:F3}, {report.Seconds:F1} s");
        Assert.Equal(300, report.Steps);
        Assert.True(report.Validation.BitsPerCharacter < 4.1, $"bpc {report.Validation.BitsPerCharacter:F3}");
        Assert.Equal(3, report.Samples.Length);
        Assert.All(report.Samples, s => Assert.True(s.Length > 200));   // 240 characters after the prompt, through the KV cache
        Assert.Contains(lines, l => l.StartsWith("validation: "));
        Assert.Contains(lines, l => l.Contains("q/k/v conv 4"));
    }

    [Fact]
    public void OptionsParseTheDocumentedFlags()
    {
        var (o, compare) = GptFortunes.Options.Parse(["--seconds", "60", "--layers", "2", "--compare-lstm", "--width", "64"]);
        Assert.True(compare);
        Assert.Equal(60, o.Seconds);
        Assert.Equal(2, o.Layers);
        Assert.Equal(64, o.Width);
        Assert.Equal(4, o.ConvKernel);                                   // Primer's q/k/v convolution is on by default
        Assert.Equal(0, GptFortunes.Options.Parse(["--conv", "0"]).Options.ConvKernel);
        Assert.Equal("gelu", GptFortunes.Options.Parse(["--activation", "gelu"]).Options.Activation);
        Assert.Null(GptFortunes.Options.Parse(["--seconds", "0", "--steps", "5"]).Options.Seconds);
        Assert.Throws<ArgumentException>(() => GptFortunes.Options.Parse(["--bogus", "1"]));
    }
}
