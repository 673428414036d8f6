using System.Diagnostics;
using System.Text;

namespace DeepSharp.Packaging.Tests;

/// <summary>Runs dotnet and other programs for the packaging tests, and finds the repository.</summary>
static class Tools
{
    /// <summary>The repository root: the folder holding DeepSharp.sln and src/.</summary>
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "DeepSharp.sln")) && Directory.Exists(Path.Combine(dir.FullName, "src"))) return dir.FullName;
        throw new DirectoryNotFoundException("the repository root (DeepSharp.sln and src/) is not above " + AppContext.BaseDirectory);
    }

    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH), else "dotnet" from the PATH.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The folder of the .NET installation running the tests (DOTNET_ROOT for a tool's or an app's launcher).</summary>
    public static string DotnetRoot
    {
        get
        {
            var host = Dotnet;
            if (!Path.IsPathRooted(host))
                host = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator)
                    .Select(d => Path.Combine(d, host)).FirstOrDefault(File.Exists) ?? throw new FileNotFoundException("dotnet is not on the PATH");
            return Path.GetDirectoryName(new FileInfo(host).ResolveLinkTarget(true)?.FullName ?? host)!;
        }
    }

    /// <summary>A fresh temporary folder.</summary>
    public static string TempDir(string prefix)
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Runs <paramref name="file"/> with <paramref name="args"/> and returns its exit code and output. Environment
    /// variables set to null are removed. Fails the test when it runs past the timeout.
    /// </summary>
    public static (int Code, string Out, string Err) Run(string file, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 900)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        start.Environment["DEEPSHARP_VERBOSE"] = null;
        // the test host's own MSBuild settings must not leak into the child builds
        start.Environment["MSBuildExtensionsPath"] = null;
        start.Environment["MSBUILD_EXE_PATH"] = null;
        start.Environment["MSBuildSDKsPath"] = null;
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>()) start.Environment[key] = value;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{file} {string.Join(' ', args)} ran past {timeoutSeconds}s");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary><see cref="Run"/> that fails the test, with the output, unless the exit code is 0; returns standard output.</summary>
    public static string MustRun(string file, IEnumerable<string> args, string workingDirectory,
        IReadOnlyDictionary<string, string?>? environment = null, int timeoutSeconds = 900)
    {
        var list = args.ToList();
        var (code, output, err) = Run(file, list, workingDirectory, environment, timeoutSeconds);
        Assert.True(code == 0, $"{Path.GetFileName(file)} {string.Join(' ', list)} exited with {code}\n{Tail(output)}\n{Tail(err)}");
        return output;
    }

    /// <summary>The last lines of a long output, for a failure message.</summary>
    public static string Tail(string text, int lines = 40) => string.Join('\n', text.Split('\n').TakeLast(lines));

    /// <summary>Runs the deepsharp command in this process (the project reference): the behaviour the tool must match.</summary>
    public static (int Code, string Out, string Err) InProcess(params string[] args)
    {
        var output = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        var error = new StringWriter(new StringBuilder()) { NewLine = "\n" };
        int code = DeepSharp.Cli.Cli.Run(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
