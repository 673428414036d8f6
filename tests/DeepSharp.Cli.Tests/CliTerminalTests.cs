using System.Diagnostics;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// The progress display as a person sees it: the real command runs in a tmux pane of a given width and the pane is read
/// back with `tmux capture-pane` (issue 13: every refresh used to print a new line). Without a terminal, plain lines.
/// </summary>
[Collection(SerialCollection.Name)]
public class CliTerminalTests
{
    static string Tmux(string socket, params string[] args)
    {
        var start = new ProcessStartInfo("tmux") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add("-L"); start.ArgumentList.Add(socket);
        foreach (var a in args) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return output;
    }

    static bool HasTmux()
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo("tmux", "-V") { RedirectStandardOutput = true, UseShellExecute = false })!;
            process.WaitForExit();
            return process.ExitCode == 0;
        }
        catch (System.ComponentModel.Win32Exception) { return false; }
    }

    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(160)]
    public void TheLiveDisplayRedrawsInPlaceAndLeavesOneLinePerEpoch(int width)
    {
        Assert.SkipUnless(HasTmux(), "tmux is missing: apt-get install -y tmux");
        Requires.FashionMnist();
        var dir = CliProcess.TempDir("tmux");
        // CI=true (as .ci/run sets it) makes the command print plain lines even on a terminal; a person's shell has no CI
        string socket = "deepsharp-test-" + Guid.NewGuid().ToString("N")[..8], raw = Path.Combine(dir, "raw.txt"), done = Path.Combine(dir, "done");
        string command = $"cd '{dir}' && env -u CI LANG=C.UTF-8 '{CliProcess.Dotnet}' '{CliProcess.Dll}' train --model mlp --limit 6000 --test-limit 100 --epochs 2 " +
                         $"--batch-size 32 --threads 1 --out run; echo \"exit code $?\"; touch '{done}'; sleep 600";
        Tmux(socket, "-u", "new-session", "-d", "-x", width.ToString(), "-y", "40", "-s", "train", command);
        try
        {
            Tmux(socket, "pipe-pane", "-t", "train", "-o", $"cat >> '{raw}'");
            var clock = Stopwatch.StartNew();
            while (!File.Exists(done) && clock.Elapsed < TimeSpan.FromMinutes(5)) Thread.Sleep(200);
            Assert.True(File.Exists(done), "the run did not finish in 5 minutes");
            var lines = Tmux(socket, "capture-pane", "-p", "-J", "-t", "train", "-S", "-").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToList();
            var pane = string.Join("\n", lines);
            Assert.Contains("exit code 0", pane);
            Assert.Contains(lines, l => l.StartsWith("test accuracy: 0.", StringComparison.Ordinal));
            Assert.Equal(2, lines.Count(l => l.StartsWith("epoch ", StringComparison.Ordinal)));   // one summary per epoch, no bar left behind
            Assert.Contains(lines, l => l.StartsWith("epoch 1/2", StringComparison.Ordinal) && l.Contains("loss 0."));
            Assert.All(lines.Where(l => l.StartsWith("epoch ", StringComparison.Ordinal)),   // -J joined wrapped lines: none of them wrapped
                       l => Assert.True(l.Length < width, $"a progress line of {l.Length} columns wraps at {width}: {l}"));
            Assert.True(lines.Count < 15, $"{lines.Count} lines left in the pane:\n{pane}");
            var bytes = File.ReadAllText(raw);
            Assert.True(bytes.Count(c => c == '\r') > 4, "the bar was not redrawn");   // several redraws went through the terminal
            Assert.Contains("\u001b[K", bytes);
        }
        finally { Tmux(socket, "kill-server"); }
    }

    [Fact]
    public void RedirectedOutputGetsPlainLines()
    {
        Requires.FashionMnist();
        var (code, output, err) = CliProcess.Run(["train", "--model", "mlp", "--limit", "2000", "--test-limit", "100", "--epochs", "1",
                                                  "--batch-size", "32", "--threads", "1", "--out", "run"]);
        Assert.True(code == 0, err);
        Assert.DoesNotContain('\r', output);
        Assert.DoesNotContain('\u001b', output);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("epoch 1/1  batch ", StringComparison.Ordinal));   // periodic lines
        Assert.Single(lines, l => l.StartsWith("epoch 1/1  loss", StringComparison.Ordinal));      // and the summary
    }
}
