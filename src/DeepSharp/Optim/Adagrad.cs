namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of <see cref="Adagrad"/> (torch.optim.Adagrad's arguments, PyTorch 1.13 defaults). State-dict
/// keys: "lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", "maximize".
/// </summary>
public sealed record AdagradOptions : OptimizerOptions
{
    /// <summary>Learning rate (lr). Default 1e-2.</summary>
    public override double Lr { get; init; } = 1e-2;
    /// <summary>Learning-rate decay (lr_decay): the step's lr is lr / (1 + (step − 1)·lr_decay). Default 0.</summary>
    public double LrDecay { get; init; }
    /// <summary>Starting value of the running sum of squared gradients (initial_accumulator_value). Default 0.</summary>
    public double InitialAccumulatorValue { get; init; }
    /// <summary>Term added to the denominator for numerical stability (eps). Default 1e-10.</summary>
    public double Eps { get; init; } = 1e-10;

    /// <inheritdoc/>
    protected internal override void Validate(string context)
    {
        ValidateCommon(context);
        Require(LrDecay >= 0, context, "lr_decay", LrDecay, "Invalid lr_decay value", ">= 0");
        Require(InitialAccumulatorValue >= 0, context, "initial_accumulator_value", InitialAccumulatorValue, "Invalid initial_accumulator_value value", ">= 0");
        Require(Eps >= 0, context, "eps", Eps, "Invalid epsilon value", ">= 0");
    }

    /// <inheritdoc/>
    protected internal override void WriteStateDict(IDictionary<string, double> values)
    {
        values["lr"] = Lr; values["lr_decay"] = LrDecay; values["eps"] = Eps; values["weight_decay"] = WeightDecay;
        values["initial_accumulator_value"] = InitialAccumulatorValue; values["maximize"] = Flag(Maximize);
    }

    /// <inheritdoc/>
    protected internal override OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values) => this with
    {
        Lr = Read(values, "lr", Lr), LrDecay = Read(values, "lr_decay", LrDecay), Eps = Read(values, "eps", Eps),
        WeightDecay = Read(values, "weight_decay", WeightDecay),
        InitialAccumulatorValue = Read(values, "initial_accumulator_value", InitialAccumulatorValue), Maximize = Read(values, "maximize", Maximize),
    };
}

/// <summary>
/// Adagrad (torch.optim.Adagrad, PyTorch 1.13 update): per-element learning rates from the running sum of squared
/// gradients, with learning-rate decay lr / (1 + (step − 1)·lr_decay). State per parameter: step and "sum", which
/// starts at initial_accumulator_value (created at the parameter's first step rather than at construction as in
/// PyTorch). Options: <see cref="AdagradOptions"/>.
/// </summary>
public sealed class Adagrad : Optimizer<AdagradOptions>
{
    /// <summary>Creates Adagrad (torch.optim.Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize=...)).</summary>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(parameters, MakeOptions(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    /// <summary>Creates Adagrad over parameter groups; a group without options takes these defaults.</summary>
    public Adagrad(IEnumerable<ParamGroup> paramGroups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(paramGroups, MakeOptions(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    /// <summary>Creates Adagrad over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public Adagrad(IEnumerable<Tensor> parameters, AdagradOptions options) : base(parameters, options) { }

    /// <summary>Creates Adagrad over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public Adagrad(IEnumerable<ParamGroup> paramGroups, AdagradOptions defaults) : base(paramGroups, defaults) { }

    static AdagradOptions MakeOptions(double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps, bool maximize) =>
        new() { Lr = lr, LrDecay = lrDecay, WeightDecay = weightDecay, InitialAccumulatorValue = initialAccumulatorValue, Eps = eps, Maximize = maximize };

    /// <inheritdoc/>
    protected override void Update(AdagradOptions o, Tensor param, Tensor grad, ParamState state)
    {
        double lr = o.Lr, lrDecay = o.LrDecay, wd = o.WeightDecay, eps = o.Eps;
        bool maximize = o.Maximize;
        var sum = state.GetOrCreate("sum", param, o.InitialAccumulatorValue);
        long step = ++state.Step;
        double clr = lr / (1 + (step - 1) * lrDecay);
        if (param.DType == DType.Float32)
            OptimKernels<float>.Adagrad(param.Span<float>(), grad.Span<float>(), sum.Span<float>(), (float)wd, (float)eps, (float)-clr, maximize);
        else
            OptimKernels<double>.Adagrad(param.Span<double>(), grad.Span<double>(), sum.Span<double>(), wd, eps, -clr, maximize);
        sum.BumpVersion();
    }
}
