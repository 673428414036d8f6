using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Distributed;

/// <summary>
/// Calls <see cref="DistributedSampler.SetEpoch"/> before each epoch of a <see cref="Trainer"/> (what Lightning does for
/// a DistributedSampler), with the 0-based epoch as in PyTorch loops (<c>sampler.set_epoch(epoch)</c>).
/// </summary>
public sealed class SetEpochCallback(DistributedSampler sampler) : ICallback
{
    /// <inheritdoc/>
    public void OnEpochBegin(Trainer trainer, int epoch) => sampler.SetEpoch(epoch - 1);
}

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
