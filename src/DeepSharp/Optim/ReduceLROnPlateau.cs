namespace DeepSharp.Optim;

/// <summary>Whether <see cref="ReduceLROnPlateau"/> watches for a metric that should fall or rise (PyTorch's mode).</summary>
public enum PlateauMode
{
    /// <summary>Lower is better ("min"), e.g. a loss.</summary>
    Min,
    /// <summary>Higher is better ("max"), e.g. an accuracy.</summary>
    Max,
}

/// <summary>How <see cref="ReduceLROnPlateau"/> measures a significant improvement (PyTorch's threshold_mode).</summary>
public enum ThresholdMode
{
    /// <summary>Relative: better than best·(1 ∓ threshold) ("rel").</summary>
    Rel,
    /// <summary>Absolute: better than best ∓ threshold ("abs").</summary>
    Abs,
}

/// <summary>
/// Reduces every group's lr by <c>factor</c> when a metric has stopped improving for more than <c>patience</c> epochs
/// (torch.optim.lr_scheduler.ReduceLROnPlateau). Unlike the other schedulers it is stepped with the metric,
/// <see cref="Step(double)"/>, typically once per epoch after validation.
/// </summary>
public sealed class ReduceLROnPlateau
{
    readonly double factor, threshold, eps;
    readonly int patience, cooldown;
    readonly double[] minLrs;
    readonly double[] lastLr;

    /// <summary>Creates the scheduler (ReduceLROnPlateau(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr, eps)).</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode = PlateauMode.Min, double factor = 0.1, int patience = 10,
        double threshold = 1e-4, ThresholdMode thresholdMode = ThresholdMode.Rel, int cooldown = 0, double minLr = 0, double eps = 1e-8)
        : this(optimizer, mode, factor, patience, threshold, thresholdMode, cooldown,
            Enumerable.Repeat(minLr, optimizer?.ParamGroups.Count ?? 0).ToArray(), eps) { }

    /// <summary>Creates the scheduler with one minimum lr per param group (min_lr given as a list).</summary>
    public ReduceLROnPlateau(Optimizer optimizer, PlateauMode mode, double factor, int patience, double threshold,
        ThresholdMode thresholdMode, int cooldown, IReadOnlyList<double> minLrs, double eps = 1e-8)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(minLrs);
        if (factor >= 1.0) throw new ArgumentOutOfRangeException(nameof(factor), factor, "ReduceLROnPlateau: factor should be < 1.0");
        if (patience < 0) throw new ArgumentOutOfRangeException(nameof(patience), patience, "ReduceLROnPlateau: patience must be >= 0");
        if (minLrs.Count != optimizer.ParamGroups.Count)
            throw new ArgumentException($"ReduceLROnPlateau: expected {optimizer.ParamGroups.Count} min lrs (one per param group), got {minLrs.Count}", nameof(minLrs));
        Optimizer = optimizer;
        Mode = mode; ThresholdMode = thresholdMode;
        this.factor = factor; this.patience = patience; this.threshold = threshold; this.cooldown = cooldown; this.eps = eps;
        this.minLrs = minLrs.ToArray();
        lastLr = optimizer.ParamGroups.Select(g => g.Lr).ToArray();
        Best = WorstValue;
    }

    /// <summary>The optimizer whose learning rates this scheduler reduces.</summary>
    public Optimizer Optimizer { get; }
    /// <summary>Whether lower or higher metric values are better (mode).</summary>
    public PlateauMode Mode { get; }
    /// <summary>Relative or absolute improvement threshold (threshold_mode).</summary>
    public ThresholdMode ThresholdMode { get; }
    /// <summary>The best metric seen so far (best).</summary>
    public double Best { get; private set; }
    /// <summary>Consecutive epochs without significant improvement (num_bad_epochs).</summary>
    public int NumBadEpochs { get; private set; }
    /// <summary>Epochs left in the current cooldown (cooldown_counter).</summary>
    public int CooldownCounter { get; private set; }
    /// <summary>Number of calls to <see cref="Step(double)"/> (last_epoch).</summary>
    public int LastEpoch { get; private set; }

    double WorstValue => Mode == PlateauMode.Min ? double.PositiveInfinity : double.NegativeInfinity;

    /// <summary>The learning rates of the groups after the last step (get_last_lr()).</summary>
    public IReadOnlyList<double> GetLastLr() => lastLr;

    bool IsBetter(double a, double best) => (Mode, ThresholdMode) switch
    {
        (PlateauMode.Min, ThresholdMode.Rel) => a < best * (1 - threshold),
        (PlateauMode.Min, ThresholdMode.Abs) => a < best - threshold,
        (PlateauMode.Max, ThresholdMode.Rel) => a > best * (threshold + 1),
        _ => a > best + threshold,
    };

    /// <summary>Records one epoch's <paramref name="metric"/> and reduces the lrs if it has plateaued (scheduler.step(metrics)).</summary>
    public void Step(double metric)
    {
        LastEpoch++;
        if (IsBetter(metric, Best)) { Best = metric; NumBadEpochs = 0; }
        else NumBadEpochs++;
        if (CooldownCounter > 0) { CooldownCounter--; NumBadEpochs = 0; }
        if (NumBadEpochs > patience)
        {
            var groups = Optimizer.ParamGroups;
            for (int i = 0; i < groups.Count; i++)
            {
                double oldLr = groups[i].Lr, newLr = Math.Max(oldLr * factor, minLrs[i]);
                if (oldLr - newLr > eps) groups[i].Lr = newLr;
            }
            CooldownCounter = cooldown;
            NumBadEpochs = 0;
        }
        for (int i = 0; i < lastLr.Length; i++) lastLr[i] = Optimizer.ParamGroups[i].Lr;
    }

    /// <summary>The mutable state (state_dict()): "best", "num_bad_epochs", "cooldown_counter", "last_epoch", "last_lr.{i}".</summary>
    public Dictionary<string, double> StateDict()
    {
        var d = new Dictionary<string, double>
        {
            ["best"] = Best, ["num_bad_epochs"] = NumBadEpochs, ["cooldown_counter"] = CooldownCounter, ["last_epoch"] = LastEpoch,
        };
        for (int i = 0; i < lastLr.Length; i++) d[$"last_lr.{i}"] = lastLr[i];
        return d;
    }

    /// <summary>Restores a state taken with <see cref="StateDict"/> (load_state_dict()).</summary>
    public void LoadStateDict(IReadOnlyDictionary<string, double> stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        double Read(string key) => stateDict.TryGetValue(key, out var v) ? v
            : throw new ArgumentException($"ReduceLROnPlateau.LoadStateDict: the state dict has no '{key}'", nameof(stateDict));
        Best = Read("best");
        NumBadEpochs = (int)Read("num_bad_epochs");
        CooldownCounter = (int)Read("cooldown_counter");
        LastEpoch = (int)Read("last_epoch");
        for (int i = 0; i < lastLr.Length; i++) lastLr[i] = Read($"last_lr.{i}");
    }
}
