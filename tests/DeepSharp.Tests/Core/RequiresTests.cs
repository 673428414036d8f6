namespace DeepSharp.Tests.Core;

/// <summary>The suite's skip policy (tests/Shared/Requires.cs): a missing dataset skips a test, but fails it in CI.</summary>
public class RequiresTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AMissingDatasetIsASkipOutsideCiAndAFailureInCi(bool inCi)
    {
        var (message, fail) = Requires.MissingDataset("/nonexistent/dataset-dir", "dataset-example", inCi);
        Assert.Equal(inCi, fail);
        Assert.Contains("/nonexistent/dataset-dir is missing: sudo apt-get install dataset-example", message);
        if (inCi) Assert.StartsWith("CI must install this dataset", message);
    }

    [Fact]
    public void AnInstalledDatasetLetsTheTestRun()
    {
        Assert.Equal((null, false), Requires.MissingDataset(AppContext.BaseDirectory, "never-needed", inCi: true));
        Requires.Dataset(AppContext.BaseDirectory, "never-needed");
    }
}
