using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// RMSprop (torch.optim.RMSprop, PyTorch 1.13 update), optionally centered and with momentum. State per parameter:
/// step, "square_avg", "momentum_buffer" (momentum &gt; 0) and "grad_avg" (centered).
/// </summary>
public sealed class RMSprop : Optimizer
{
    /// <summary>Creates RMSprop (torch.optim.RMSprop(params, lr, alpha, eps, weight_decay, momentum, centered, maximize=...)).</summary>
    public RMSprop(IEnumerable<Tensor> parameters, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false, bool maximize = false)
        : base(parameters, MakeDefaults(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    /// <summary>Creates RMSprop over parameter groups; each group's unset options take these defaults.</summary>
    public RMSprop(IEnumerable<ParamGroup> paramGroups, double lr = 1e-2, double alpha = 0.99, double eps = 1e-8, double weightDecay = 0,
        double momentum = 0, bool centered = false, bool maximize = false)
        : base(paramGroups, MakeDefaults(lr, alpha, eps, weightDecay, momentum, centered, maximize)) { }

    static Dictionary<string, double> MakeDefaults(double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, bool maximize) => new()
    {
        ["lr"] = lr, ["alpha"] = alpha, ["eps"] = eps, ["weight_decay"] = weightDecay, ["momentum"] = momentum,
        ["centered"] = centered ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override void ValidateGroup(ParamGroup group, int groupIndex)
    {
        Require(group, groupIndex, "lr", v => v >= 0, ">= 0");
        Require(group, groupIndex, "eps", v => v >= 0, ">= 0");
        Require(group, groupIndex, "momentum", v => v >= 0, ">= 0");
        Require(group, groupIndex, "weight_decay", v => v >= 0, ">= 0");
        Require(group, groupIndex, "alpha", v => v >= 0, ">= 0");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group["lr"], alpha = group["alpha"], eps = group["eps"], wd = group["weight_decay"], momentum = group["momentum"];
        bool centered = Flag(group, "centered"), maximize = Flag(group, "maximize");
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
