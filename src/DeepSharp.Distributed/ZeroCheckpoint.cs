using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Distributed;

/// <summary>
/// <see cref="PeriodicCheckpoint"/> for a run whose optimizer is sharded by a <see cref="ZeroRedundancyOptimizer"/>: add
/// it on every rank (not inside <see cref="RankZeroOnly"/>). When a checkpoint is due, all ranks put the optimizer's whole
/// state together (<see cref="ZeroRedundancyOptimizer.WithWholeState"/>) and rank 0 writes it, so the checkpoint is that
/// of an unsharded run and resumes on any number of ranks, with or without ZeRO.
/// </summary>
public sealed class ZeroCheckpoint(PeriodicCheckpoint checkpoint, ZeroRedundancyOptimizer zero) : ICallback
{
    long lastStep = -1;


    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (checkpoint.EverySteps is long n && trainer.GlobalStep > 0 && trainer.GlobalStep % n == 0 && trainer.GlobalStep != lastStep)
            Save(() => checkpoint.OnBatchEnd(trainer, batch, logs), trainer);
    }

    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        if (checkpoint.EveryEpochs is int n && trainer.Epoch == epoch && epoch % n == 0)
            Save(() => checkpoint.OnEpochEnd(trainer, epoch, logs), trainer);
    }

    void Save(Action save, Trainer trainer)
    {
        lastStep = trainer.GlobalStep;
        zero.WithWholeState(() => { if (zero.Group.IsMain) save(); });
    }
}
