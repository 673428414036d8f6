using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// Adadelta (torch.optim.Adadelta, PyTorch 1.13 update). State per parameter: step, "square_avg" and "acc_delta".
/// </summary>
public sealed class Adadelta : Optimizer
{
    /// <summary>Creates Adadelta (torch.optim.Adadelta(params, lr, rho, eps, weight_decay, maximize=...)).</summary>
    public Adadelta(IEnumerable<Tensor> parameters, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(parameters, MakeDefaults(lr, rho, eps, weightDecay, maximize)) { }

    /// <summary>Creates Adadelta over parameter groups; each group's unset options take these defaults.</summary>
    public Adadelta(IEnumerable<ParamGroup> paramGroups, double lr = 1.0, double rho = 0.9, double eps = 1e-6, double weightDecay = 0, bool maximize = false)
        : base(paramGroups, MakeDefaults(lr, rho, eps, weightDecay, maximize)) { }

    static Dictionary<string, double> MakeDefaults(double lr, double rho, double eps, double weightDecay, bool maximize) => new()
    {
        ["lr"] = lr, ["rho"] = rho, ["eps"] = eps, ["weight_decay"] = weightDecay, ["maximize"] = maximize ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override void ValidateGroup(ParamGroup group, int groupIndex)
    {
        Require(group, groupIndex, "lr", v => v >= 0, ">= 0");
        Require(group, groupIndex, "rho", v => v >= 0 && v <= 1, "in [0, 1]");
        Require(group, groupIndex, "eps", v => v >= 0, ">= 0");
        Require(group, groupIndex, "weight_decay", v => v >= 0, ">= 0");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group["lr"], rho = group["rho"], eps = group["eps"], wd = group["weight_decay"];
        bool maximize = Flag(group, "maximize");
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
