using System.Diagnostics;

namespace DeepSharp.Distributed.Tests;

/// <summary>
/// Starts the worker program (tests/DeepSharp.Distributed.Worker) under the system's mpiexec and collects its output.
/// MPICH's Hydra launcher is required (DeepSharp binds the MPICH ABI, docs/distributed.md): without it a test is
/// skipped locally and fails in CI, which installs the mpich package (.ci/run).
/// </summary>
static class MpiRun
{
    public sealed record Result(int ExitCode, string Output, TimeSpan Elapsed, bool TimedOut)
    {
        public int Count(string text) => Output.Split('\n').Count(line => line.Contains(text));
        public override string ToString() => $"exit {ExitCode} after {Elapsed.TotalSeconds:0.0} s{(TimedOut ? " (killed: timeout)" : "")}:\n{Output}";
    }

    static readonly Lazy<string?> Launcher = new(FindHydra);

    /// <summary>The name of MPICH's mpiexec on this machine (after <see cref="RequireMpich"/>).</summary>
    public static string LauncherName => Launcher.Value ?? throw new InvalidOperationException("call RequireMpich first");

    /// <summary>Skips (locally) or fails (in CI) the test when MPICH's mpiexec is missing.</summary>
    public static void RequireMpich()
    {
        if (Launcher.Value != null) return;
        const string message = "MPICH's mpiexec (Hydra) is missing: sudo apt-get install mpich (.ci/run installs it)";
        if (Requires.InCi) Assert.Fail("CI must install MPICH, but " + message);
        Assert.Skip(message);
    }

    static string? FindHydra()
    {
        foreach (var name in new[] { "mpiexec.mpich", "mpiexec.hydra", "mpiexec", "mpirun" })
        {
            try
            {
                var (code, output) = Execute(name, ["--version"], TimeSpan.FromSeconds(20), []);
                if (code == 0 && output.Contains("HYDRA", StringComparison.OrdinalIgnoreCase)) return name;
            }
            catch (System.ComponentModel.Win32Exception) { }   // not installed under this name
        }
        return null;
    }

    /// <summary>Runs <c>mpiexec -np ranks [launcherArgs] dotnet worker.dll scenario args</c>, killing it after <paramref name="timeoutSeconds"/>.</summary>
    public static Result Worker(int ranks, string scenario, string[]? args = null, string[]? launcherArgs = null,
        Dictionary<string, string>? environment = null, int timeoutSeconds = 120) =>
        Program(ranks, "DeepSharp.Distributed.Worker.dll", [scenario, .. args ?? []], launcherArgs, environment, timeoutSeconds);

    /// <summary>Runs <c>mpiexec -np ranks [launcherArgs] dotnet PROGRAM.dll args</c> for a program built beside the tests.</summary>
    public static Result Program(int ranks, string dll, string[] args, string[]? launcherArgs = null,
        Dictionary<string, string>? environment = null, int timeoutSeconds = 120)
    {
        RequireMpich();
        string program = Path.Combine(AppContext.BaseDirectory, dll);
        Assert.True(File.Exists(program), $"the program is missing at {program}");
        List<string> argv = ["-np", ranks.ToString(), .. launcherArgs ?? [], "dotnet", program, .. args];
        var watch = Stopwatch.StartNew();
        var timeout = TimeSpan.FromSeconds(timeoutSeconds);
        var (code, output) = Execute(Launcher.Value!, argv, timeout, environment ?? []);
        return new Result(code, output, watch.Elapsed, watch.Elapsed >= timeout);
    }

    internal static (int Code, string Output) Execute(string file, IEnumerable<string> args, TimeSpan timeout, Dictionary<string, string> environment)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) info.ArgumentList.Add(a);
        foreach (var (k, v) in environment) info.Environment[k] = v;
        using var process = Process.Start(info)!;
        var output = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine(); process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout)) { process.Kill(entireProcessTree: true); process.WaitForExit(); return (-1, output.ToString()); }
        process.WaitForExit();
        lock (output) return (process.ExitCode, output.ToString());
    }
}
