using System.Globalization;

namespace DeepSharp.Optim;

/// <summary>
/// Base class of all optimizers (torch.optim.Optimizer): parameter groups with per-group hyperparameters,
/// per-parameter state, <see cref="ZeroGrad"/>, <see cref="Step()"/> and state dicts. A subclass supplies its
/// defaults and <see cref="Update"/>, the fused update of one parameter.
/// </summary>
public abstract class Optimizer
{
    readonly List<ParamGroup> groups = new();
    readonly Dictionary<Tensor, ParamState> state = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<string, double> defaults;

    /// <summary>Creates an optimizer over one group holding <paramref name="parameters"/> (torch.optim.Optimizer(params, defaults)).</summary>
    protected Optimizer(IEnumerable<Tensor> parameters, Dictionary<string, double> defaults)
        : this([new ParamGroup(parameters ?? throw new ArgumentNullException(nameof(parameters)))], defaults) { }

    /// <summary>Creates an optimizer over several groups; options a group leaves unset take the <paramref name="defaults"/>.</summary>
    protected Optimizer(IEnumerable<ParamGroup> paramGroups, Dictionary<string, double> defaults)
    {
        ArgumentNullException.ThrowIfNull(paramGroups);
        this.defaults = defaults;
        var list = paramGroups.ToList();
        if (list.Count == 0) throw new ArgumentException($"{Name}: optimizer got an empty parameter list", nameof(paramGroups));
        foreach (var g in list) AddParamGroup(g);
    }

    /// <summary>The optimizer's name for messages ("SGD", "Adam" ...).</summary>
    protected string Name => GetType().Name;

    /// <summary>The parameter groups (torch.optim.Optimizer.param_groups).</summary>
    public IReadOnlyList<ParamGroup> ParamGroups => groups;

    /// <summary>The default hyperparameters given at construction (torch.optim.Optimizer.defaults).</summary>
    public IReadOnlyDictionary<string, double> Defaults => defaults;

    /// <summary>Per-parameter state, keyed by the parameter tensor itself (torch.optim.Optimizer.state).</summary>
    public IReadOnlyDictionary<Tensor, ParamState> State => state;

    /// <summary>Every parameter of every group, in order.</summary>
    public IEnumerable<Tensor> Parameters() => groups.SelectMany(g => g.ParamList);

    /// <summary>
    /// Adds a group (torch.optim.Optimizer.add_param_group): options it leaves unset take the defaults. Parameters
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
        foreach (var (key, value) in defaults) group.Options.TryAdd(key, value);
        ValidateGroup(group, groups.Count);
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
                var target = p.IsContiguous ? p : Tensor.CopyToContiguous(p);
                Update(group, target, grad, s);
                if (!ReferenceEquals(target, p)) Tensor.CopyInto(target, p);
                p.BumpVersion();
            }
        }
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
    /// Checks a group's hyperparameters (defaults already filled in) when it is added; throw through <see cref="Require"/>.
    /// Runs from the base constructor, so it must use only the group, not fields of the subclass.
    /// </summary>
    protected virtual void ValidateGroup(ParamGroup group, int groupIndex) { }

    /// <summary>
    /// Updates one parameter in place. <paramref name="param"/> and <paramref name="grad"/> are contiguous with the
    /// same dtype (float32 or float64) and shape; <paramref name="state"/> is the parameter's state (empty the first time).
    /// </summary>
    protected abstract void Update(ParamGroup group, Tensor param, Tensor grad, ParamState state);

    /// <summary>Reads a boolean group option (stored as 0 or 1).</summary>
    protected static bool Flag(ParamGroup group, string key) => group[key] != 0;

    /// <summary>
    /// The optimizer state in serialisable form (torch.optim.Optimizer.state_dict()); see <see cref="OptimizerState"/>
    /// for the key layout. Buffers are copied.
    /// </summary>
    public OptimizerState StateDict() => TensorScope.Suspend(StateDictCore);

    OptimizerState StateDictCore()
    {
        var result = new OptimizerState();
        int index = 0;
        for (int g = 0; g < groups.Count; g++)
        {
            var group = groups[g];
            foreach (var (key, value) in group.Options) result.Scalars[$"param_groups.{g}.{key}"] = value;
            result.Scalars[$"param_groups.{g}.num_params"] = group.ParamList.Count;
            foreach (var p in group.ParamList)
            {
                if (state.TryGetValue(p, out var s))
                {
                    result.Scalars[$"state.{index}.step"] = s.Step;
                    foreach (var (name, buffer) in s.Buffers) result.Tensors[$"state.{index}.{name}"] = Tensor.CopyToContiguous(buffer);
                }
                index++;
            }
        }
        return result;
    }

    /// <summary>
    /// Restores state from <see cref="StateDict"/> (torch.optim.Optimizer.load_state_dict): group hyperparameters
    /// replace the current ones, and buffers are copied and cast to each parameter's dtype. The optimizer must have
    /// the same number of groups with the same number of parameters, in the same order, as the one saved.
    /// </summary>
    public void LoadStateDict(OptimizerState stateDict)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var groupOptions = new Dictionary<int, Dictionary<string, double>>();
        var steps = new Dictionary<int, long>();
        foreach (var (key, value) in stateDict.Scalars)
        {
            var (section, index, name) = ParseKey(key);
            if (section == "param_groups")
            {
                if (!groupOptions.TryGetValue(index, out var opts)) groupOptions[index] = opts = new();
                opts[name] = value;
            }
            else if (name == "step") steps[index] = (long)value;
            else throw new ArgumentException($"{Name}.LoadStateDict: unexpected scalar key '{key}'", nameof(stateDict));
        }
        if (groupOptions.Count != groups.Count || groupOptions.Keys.Any(k => k >= groups.Count))
            throw new ArgumentException($"{Name}.LoadStateDict: the loaded state dict has {groupOptions.Count} parameter groups but the optimizer has {groups.Count}", nameof(stateDict));
        var allParams = Parameters().ToArray();
        for (int g = 0; g < groups.Count; g++)
        {
            int saved = groupOptions[g].TryGetValue("num_params", out var n) ? (int)n : -1;
            if (saved != groups[g].ParamList.Count)
                throw new ArgumentException($"{Name}.LoadStateDict: loaded parameter group {g} has {saved} parameters but the optimizer's group {g} has {groups[g].ParamList.Count}", nameof(stateDict));
        }
        var newState = new Dictionary<int, ParamState>();
        foreach (var (key, tensor) in stateDict.Tensors)
        {
            var (section, index, name) = ParseKey(key);
            if (section != "state" || index >= allParams.Length)
                throw new ArgumentException($"{Name}.LoadStateDict: tensor key '{key}' does not name the state of one of the optimizer's {allParams.Length} parameters", nameof(stateDict));
            var p = allParams[index];
            if (!ShapeUtil.SameShape(tensor.shape, p.shape))
                throw new ArgumentException($"{Name}.LoadStateDict: state '{key}' has shape {ShapeUtil.Format(tensor.shape)} but parameter {index} has shape {ShapeUtil.Format(p.shape)}", nameof(stateDict));
            if (!newState.TryGetValue(index, out var s)) newState[index] = s = new ParamState();
            s.Buffers[name] = TensorScope.Suspend(() => Tensor.CopyToContiguous(tensor.DType == p.DType ? tensor : tensor.To(p.DType)));
        }
        foreach (var (index, step) in steps)
        {
            if (index >= allParams.Length)
                throw new ArgumentException($"{Name}.LoadStateDict: 'state.{index}.step' does not name one of the optimizer's {allParams.Length} parameters", nameof(stateDict));
            if (!newState.TryGetValue(index, out var s)) newState[index] = s = new ParamState();
            s.Step = step;
        }
        for (int g = 0; g < groups.Count; g++)
        {
            var opts = groups[g].Options;
            opts.Clear();
            foreach (var (key, value) in groupOptions[g]) if (key != "num_params") opts[key] = value;
            foreach (var (key, value) in defaults) opts.TryAdd(key, value);
        }
        state.Clear();
        foreach (var (index, s) in newState) state[allParams[index]] = s;
    }

    (string Section, int Index, string Name) ParseKey(string key)
    {
        var parts = key.Split('.', 3);
        if (parts.Length == 3 && (parts[0] == "state" || parts[0] == "param_groups")
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int index))
            return (parts[0], index, parts[2]);
        throw new ArgumentException($"{Name}.LoadStateDict: key '{key}' is not of the form 'state.{{index}}.{{name}}' or 'param_groups.{{index}}.{{option}}'");
    }

    /// <summary>Throws an ArgumentOutOfRangeException naming the optimizer, the option and the group when the option's value breaks <paramref name="ok"/>.</summary>
    protected void Require(ParamGroup group, int groupIndex, string option, Func<double, bool> ok, string rule)
    {
        double value = group[option];
        if (!ok(value))
            throw new ArgumentOutOfRangeException(option, value, $"{Name}: invalid {option} {value.ToString(CultureInfo.InvariantCulture)} in parameter group {groupIndex}; it must be {rule}");
    }
}
