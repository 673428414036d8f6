namespace DeepSharp.Optim;

/// <summary>
/// Runs several schedulers one after another, switching at the given milestones (torch.optim.lr_scheduler.SequentialLR,
/// same semantics: at a milestone the next scheduler restarts from its epoch 0, closed form). All schedulers must
/// drive the same optimizer; construct them first, then this.
/// </summary>
public sealed class SequentialLR : LRScheduler
{
    readonly LRScheduler[] schedulers;
    readonly int[] milestones;

    /// <summary>Creates the sequence (SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)).</summary>
    public SequentialLR(Optimizer optimizer, IReadOnlyList<LRScheduler> schedulers, IReadOnlyList<int> milestones, int lastEpoch = -1)
        : base(optimizer, lastEpoch)
    {
        ArgumentNullException.ThrowIfNull(schedulers);
        ArgumentNullException.ThrowIfNull(milestones);
        if (schedulers.Count == 0) throw new ArgumentException("SequentialLR: at least one scheduler is needed", nameof(schedulers));
        for (int i = 0; i < schedulers.Count; i++)
            if (!ReferenceEquals(schedulers[i].Optimizer, optimizer))
                throw new ArgumentException($"SequentialLR: expects all schedulers to belong to the same optimizer, but scheduler {i} drives a different one", nameof(schedulers));
        if (milestones.Count != schedulers.Count - 1)
            throw new ArgumentException($"SequentialLR: expects one milestone fewer than schedulers, but got {schedulers.Count} schedulers and {milestones.Count} milestones", nameof(milestones));
        for (int i = 1; i < milestones.Count; i++)
            if (milestones[i] < milestones[i - 1]) throw new ArgumentException("SequentialLR: milestones must be in increasing order", nameof(milestones));
        this.schedulers = schedulers.ToArray();
        this.milestones = milestones.ToArray();
        LastEpoch = lastEpoch + 1;
        foreach (var group in optimizer.ParamGroups) group.Lr = group.InitialLr!.Value;
        foreach (var s in this.schedulers) s.LastEpoch -= 1;
        this.schedulers[0].InitialStep();
        SetLastLr(this.schedulers[0].GetLastLr());
    }

    /// <summary>The schedulers in order.</summary>
    public IReadOnlyList<LRScheduler> Schedulers => schedulers;

    /// <inheritdoc/>
    public override void Step()
    {
        LastEpoch++;
        int index = milestones.Count(m => m <= LastEpoch);
        var scheduler = schedulers[index];
        if (index > 0 && milestones[index - 1] == LastEpoch) scheduler.StepTo(0);
        else scheduler.Step();
        SetLastLr(scheduler.GetLastLr());
    }

    /// <inheritdoc/>
    protected override double ComputeLr(int groupIndex, ParamGroup group) => group.Lr;

    /// <inheritdoc/>
    public override Dictionary<string, double> StateDict()
    {
        var d = base.StateDict();
        for (int i = 0; i < schedulers.Length; i++)
            foreach (var (k, v) in schedulers[i].StateDict()) d[$"schedulers.{i}.{k}"] = v;
        return d;
    }

    /// <inheritdoc/>
    public override void LoadStateDict(IReadOnlyDictionary<string, double> stateDict)
    {
        base.LoadStateDict(stateDict);
        for (int i = 0; i < schedulers.Length; i++)
        {
            string prefix = $"schedulers.{i}.";
            schedulers[i].LoadStateDict(stateDict.Where(kv => kv.Key.StartsWith(prefix, StringComparison.Ordinal))
                .ToDictionary(kv => kv.Key[prefix.Length..], kv => kv.Value));
        }
    }
}
