using Xunit.Sdk;

namespace DeepSharp.Tests.Core;

/// <summary>The suite's skip policy (tests/Shared/Requires.cs): a missing dataset skips a test, but fails it in CI.</summary>
public class RequiresTests
{
    [Fact]
    public void AMissingDatasetSkipsOutsideCiAndFailsInCi()
    {
        var e = Record.Exception(() => Requires.Dataset("/nonexistent/dataset-dir", "dataset-example"));
        Assert.NotNull(e);
        Assert.IsType(Requires.InCi ? typeof(FailException) : typeof(SkipException), e);
        Assert.Contains("/nonexistent/dataset-dir", e.Message);
        Assert.Contains("apt-get install dataset-example", e.Message);
    }

    [Fact]
    public void AnInstalledDatasetLetsTheTestRun() =>
        Requires.Dataset(AppContext.BaseDirectory, "never-needed");
}
