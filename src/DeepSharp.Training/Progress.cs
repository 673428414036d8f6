using System.Diagnostics;

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
/// Picks the live display (<see cref="LiveProgress"/>: one line redrawn in place) when the output is an interactive
/// terminal and plain periodic lines (<see cref="PlainProgress"/>) otherwise (CI logs, files, pipes).
/// </summary>
public static class Progress
{
    /// <summary>
    /// The reporter suited to the console: live when <paramref name="output"/> is null (the console), standard output is a
    /// terminal, TERM is not "dumb" and CI is not set; plain lines on <paramref name="output"/> (or standard output) otherwise.
    /// </summary>
    public static IProgressReporter ForConsole(TextWriter? output = null)
    {
        bool interactive = output == null && !Console.IsOutputRedirected && Environment.GetEnvironmentVariable("TERM") != "dumb"
            && Environment.GetEnvironmentVariable("CI") == null;
        return interactive ? new LiveProgress() : new PlainProgress(output ?? Console.Out);
    }

    /// <summary>
    /// Clears the live progress line if one is on screen, so an error message that follows starts on a clean line (the
    /// command line calls it before printing a failure).
    /// </summary>
    public static void EndLiveLine() => LiveProgress.Active?.ClearLine();

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
