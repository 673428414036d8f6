using System.Diagnostics;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// The ./deepsharp wrapper prints nothing of the build when it succeeds and the errors when it fails (issue 13: build
/// chatter despite -clp:ErrorsOnly). A stand-in `dotnet` that prints what the SDK prints keeps the test fast.
/// </summary>
public class WrapperScriptTests
{
    static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DeepSharp.sln")) && File.Exists(Path.Combine(dir.FullName, "deepsharp"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (DeepSharp.sln and ./deepsharp) is not above " + AppContext.BaseDirectory);
    }

    /// <summary>A copy of the wrapper in a scratch tree with one source file, a no-op dataset script and a fake dotnet.</summary>
    static string ScratchTree()
    {
        var root = CliProcess.TempDir("wrapper");
        File.Copy(Path.Combine(RepositoryRoot(), "deepsharp"), Path.Combine(root, "deepsharp"));
        Directory.CreateDirectory(Path.Combine(root, "src"));
        File.WriteAllText(Path.Combine(root, "src", "Program.cs"), "// changed\n");
        File.WriteAllText(Path.Combine(root, "Directory.Build.props"), "<Project />\n");
        Directory.CreateDirectory(Path.Combine(root, "tools"));
        File.WriteAllText(Path.Combine(root, "tools", "ensure-datasets.sh"), "#!/usr/bin/env bash\nexit 0\n");
        Directory.CreateDirectory(Path.Combine(root, "fakebin"));
        File.WriteAllText(Path.Combine(root, "fakebin", "dotnet"), """
            #!/usr/bin/env bash
            if [ "$1" = build ]; then
              echo "  Determining projects to restore..."
              echo "  All projects are up-to-date for restore."
              echo "Build succeeded."
              echo "    0 Warning(s)"
              if [ -n "${FAIL_BUILD:-}" ]; then echo "Program.cs(1,1): error CS1002: ; expected"; exit 1; fi
              exit 0
            fi
            echo "ran $(basename "$1") ${*:2}"
            """.Replace("\r", ""));
        foreach (var script in new[] { "deepsharp", "tools/ensure-datasets.sh", "fakebin/dotnet" })
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(Path.Combine(root, script), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        return root;
    }

    static (int Code, string Out, string Err) RunWrapper(string root, bool failBuild, params string[] args)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(Path.Combine(root, "deepsharp"));
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["PATH"] = Path.Combine(root, "fakebin") + ":" + Environment.GetEnvironmentVariable("PATH");
        if (failBuild) start.Environment["FAIL_BUILD"] = "1";
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result, error.Result);
    }

    [Fact]
    public void ASuccessfulBuildPrintsNothing()
    {
        var root = ScratchTree();
        var (code, output, err) = RunWrapper(root, failBuild: false, "info");
        Assert.Equal(0, code);
        Assert.Equal("ran DeepSharp.Cli.dll info\n", output);
        Assert.Equal("", err);
    }

    [Fact]
    public void AFailedBuildShowsItsErrors()
    {
        var root = ScratchTree();
        var (code, output, err) = RunWrapper(root, failBuild: true, "info");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("error CS1002", err);
        Assert.Contains("deepsharp: the build failed", err);
    }
}
