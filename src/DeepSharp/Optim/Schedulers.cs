namespace DeepSharp.Optim;

/// <summary>Decays each group's lr by <c>gamma</c> every <c>stepSize</c> epochs (torch.optim.lr_scheduler.StepLR).</summary>
public sealed class StepLR : LRScheduler
{
    readonly int stepSize;
    readonly double gamma;

    /// <summary>Creates the schedule (StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)).</summary>
    public StepLR(Optimizer optimizer, int stepSize, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (stepSize <= 0) throw new ArgumentOutOfRangeException(nameof(stepSize), stepSize, "StepLR: stepSize must be positive");
        this.stepSize = stepSize; this.gamma = gamma;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group) =>
        LastEpoch == 0 || LastEpoch % stepSize != 0 ? group.Lr : group.Lr * gamma;

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex) => BaseLrs[groupIndex] * Math.Pow(gamma, Math.Floor((double)LastEpoch / stepSize));
}

/// <summary>Decays each group's lr by <c>gamma</c> at every milestone epoch (torch.optim.lr_scheduler.MultiStepLR); a repeated milestone decays once per repetition.</summary>
public sealed class MultiStepLR : LRScheduler
{
    readonly int[] milestones;   // sorted, with repetitions
    readonly double gamma;

    /// <summary>Creates the schedule (MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)).</summary>
    public MultiStepLR(Optimizer optimizer, IEnumerable<int> milestones, double gamma = 0.1, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(milestones);
        this.milestones = milestones.Order().ToArray();
        this.gamma = gamma;
        InitialStep();
    }

    int Count(int epoch) { int c = 0; foreach (var m in milestones) if (m == epoch) c++; return c; }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group)
    {
        int count = Count(LastEpoch);
        return count == 0 ? group.Lr : group.Lr * Math.Pow(gamma, count);
    }

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex) => BaseLrs[groupIndex] * Math.Pow(gamma, milestones.Count(m => m <= LastEpoch));
}

/// <summary>Multiplies each group's lr by <c>gamma</c> every epoch (torch.optim.lr_scheduler.ExponentialLR).</summary>
public sealed class ExponentialLR : LRScheduler
{
    readonly double gamma;

    /// <summary>Creates the schedule (ExponentialLR(optimizer, gamma, last_epoch=-1)).</summary>
    public ExponentialLR(Optimizer optimizer, double gamma, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        this.gamma = gamma;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group) => LastEpoch == 0 ? group.Lr : group.Lr * gamma;

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex) => BaseLrs[groupIndex] * Math.Pow(gamma, LastEpoch);
}

/// <summary>
/// Cosine annealing from each group's initial lr down to <c>etaMin</c> over <c>tMax</c> epochs, then back up
/// (torch.optim.lr_scheduler.CosineAnnealingLR, the same recursive form, so values match PyTorch's).
/// </summary>
public sealed class CosineAnnealingLR : LRScheduler
{
    readonly int tMax;
    readonly double etaMin;

    /// <summary>Creates the schedule (CosineAnnealingLR(optimizer, T_max, eta_min=0, last_epoch=-1)).</summary>
    public CosineAnnealingLR(Optimizer optimizer, int tMax, double etaMin = 0, int lastEpoch = -1) : base(optimizer, lastEpoch)
    {
        if (tMax <= 0) throw new ArgumentOutOfRangeException(nameof(tMax), tMax, "CosineAnnealingLR: tMax must be positive");
        this.tMax = tMax; this.etaMin = etaMin;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group)
    {
        double lr = group.Lr, baseLr = BaseLrs[groupIndex];
        if (LastEpoch == 0) return lr;
        if (StepCount == 1 && LastEpoch > 0)
            return etaMin + (baseLr - etaMin) * (1 + Math.Cos(LastEpoch * Math.PI / tMax)) / 2;
        if ((LastEpoch - 1 - tMax) % (2 * tMax) == 0)
            return lr + (baseLr - etaMin) * (1 - Math.Cos(Math.PI / tMax)) / 2;
        return (1 + Math.Cos(Math.PI * LastEpoch / tMax)) / (1 + Math.Cos(Math.PI * (LastEpoch - 1) / tMax)) * (lr - etaMin) + etaMin;
    }

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex) =>
        etaMin + (BaseLrs[groupIndex] - etaMin) * (1 + Math.Cos(Math.PI * LastEpoch / tMax)) / 2;
}

/// <summary>
/// Scales each group's lr by a factor moving linearly from <c>startFactor</c> to <c>endFactor</c> over
/// <c>totalIters</c> epochs, then holds it (torch.optim.lr_scheduler.LinearLR, same recursive form).
/// </summary>
public sealed class LinearLR : LRScheduler
{
    readonly double startFactor, endFactor;
    readonly int totalIters;

    /// <summary>Creates the schedule (LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1)).</summary>
    public LinearLR(Optimizer optimizer, double startFactor = 1.0 / 3, double endFactor = 1.0, int totalIters = 5, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (startFactor > 1 || startFactor <= 0)
            throw new ArgumentOutOfRangeException(nameof(startFactor), startFactor, "LinearLR: startFactor must be in (0, 1]");
        if (endFactor > 1 || endFactor < 0)
            throw new ArgumentOutOfRangeException(nameof(endFactor), endFactor, "LinearLR: endFactor must be in [0, 1]");
        if (totalIters <= 0) throw new ArgumentOutOfRangeException(nameof(totalIters), totalIters, "LinearLR: totalIters must be positive");
        this.startFactor = startFactor; this.endFactor = endFactor; this.totalIters = totalIters;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group)
    {
        double lr = group.Lr;
        if (LastEpoch == 0) return lr * startFactor;
        if (LastEpoch > totalIters) return lr;
        return lr * (1.0 + (endFactor - startFactor) / (totalIters * startFactor + (LastEpoch - 1) * (endFactor - startFactor)));
    }

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex) =>
        BaseLrs[groupIndex] * (startFactor + (endFactor - startFactor) * Math.Min(totalIters, LastEpoch) / totalIters);
}

/// <summary>
/// Linear warm-up followed by cosine decay, the usual transformer schedule (PyTorch:
/// SequentialLR([LinearLR(start_factor, 1.0, warmup), CosineAnnealingLR(total − warmup, min_lr)], [warmup]);
/// Hugging Face: get_cosine_schedule_with_warmup when minLr and warmupStartFactor are 0). At step e:
/// e ≤ warmupSteps: lr = base·(s + (1 − s)·e / warmupSteps); warmupSteps &lt; e &lt; totalSteps:
/// lr = minLr + (base − minLr)·(1 + cos(π·(e − warmupSteps) / (totalSteps − warmupSteps))) / 2; after totalSteps: minLr.
/// </summary>
public sealed class WarmupCosineLR : LRScheduler
{
    readonly int warmupSteps, totalSteps;
    readonly double minLr, warmupStartFactor;

    /// <summary>Creates the schedule; steps count optimizer steps (call <see cref="LRScheduler.Step"/> once per batch).</summary>
    public WarmupCosineLR(Optimizer optimizer, int warmupSteps, int totalSteps, double minLr = 0, double warmupStartFactor = 0, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        if (warmupSteps < 0) throw new ArgumentOutOfRangeException(nameof(warmupSteps), warmupSteps, "WarmupCosineLR: warmupSteps must be >= 0");
        if (totalSteps <= warmupSteps)
            throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, $"WarmupCosineLR: totalSteps ({totalSteps}) must exceed warmupSteps ({warmupSteps})");
        if (warmupStartFactor < 0 || warmupStartFactor > 1)
            throw new ArgumentOutOfRangeException(nameof(warmupStartFactor), warmupStartFactor, "WarmupCosineLR: warmupStartFactor must be in [0, 1]");
        this.warmupSteps = warmupSteps; this.totalSteps = totalSteps; this.minLr = minLr; this.warmupStartFactor = warmupStartFactor;
        InitialStep();
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group) => ClosedFormLr(groupIndex)!.Value;

    /// <inheritdoc/>
    protected override double? ClosedFormLr(int groupIndex)
    {
        double baseLr = BaseLrs[groupIndex];
        int e = LastEpoch;
        if (e < warmupSteps) return baseLr * (warmupStartFactor + (1 - warmupStartFactor) * e / warmupSteps);
        if (e >= totalSteps) return minLr;
        return minLr + (baseLr - minLr) * (1 + Math.Cos(Math.PI * (e - warmupSteps) / (totalSteps - warmupSteps))) / 2;
    }
}
