using System.Diagnostics;

namespace DeepSharp.Packaging.Tests;

/// <summary>
/// The command line published as one native executable (PublishAot, docs/packaging.md): it trains the MLP on
/// Fashion-MNIST (tiny budget) and runs predict, and the JIT command reads its model to the same prediction, so module
/// field discovery found the same parameters under Native AOT. Needs clang and zlib1g-dev (.ci/run installs them).
/// </summary>
public sealed class AotTests
{
    [Fact]
    public void NativeBinaryTrainsTheMlpAndPredicts()
    {
        Requires.FashionMnist();
        RequireNativeToolchain();
        var root = Tools.RepositoryRoot();
        var work = Tools.TempDir("deepsharp-aot");
        try
        {
            var publish = Path.Combine(work, "publish");
            var watch = Stopwatch.StartNew();
            var log = Tools.MustRun(Tools.Dotnet, ["publish", Path.Combine(root, "src", "DeepSharp.Cli", "DeepSharp.Cli.csproj"), "-c", "Release",
                "-r", "linux-x64", "-p:PublishAot=true", "-o", publish, "-p:UseArtifactsOutput=true", $"-p:ArtifactsPath={Path.Combine(work, "artifacts")}",
                "--nologo", "-v", "q", "-clp:NoSummary"], work, timeoutSeconds: 1500);
            // the libraries are annotated for trimming: the native compiler reports no trim or AOT warning of ours
            Assert.DoesNotContain(log.Split('\n'), l => l.Contains("warning IL") && l.Contains("DeepSharp"));
            var binary = Path.Combine(publish, "DeepSharp.Cli");
            Assert.True(File.Exists(binary), $"no native binary at {binary}\n{Tools.Tail(log)}");
            Assert.False(File.Exists(Path.Combine(publish, "DeepSharp.Cli.dll")), "the publish folder holds IL assemblies: not a native build");
            Console.WriteLine($"AOT publish took {watch.Elapsed.TotalSeconds:F0}s; binary {new FileInfo(binary).Length / 1048576.0:F1} MiB");

            var environment = new Dictionary<string, string?> { ["CI"] = null };
            var help = Tools.Run(binary, ["train", "--help"], work, environment, 60);
            Assert.Equal(Tools.InProcess("train", "--help"), help);
            Assert.Equal(2, Tools.Run(binary, ["frobnicate"], work, environment, 60).Code);

            var run = Path.Combine(work, "run");
            var train = Tools.MustRun(binary, ["train", "--model", "mlp", "--epochs", "1", "--limit", "2000", "--test-limit", "500",
                "--batch-size", "64", "--out", run, "--threads", "2"], work, environment, 600);
            var accuracyLine = train.Split('\n').Single(l => l.StartsWith("test accuracy: ", StringComparison.Ordinal));
            double accuracy = double.Parse(accuracyLine.Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(accuracy > 0.6, $"the AOT-trained MLP reached {accuracy}\n{train}");
            var model = Path.Combine(run, "model.safetensors");
            var predicted = Tools.MustRun(binary, ["predict", model, "test:3"], work, environment, 120);
            var jit = Tools.InProcess("predict", model, "test:3");
            Assert.Equal(0, jit.Code);
            // the same classes in the same order (the percentages may differ in the last digit: the native code's vector width differs)
            static string[] Classes(string text) => text.Split('\n').Select(l => l.Split("  ")[0].Trim()).Where(l => l.Length > 0).ToArray();
            Assert.Contains("prediction: ", predicted);
            Assert.Equal(Classes(jit.Out), Classes(predicted));
        }
        finally
        {
            try { Directory.Delete(work, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Native AOT links with clang and zlib: skip without them locally, fail in CI (which installs them).</summary>
    static void RequireNativeToolchain()
    {
        bool clang = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "clang")));
        bool zlib = File.Exists("/usr/include/zlib.h");
        if (clang && zlib) return;
        string message = $"Native AOT needs clang and zlib1g-dev (missing: {(clang ? "" : "clang ")}{(zlib ? "" : "zlib1g-dev")}): sudo apt-get install clang zlib1g-dev";
        if (Requires.InCi) Assert.Fail("CI must install them (.ci/run): " + message);
        Assert.Skip(message);
    }
}
