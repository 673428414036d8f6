using System.Diagnostics.CodeAnalysis;
using DeepSharp.Kernels;

namespace DeepSharp.Optim;

/// <summary>
/// The hyperparameters of <see cref="SGD"/> (torch.optim.SGD's arguments, PyTorch 1.13 defaults; lr has none and
/// is required). State-dict keys: "lr", "momentum", "dampening", "weight_decay", "nesterov", "maximize".
/// </summary>
public sealed record SgdOptions : OptimizerOptions
{
    /// <summary>Creates options with the given learning rate and the defaults for everything else.</summary>
    [SetsRequiredMembers]
    public SgdOptions(double lr) => Lr = lr;

    /// <summary>Creates options; <see cref="Lr"/> must be set (SGD's lr has no default).</summary>
    public SgdOptions() { }

    /// <summary>Learning rate (lr); required.</summary>
    public required override double Lr { get; init; }
    /// <summary>Momentum factor (momentum). Default 0.</summary>
    public double Momentum { get; init; }
    /// <summary>Dampening for momentum (dampening). Default 0.</summary>
    public double Dampening { get; init; }
    /// <summary>Nesterov momentum (nesterov); needs momentum &gt; 0 and zero dampening. Default false.</summary>
    public bool Nesterov { get; init; }

    /// <inheritdoc/>
    protected internal override void Validate(string context)
    {
        ValidateCommon(context);
        Require(Momentum >= 0, context, "momentum", Momentum, "Invalid momentum value", ">= 0");
        if (Nesterov && (Momentum <= 0 || Dampening != 0))
            throw new ArgumentException($"{context}: Nesterov momentum requires a momentum and zero dampening (momentum {Momentum}, dampening {Dampening})", "nesterov");
    }

    /// <inheritdoc/>
    protected internal override void WriteStateDict(IDictionary<string, double> values)
    {
        values["lr"] = Lr; values["momentum"] = Momentum; values["dampening"] = Dampening; values["weight_decay"] = WeightDecay;
        values["nesterov"] = Flag(Nesterov); values["maximize"] = Flag(Maximize);
    }

    /// <inheritdoc/>
    protected internal override OptimizerOptions ReadStateDict(IReadOnlyDictionary<string, double> values) => this with
    {
        Lr = Read(values, "lr", Lr), Momentum = Read(values, "momentum", Momentum), Dampening = Read(values, "dampening", Dampening),
        WeightDecay = Read(values, "weight_decay", WeightDecay), Nesterov = Read(values, "nesterov", Nesterov), Maximize = Read(values, "maximize", Maximize),
    };
}

/// <summary>
/// Stochastic gradient descent with optional momentum, dampening, Nesterov momentum, L2 weight decay and
/// maximisation (torch.optim.SGD, PyTorch 1.13 update). Options: <see cref="SgdOptions"/>. State per parameter:
/// "momentum_buffer" (when momentum ≠ 0), which starts as the first (decayed) gradient.
/// </summary>
public sealed class SGD : Optimizer<SgdOptions>
{
    /// <summary>Creates SGD over <paramref name="parameters"/> (torch.optim.SGD(params, lr, momentum, dampening, weight_decay, nesterov, maximize=...)).</summary>
    public SGD(IEnumerable<Tensor> parameters, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, bool maximize = false)
        : base(parameters, MakeOptions(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    /// <summary>Creates SGD over parameter groups; a group without options takes these defaults.</summary>
    public SGD(IEnumerable<ParamGroup> paramGroups, double lr, double momentum = 0, double dampening = 0, double weightDecay = 0,
        bool nesterov = false, bool maximize = false)
        : base(paramGroups, MakeOptions(lr, momentum, dampening, weightDecay, nesterov, maximize)) { }

    /// <summary>Creates SGD over <paramref name="parameters"/> with typed <paramref name="options"/>.</summary>
    public SGD(IEnumerable<Tensor> parameters, SgdOptions options) : base(parameters, options) { }

    /// <summary>Creates SGD over parameter groups; a group without options takes <paramref name="defaults"/>.</summary>
    public SGD(IEnumerable<ParamGroup> paramGroups, SgdOptions defaults) : base(paramGroups, defaults) { }

    static SgdOptions MakeOptions(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize) =>
        new(lr) { Momentum = momentum, Dampening = dampening, WeightDecay = weightDecay, Nesterov = nesterov, Maximize = maximize };

    /// <inheritdoc/>
    protected override void Update(SgdOptions o, Tensor param, Tensor grad, ParamState state)
    {
        double lr = o.Lr, momentum = o.Momentum, dampening = o.Dampening, wd = o.WeightDecay;
        bool nesterov = o.Nesterov, maximize = o.Maximize;
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
