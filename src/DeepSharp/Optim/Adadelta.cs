namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of <see cref="Adadelta"/> (torch.optim.Adadelta's arguments, PyTorch 1.13 defaults). State-dict
/// keys: "lr", "rho", "eps", "weight_decay", "maximize".
/// </summary>
public sealed record AdadeltaOptions : OptimizerOptions
{
    /// <summary>Coefficient that scales delta before it is applied (lr). Default 1.0.</summary>
    public override double Lr { get; init; } = 1.0;
    /// <summary>Coefficient of the running averages of squared gradients and updates (rho), in [0, 1]. Default 0.9.</summary>
    public double Rho { get; init; } = 0.9;
    /// <summary>Term added to the denominator for numerical stability (eps). Default 1e-6.</summary>
    public double Eps { get; init; } = 1e-6;

    /// <inheritdoc/>
    protected internal override void Validate(string context)
    {
        ValidateCommon(context);
        Require(Rho >= 0 && Rho <= 1, context, "rho", Rho, "Invalid rho value", "in [0, 1]");
        Require(Eps >= 0, context, "eps", Eps, "Invalid epsilon value", ">= 0");
    }

    /// <inheritdoc/>
    protected internal override void WriteStateDict(IDictionary<string, double> values)
    {
        values["lr"] = Lr; values["rho"] = Rho; values["eps"] = Eps; values["weight_decay"] = WeightDecay; values["maximize"] = Flag(Maximize);
    }

    /// <inheritdoc/>
    protected internal override OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values) => this with
    {
        Lr = Read(values, "lr", Lr), Rho = Read(values, "rho", Rho), Eps = Read(values, "eps", Eps),
        WeightDecay = Read(values, "weight_decay", WeightDecay), Maximize = Read(values, "maximize", Maximize),
    };
}

/// <summary>
/// Adadelta (torch.optim.Adadelta, PyTorch 1.13 update). State per parameter: step, "square_avg" and "acc_delta".
/// Options: <see cref="AdadeltaOptions"/>.
/// </summary>
public sealed class Adadelta : Optimizer<AdadeltaOptions>
{
    /// <summary>Creates Adadelta (torch.optim.Adadelta(params, lr, rho, eps, weight_decay, maximize=...)).</summary>
    public Adadelta(IEnumerable<Tensor> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(parameters, MakeOptions(lr, rho, eps, weightDecay, maximize)) { }

    /// <summary>Creates Adadelta over parameter groups; a group without options takes these defaults.</summary>
    public Adadelta(IEnumerable<ParamGroup> paramGroups, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(paramGroups, MakeOptions(lr, rho, eps, weightDecay, maximize)) { }

    /// <summary>Creates Adadelta over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public Adadelta(IEnumerable<Tensor> parameters, AdadeltaOptions options) : base(parameters, options) { }

    /// <summary>Creates Adadelta over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public Adadelta(IEnumerable<ParamGroup> paramGroups, AdadeltaOptions defaults) : base(paramGroups, defaults) { }

    static AdadeltaOptions MakeOptions(double lr, double rho, double eps, double weightDecay, bool maximize) =>
        new() { Lr = lr, Rho = rho, Eps = eps, WeightDecay = weightDecay, Maximize = maximize };

    /// <inheritdoc/>
    protected override void Update(AdadeltaOptions o, Tensor param, Tensor grad, ParamState state)
    {
        double lr = o.Lr, rho = o.Rho, eps = o.Eps, wd = o.WeightDecay;
        bool maximize = o.Maximize;
        var squareAvg = state.GetOrCreate("square_avg", param);
        var accDelta = state.GetOrCreate("acc_delta", param);
        state.Step++;
        if (param.DType == DType.Float32)
            OptimKernels<float>.Adadelta(param.Span<float>(), grad.Span<float>(), squareAvg.Span<float>(), accDelta.Span<float>(),
                (float)rho, (float)eps, (float)wd, (float)-lr, maximize);
        else
            OptimKernels<double>.Adadelta(param.Span<double>(), grad.Span<double>(), squareAvg.Span<double>(), accDelta.Span<double>(),
                rho, eps, wd, -lr, maximize);
        squareAvg.BumpVersion(); accDelta.BumpVersion();
    }
}
