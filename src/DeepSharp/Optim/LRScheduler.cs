using System.Globalization;

namespace DeepSharp.Optim;

/// <summary>
/// Base class of epoch/step-based learning-rate schedulers (torch.optim.lr_scheduler._LRScheduler). A scheduler
/// writes each param group's <see cref="ParamGroup.Lr"/> when it steps; call <see cref="Step"/> after <see cref="Optimizer.Step()"/>. Like
/// PyTorch, construction performs the first step (epoch 0) and sets <see cref="ParamGroup.InitialLr"/> ("initial_lr") on every
/// group that lacks it.
/// Subclasses compute the new lr of one group in <see cref="ComputeLr"/> (PyTorch's chainable get_lr()) and call
/// <see cref="InitialStep"/> at the end of their constructor.
/// </summary>
public abstract class LRScheduler
{
    double[] baseLrs;
    readonly double[] lastLr;
    readonly double[] pending;

    /// <summary>Attaches to <paramref name="optimizer"/>; <paramref name="lastEpoch"/> −1 starts fresh, otherwise resumes (groups then need <see cref="ParamGroup.InitialLr"/>).</summary>
    protected LRScheduler(Optimizer optimizer, int lastEpoch = -1)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        Optimizer = optimizer;
        var groups = optimizer.ParamGroups;
        for (int i = 0; i < groups.Count; i++)
        {
            if (lastEpoch == -1) groups[i].InitialLr ??= groups[i].Lr;
            else if (groups[i].InitialLr is null)
                throw new ArgumentException($"{GetType().Name}: param 'initial_lr' is not specified in param group {i} when resuming (lastEpoch {lastEpoch})", nameof(lastEpoch));
        }
        baseLrs = groups.Select(g => g.InitialLr!.Value).ToArray();
        lastLr = groups.Select(g => g.Lr).ToArray();
        pending = new double[groups.Count];
        LastEpoch = lastEpoch;
    }

    /// <summary>The optimizer whose learning rates this scheduler sets (scheduler.optimizer).</summary>
    public Optimizer Optimizer { get; }

    /// <summary>Index of the last epoch (or step) the schedule was evaluated at (scheduler.last_epoch); 0 right after construction.</summary>
    public int LastEpoch { get; protected internal set; }

    /// <summary>Each group's starting learning rate, its "initial_lr" (scheduler.base_lrs).</summary>
    public IReadOnlyList<double> BaseLrs => baseLrs;

    /// <summary>Number of calls to <see cref="Step"/> including the one made by the constructor (scheduler._step_count).</summary>
    protected internal int StepCount { get; set; }

    /// <summary>The learning rates of the groups as last set by this scheduler (scheduler.get_last_lr()).</summary>
    public IReadOnlyList<double> GetLastLr() => lastLr;

    /// <summary>Re-reads "initial_lr" from the groups into <see cref="BaseLrs"/> (for schedulers that set it themselves).</summary>
    protected void RefreshBaseLrs() => baseLrs = Optimizer.ParamGroups.Select(g => g.InitialLr!.Value).ToArray();

    /// <summary>Overwrites the values <see cref="GetLastLr"/> reports (for schedulers that delegate to others).</summary>
    protected void SetLastLr(IReadOnlyList<double> values)
    {
        for (int i = 0; i < lastLr.Length; i++) lastLr[i] = values[i];
    }

    /// <summary>Resets the step count and performs the first step (PyTorch's _initial_step); call it last in a subclass constructor.</summary>
    protected internal virtual void InitialStep()
    {
        StepCount = 0;
        Step();
    }

    /// <summary>Advances the schedule by one epoch (or step) and writes the new learning rates into the groups (scheduler.step()).</summary>
    public virtual void Step()
    {
        StepCount++;
        LastEpoch++;
        Apply(closedForm: false);
    }

    /// <summary>Jumps to <paramref name="epoch"/> using the closed form where there is one (PyTorch's deprecated step(epoch), used by SequentialLR).</summary>
    internal void StepTo(int epoch)
    {
        StepCount++;
        LastEpoch = epoch;
        Apply(closedForm: true);
    }

    void Apply(bool closedForm)
    {
        var groups = Optimizer.ParamGroups;
        if (groups.Count != pending.Length)
            throw new InvalidOperationException($"{GetType().Name}: the optimizer has {groups.Count} param groups but the scheduler was created for {pending.Length}");
        for (int i = 0; i < groups.Count; i++)
            pending[i] = closedForm && ClosedFormLr(i) is { } v ? v : ComputeLr(i, groups[i]);
        for (int i = 0; i < groups.Count; i++)
        {
            groups[i].Lr = pending[i];
            lastLr[i] = pending[i];
        }
    }

    /// <summary>
    /// The learning rate of group <paramref name="groupIndex"/> at <see cref="LastEpoch"/>, from the group's current
    /// lr or from <see cref="BaseLrs"/> (PyTorch's get_lr(), one group at a time).
    /// </summary>
    protected abstract double ComputeLr(int groupIndex, ParamGroup group);

    /// <summary>The closed-form learning rate at <see cref="LastEpoch"/> (PyTorch's _get_closed_form_lr), or null when there is none.</summary>
    protected virtual double? ClosedFormLr(int groupIndex) => null;

    /// <summary>
    /// The scheduler's state (scheduler.state_dict()) as plain values: "last_epoch", "step_count", "base_lrs.{i}",
    /// "last_lr.{i}" plus any subclass state. Hyperparameters are not included; they come from the constructor.
    /// </summary>
    public virtual Dictionary<string, double> StateDict()
    {
        var d = new Dictionary<string, double> { ["last_epoch"] = LastEpoch, ["step_count"] = StepCount };
        for (int i = 0; i < baseLrs.Length; i++) { d[$"base_lrs.{i}"] = baseLrs[i]; d[$"last_lr.{i}"] = lastLr[i]; }
        return d;
    }

    /// <summary>Restores a state taken with <see cref="StateDict"/> (scheduler.load_state_dict()).</summary>
    public virtual void LoadStateDict(IReadOnlyDictionary<string, double> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        LastEpoch = (int)Read(stateDict, "last_epoch");
        StepCount = (int)Read(stateDict, "step_count");
        for (int i = 0; i < baseLrs.Length; i++)
        {
            baseLrs[i] = Read(stateDict, $"base_lrs.{i}");
            lastLr[i] = Read(stateDict, $"last_lr.{i}");
        }
    }

    /// <summary>Reads one key of a scheduler state dict, with a clear error when it is missing.</summary>
    protected double Read(IReadOnlyDictionary<string, double> stateDict, string key) =>
        stateDict.TryGetValue(key, out var v) ? v
            : throw new ArgumentException($"{GetType().Name}.LoadStateDict: the state dict has no '{key}' (keys: {string.Join(", ", stateDict.Keys)})", nameof(stateDict));

    internal static string Fmt(double v) => v.ToString(CultureInfo.InvariantCulture);
}
