using System.Diagnostics;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// Runs the real `deepsharp` command (DeepSharp.Cli.dll beside the tests, under `dotnet`) as a separate process, so a
/// test sees what a person at the terminal sees: the exit code, standard output and standard error.
/// </summary>
public static class CliProcess
{
    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH), else "dotnet" from the PATH.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    /// <summary>The command's entry assembly.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "DeepSharp.Cli.dll");

    /// <summary>A fresh temporary folder.</summary>
    public static string TempDir(string prefix = "cli-proc")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Runs `deepsharp ARGS` in <paramref name="workingDirectory"/> (a fresh temporary folder by default) with extra
    /// environment variables, and returns its exit code and output; fails the test when it runs past the timeout.
    /// </summary>
    public static (int Code, string Out, string Err) Run(string[] args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null, int timeoutSeconds = 300)
    {
        using var process = Start(args, workingDirectory ?? TempDir(), environment);
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeoutSeconds * 1000))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"deepsharp {string.Join(' ', args)} ran past {timeoutSeconds}s");
        }
        process.WaitForExit();
        return (process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>Starts `deepsharp ARGS` in <paramref name="workingDirectory"/> with its output redirected (read it, or it may block).</summary>
    public static Process Start(string[] args, string workingDirectory, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(Dotnet)
        {
            RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        start.ArgumentList.Add(Dll);
        foreach (var a in args) start.ArgumentList.Add(a);
        start.Environment["CI"] = null;
        start.Environment["DEEPSHARP_VERBOSE"] = null;
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) start.Environment[key] = value;
        return Process.Start(start)!;
    }

    /// <summary>Runs the command and checks the exit code and that standard error is exactly one line holding <paramref name="expected"/>.</summary>
    public static string Fails(int expectedCode, string expected, params string[] args) => FailsIn(null, expectedCode, expected, args);

    /// <summary><see cref="Fails"/> with extra environment variables.</summary>
    public static string FailsIn(IReadOnlyDictionary<string, string>? environment, int expectedCode, string expected, params string[] args)
    {
        var (code, output, err) = Run(args, environment: environment);
        Assert.True(code == expectedCode, $"exit code {code}, expected {expectedCode}; stderr: {err}; stdout: {output}");
        var lines = err.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, $"expected one line on stderr, got {lines.Length}: {err}");
        Assert.Contains(expected, lines[0]);
        Assert.DoesNotContain("   at ", err);
        return lines[0];
    }
}
