using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, L2 weight decay and
/// maximisation (torch.optim.SGD, PyTorch 1.13 update). State per parameter: "momentum_buffer" (when momentum ≠ 0),
/// which starts as the first (decayed) gradient.
/// </summary>
public sealed class SGD : Optimizer
{
    /// <summary>Creates SGD over <paramref name="parameters"/> (torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov, maximize=...)).</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, bool maximize = false)
        : base(parameters, MakeDefaults(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    /// <summary>Creates SGD over parameter groups; each group's unset options take these defaults.</summary>
    public SGD(IEnumerable<ParamGroup> paramGroups, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, bool maximize = false)
        : base(paramGroups, MakeDefaults(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    static Dictionary<string, double> MakeDefaults(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize) => new()
    {
        ["lr"] = lr, ["momentum"] = momentum, ["dampening"] = dampening, ["weight_decay"] = weightDecay,
        ["nesterov"] = nesterov ? 1 : 0, ["maximize"] = maximize ? 1 : 0,
    };

    /// <inheritdoc/>
    protected override void ValidateGroup(ParamGroup group, int groupIndex)
    {
        Require(group, groupIndex, "lr", v => v >= 0, ">= 0");
        Require(group, groupIndex, "momentum", v => v >= 0, ">= 0");
        Require(group, groupIndex, "weight_decay", v => v >= 0, ">= 0");
        if (Flag(group, "nesterov") && (group["momentum"] <= 0 || group["dampening"] != 0))
            throw new ArgumentException($"SGD: Nesterov momentum requires a momentum > 0 and zero dampening (group {groupIndex} has momentum {group["momentum"]}, dampening {group["dampening"]})");
    }

    /// <inheritdoc/>
    protected override void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state)
    {
        double lr = group["lr"], momentum = group["momentum"], dampening = group["dampening"], wd = group["weight_decay"];
        bool nesterov = Flag(group, "nesterov"), maximize = Flag(group, "maximize");
        bool first = false;
        Tensor? buf = null;
        if (momentum != 0)
        {
            first = !state.Buffers.ContainsKey("momentum_buffer");
            buf = state.GetOrCreate("momentum_buffer", param);
        }
        state.Step++;
        if (param.DType == DType.Float32)
            OptimKernels<float>.Sgd(param.Span<float>(), grad.Span<float>(), buf == null ? default : buf.Span<float>(), first,
                (float)lr, (float)wd, (float)momentum, (float)(1 - dampening), nesterov, maximize);
        else
            OptimKernels<double>.Sgd(param.Span<double>(), grad.Span<double>(), buf == null ? default : buf.Span<double>(), first,
                lr, wd, momentum, 1 - dampening, nesterov, maximize);
        buf?.BumpVersion();
    }
}
