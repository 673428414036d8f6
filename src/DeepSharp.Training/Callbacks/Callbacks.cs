using System.Globalization;
using DeepSharp.IO;

namespace DeepSharp.Training.Callbacks;

/// <summary>
/// Hooks into <c>Trainer.Fit</c> (keras.callbacks.Callback / Lightning's Callback). Override what you need. A callback
/// sees every batch and every epoch, and stops training by setting <see cref="Trainer.StopTraining"/> (after the current
/// batch when set in a batch hook, after the epoch when set at its end).
/// </summary>
public interface ICallback
{
    /// <summary>Before the first epoch.</summary>
    void OnTrainBegin(Trainer trainer) { }
    /// <summary>Before each epoch (1-based).</summary>
    void OnEpochBegin(Trainer trainer, int epoch) { }
    /// <summary>Before each training batch (1-based within the epoch) (Lightning's on_train_batch_start).</summary>
    void OnBatchBegin(Trainer trainer, int batch) { }
    /// <summary>
    /// After each training batch (Keras's on_train_batch_end), with its logs: "loss" (this batch's; NaN when it was
    /// skipped), the values the step logged, the metrics so far this epoch, "lr" (the learning rate the batch was trained
    /// with) and "examples_per_second" (this epoch's throughput). <see cref="Trainer.GlobalStep"/> tells which optimizer
    /// step it was. The dictionary is reused: copy what you keep.
    /// </summary>
    void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>After each epoch with its logs ("loss", "acc", "val_loss", ...).</summary>
    void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) { }
    /// <summary>After training ends.</summary>
    void OnTrainEnd(Trainer trainer) { }
}

/// <summary>Whether a smaller or a larger monitored value is better.</summary>
public enum MonitorMode
{
    /// <summary>Smaller is better (losses).</summary>
    Min,
    /// <summary>Larger is better (accuracy).</summary>
    Max,
}

/// <summary>Tracks the best value of a monitored log entry.</summary>
public abstract class MonitorCallback(string monitor, MonitorMode mode, double minDelta) : ICallback
{
    /// <summary>The log entry watched, e.g. "val_loss".</summary>
    public string Monitor { get; } = monitor;
    /// <summary>The best value seen.</summary>
    public double Best { get; protected set; } = mode == MonitorMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>True when <paramref name="value"/> beats <see cref="Best"/> by more than the minimum delta.</summary>
    protected bool Improved(double value) => mode == MonitorMode.Min ? value < Best - minDelta : value > Best + minDelta;

    /// <summary>The monitored value in <paramref name="logs"/>, with a clear error if it is missing.</summary>
    protected double Read(IReadOnlyDictionary<string, double> logs) => logs.TryGetValue(Monitor, out var v) ? v
        : throw new InvalidOperationException($"{GetType().Name}: the logs have no '{Monitor}' (available: {string.Join(", ", logs.Keys)}); pass validation data or monitor another value");
}

/// <summary>Stops training when the monitored value stops improving (keras.callbacks.EarlyStopping).</summary>
public sealed class EarlyStopping(string monitor = "val_loss", int patience = 3, MonitorMode mode = MonitorMode.Min, double minDelta = 0, bool restoreBestWeights = false)
    : MonitorCallback(monitor, mode, minDelta), ICallback
{
    int wait;
    Dictionary<string, Tensor>? bestWeights;
    /// <summary>The epoch training was stopped at, or 0.</summary>
    public int StoppedEpoch { get; private set; }

    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        double value = Read(logs);
        if (Improved(value))
        {
            Best = value; wait = 0;
            if (restoreBestWeights) bestWeights = trainer.Model.StateDict().ToDictionary(kv => kv.Key, kv => kv.Value.Clone());
            return;
        }
        if (++wait >= patience)
        {
            trainer.StopTraining = true; StoppedEpoch = epoch;
            trainer.Progress.Message($"early stopping at epoch {epoch}: {Monitor} did not improve for {patience} epochs (best {Best:F4})");
        }
    }

    /// <inheritdoc/>
    public void OnTrainEnd(Trainer trainer)
    {
        if (restoreBestWeights && bestWeights != null) trainer.Model.LoadStateDict(bestWeights);
    }
}

/// <summary>
/// Saves a checkpoint after every epoch (the last) or only when the monitored value improves (the best)
/// (keras.callbacks.ModelCheckpoint). A ".safetensors" path gets the model weights only, loadable by PyTorch; any other
/// extension a full training checkpoint (model, optimizer, scheduler, epoch, RNG).
/// </summary>
public sealed class ModelCheckpoint(string path, string monitor = "val_loss", MonitorMode mode = MonitorMode.Min, bool saveBestOnly = true)
    : MonitorCallback(monitor, mode, 0), ICallback
{
    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (saveBestOnly)
        {
            double value = Read(logs);
            if (!Improved(value)) return;
            Best = value;
        }
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        if (path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase)) SafeTensors.Save(path, trainer.Model.StateDict());
        else trainer.SaveCheckpoint(path);
    }
}

/// <summary>Appends each epoch's logs to a CSV file (keras.callbacks.CSVLogger).</summary>
public sealed class CsvLogger(string path) : ICallback
{
    string[]? columns;
    /// <inheritdoc/>
    public void OnTrainBegin(Trainer trainer) { columns = null; }
    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        bool header = columns == null && (!File.Exists(path) || trainer.History.Count <= 1);
        columns ??= logs.Keys.ToArray();
        var dir = Path.GetDirectoryName(Path.GetFullPath(path));
        if (dir != null) Directory.CreateDirectory(dir);
        using var w = new StreamWriter(path, append: !header);
        if (header) w.WriteLine("epoch," + string.Join(",", columns));
        w.WriteLine(epoch.ToString(CultureInfo.InvariantCulture) + "," +
            string.Join(",", columns.Select(c => logs.TryGetValue(c, out var v) ? v.ToString("R", CultureInfo.InvariantCulture) : "")));
    }
}

/// <summary>Steps a ReduceLROnPlateau scheduler with a monitored value after each epoch.</summary>
public sealed class ReduceLROnPlateauCallback(Optim.ReduceLROnPlateau scheduler, string monitor = "val_loss") : ICallback
{
    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (!logs.TryGetValue(monitor, out var v)) throw new InvalidOperationException($"ReduceLROnPlateauCallback: the logs have no '{monitor}'");
        scheduler.Step(v);
    }
}
