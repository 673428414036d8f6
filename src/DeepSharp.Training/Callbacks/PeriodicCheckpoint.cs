namespace DeepSharp.Training.Callbacks;

/// <summary>
/// Saves a resumable checkpoint (<see cref="Trainer.SaveCheckpoint"/>: model, optimizers, scheduler, random state and the
/// loop's position) to one file every <see cref="EverySteps"/> optimizer steps and/or every <see cref="EveryEpochs"/>
/// epochs, replacing the previous one atomically (Lightning's ModelCheckpoint(every_n_train_steps=...,
/// every_n_epochs=..., save_last=True)). <c>trainer.LoadCheckpoint(path)</c> followed by the same <c>Fit</c> continues the
/// run with the weights an uninterrupted run would have reached.
/// </summary>
public sealed class PeriodicCheckpoint : ICallback
{
    /// <summary>Saves to <paramref name="path"/> every <paramref name="everySteps"/> steps and/or every <paramref name="everyEpochs"/> epochs (null: not on that count).</summary>
    public PeriodicCheckpoint(string path, long? everySteps = null, int? everyEpochs = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (everySteps is < 1) throw new ArgumentOutOfRangeException(nameof(everySteps), $"PeriodicCheckpoint: everySteps must be at least 1, got {everySteps}");
        if (everyEpochs is < 1) throw new ArgumentOutOfRangeException(nameof(everyEpochs), $"PeriodicCheckpoint: everyEpochs must be at least 1, got {everyEpochs}");
        if (everySteps == null && everyEpochs == null) throw new ArgumentException("PeriodicCheckpoint: give everySteps, everyEpochs or both", nameof(everySteps));
        Path = path; EverySteps = everySteps; EveryEpochs = everyEpochs;
    }

    /// <summary>The checkpoint file.</summary>
    public string Path { get; }
    /// <summary>Optimizer steps between saves (Lightning's every_n_train_steps), or null.</summary>
    public long? EverySteps { get; }
    /// <summary>Epochs between saves (Lightning's every_n_epochs), or null.</summary>
    public int? EveryEpochs { get; }
    /// <summary>The step of the last save, or −1 before the first.</summary>
    public long LastSavedStep { get; private set; } = -1;

    /// <summary>Called with the trainer just before each checkpoint is written: state that lives outside the trainer (an
    /// EMA copy of the weights, say) can be made durable first, so that a checkpoint never exists without it.</summary>
    public Action<Trainer>? BeforeSave { get; set; }

    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
    {
        if (EverySteps is long n && trainer.GlobalStep > 0 && trainer.GlobalStep % n == 0 && trainer.GlobalStep != LastSavedStep) Save(trainer);
    }

    /// <inheritdoc/>
    public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
    {
        // an epoch cut short by the budget is not complete (trainer.Epoch did not advance): its end saves nothing here
        if (EveryEpochs is int n && trainer.Epoch == epoch && epoch % n == 0) Save(trainer);
    }

    void Save(Trainer trainer)
    {
        BeforeSave?.Invoke(trainer);
        trainer.SaveCheckpoint(Path);
        LastSavedStep = trainer.GlobalStep;
    }
}
