namespace DeepSharp.Optim;

/// <summary>
/// A group of parameters that share hyperparameters (one entry of torch.optim.Optimizer.param_groups).
/// Hyperparameters live in <see cref="Options"/> under PyTorch's names ("lr", "momentum", "weight_decay", "eps" ...;
/// Adam's betas are "beta1" and "beta2"; booleans are 0 or 1). The typed properties read and write the same
/// dictionary: set one before handing the group to an optimizer to override that optimizer's default for this
/// group only (<c>new ParamGroup(head.Parameters()) { Lr = 1e-4 }</c>); the optimizer fills every option left
/// unset from its defaults, so after construction each property of an option the optimizer uses has a value.
/// LR schedulers also keep their per-group values here ("initial_lr", "max_lr", "min_lr" ...), as PyTorch does.
/// </summary>
public sealed class ParamGroup
{
    internal readonly List<Tensor> ParamList;

    /// <summary>Creates a group over <paramref name="parameters"/> (the "params" entry of a PyTorch param group dict).</summary>
    public ParamGroup(IEnumerable<Tensor> parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ParamList = parameters.ToList();
    }

    /// <summary>The parameters of this group, in order (param_group["params"]).</summary>
    public IReadOnlyList<Tensor> Params => ParamList;

    /// <summary>Every hyperparameter of the group by its PyTorch name (the param group dict without "params").</summary>
    public Dictionary<string, double> Options { get; } = new();

    /// <summary>Reads or writes one option by its PyTorch name (param_group[key]).</summary>
    public double this[string key]
    {
        get => Options.TryGetValue(key, out var v) ? v
            : throw new KeyNotFoundException($"ParamGroup: option '{key}' is not set; set options are {string.Join(", ", Options.Keys)}");
        set => Options[key] = value;
    }

    /// <summary>True when the option is set (key in param_group).</summary>
    public bool Has(string key) => Options.ContainsKey(key);

    double? Get(string key) => Options.TryGetValue(key, out var v) ? v : null;
    bool? GetBool(string key) => Options.TryGetValue(key, out var v) ? v != 0 : null;
    void Set(string key, double? value) { if (value is { } v) Options[key] = v; else Options.Remove(key); }
    void SetBool(string key, bool? value) => Set(key, value is { } b ? (b ? 1 : 0) : null);

    /// <summary>Learning rate (param_group["lr"]).</summary>
    public double? Lr { get => Get("lr"); set => Set("lr", value); }
    /// <summary>Weight decay, L2 penalty (or decoupled decay for AdamW) (param_group["weight_decay"]).</summary>
    public double? WeightDecay { get => Get("weight_decay"); set => Set("weight_decay", value); }
    /// <summary>Momentum factor of SGD and RMSprop (param_group["momentum"]).</summary>
    public double? Momentum { get => Get("momentum"); set => Set("momentum", value); }
    /// <summary>SGD dampening for momentum (param_group["dampening"]).</summary>
    public double? Dampening { get => Get("dampening"); set => Set("dampening", value); }
    /// <summary>SGD Nesterov momentum (param_group["nesterov"]).</summary>
    public bool? Nesterov { get => GetBool("nesterov"); set => SetBool("nesterov", value); }
    /// <summary>Maximise the objective instead of minimising it (param_group["maximize"]).</summary>
    public bool? Maximize { get => GetBool("maximize"); set => SetBool("maximize", value); }
    /// <summary>Adam/AdamW running-average coefficients (param_group["betas"]); stored as "beta1" and "beta2".</summary>
    public (double Beta1, double Beta2)? Betas
    {
        get => Get("beta1") is { } b1 && Get("beta2") is { } b2 ? (b1, b2) : null;
        set { Set("beta1", value?.Beta1); Set("beta2", value?.Beta2); }
    }
    /// <summary>Term added to the denominator for numerical stability (param_group["eps"]).</summary>
    public double? Eps { get => Get("eps"); set => Set("eps", value); }
    /// <summary>Adam/AdamW AMSGrad variant (param_group["amsgrad"]).</summary>
    public bool? Amsgrad { get => GetBool("amsgrad"); set => SetBool("amsgrad", value); }
    /// <summary>Adagrad learning-rate decay (param_group["lr_decay"]).</summary>
    public double? LrDecay { get => Get("lr_decay"); set => Set("lr_decay", value); }
    /// <summary>Adagrad starting value of the squared-gradient sum (param_group["initial_accumulator_value"]).</summary>
    public double? InitialAccumulatorValue { get => Get("initial_accumulator_value"); set => Set("initial_accumulator_value", value); }
    /// <summary>RMSprop smoothing constant (param_group["alpha"]).</summary>
    public double? Alpha { get => Get("alpha"); set => Set("alpha", value); }
    /// <summary>Centered RMSprop (param_group["centered"]).</summary>
    public bool? Centered { get => GetBool("centered"); set => SetBool("centered", value); }
    /// <summary>Adadelta running-average coefficient (param_group["rho"]).</summary>
    public double? Rho { get => Get("rho"); set => Set("rho", value); }
}
