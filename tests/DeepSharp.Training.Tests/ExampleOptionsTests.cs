namespace DeepSharp.Training.Tests;

/// <summary>The examples' shared option reader (examples/Shared/ExampleOptions.cs), through the TransferLearning example's options.</summary>
public class ExampleOptionsTests
{
    static TransferLearningExample.Options Parse(params string[] args) => TransferLearningExample.Options.Parse(args);

    [Fact]
    public void EachPropertyIsADashedOptionAndTheRestKeepTheirDefaults()
    {
        var o = Parse("--width", "8", "--per-class", "10, 5,2", "--source-images", "1200", "--data", "/tmp/x");
        Assert.Equal(8, o.Width);
        Assert.Equal([10, 5, 2], o.PerClass);
        Assert.Equal(1200, o.SourceImages);
        Assert.Equal("/tmp/x", o.DataDir);                       // the alias
        Assert.Equal(new TransferLearningExample.Options().TargetSteps, o.TargetSteps);
        Assert.Equal("/tmp/y", Parse("--data-dir", "/tmp/y").DataDir);
    }

    [Fact]
    public void AnUnknownOptionIsRefusedWithTheListOfOptions()
    {
        var e = Assert.Throws<ArgumentException>(() => Parse("--widht", "8"));
        Assert.Contains("unknown option '--widht'", e.Message);
        Assert.Contains("--width", e.Message);
        Assert.Contains("examples/TransferLearning", e.Message);
    }

    [Fact]
    public void AMissingOrMalformedValueNamesTheOption()
    {
        Assert.Contains("--width needs a value", Assert.Throws<ArgumentException>(() => Parse("--width")).Message);
        Assert.Contains("--width takes an integer, not 'wide'", Assert.Throws<ArgumentException>(() => Parse("--width", "wide")).Message);
        Assert.Contains("--per-class takes a comma-separated list of an integer", Assert.Throws<ArgumentException>(() => Parse("--per-class", "1,x")).Message);
        Assert.Contains("out of range", Assert.Throws<ArgumentException>(() => Parse("--seed", "99999999999")).Message);
    }
}
