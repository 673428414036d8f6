namespace DeepSharp.Optim;

/// <summary>How <see cref="OneCycleLR"/> moves between its phase end points (PyTorch's anneal_strategy).</summary>
public enum AnnealStrategy
{
    /// <summary>Cosine annealing ("cos").</summary>
    Cos,
    /// <summary>Linear annealing ("linear").</summary>
    Linear,
}

/// <summary>
/// The 1cycle policy (torch.optim.lr_scheduler.OneCycleLR): the lr rises from maxLr / divFactor to maxLr over the
/// first pctStart of <c>totalSteps</c>, then falls to initial_lr / finalDivFactor (with threePhase, it first falls back
/// to the initial lr, then to the minimum). With cycleMomentum the momentum (SGD, RMSprop) or beta1 (Adam, AdamW) moves
/// inversely between maxMomentum and baseMomentum. Step it once per batch; stepping past totalSteps throws.
/// Group keys set: "initial_lr", "max_lr", "min_lr", and with cycleMomentum "max_momentum", "base_momentum".
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    readonly record struct Phase(double EndStep, string StartLr, string EndLr, string StartMomentum, string EndMomentum);

    readonly int totalSteps;
    readonly Phase[] phases;
    readonly AnnealStrategy annealStrategy;
    readonly bool cycleMomentum;
    readonly string momentumKey = "momentum";

    /// <summary>Creates the schedule with one maximum lr for every group (OneCycleLR(optimizer, max_lr, total_steps, ...)).</summary>
    public OneCycleLR(Optimizer optimizer, double maxLr, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25.0,
        double finalDivFactor = 1e4, bool threePhase = false, int lastEpoch = -1)
        : this(optimizer, Enumerable.Repeat(maxLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), totalSteps, pctStart, annealStrategy,
            cycleMomentum, baseMomentum, maxMomentum, divFactor, finalDivFactor, threePhase, lastEpoch) { }

    /// <summary>Creates the schedule with one maximum lr per param group (max_lr given as a list).</summary>
    public OneCycleLR(Optimizer optimizer, IReadOnlyList<double> maxLrs, int totalSteps, double pctStart = 0.3, AnnealStrategy annealStrategy = AnnealStrategy.Cos,
        bool cycleMomentum = true, double baseMomentum = 0.85, double maxMomentum = 0.95, double divFactor = 25.0,
        double finalDivFactor = 1e4, bool threePhase = false, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(maxLrs);
        if (totalSteps <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), totalSteps, "OneCycleLR: expected a positive totalSteps");
        if (pctStart < 0 || pctStart > 1) throw new ArgumentOutOfRangeException(nameof(pctStart), pctStart, "OneCycleLR: expected pctStart between 0 and 1");
        var groups = optimizer.ParamGroups;
        if (maxLrs.Count != groups.Count)
            throw new ArgumentException($"OneCycleLR: expected {groups.Count} values for maxLrs (one per param group), got {maxLrs.Count}", nameof(maxLrs));
        this.totalSteps = totalSteps;
        this.annealStrategy = annealStrategy;
        this.cycleMomentum = cycleMomentum;
        phases = threePhase
            ? [new(pctStart * totalSteps - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
               new(2 * pctStart * totalSteps - 2, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
               new(totalSteps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
            : [new(pctStart * totalSteps - 1, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
               new(totalSteps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")];
        if (lastEpoch == -1)
            for (int i = 0; i < groups.Count; i++)
            {
                groups[i]["initial_lr"] = maxLrs[i] / divFactor;
                groups[i]["max_lr"] = maxLrs[i];
                groups[i]["min_lr"] = groups[i]["initial_lr"] / finalDivFactor;
            }
        if (cycleMomentum)
        {
            if (optimizer.Defaults.ContainsKey("beta1")) momentumKey = "beta1";
            else if (!optimizer.Defaults.ContainsKey("momentum"))
                throw new ArgumentException($"OneCycleLR: optimizer {optimizer.GetType().Name} has no momentum or betas; pass cycleMomentum: false", nameof(optimizer));
            if (lastEpoch == -1)
                foreach (var group in groups)
                {
                    group[momentumKey] = maxMomentum;
                    group["max_momentum"] = maxMomentum;
                    group["base_momentum"] = baseMomentum;
                }
        }
        RefreshBaseLrs();
        InitialStep();
    }

    double Anneal(double start, double end, double pct) => annealStrategy == AnnealStrategy.Cos
        ? end + (start - end) / 2.0 * (Math.Cos(Math.PI * pct) + 1)
        : (end - start) * pct + start;

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group)
    {
        int stepNum = LastEpoch;
        if (stepNum > totalSteps)
            throw new InvalidOperationException($"OneCycleLR: tried to step {stepNum + 1} times; the specified number of total steps is {totalSteps}");
        double startStep = 0, lr = 0, momentum = 0;
        for (int i = 0; i < phases.Length; i++)
        {
            var phase = phases[i];
            if (stepNum <= phase.EndStep || i == phases.Length - 1)
            {
                double pct = (stepNum - startStep) / (phase.EndStep - startStep);
                lr = Anneal(group[phase.StartLr], group[phase.EndLr], pct);
                if (cycleMomentum) momentum = Anneal(group[phase.StartMomentum], group[phase.EndMomentum], pct);
                break;
            }
            startStep = phase.EndStep;
        }
        if (cycleMomentum) group[momentumKey] = momentum;
        return lr;
    }
}
