using System.Diagnostics;
using Spectre.Console;

namespace DeepSharp.Training;

/// <summary>
/// Receives training progress (the Keras progress bar / Lightning's progress callback). The trainer reports every batch;
/// implementations decide how often to draw.
/// </summary>
public interface IProgressReporter
{
    /// <summary>An epoch starts; <paramref name="batches"/> batches follow.</summary>
    void EpochStarted(int epoch, int epochs, int batches);
    /// <summary>A training batch finished, with the running metrics of the epoch and examples per second.</summary>
    void BatchFinished(int batch, IReadOnlyDictionary<string, double> running, double examplesPerSecond);
    /// <summary>An epoch finished, with its training and validation metrics.</summary>
    void EpochFinished(int epoch, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed);
    /// <summary>A free-form message (early stopping, checkpoint saved, ...).</summary>
    void Message(string text);
}

/// <summary>
/// Picks the live Spectre.Console display when the output is an interactive terminal and plain lines otherwise
/// (CI logs, files, pipes).
/// </summary>
public static class Progress
{
    /// <summary>The reporter suited to the current console.</summary>
    public static IProgressReporter ForConsole(TextWriter? output = null)
    {
        bool interactive = output == null && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive
            && Environment.GetEnvironmentVariable("CI") == null;
        return interactive ? new LiveProgress() : new PlainProgress(output ?? Console.Out);
    }

    /// <summary>"3/10", or "3" when the number of epochs is not known (0: a time budget).</summary>
    internal static string Epoch(int epoch, int epochs) => epochs > 0 ? $"{epoch}/{epochs}" : $"{epoch}";

    internal static string Format(IReadOnlyDictionary<string, double> metrics) =>
        string.Join("  ", metrics.Select(kv => $"{kv.Key} {kv.Value:F4}"));
}

/// <summary>Plain-text progress: a line every ~10% of an epoch and a summary line per epoch.</summary>
public sealed class PlainProgress(TextWriter output) : IProgressReporter
{
    int epoch, epochs, batches, nextReport;
    readonly Stopwatch clock = new();

    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches)
    {
        this.epoch = epoch; this.epochs = epochs; this.batches = batches; nextReport = Math.Max(1, batches / 10);
        clock.Restart();
    }

    /// <inheritdoc/>
    public void BatchFinished(int batch, IReadOnlyDictionary<string, double> running, double examplesPerSecond)
    {
        if (batch < nextReport || batch == batches) return;
        nextReport += Math.Max(1, batches / 10);
        double eta = batch == 0 ? 0 : clock.Elapsed.TotalSeconds / batch * (batches - batch);
        output.WriteLine($"epoch {Progress.Epoch(epoch, epochs)}  batch {batch}/{batches}  {Progress.Format(running)}  {examplesPerSecond:F0} ex/s  eta {eta:F0}s");
    }

    /// <inheritdoc/>
    public void EpochFinished(int epoch, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed) =>
        output.WriteLine($"epoch {Progress.Epoch(epoch, epochs)}  {Progress.Format(metrics)}  ({elapsed.TotalSeconds:F1}s)");

    /// <inheritdoc/>
    public void Message(string text) => output.WriteLine(text);
}

/// <summary>A live Spectre.Console bar: epoch, batch, loss and metrics, throughput and ETA.</summary>
public sealed class LiveProgress : IProgressReporter
{
    int epoch, epochs, batches;
    readonly Stopwatch clock = new();
    long lastDraw;

    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches)
    {
        this.epoch = epoch; this.epochs = epochs; this.batches = batches; clock.Restart(); lastDraw = 0;
    }

    /// <inheritdoc/>
    public void BatchFinished(int batch, IReadOnlyDictionary<string, double> running, double examplesPerSecond)
    {
        long now = clock.ElapsedMilliseconds;
        if (now - lastDraw < 100 && batch != batches) return;
        lastDraw = now;
        int width = 30, filled = batches == 0 ? width : (int)((long)width * batch / batches);
        double eta = batch == 0 ? 0 : clock.Elapsed.TotalSeconds / batch * (batches - batch);
        var bar = new string('━', filled) + new string('─', width - filled);
        var line = $"\r[bold]epoch {Progress.Epoch(epoch, epochs)}[/] [green]{bar}[/] {batch}/{batches}  {Markup.Escape(Progress.Format(running))}  {examplesPerSecond:F0} ex/s  eta {eta:F0}s ";
        AnsiConsole.Markup(line);
    }

    /// <inheritdoc/>
    public void EpochFinished(int epoch, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed)
    {
        AnsiConsole.Markup("\r" + new string(' ', Math.Max(0, Console.WindowWidth - 1)) + "\r");
        AnsiConsole.MarkupLine($"[bold]epoch {Progress.Epoch(epoch, epochs)}[/]  {Markup.Escape(Progress.Format(metrics))}  [grey]({elapsed.TotalSeconds:F1}s)[/]");
    }

    /// <inheritdoc/>
    public void Message(string text) => AnsiConsole.MarkupLine(Markup.Escape(text));
}
