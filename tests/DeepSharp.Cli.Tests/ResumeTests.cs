using System.Diagnostics;
using DeepSharp.IO;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// `deepsharp train` saves periodic checkpoints and `--resume RUN` continues a killed run to the weights an uninterrupted
/// run reaches; a kill during a save leaves a temporary that the next save or load removes (issue 13).
/// </summary>
[Collection(SerialCollection.Name)]
public class ResumeTests
{
    static readonly string[] RunArgs = ["train", "--model", "mlp", "--limit", "6000", "--test-limit", "200", "--epochs", "3", "--batch-size", "16",
                                        "--threads", "1", "--checkpoint-every", "40steps"];

    static Dictionary<string, float[]> Weights(string runFolder) =>
        SafeTensors.Load(Path.Combine(runFolder, "model.safetensors")).ToDictionary(kv => kv.Key, kv => kv.Value.ToArray<float>());

    [Fact]
    public void AKilledRunResumesToTheWeightsOfAnUninterruptedRun()
    {
        Requires.FashionMnist();
        var root = CliProcess.TempDir("resume");
        var (code, _, err) = CliProcess.Run([.. RunArgs, "--out", "whole"], root);
        Assert.True(code == 0, err);

        // the same run, killed as soon as its first checkpoint is on disk (mid-epoch: 40 of 338 steps)
        string cut = Path.Combine(root, "cut"), checkpoint = Path.Combine(cut, "checkpoint.safetensors");
        using (var process = CliProcess.Start([.. RunArgs, "--out", "cut"], root))
        {
            _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken); _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(10);
            Assert.True(File.Exists(checkpoint), "no checkpoint was saved");
            Assert.False(process.HasExited, "the run ended before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(cut, "model.safetensors")));
        var stale = checkpoint + ".tmp-2147483646-deadbeef";   // what a kill during a save leaves (no such process)
        File.WriteAllBytes(stale, new byte[4096]);

        var (resumeCode, output, resumeErr) = CliProcess.Run(["train", "--resume", "cut"], root);
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains("resuming cut from its checkpoint: step ", output);
        Assert.Contains("test accuracy: 0.", output);
        Assert.False(File.Exists(stale), "the stale temporary was not removed");
        var whole = Weights(Path.Combine(root, "whole"));
        var resumed = Weights(cut);
        Assert.Equal(whole.Keys.Order(), resumed.Keys.Order());
        foreach (var (name, values) in whole) Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resuming");
        var epochs = File.ReadAllLines(Path.Combine(cut, "history.csv")).Skip(1).Select(l => l.Split(',')[0]);
        Assert.Equal(["1", "2", "3"], epochs);   // each epoch logged once, across the kill
        Assert.Equal(File.ReadAllLines(Path.Combine(root, "whole", "history.csv")).Length, File.ReadAllLines(Path.Combine(cut, "history.csv")).Length);
    }

    [Fact]
    public void AKilledLanguageModelRunResumesToTheWeightsOfAnUninterruptedRun()
    {
        var root = CliProcess.TempDir("resume-lm");
        var lines = Enumerable.Range(0, 60).Select(i => $"The quick brown fox jumps over the lazy dog {i % 7}. A stitch in time saves nine.");
        File.WriteAllText(Path.Combine(root, "tiny.txt"), string.Join("\n", lines) + "\n");
        string[] args = ["train", "--dataset", "text:tiny.txt", "--model", "gpt", "--context", "16", "--layers", "1", "--heads", "2", "--width", "16",
                         "--steps", "1500", "--batch-size", "8", "--threads", "1", "--sample-tokens", "10", "--checkpoint-every", "25steps"];
        var (code, wholeOut, err) = CliProcess.Run([.. args, "--out", "whole"], root);
        Assert.True(code == 0, err);

        string cut = Path.Combine(root, "cut"), checkpoint = Path.Combine(cut, "checkpoint.safetensors");
        using (var process = CliProcess.Start([.. args, "--out", "cut"], root))
        {
            _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken); _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(1)) Thread.Sleep(5);
            Assert.True(File.Exists(checkpoint), "no checkpoint was saved");
            Assert.False(process.HasExited, "the run ended before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(cut, "model.safetensors")));
        Assert.True(File.Exists(Path.Combine(cut, "run.json")));
        var recorded = File.ReadAllText(Path.Combine(cut, "run.json"));
        Assert.True(recorded.Split("\"--threads\"").Length == 2, $"run.json should record --threads once: {recorded}");

        var (resumeCode, output, resumeErr) = CliProcess.Run(["train", "--resume", "cut", "--threads", "1"], root);
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains("resuming cut from its checkpoint: step ", output);
        Assert.Equal(wholeOut.Trim().Split('\n')[^1], output.Trim().Split('\n')[^1]);   // the same validation bits per character
        var whole = Weights(Path.Combine(root, "whole"));
        var resumed = Weights(cut);
        Assert.Equal(whole.Keys.Order(), resumed.Keys.Order());
        foreach (var (name, values) in whole) Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resuming");
        CliProcess.Fails(2, "a language-model run has no --workers", "train", "--resume", cut, "--workers", "2");
    }

    [Fact]
    public void AKilledDdpmRunResumesToTheEmaWeightsOfAnUninterruptedRun()
    {
        Requires.FashionMnist();
        var root = CliProcess.TempDir("resume-ddpm");
        string[] args = ["train", "--model", "ddpm", "--limit", "480", "--test-limit", "100", "--epochs", "2", "--batch-size", "16", "--width", "8",
                         "--timesteps", "50", "--steps", "3", "--fid-samples", "20", "--threads", "1", "--checkpoint-every", "8steps"];
        var (code, _, err) = CliProcess.Run([.. args, "--out", "whole"], root, timeoutSeconds: 180);
        Assert.True(code == 0, err);

        string cut = Path.Combine(root, "cut"), checkpoint = Path.Combine(cut, "checkpoint.safetensors");
        using (var process = CliProcess.Start([.. args, "--out", "cut"], root))
        {
            _ = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken); _ = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            var clock = Stopwatch.StartNew();
            while (!File.Exists(checkpoint) && !process.HasExited && clock.Elapsed < TimeSpan.FromMinutes(2)) Thread.Sleep(5);
            Assert.True(File.Exists(checkpoint), "no checkpoint was saved");
            Assert.False(process.HasExited, "the run ended before it could be killed");
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
        Assert.False(File.Exists(Path.Combine(cut, "model.safetensors")));
        // the EMA of the checkpoint's step: renamed into place after the checkpoint, or still pending when the kill came between
        Assert.True(File.Exists(Path.Combine(cut, "ema.safetensors")) || File.Exists(Path.Combine(cut, "ema.pending.safetensors")));

        var (resumeCode, output, resumeErr) = CliProcess.Run(["train", "--resume", "cut"], root, timeoutSeconds: 180);
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains("resuming cut from its checkpoint: step ", output);
        Assert.Contains("fid: ", output);
        var whole = Weights(Path.Combine(root, "whole"));   // model.safetensors holds the EMA weights
        var resumed = Weights(cut);
        Assert.Equal(whole.Keys.Order(), resumed.Keys.Order());
        foreach (var (name, values) in whole) Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resuming");
        CliProcess.Fails(2, "a generative run has no --workers", "train", "--resume", cut, "--workers", "2");
    }

    [Fact]
    public void ADdpmRunKilledBetweenItsCheckpointAndItsEmaRenameResumesFromThePendingEma()
    {
        // the EMA is written (tagged with its step) before the checkpoint and renamed into place after it: a folder with
        // the checkpoint, the pending EMA of its step and an older ema.safetensors, as a kill between the two leaves it,
        // resumes to the uninterrupted run's weights; a folder with neither EMA of the checkpoint's step is refused
        Requires.FashionMnist();
        var root = CliProcess.TempDir("resume-ddpm-pending");
        string[] args = ["train", "--model", "ddpm", "--limit", "160", "--test-limit", "50", "--epochs", "2", "--batch-size", "16", "--width", "8",
                         "--timesteps", "20", "--steps", "2", "--fid-samples", "10", "--threads", "1", "--checkpoint-every", "10steps"];
        var (code, _, err) = CliProcess.Run([.. args, "--out", "whole"], root, timeoutSeconds: 180);
        Assert.True(code == 0, err);
        // a copy of the finished run's folder stands for the killed one: its checkpoint is at step 20 (the last save), its
        // ema.safetensors of step 20 becomes the pending file, and an EMA of another step takes its place
        string cut = Path.Combine(root, "cut"), whole = Path.Combine(root, "whole");
        Directory.CreateDirectory(cut);
        foreach (var file in Directory.GetFiles(whole)) File.Copy(file, Path.Combine(cut, Path.GetFileName(file)));
        File.Delete(Path.Combine(cut, "model.safetensors"));
        var (emaTensors, emaMeta) = DeepSharp.IO.SafeTensors.LoadWithMetadata(Path.Combine(cut, "ema.safetensors"));
        Assert.Equal("20", emaMeta["deepsharp.step"]);
        File.Move(Path.Combine(cut, "ema.safetensors"), Path.Combine(cut, "ema.pending.safetensors"));
        DeepSharp.IO.SafeTensors.Save(Path.Combine(cut, "ema.safetensors"), emaTensors.ToDictionary(kv => kv.Key, kv => kv.Value.Mul(0.5)),
            new Dictionary<string, string> { ["deepsharp.step"] = "10" });
        File.Copy(Path.Combine(cut, "ema.pending.safetensors"), Path.Combine(root, "ema20.safetensors"));
        var (resumeCode, output, resumeErr) = CliProcess.Run(["train", "--resume", "cut"], root, timeoutSeconds: 180);
        Assert.True(resumeCode == 0, resumeErr);
        Assert.Contains("resuming cut from its checkpoint: step 20", output);
        var expected = Weights(whole);
        var resumed = Weights(cut);
        foreach (var (name, values) in expected) Assert.True(values.AsSpan().SequenceEqual(resumed[name]), $"{name} differs after resuming");

        // no EMA of the checkpoint's step: a clear error naming both files
        File.Delete(Path.Combine(cut, "model.safetensors"));
        File.Delete(Path.Combine(cut, "ema.pending.safetensors"));
        CliProcess.Fails(1, "no EMA weights of that step (ema.safetensors or ema.pending.safetensors)", "train", "--resume", cut);
    }

    [Fact]
    public void ResumeTakesOnlyTheRunsOwnSettings()
    {
        var root = CliProcess.TempDir("resume-bad");
        CliProcess.Fails(2, "only --threads and --workers may go with it (got --lr)", "train", "--resume", root, "--lr", "0.1");
        CliProcess.Fails(1, "no such run folder", "train", "--resume", Path.Combine(root, "missing"));
        CliProcess.Fails(1, "has no run.json", "train", "--resume", root);
        File.WriteAllText(Path.Combine(root, "run.json"), """{"Command":"train","Args":["--model","mlp"]}""");
        CliProcess.Fails(1, "saved no checkpoint.safetensors yet", "train", "--resume", root);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("5minutes")]
    [InlineData("steps")]
    public void ABadCheckpointIntervalIsAUsageError(string value) =>
        CliProcess.Fails(2, "--checkpoint-every must be N (epochs), Nepochs, Nsteps or none", "train", "--model", "mlp", "--checkpoint-every", value);
}
