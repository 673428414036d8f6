namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of <see cref="RMSprop"/> (torch.optim.RMSprop's arguments, PyTorch 1.13 defaults). State-dict
/// keys: "lr", "alpha", "eps", "weight_decay", "momentum", "centered", "maximize".
/// </summary>
public sealed record RMSpropOptions : OptimizerOptions
{
    /// <summary>Learning rate (lr). Default 1e-2.</summary>
    public override double Lr { get; init; } = 1e-2;
    /// <summary>Smoothing constant of the squared-gradient average (alpha). Default 0.99.</summary>
    public double Alpha { get; init; } = 0.99;
    /// <summary>Term added to the denominator for numerical stability (eps). Default 1e-8.</summary>
    public double Eps { get; init; } = 1e-8;
    /// <summary>Momentum factor (momentum). Default 0.</summary>
    public double Momentum { get; init; }
    /// <summary>Centered RMSprop: normalise by the estimated variance of the gradient (centered). Default false.</summary>
    public bool Centered { get; init; }

    /// <inheritdoc/>
    protected internal override void Validate(string context)
    {
        ValidateCommon(context);
        Require(Eps >= 0, context, "eps", Eps, "Invalid epsilon value", ">= 0");
        Require(Momentum >= 0, context, "momentum", Momentum, "Invalid momentum value", ">= 0");
        Require(Alpha >= 0, context, "alpha", Alpha, "Invalid alpha value", ">= 0");
    }

    /// <inheritdoc/>
    protected internal override void WriteStateDict(IDictionary<string, double> values)
    {
        values["lr"] = Lr; values["alpha"] = Alpha; values["eps"] = Eps; values["weight_decay"] = WeightDecay; values["momentum"] = Momentum;
        values["centered"] = Flag(Centered); values["maximize"] = Flag(Maximize);
    }

    /// <inheritdoc/>
    protected internal override OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values) => this with
    {
        Lr = Read(values, "lr", Lr), Alpha = Read(values, "alpha", Alpha), Eps = Read(values, "eps", Eps),
        WeightDecay = Read(values, "weight_decay", WeightDecay), Momentum = Read(values, "momentum", Momentum),
        Centered = Read(values, "centered", Centered), Maximize = Read(values, "maximize", Maximize),
    };
}

/// <summary>
/// RMSprop (torch.optim.RMSprop, PyTorch 1.13 update), optionally centered and with momentum. State per parameter:
/// step, "square_avg", "momentum_buffer" (momentum &gt; 0) and "grad_avg" (centered). Options: <see cref="RMSpropOptions"/>.
/// </summary>
public sealed class RMSprop : Optimizer<RMSpropOptions>
{
    /// <summary>Creates RMSprop (torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, maximize=...)).</summary>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false, bool maximize = false)
        : base(parameters, MakeOptions(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    /// <summary>Creates RMSprop over parameter groups; a group without options takes these defaults.</summary>
    public RMSprop(IEnumerable<ParamGroup> paramGroups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false, bool maximize = false)
        : base(paramGroups, MakeOptions(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    /// <summary>Creates RMSprop over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public RMSprop(IEnumerable<Tensor> parameters, RMSpropOptions options) : base(parameters, options) { }

    /// <summary>Creates RMSprop over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public RMSprop(IEnumerable<ParamGroup> paramGroups, RMSpropOptions defaults) : base(paramGroups, defaults) { }

    static RMSpropOptions MakeOptions(double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, bool maximize) =>
        new() { Lr = lr, Alpha = alpha, Eps = eps, WeightDecay = weightDecay, Momentum = momentum, Centered = centered, Maximize = maximize };

    /// <inheritdoc/>
    protected override void Update(RMSpropOptions o, Tensor param, Tensor grad, ParamState state)
    {
        double lr = o.Lr, alpha = o.Alpha, eps = o.Eps, wd = o.WeightDecay, momentum = o.Momentum;
        bool centered = o.Centered, maximize = o.Maximize;
        var squareAvg = state.GetOrCreate("square_avg", param);
        var momentumBuffer = momentum > 0 ? state.GetOrCreate("momentum_buffer", param) : null;
        var gradAvg = centered ? state.GetOrCreate("grad_avg", param) : null;
        state.Step++;
        if (param.DType == DType.Float32)
            OptimKernels<float>.RmsProp(param.Span<float>(), grad.Span<float>(), squareAvg.Span<float>(),
                gradAvg == null ? default : gradAvg.Span<float>(), momentumBuffer == null ? default : momentumBuffer.Span<float>(),
                (float)alpha, (float)eps, (float)wd, (float)momentum, (float)-lr, centered, maximize);
        else
            OptimKernels<double>.RmsProp(param.Span<double>(), grad.Span<double>(), squareAvg.Span<double>(),
                gradAvg == null ? default : gradAvg.Span<double>(), momentumBuffer == null ? default : momentumBuffer.Span<double>(),
                alpha, eps, wd, momentum, -lr, centered, maximize);
        squareAvg.BumpVersion(); momentumBuffer?.BumpVersion(); gradAvg?.BumpVersion();
    }
}
