namespace DeepSharp.Optim;

/// <summary>
/// A group of parameters that share hyperparameters (one entry of torch.optim.Optimizer.param_groups).
/// <see cref="Options"/> holds the group's typed hyperparameters, the optimizer's options record
/// (<see cref="AdamOptions"/>, <see cref="SgdOptions"/> ...). A group created without options takes the optimizer's
/// defaults when the optimizer adds it; a group created with options keeps them whole (build them from the defaults
/// with <c>with</c> to change only some). <see cref="Lr"/> may be set before the group is added, to give it its own
/// learning rate over either (<c>new ParamGroup(backbone.Parameters()) { Lr = 1e-4 }</c>), and afterwards, as
/// schedulers do. LR schedulers keep their per-group values here too (<see cref="InitialLr"/>, <see cref="MaxLr"/> ...),
/// as PyTorch keeps "initial_lr", "max_lr" ... in the group dict.
/// </summary>
public sealed class ParamGroup
{
    internal readonly List<Tensor> ParamList;
    OptimizerOptions? options;
    double? pendingLr;
    Optimizer? owner;
    int ownerIndex;

    /// <summary>
    /// Creates a group over <paramref name="parameters"/> (the "params" entry of a PyTorch param group dict) with its
    /// own <paramref name="options"/>, or the optimizer's defaults when null.
    /// </summary>
    public ParamGroup(IEnumerable<Tensor> parameters, OptimizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ParamList = parameters.ToList();
        this.options = options;
    }

    /// <summary>The parameters of this group, in order (param_group["params"]).</summary>
    public IReadOnlyList<Tensor> Params => ParamList;

    /// <summary>
    /// The group's hyperparameters (the param group dict without "params"). Setting it on a group that an optimizer
    /// holds checks the record's type and values first (ArgumentException naming the argument). Reading it before the
    /// group was added to an optimizer or given options throws InvalidOperationException.
    /// </summary>
    public OptimizerOptions Options
    {
        get => options ?? throw new InvalidOperationException("ParamGroup: the group has no options yet; give it options or add it to an optimizer, which fills in its defaults");
        set
        {
            ArgumentNullException.ThrowIfNull(value);
            owner?.CheckGroupOptions(value, ownerIndex);
            options = value;
            pendingLr = null;
        }
    }

    /// <summary>True once the group has options (given, or filled in by an optimizer).</summary>
    public bool HasOptions => options != null;

    /// <summary>
    /// Learning rate (param_group["lr"]), the one option schedulers change. Set before the group is added to an
    /// optimizer, it overrides the lr of the defaults (or of the given options) for this group only; set afterwards, it
    /// takes effect at the next step and, like writing param_group["lr"] in PyTorch, is not validated.
    /// </summary>
    public double Lr
    {
        get => options?.Lr ?? pendingLr
            ?? throw new InvalidOperationException("ParamGroup: the group has no learning rate yet; set Lr or add it to an optimizer, which fills in its defaults");
        set
        {
            if (options is null) pendingLr = value;
            else if (!options.Lr.Equals(value)) options = options with { Lr = value };
        }
    }

    /// <summary>The lr a scheduler starts from (param_group["initial_lr"]); set by the first LR scheduler attached, null before.</summary>
    public double? InitialLr { get; set; }

    /// <summary>OneCycleLR's peak lr (param_group["max_lr"]).</summary>
    public double? MaxLr { get; set; }

    /// <summary>OneCycleLR's final lr (param_group["min_lr"]).</summary>
    public double? MinLr { get; set; }

    /// <summary>OneCycleLR's upper momentum (param_group["max_momentum"]).</summary>
    public double? MaxMomentum { get; set; }

    /// <summary>OneCycleLR's lower momentum (param_group["base_momentum"]).</summary>
    public double? BaseMomentum { get; set; }

    /// <summary>
    /// Resolves the group's options when <paramref name="optimizer"/> adds it as group <paramref name="index"/>: its own
    /// options or <paramref name="defaults"/>, with a pending <see cref="Lr"/> applied, checked by the optimizer.
    /// </summary>
    internal void Attach(Optimizer optimizer, int index, OptimizerOptions defaults)
    {
        var resolved = options ?? defaults;
        if (pendingLr is { } lr) resolved = resolved with { Lr = lr };
        optimizer.CheckGroupOptions(resolved, index);
        options = resolved;
        pendingLr = null;
        owner = optimizer;
        ownerIndex = index;
    }

    /// <summary>Replaces the options without checks (loading a state dict, which the optimizer checks itself).</summary>
    internal void SetOptionsUnchecked(OptimizerOptions value) { options = value; pendingLr = null; }

    static readonly string[] ScheduleKeys = ["initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"];

    /// <summary>True for the param-group keys that hold scheduler values rather than optimizer options.</summary>
    internal static bool IsScheduleKey(string key) => Array.IndexOf(ScheduleKeys, key) >= 0;

    /// <summary>Writes the scheduler values that are set, under PyTorch's keys.</summary>
    internal void WriteScheduleValues(IDictionary<string, double> values)
    {
        if (InitialLr is { } initialLr) values["initial_lr"] = initialLr;
        if (MaxLr is { } maxLr) values["max_lr"] = maxLr;
        if (MinLr is { } minLr) values["min_lr"] = minLr;
        if (MaxMomentum is { } maxMomentum) values["max_momentum"] = maxMomentum;
        if (BaseMomentum is { } baseMomentum) values["base_momentum"] = baseMomentum;
    }

    /// <summary>Replaces the scheduler values with those in <paramref name="values"/> (absent keys become null).</summary>
    internal void ReadScheduleValues(IReadOnlyDictionary<string, double> values)
    {
        InitialLr = values.TryGetValue("initial_lr", out var v) ? v : null;
        MaxLr = values.TryGetValue("max_lr", out v) ? v : null;
        MinLr = values.TryGetValue("min_lr", out v) ? v : null;
        MaxMomentum = values.TryGetValue("max_momentum", out v) ? v : null;
        BaseMomentum = values.TryGetValue("base_momentum", out v) ? v : null;
    }
}
