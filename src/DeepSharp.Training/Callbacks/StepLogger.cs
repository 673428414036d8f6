using System.Globalization;

namespace DeepSharp.Training.Callbacks;

/// <summary>
/// Writes a line every <c>every</c> optimizer steps, and one for the last steps when training ends: the step, the
/// training time, the mean loss (and logged values) over those steps, the learning rate and the throughput
/// (Lightning's log_every_n_steps; nanoGPT's log_interval). For runs whose epochs are too long for a line per epoch.
/// </summary>
public sealed class StepLogger(int every, Action<string> write) : ICallback
{
    readonly Dictionary<string, (double Sum, int Count)> interval = new();
    long lastStep;
    double lr = double.NaN, examplesPerSecond;

    /// <inheritdoc/>
    public void OnTrainBegin(Trainer trainer)
    {
        if (every < 1) throw new ArgumentOutOfRangeException(nameof(every), $"StepLogger: every must be at least 1, got {every}");
        ArgumentNullException.ThrowIfNull(write);
        lastStep = trainer.GlobalStep;
        interval.Clear();
    }

    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
    {
        foreach (var (name, value) in logs)
        {
            if (name == "lr") lr = value;
            else if (name == "examples_per_second") examplesPerSecond = value;
            else if (!double.IsNaN(value))
            {
                var (sum, count) = interval.GetValueOrDefault(name);
                interval[name] = (sum + value, count + 1);
            }
        }
        if (trainer.GlobalStep != lastStep && trainer.GlobalStep % every == 0) Write(trainer);
    }

    /// <inheritdoc/>
    public void OnTrainEnd(Trainer trainer)
    {
        if (trainer.GlobalStep != lastStep) Write(trainer);
    }

    void Write(Trainer trainer)
    {
        static string F(double v, string format) => v.ToString(format, CultureInfo.InvariantCulture);
        var values = interval.Select(kv => $"{kv.Key} {F(kv.Value.Sum / kv.Value.Count, "F4")}");
        write($"step {trainer.GlobalStep,6}  {F(trainer.TrainingSeconds, "F1"),7}s  {string.Join("  ", values)}  lr {F(lr, "G3")}  {F(examplesPerSecond, "F0")} ex/s");
        lastStep = trainer.GlobalStep;
        interval.Clear();
    }
}
