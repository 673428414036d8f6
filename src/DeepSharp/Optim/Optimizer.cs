namespace DeepSharp.Optim;

/// <summary>
/// Base class of all optimizers (torch.optim.Optimizer): parameter groups with typed per-group hyperparameters
/// (<see cref="ParamGroup.Options"/>), per-parameter state, <see cref="ZeroGrad"/>, <see cref="Step()"/> and state
/// dicts. Optimizers derive from <see cref="Optimizer{TOptions}"/>, which supplies the options type and the fused
/// update of one parameter.
/// </summary>
public abstract partial class Optimizer
{
    readonly List<ParamGroup> groups = new();
    readonly Dictionary<Tensor, ParamState> state = new(ReferenceEqualityComparer.Instance);

    private protected Optimizer(IEnumerable<ParamGroup> paramGroups, OptimizerOptions defaults)
    {
        ArgumentNullException.ThrowIfNull(paramGroups);
        ArgumentNullException.ThrowIfNull(defaults);
        CheckOptionsType(defaults, "defaults");
        defaults.Validate(Name);
        Defaults = defaults;
        var list = paramGroups.ToList();
        if (list.Count == 0) throw new ArgumentException($"{Name}: optimizer got an empty parameter list", nameof(paramGroups));
        foreach (var g in list) AddParamGroup(g);
    }

    /// <summary>The optimizer's name for messages ("SGD", "Adam" ...).</summary>
    protected string Name => GetType().Name;

    /// <summary>The parameter groups (torch.optim.Optimizer.param_groups).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => groups;

    /// <summary>The default hyperparameters given at construction (torch.optim.Optimizer.defaults).</summary>
    public OptimizerOptions Defaults { get; }

    /// <summary>Per-parameter state, keyed by the parameter tensor itself (torch.optim.Optimizer.state).</summary>
    public IReadOnlyDictionary<Tensor, ParamState> State => state;

    /// <summary>Every parameter of every group, in order.</summary>
    public IEnumerable<Tensor> Parameters() => groups.SelectMany(g => g.ParamList);

    /// <summary>
    /// Adds a group (torch.optim.Optimizer.add_param_group): a group without options takes the defaults, and a
    /// <see cref="ParamGroup.Lr"/> set on it applies over them; the options are then checked. Parameters
    /// must be floating-point leaf tensors and may appear in only one group.
    /// </summary>
    public void AddParamGroup(ParamGroup group)
    {
        ArgumentNullException.ThrowIfNull(group);
        var seen = new HashSet<Tensor>(Parameters(), ReferenceEqualityComparer.Instance);
        for (int i = 0; i < group.ParamList.Count; i++)
        {
            var p = group.ParamList[i] ?? throw new ArgumentException($"{Name}: parameter {i} of group {groups.Count} is null", nameof(group));
            if (!p.IsFloatingPoint)
                throw new ArgumentException($"{Name}: parameter {i} of group {groups.Count} (shape {ShapeUtil.Format(p.shape)}) has dtype {p.DType.TorchName()}; optimizers need float32 or float64 parameters", nameof(group));
            if (!p.IsLeaf)
                throw new ArgumentException($"{Name}: can't optimize a non-leaf tensor (parameter {i} of group {groups.Count}, shape {ShapeUtil.Format(p.shape)}, produced by {p.GradFn?.Name})", nameof(group));
            if (!seen.Add(p))
                throw new ArgumentException($"{Name}: some parameters appear in more than one parameter group (parameter {i} of group {groups.Count}, shape {ShapeUtil.Format(p.shape)})", nameof(group));
        }
        group.Attach(this, groups.Count, Defaults);
        groups.Add(group);
    }

    /// <summary>
    /// Resets the gradients of all parameters (torch.optim.Optimizer.zero_grad). With <paramref name="setToNone"/>
    /// (the default, as in PyTorch 2) each Grad becomes null; otherwise existing gradients are zeroed in place and
    /// detached from any graph, which reuses their memory.
    /// </summary>
    public void ZeroGrad(bool setToNone = true)
    {
        using var _ = Autograd.NoGrad();
        foreach (var group in groups)
        {
            var ps = group.ParamList;
            for (int i = 0; i < ps.Count; i++)
            {
                var p = ps[i];
                if (p.Grad is not { } g) continue;
                if (setToNone) { p.Grad = null; continue; }
                if (g.RequiresGrad) p.Grad = g = g.Detach();
                if (g.IsContiguous && g.DType == DType.Float32) { g.Span<float>().Clear(); g.BumpVersion(); }
                else if (g.IsContiguous && g.DType == DType.Float64) { g.Span<double>().Clear(); g.BumpVersion(); }
                else g.ZeroInPlace();
            }
        }
    }

    /// <summary>
    /// Performs one optimization step (torch.optim.Optimizer.step) under no-grad: every parameter whose Grad is
    /// not null is updated in place; parameters without a gradient are skipped and get no state.
    /// </summary>
    public void Step()
    {
        using var _ = Autograd.NoGrad();
        RunHooks(stepPreHooks);
        foreach (var group in groups)
        {
            var ps = group.ParamList;
            for (int i = 0; i < ps.Count; i++)
            {
                var p = ps[i];
                if (p.Grad is not { } grad) continue;
                if (!ShapeUtil.SameShape(grad.shape, p.shape))
                    throw new InvalidOperationException($"{Name}: the gradient of shape {ShapeUtil.Format(grad.shape)} does not match its parameter of shape {ShapeUtil.Format(p.shape)}");
                if (grad.DType != p.DType) grad = grad.To(p.DType);
                if (!grad.IsContiguous) grad = Tensor.CopyToContiguous(grad);
                if (!state.TryGetValue(p, out var s)) state[p] = s = new ParamState();
                if (p.DType.IsReducedPrecision())
                {
                    // float16/bfloat16 parameters: the update runs in float32 (state buffers too) and is rounded once into the parameter
                    var wide = ReducedFloat.Widen(p);
                    Update(group, wide, ReducedFloat.Widen(grad), s);
                    Tensor.CopyInto(ReducedFloat.Narrow(wide, p.DType), p);
                    p.BumpVersion();
                    continue;
                }
                var target = p.IsContiguous ? p : Tensor.CopyToContiguous(p);
                Update(group, target, grad, s);
                if (!ReferenceEquals(target, p)) Tensor.CopyInto(target, p);
                p.BumpVersion();
            }
        }
        RunHooks(stepPostHooks);
    }

    /// <summary>Re-evaluates the loss with <paramref name="closure"/> (gradients enabled), then steps (optimizer.step(closure)).</summary>
    public Tensor Step(Func<Tensor> closure)
    {
        ArgumentNullException.ThrowIfNull(closure);
        Tensor loss;
        using (Autograd.EnableGrad()) loss = closure();
        Step();
        return loss;
    }

    /// <summary>
    /// Updates one parameter in place. <paramref name="param"/> and <paramref name="grad"/> are contiguous with the
    /// same dtype (float32 or float64) and shape; <paramref name="state"/> is the parameter's state (empty the first time).
    /// </summary>
    private protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    /// <summary>True when <paramref name="options"/> is of this optimizer's options type.</summary>
    private protected abstract bool AcceptsOptions(OptimizerOptions options);

    /// <summary>The name of this optimizer's options type, for messages.</summary>
    private protected abstract string OptionsTypeName { get; }

    void CheckOptionsType(OptimizerOptions options, string what)
    {
        if (!AcceptsOptions(options))
            throw new ArgumentException($"{Name}: {what} are {options.GetType().Name}, but {Name} takes {OptionsTypeName}", nameof(options));
    }

    /// <summary>Checks the type and values of options for group <paramref name="groupIndex"/> (on adding it, or on setting its options).</summary>
    internal void CheckGroupOptions(OptimizerOptions options, int groupIndex)
    {
        CheckOptionsType(options, $"the options of parameter group {groupIndex}");
        options.Validate($"{Name}, parameter group {groupIndex}");
    }
}
