using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Distributed;

/// <summary>
/// Forwards every event to <paramref name="inner"/> on rank 0 only, so checkpoints and logs are written once
/// (Lightning's rank_zero_only). On other ranks the callback does nothing.
/// </summary>
public sealed class RankZeroOnly(ICallback inner, ProcessGroup? group = null) : ICallback
{
    readonly bool main = (group ?? (ProcessGroup.IsInitialized ? ProcessGroup.World : null))?.Rank is null or 0;

    /// <inheritdoc/>
    public void OnTrainBegin(Trainer trainer) { if (main) inner.OnTrainBegin(trainer); }
    /// <inheritdoc/>
    public void OnEpochBegin(Trainer trainer, int epoch) { if (main) inner.OnEpochBegin(trainer, epoch); }
    /// <inheritdoc/>
    public void OnBatchBegin(Trainer trainer, int batch) { if (main) inner.OnBatchBegin(trainer, batch); }
    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs) { if (main) inner.OnBatchEnd(trainer, batch, logs); }
    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs) { if (main) inner.OnEpochEnd(trainer, epoch, logs); }
    /// <inheritdoc/>
    public void OnTrainEnd(Trainer trainer) { if (main) inner.OnTrainEnd(trainer); }
}

/// <summary>
/// Shows progress on rank 0 only (what Lightning's progress bar does under DDP): other ranks report nothing, so a job
/// prints its progress once. The figures are rank 0's own (its share of each batch).
/// </summary>
public sealed class RankZeroProgress(IProgressReporter inner, ProcessGroup? group = null) : IProgressReporter
{
    readonly bool main = (group ?? (ProcessGroup.IsInitialized ? ProcessGroup.World : null))?.Rank is null or 0;

    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches) { if (main) inner.EpochStarted(epoch, epochs, batches); }
    /// <inheritdoc/>
    public void BatchFinished(int batch, IReadOnlyDictionary<string, double> running, double examplesPerSecond) { if (main) inner.BatchFinished(batch, running, examplesPerSecond); }
    /// <inheritdoc/>
    public void EpochFinished(int epoch, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed) { if (main) inner.EpochFinished(epoch, metrics, elapsed); }
    /// <inheritdoc/>
    public void Message(string text) { if (main) inner.Message(text); }
}
