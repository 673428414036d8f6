namespace DeepSharp.Optim;

/// <summary>
/// Sets each group's learning rate to its initial rate × factor(progress), where progress (0 to 1) is read from
/// <c>progress</c> at every step: the fraction of a training budget used (steps, epochs or seconds, whichever is
/// furthest; <c>Trainer.BudgetUsed</c>), so the schedule spans the budget in force. PyTorch: a LambdaLR whose lambda
/// reads the training progress instead of counting epochs (Lightning schedules over <c>trainer.estimated_stepping_batches</c>
/// the same way). Step it after every optimizer step.
/// </summary>
public sealed class ProgressLR : LRScheduler
{
    readonly Func<double> progress;
    readonly Func<double, double> factor;

    /// <summary>Creates the schedule: lr = initial_lr × <paramref name="factor"/>(<paramref name="progress"/>()), progress clamped to [0, 1].</summary>
    public ProgressLR(Optimizer optimizer, Func<double> progress, Func<double, double> factor) : base(optimizer)
    {
        ArgumentNullException.ThrowIfNull(progress); ArgumentNullException.ThrowIfNull(factor);
        this.progress = progress; this.factor = factor;
        InitialStep();
    }

    /// <summary>Linear warm-up then cosine decay over the budget (<see cref="WarmupCosineLR.Factor"/>), the language models' schedule.</summary>
    public static ProgressLR WarmupCosine(Optimizer optimizer, Func<double> progress, double warmup = 0.02, double minFactor = 0.1) =>
        new(optimizer, progress, WarmupCosineLR.Factor(warmup, minFactor));

    /// <summary>The progress the last rates were computed at.</summary>
    public double Progress { get; private set; }

    /// <summary>
    /// Recomputes the learning rates for the current progress without counting a step: the trainer calls it when a
    /// run starts or resumes, so a budget changed since the last step takes effect before the next one.
    /// </summary>
    public void Refresh()
    {
        LastEpoch--; StepCount--;
        Step();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group)
    {
        if (groupIndex == 0) Progress = Math.Clamp(progress(), 0, 1);
        return BaseLrs[groupIndex] * factor(Progress);
    }
}
