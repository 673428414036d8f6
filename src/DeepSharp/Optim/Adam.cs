namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of <see cref="Adam"/> (torch.optim.Adam's arguments, PyTorch 1.13 defaults). State-dict keys:
/// "lr", "beta1", "beta2" (the two betas), "eps", "weight_decay", "amsgrad", "maximize".
/// </summary>
public record AdamOptions : OptimizerOptions
{
    /// <summary>Learning rate (lr). Default 1e-3.</summary>
    public override double Lr { get; init; } = 1e-3;
    /// <summary>Coefficients of the running averages of the gradient and its square (betas), each in [0, 1). Default (0.9, 0.999).</summary>
    public (double Beta1, double Beta2) Betas { get; init; } = (0.9, 0.999);
    /// <summary>Term added to the denominator for numerical stability (eps). Default 1e-8.</summary>
    public double Eps { get; init; } = 1e-8;
    /// <summary>The AMSGrad variant (amsgrad). Default false.</summary>
    public bool Amsgrad { get; init; }

    /// <inheritdoc/>
    protected internal override void Validate(string context)
    {
        ValidateCommon(context);
        Require(Eps >= 0, context, "eps", Eps, "Invalid epsilon value", ">= 0");
        Require(Betas.Beta1 >= 0 && Betas.Beta1 < 1, context, "betas", Betas.Beta1, "Invalid beta parameter at index 0", "in [0, 1)");
        Require(Betas.Beta2 >= 0 && Betas.Beta2 < 1, context, "betas", Betas.Beta2, "Invalid beta parameter at index 1", "in [0, 1)");
    }

    /// <inheritdoc/>
    protected internal override void WriteStateDict(IDictionary<string, double> values)
    {
        values["lr"] = Lr; values["beta1"] = Betas.Beta1; values["beta2"] = Betas.Beta2; values["eps"] = Eps;
        values["weight_decay"] = WeightDecay; values["amsgrad"] = Flag(Amsgrad); values["maximize"] = Flag(Maximize);
    }

    /// <inheritdoc/>
    protected internal override OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values) => this with
    {
        Lr = Read(values, "lr", Lr), Betas = (Read(values, "beta1", Betas.Beta1), Read(values, "beta2", Betas.Beta2)),
        Eps = Read(values, "eps", Eps), WeightDecay = Read(values, "weight_decay", WeightDecay),
        Amsgrad = Read(values, "amsgrad", Amsgrad), Maximize = Read(values, "maximize", Maximize),
    };
}

/// <summary>
/// The hyperparameters of <see cref="AdamW"/> (torch.optim.AdamW's arguments): those of Adam, with AdamW's default
/// weight decay 1e-2.
/// </summary>
public sealed record AdamWOptions : AdamOptions
{
    /// <summary>Creates AdamW options with the defaults (weight_decay 1e-2).</summary>
    public AdamWOptions() => WeightDecay = 1e-2;
}

/// <summary>
/// Adam (torch.optim.Adam, PyTorch 1.13 update): L2 weight decay added to the gradient, bias-corrected first and
/// second moments, optional AMSGrad and maximisation. Options: <see cref="AdamOptions"/>. State per parameter: step,
/// "exp_avg", "exp_avg_sq" and, with amsgrad, "max_exp_avg_sq".
/// </summary>
public class Adam : Optimizer<AdamOptions>
{
    /// <summary>Creates Adam over <paramref name="parameters"/> (torch.optim.Adam(params, lr, betas, eps, weight_decay, amsgrad, maximize=...)).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(parameters, MakeOptions(new AdamOptions(), lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Creates Adam over parameter groups; a group without options takes these defaults.</summary>
    public Adam(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : this(paramGroups, MakeOptions(new AdamOptions(), lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Creates Adam over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public Adam(IEnumerable<Tensor> parameters, AdamOptions options) : base(parameters, options) { }

    /// <summary>Creates Adam over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public Adam(IEnumerable<ParamGroup> paramGroups, AdamOptions defaults) : base(paramGroups, defaults) { }

    private protected static AdamOptions MakeOptions(AdamOptions empty, double lr, (double Beta1, double Beta2)? betas, double eps,
        double weightDecay, bool amsgrad, bool maximize) =>
        empty with { Lr = lr, Betas = betas ?? empty.Betas, Eps = eps, WeightDecay = weightDecay, Amsgrad = amsgrad, Maximize = maximize };

    /// <summary>True for AdamW's decoupled weight decay.</summary>
    private protected virtual bool Decoupled => false;

    /// <inheritdoc/>
    protected override void Update(AdamOptions o, Tensor param, Tensor grad, ParamState state)
    {
        double lr = o.Lr, beta1 = o.Betas.Beta1, beta2 = o.Betas.Beta2, eps = o.Eps, wd = o.WeightDecay;
        bool amsgrad = o.Amsgrad, maximize = o.Maximize;
        var expAvg = state.GetOrCreate("exp_avg", param);
        var expAvgSq = state.GetOrCreate("exp_avg_sq", param);
        var maxExpAvgSq = amsgrad ? state.GetOrCreate("max_exp_avg_sq", param) : null;
        long step = ++state.Step;
        double biasCorrection1 = 1 - Math.Pow(beta1, step);
        double biasCorrection2 = 1 - Math.Pow(beta2, step);
        double stepSize = lr / biasCorrection1;
        double bc2Sqrt = Math.Sqrt(biasCorrection2);
        double decay = 1 - lr * wd;
        if (param.DType == DType.Float32)
            OptimKernels<float>.Adam(param.Span<float>(), grad.Span<float>(), expAvg.Span<float>(), expAvgSq.Span<float>(),
                maxExpAvgSq == null ? default : maxExpAvgSq.Span<float>(), (float)beta1, (float)beta2, (float)wd, (float)decay,
                (float)eps, (float)-stepSize, (float)bc2Sqrt, Decoupled, amsgrad, maximize);
        else
            OptimKernels<double>.Adam(param.Span<double>(), grad.Span<double>(), expAvg.Span<double>(), expAvgSq.Span<double>(),
                maxExpAvgSq == null ? default : maxExpAvgSq.Span<double>(), beta1, beta2, wd, decay,
                eps, -stepSize, bc2Sqrt, Decoupled, amsgrad, maximize);
        expAvg.BumpVersion(); expAvgSq.BumpVersion(); maxExpAvgSq?.BumpVersion();
    }
}

/// <summary>
/// AdamW (torch.optim.AdamW, PyTorch 1.13 update): Adam with decoupled weight decay, p ·= 1 − lr·weight_decay before
/// the Adam step. Options: <see cref="AdamWOptions"/> (default weight decay 1e-2). Same state as <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW over <paramref name="parameters"/> (torch.optim.AdamW(params, lr, betas, eps, weight_decay, amsgrad, maximize=...)).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(parameters, MakeOptions(new AdamWOptions(), lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Creates AdamW over parameter groups; a group without options takes these defaults.</summary>
    public AdamW(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(paramGroups, MakeOptions(new AdamWOptions(), lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Creates AdamW over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public AdamW(IEnumerable<Tensor> parameters, AdamWOptions options) : base(parameters, options) { }

    /// <summary>Creates AdamW over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public AdamW(IEnumerable<ParamGroup> paramGroups, AdamWOptions defaults) : base(paramGroups, defaults) { }

    private protected override bool Decoupled => true;
}
