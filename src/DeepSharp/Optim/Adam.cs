using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// Adam (torch.optim.Adam, PyTorch 1.13 update): L2 weight decay added to the gradient, bias-corrected first and
/// second moments, optional AMSGrad and maximisation. State per parameter: step, "exp_avg", "exp_avg_sq" and, with
/// amsgrad, "max_exp_avg_sq". Group options: lr, beta1, beta2, eps, weight_decay, amsgrad, maximize.
/// </summary>
public class Adam : Optimizer
{
    /// <summary>Creates Adam over <paramref name="parameters"/> (torch.optim.Adam(params, lr, betas, eps, weight_decay, amsgrad, maximize=...)).</summary>
    public Adam(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : base(parameters, MakeDefaults(lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    /// <summary>Creates Adam over parameter groups; each group's unset options take these defaults.</summary>
    public Adam(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 0, bool amsgrad = false, bool maximize = false)
        : base(paramGroups, MakeDefaults(lr, betas, eps, weightDecay, amsgrad, maximize)) { }

    private protected static Dictionary<string, double> MakeDefaults(double lr, (double Beta1, double Beta2)? betas, double eps,
        double weightDecay, bool amsgrad, bool maximize)
    {
        var (b1, b2) = betas ?? (0.9, 0.999);
        return new()
        {
            ["lr"] = lr, ["beta1"] = b1, ["beta2"] = b2, ["eps"] = eps, ["weight_decay"] = weightDecay,
            ["amsgrad"] = amsgrad ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
        };
    }

    /// <summary>True for AdamW's decoupled weight decay.</summary>
    private protected virtual bool Decoupled => false;

    /// <inheritdoc/>
    protected override void ValidateGroup(ParamGroup group, int groupIndex)
    {
        Require(group, groupIndex, "lr", v => v >= 0, ">= 0");
        Require(group, groupIndex, "eps", v => v >= 0, ">= 0");
        Require(group, groupIndex, "beta1", v => v >= 0 && v < 1, "in [0, 1)");
        Require(group, groupIndex, "beta2", v => v >= 0 && v < 1, "in [0, 1)");
        Require(group, groupIndex, "weight_decay", v => v >= 0, ">= 0");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group["lr"], beta1 = group["beta1"], beta2 = group["beta2"], eps = group["eps"], wd = group["weight_decay"];
        bool amsgrad = Flag(group, "amsgrad"), maximize = Flag(group, "maximize");
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
/// the Adam step. Default weight decay 1e-2. Same state and options as <see cref="Adam"/>.
/// </summary>
public sealed class AdamW : Adam
{
    /// <summary>Creates AdamW over <paramref name="parameters"/> (torch.optim.AdamW(params, lr, betas, eps, weight_decay, amsgrad, maximize=...)).</summary>
    public AdamW(IEnumerable<Tensor> parameters, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(parameters, lr, betas, eps, weightDecay, amsgrad, maximize) { }

    /// <summary>Creates AdamW over parameter groups; each group's unset options take these defaults.</summary>
    public AdamW(IEnumerable<ParamGroup> paramGroups, double lr = 1e-3, (double Beta1, double Beta2)? betas = null, double eps = 1e-8,
        double weightDecay = 1e-2, bool amsgrad = false, bool maximize = false)
        : base(paramGroups, lr, betas, eps, weightDecay, amsgrad, maximize) { }

    private protected override bool Decoupled => true;
}
