using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// Adagrad (torch.optim.Adagrad, PyTorch 1.13 update): per-element learning rates from the running sum of squared
/// gradients, with learning-rate decay lr / (1 + (step − 1)·lr_decay). State per parameter: step and "sum", which
/// starts at initial_accumulator_value (created at the parameter's first step rather than at construction as in PyTorch).
/// </summary>
public sealed class Adagrad : Optimizer
{
    /// <summary>Creates Adagrad (torch.optim.Adagrad(params, lr, lr_decay, weight_decay, initial_accumulator_value, eps, maximize=...)).</summary>
    public Adagrad(IEnumerable<Tensor> parameters, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(parameters, MakeDefaults(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    /// <summary>Creates Adagrad over parameter groups; each group's unset options take these defaults.</summary>
    public Adagrad(IEnumerable<ParamGroup> paramGroups, double lr = 1e-2, double lrDecay = 0, double weightDecay = 0,
        double initialAccumulatorValue = 0, double eps = 1e-10, bool maximize = false)
        : base(paramGroups, MakeDefaults(lr, lrDecay, weightDecay, initialAccumulatorValue, eps, maximize)) { }

    static Dictionary<string, double> MakeDefaults(double lr, double lrDecay, double weightDecay, double initialAccumulatorValue, double eps, bool maximize) => new()
    {
        ["lr"] = lr, ["lr_decay"] = lrDecay, ["eps"] = eps, ["weight_decay"] = weightDecay,
        ["initial_accumulator_value"] = initialAccumulatorValue, ["maximize"] = maximize ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override void ValidateGroup(ParamGroup group, int groupIndex)
    {
        Require(group, groupIndex, "lr", v => v >= 0, ">= 0");
        Require(group, groupIndex, "lr_decay", v => v >= 0, ">= 0");
        Require(group, groupIndex, "weight_decay", v => v >= 0, ">= 0");
        Require(group, groupIndex, "initial_accumulator_value", v => v >= 0, ">= 0");
        Require(group, groupIndex, "eps", v => v >= 0, ">= 0");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group["lr"], lrDecay = group["lr_decay"], wd = group["weight_decay"], eps = group["eps"];
        bool maximize = Flag(group, "maximize");
        var sum = state.GetOrCreate("sum", param, group["initial_accumulator_value"]);
        long step = ++state.Step;
        double clr = lr / (1 + (step - 1) * lrDecay);
        if (param.DType == DType.Float32)
            OptimKernels<float>.Adagrad(param.Span<float>(), grad.Span<float>(), sum.Span<float>(), (float)wd, (float)eps, (float)-clr, maximize);
        else
            OptimKernels<double>.Adagrad(param.Span<double>(), grad.Span<double>(), sum.Span<double>(), wd, eps, -clr, maximize);
        sum.BumpVersion();
    }
}
