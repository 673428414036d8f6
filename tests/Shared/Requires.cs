namespace DeepSharp.Testing;

/// <summary>
/// What a test needs from the machine. A test that cannot run reports itself skipped with the reason; it never returns
/// early and passes. Datasets that CI installs (tools/ensure-datasets.sh) are never skipped in CI: there they fail.
/// </summary>
public static class Requires
{
    /// <summary>True when the environment variable CI is "true" or "1" (CI runs .ci/run with CI=true).</summary>
    public static bool InCi { get; } = Environment.GetEnvironmentVariable("CI")?.Trim().ToLowerInvariant() is "true" or "1";

    /// <summary>
    /// A dataset installed by the Debian package <paramref name="package"/> at <paramref name="directory"/>: skips the test
    /// when it is missing, or fails it when running in CI, which must have installed it.
    /// </summary>
    public static void Dataset(string directory, string package)
    {
        var (message, fail) = MissingDataset(directory, package, InCi);
        if (message == null) return;
        if (fail) Assert.Fail(message);
        Assert.Skip(message);
    }

    /// <summary>
    /// What <see cref="Dataset"/> reports: null when the dataset is there, else the message and whether it is a failure
    /// (in CI) rather than a skip.
    /// </summary>
    public static (string? Message, bool Fail) MissingDataset(string directory, string package, bool inCi)
    {
        if (Directory.Exists(directory)) return (null, false);
        string missing = $"{directory} is missing: sudo apt-get install {package} (./test.sh installs it when run as root)";
        return inCi ? ($"CI must install this dataset (tools/ensure-datasets.sh), but {missing}", true) : (missing, false);
    }

    /// <summary>Fashion-MNIST from Debian's dataset-fashion-mnist.</summary>
    public static void FashionMnist() => Dataset("/usr/share/datasets/fashion-mnist", "dataset-fashion-mnist");

    /// <summary>The fortune cookie corpus from Debian's fortunes.</summary>
    public static void Fortunes() => Dataset("/usr/share/games/fortunes", "fortunes");
}
