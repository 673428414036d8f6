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
/// Group values set: <see cref="ParamGroup.InitialLr"/>, <see cref="ParamGroup.MaxLr"/>, <see cref="ParamGroup.MinLr"/>,
/// and with cycleMomentum <see cref="ParamGroup.MaxMomentum"/>, <see cref="ParamGroup.BaseMomentum"/>.
/// </summary>
public sealed class OneCycleLR : LRScheduler
{
    enum Point { InitialLr, MaxLr, MinLr, MaxMomentum, BaseMomentum }

    readonly record struct Phase(double EndStep, Point StartLr, Point EndLr, Point StartMomentum, Point EndMomentum);

    readonly int totalSteps;
    readonly Phase[] phases;
    readonly AnnealStrategy annealStrategy;
    readonly bool cycleMomentum;

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
            ? [new(pctStart * totalSteps - 1, Point.InitialLr, Point.MaxLr, Point.MaxMomentum, Point.BaseMomentum),
               new(2 * pctStart * totalSteps - 2, Point.MaxLr, Point.InitialLr, Point.BaseMomentum, Point.MaxMomentum),
               new(totalSteps - 1, Point.InitialLr, Point.MinLr, Point.MaxMomentum, Point.MaxMomentum)]
            : [new(pctStart * totalSteps - 1, Point.InitialLr, Point.MaxLr, Point.MaxMomentum, Point.BaseMomentum),
               new(totalSteps - 1, Point.MaxLr, Point.MinLr, Point.BaseMomentum, Point.MaxMomentum)];
        if (lastEpoch == -1)
            for (int i = 0; i < groups.Count; i++)
            {
                groups[i].InitialLr = maxLrs[i] / divFactor;
                groups[i].MaxLr = maxLrs[i];
                groups[i].MinLr = groups[i].InitialLr / finalDivFactor;
            }
        if (cycleMomentum)
        {
            if (Momentum(optimizer.Defaults) is null)
                throw new ArgumentException($"OneCycleLR: optimizer {optimizer.GetType().Name} has no momentum or betas; pass cycleMomentum: false", nameof(optimizer));
            if (lastEpoch == -1)
                foreach (var group in groups)
                {
                    SetMomentum(group, maxMomentum);
                    group.MaxMomentum = maxMomentum;
                    group.BaseMomentum = baseMomentum;
                }
        }
        RefreshBaseLrs();
        InitialStep();
    }

    /// <summary>The option that cycles: SGD's and RMSprop's momentum, Adam's and AdamW's beta1; null for other optimizers.</summary>
    static double? Momentum(OptimizerOptions options) => options switch
    {
        AdamOptions adam => adam.Betas.Beta1,
        SgdOptions sgd => sgd.Momentum,
        RMSpropOptions rmsprop => rmsprop.Momentum,
        _ => null,
    };

    static void SetMomentum(ParamGroup group, double momentum) => group.Options = group.Options switch
    {
        AdamOptions adam => adam with { Betas = (momentum, adam.Betas.Beta2) },
        SgdOptions sgd => sgd with { Momentum = momentum },
        RMSpropOptions rmsprop => rmsprop with { Momentum = momentum },
        var other => throw new InvalidOperationException($"OneCycleLR: {other.GetType().Name} has no momentum or betas to cycle"),
    };

    static double Value(ParamGroup group, Point point) => (point switch
    {
        Point.InitialLr => group.InitialLr,
        Point.MaxLr => group.MaxLr,
        Point.MinLr => group.MinLr,
        Point.MaxMomentum => group.MaxMomentum,
        _ => group.BaseMomentum,
    }) ?? throw new InvalidOperationException($"OneCycleLR: the param group has no {point} (resuming with lastEpoch needs the optimizer state saved with the schedule)");

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
                lr = Anneal(Value(group, phase.StartLr), Value(group, phase.EndLr), pct);
                if (cycleMomentum) momentum = Anneal(Value(group, phase.StartMomentum), Value(group, phase.EndMomentum), pct);
                break;
            }
            startStep = phase.EndStep;
        }
        if (cycleMomentum) SetMomentum(group, momentum);
        return lr;
    }
}
