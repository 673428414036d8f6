using System.Runtime.CompilerServices;
using DeepSharp.NN;

namespace DeepSharp.Compression.Pruning;

/// <summary>
/// Pruning of module tensors (torch.nn.utils.prune). Pruning <c>weight</c> of a module re-parametrises it as PyTorch does:
/// the parameter moves to <c>weight_orig</c>, the mask becomes the buffer <c>weight_mask</c>, and a forward pre-hook sets
/// the plain attribute <c>weight = weight_orig * weight_mask</c> before every call, so the layer's forward uses the pruned
/// weight, the gradient of <c>weight_orig</c> is zero where the mask is, the optimizer trains <c>weight_orig</c>, and
/// <c>StateDict()</c> holds <c>weight_orig</c> and <c>weight_mask</c>. Pruning the same tensor again composes the masks
/// (<see cref="PruningContainer"/>); <see cref="Remove"/> makes the pruning permanent.
/// </summary>
public static class Prune
{
    sealed record Entry(PruningMethod Method, HookHandle Handle);

    static readonly ConditionalWeakTable<Module, Dictionary<string, Entry>> entries = new();

    /// <summary>Prunes the <paramref name="amount"/> smallest-magnitude entries of <paramref name="module"/>.<paramref name="name"/> (prune.l1_unstructured).</summary>
    public static Module L1Unstructured(Module module, string name, PruningAmount amount, Tensor? importanceScores = null) =>
        Apply(module, name, new L1Unstructured(amount), importanceScores);

    /// <summary>Prunes <paramref name="amount"/> random entries (prune.random_unstructured).</summary>
    public static Module RandomUnstructured(Module module, string name, PruningAmount amount, Generator? generator = null) =>
        Apply(module, name, new RandomUnstructured(amount, generator));

    /// <summary>Prunes the <paramref name="amount"/> channels along <paramref name="dim"/> of smallest Ln norm (prune.ln_structured).</summary>
    public static Module LnStructured(Module module, string name, PruningAmount amount, double n, int dim, Tensor? importanceScores = null) =>
        Apply(module, name, new LnStructured(amount, n, dim), importanceScores);

    /// <summary>Prunes <paramref name="amount"/> random channels along <paramref name="dim"/> (prune.random_structured).</summary>
    public static Module RandomStructured(Module module, string name, PruningAmount amount, int dim, Generator? generator = null) =>
        Apply(module, name, new RandomStructured(amount, dim, generator));

    /// <summary>Prunes where <paramref name="mask"/> is zero (prune.custom_from_mask).</summary>
    public static Module CustomFromMask(Module module, string name, Tensor mask) => Apply(module, name, new CustomFromMask(mask));

    /// <summary>Re-parametrises without pruning anything: an all-ones mask (prune.identity).</summary>
    public static Module Identity(Module module, string name) => Apply(module, name, new IdentityPruning());

    /// <summary>
    /// Applies <paramref name="method"/> to <paramref name="module"/>.<paramref name="name"/> (BasePruningMethod.apply). The
    /// first time, the parameter becomes <c>name_orig</c> and the mask starts from ones; later calls compose with the mask in
    /// force. Importance scores default to the (already pruned) tensor. Returns the module.
    /// </summary>
    public static Module Apply(Module module, string name, PruningMethod method, Tensor? importanceScores = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(method);
        var table = entries.GetOrCreateValue(module);
        table.TryGetValue(name, out var previous);
        var current = previous != null ? MaskedValue(module, name) : module.GetTensor(name);
        if (current == null)
            throw new ArgumentException($"Prune: {module.GetType().Name} has no tensor \"{name}\" to prune", nameof(name));
        if (previous == null && !Module.IsParameter(current))
            throw new ArgumentException($"Prune: \"{name}\" of {module.GetType().Name} is not a parameter", nameof(name));
        var scores = importanceScores ?? current;
        if (!scores.Shape.SequenceEqual(current.Shape))
            throw new ArgumentException($"Prune: importance scores of shape {PruningMethod.Fmt(scores)} should match the parameter \"{name}\" of shape {PruningMethod.Fmt(current)}", nameof(importanceScores));

        PruningMethod composed = method;
        Tensor defaultMask;
        if (previous != null)
        {
            var container = previous.Method as PruningContainer ?? new PruningContainer(previous.Method);
            container.Add(method);
            composed = container;
            defaultMask = module.GetTensor(name + "_mask")!.Detach().Clone();
        }
        else defaultMask = Tensor.OnesLike(current);
        var mask = TensorScope.Suspend(() => composed.ComputeMask(scores, defaultMask));

        if (previous == null) module.RegisterParameter(name + "_orig", current);
        else previous.Handle.Dispose();
        module.RegisterBuffer(name + "_mask", mask);
        module.SetTensorAttribute(name, TensorScope.Suspend(() => MaskedValue(module, name)));
        var handle = module.RegisterForwardPreHook((m, _) => m.SetTensorAttribute(name, MaskedValue(m, name)));
        table[name] = new Entry(composed, handle);
        return module;
    }

    /// <summary>name_orig · name_mask, recorded by autograd when grad mode is on (BasePruningMethod.apply_mask).</summary>
    static Tensor MaskedValue(Module module, string name)
    {
        var orig = module.GetTensor(name + "_orig") ?? throw new InvalidOperationException($"Prune: \"{name}_orig\" is missing from {module.GetType().Name}");
        var mask = module.GetTensor(name + "_mask") ?? throw new InvalidOperationException($"Prune: \"{name}_mask\" is missing from {module.GetType().Name}");
        return orig * mask;
    }

    /// <summary>The pruning method in force on <paramref name="module"/>.<paramref name="name"/> (a container after repeated pruning), or null.</summary>
    public static PruningMethod? MethodOf(Module module, string name) =>
        entries.TryGetValue(module, out var t) && t.TryGetValue(name, out var e) ? e.Method : null;

    /// <summary>
    /// Makes the pruning of <paramref name="module"/>.<paramref name="name"/> permanent (prune.remove): the parameter
    /// <c>name</c> holds weight_orig · weight_mask (written into the weight_orig tensor, so an optimizer holding it stays
    /// attached), and weight_orig, weight_mask and the hook are gone. Returns the module.
    /// </summary>
    public static Module Remove(Module module, string name)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!entries.TryGetValue(module, out var table) || !table.TryGetValue(name, out var entry))
            throw new ArgumentException($"Parameter '{name}' of module {module.GetType().Name} has to be pruned before pruning can be removed", nameof(name));
        var orig = module.GetTensor(name + "_orig")!;
        using (Autograd.NoGrad())
        {
            var pruned = TensorScope.Suspend(() => MaskedValue(module, name));
            orig.CopyFrom(pruned);
        }
        entry.Handle.Dispose();
        table.Remove(name);
        module.DeleteTensor(name + "_orig");
        module.DeleteTensor(name + "_mask");
        module.RegisterParameter(name, orig);
        return module;
    }

    /// <summary>True when any module in <paramref name="module"/>'s tree has a pruned tensor (prune.is_pruned).</summary>
    public static bool IsPruned(Module module)
    {
        ArgumentNullException.ThrowIfNull(module);
        foreach (var m in module.Modules())
            if (entries.TryGetValue(m, out var t) && t.Count > 0) return true;
        return false;
    }

    /// <summary>
    /// Prunes the tensors in <paramref name="parameters"/> together (prune.global_unstructured): their importance scores
    /// (default: the tensors, already pruned ones included) are flattened into one vector, <paramref name="method"/> (which
    /// must be unstructured, e.g. <c>new L1Unstructured(0.8)</c>) computes one mask over it on top of the masks in force,
    /// so a fraction is a fraction of the entries still unpruned across all of them, and each tensor gets its slice
    /// through <see cref="CustomFromMask(Module, string, Tensor)"/>.
    /// </summary>
    public static void GlobalUnstructured(IReadOnlyList<(Module Module, string Name)> parameters, PruningMethod method,
        IReadOnlyDictionary<(Module, string), Tensor>? importanceScores = null)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(method);
        if (method.Type != PruningType.Unstructured)
            throw new ArgumentException($"GlobalUnstructured: only unstructured pruning methods are supported, got {method.Type} ({method.GetType().Name})", nameof(method));
        if (parameters.Count == 0) throw new ArgumentException("GlobalUnstructured: no parameters given", nameof(parameters));
        var scores = new List<double>();
        var masks = new List<double>();
        var shapes = new List<int[]>();
        foreach (var (module, name) in parameters)
        {
            var current = MethodOf(module, name) != null ? MaskedValue(module, name) : module.GetTensor(name)
                ?? throw new ArgumentException($"GlobalUnstructured: {module.GetType().Name} has no tensor \"{name}\"", nameof(parameters));
            var s = importanceScores != null && importanceScores.TryGetValue((module, name), out var given) ? given : current;
            if (!s.Shape.SequenceEqual(current.Shape))
                throw new ArgumentException($"GlobalUnstructured: importance scores of shape {PruningMethod.Fmt(s)} for \"{name}\" of shape {PruningMethod.Fmt(current)}", nameof(importanceScores));
            scores.AddRange(MaskMath.Values(s));
            var mask = module.GetTensor(name + "_mask");
            masks.AddRange(mask != null && MethodOf(module, name) != null ? MaskMath.Values(mask) : Enumerable.Repeat(1.0, current.NumEl));
            shapes.Add(current.Shape.ToArray());
        }
        var container = new PruningContainer(method);
        var final = container.Compute(scores.ToArray(), masks.ToArray(), [scores.Count]);
        int pointer = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            int n = shapes[i].Aggregate(1, (a, b) => a * b);
            var slice = MaskMath.ToTensor(final[pointer..(pointer + n)], shapes[i], parameters[i].Module.GetTensor(parameters[i].Name)!.DType);
            CustomFromMask(parameters[i].Module, parameters[i].Name, slice);
            pointer += n;
        }
    }
}
