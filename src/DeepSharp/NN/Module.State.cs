namespace DeepSharp.NN;

/// <summary>What <see cref="Module.LoadStateDict"/> did not match (the _IncompatibleKeys of torch.nn.Module.load_state_dict).</summary>
/// <param name="MissingKeys">Keys the module expects that the dictionary lacks.</param>
/// <param name="UnexpectedKeys">Keys of the dictionary the module does not have.</param>
public sealed record LoadStateDictResult(IReadOnlyList<string> MissingKeys, IReadOnlyList<string> UnexpectedKeys);

// State dict, loading, dtype conversion.
public abstract partial class Module
{
    /// <summary>
    /// The module's state (torch.nn.Module.state_dict): every parameter and persistent buffer under its dotted name, in
    /// PyTorch's order (each module's own parameters, then its buffers, then its children in registration order). Values
    /// are detached tensors that share storage with the module (a later optimizer step shows through; Clone() them to
    /// snapshot). The dictionary is filled once without removals, so it enumerates in that order.
    /// </summary>
    public Dictionary<string, Tensor> StateDict(string prefix = "")
    {
        var result = new Dictionary<string, Tensor>();
        var path = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        void Walk(Module m, string p)
        {
            if (!path.Add(m)) throw new InvalidOperationException($"StateDict: module {m.GetType().Name} at \"{p}\" contains itself");
            foreach (var (name, t) in m.OwnParameters()) result[Join(p, name)] = t.Detach();
            foreach (var (name, t, persistent) in m.OwnBuffers()) if (persistent) result[Join(p, name)] = t.Detach();
            foreach (var (name, child) in m.OwnModules()) Walk(child, Join(p, name));
            path.Remove(m);
        }
        Walk(this, prefix);
        return result;
    }

    /// <summary>
    /// Copies values from <paramref name="stateDict"/> into this module's parameters and persistent buffers, in place and
    /// without recording gradients (torch.nn.Module.load_state_dict). Values are converted to each target's dtype.
    /// A shape mismatch always throws, naming the key and both shapes, before anything is copied. With
    /// <paramref name="strict"/> (the default) missing or unexpected keys also throw; otherwise they are returned.
    /// </summary>
    public LoadStateDictResult LoadStateDict(IReadOnlyDictionary<string, Tensor> stateDict, bool strict = true)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var own = new Dictionary<string, Tensor>();
        var path = new HashSet<Module>(ReferenceEqualityComparer.Instance);
        void Walk(Module m, string p)
        {
            if (!path.Add(m)) throw new InvalidOperationException($"LoadStateDict: module {m.GetType().Name} at \"{p}\" contains itself");
            foreach (var (name, t) in m.OwnParameters()) own[Join(p, name)] = t;
            foreach (var (name, t, persistent) in m.OwnBuffers()) if (persistent) own[Join(p, name)] = t;
            foreach (var (name, child) in m.OwnModules()) Walk(child, Join(p, name));
            path.Remove(m);
        }
        Walk(this, "");

        var missing = own.Keys.Where(k => !stateDict.ContainsKey(k)).ToList();
        var unexpected = stateDict.Keys.Where(k => !own.ContainsKey(k)).ToList();
        var errors = new List<string>();
        foreach (var (key, target) in own)
        {
            if (!stateDict.TryGetValue(key, out var source)) continue;
            if (source == null) { errors.Add($"null value for \"{key}\""); continue; }
            if (!target.Shape.SequenceEqual(source.Shape))
                errors.Add($"size mismatch for {key}: copying a param with shape {ShapeUtil.Format(source.shape)} from checkpoint, the shape in current model is {ShapeUtil.Format(target.shape)}");
        }
        if (strict)
        {
            if (missing.Count > 0) errors.Insert(0, "Missing key(s) in state_dict: " + string.Join(", ", missing.Select(k => $"\"{k}\"")) + ".");
            if (unexpected.Count > 0) errors.Insert(missing.Count > 0 ? 1 : 0, "Unexpected key(s) in state_dict: " + string.Join(", ", unexpected.Select(k => $"\"{k}\"")) + ".");
        }
        if (errors.Count > 0)
            throw new ArgumentException($"LoadStateDict: error(s) in loading state_dict for {GetType().Name}:\n\t" + string.Join("\n\t", errors), nameof(stateDict));

        using (Autograd.NoGrad())
            foreach (var (key, target) in own)
                if (stateDict.TryGetValue(key, out var source) && !ReferenceEquals(source.storage, target.storage)) target.CopyFrom(source);
        return new LoadStateDictResult(missing, unexpected);
    }

    /// <summary>
    /// Converts every floating-point parameter and buffer to <paramref name="dtype"/> (torch.nn.Module.to(dtype) /
    /// .double() / .float()); integer buffers such as num_batches_tracked keep their dtype. A tensor's dtype is fixed
    /// for its lifetime, so converted members are new tensors: the module's fields are updated to point at them
    /// (gradients are converted too, and frozen parameters stay frozen), but references taken earlier, such as
    /// an optimizer's parameter list, still see the old tensors. Convert first, then build the optimizer.
    /// Returns this module.
    /// </summary>
    public Module To(DType dtype)
    {
        if (!dtype.IsFloatingPoint()) throw new ArgumentException($"To: modules can only be converted to a floating point dtype, got {dtype.TorchName()}", nameof(dtype));
        var converted = new Dictionary<Tensor, Tensor>(ReferenceEqualityComparer.Instance);   // shared tensors stay shared
        foreach (var m in Modules())
        {
            foreach (var (name, p) in m.OwnParameters().ToList())
            {
                if (!p.IsFloatingPoint || p.DType == dtype) continue;
                if (!converted.TryGetValue(p, out var np))
                {
                    // module state outlives any TensorScope the call happens in
                    np = TensorScope.Suspend(() => Parameter(p.Detach().To(dtype), p.RequiresGrad));
                    if (p.Grad is { } grad) np.Grad = TensorScope.Suspend(() => grad.Detach().To(dtype));
                    converted[p] = np;
                }
                m.SetMember(name, np);
            }
            foreach (var (name, b, _) in m.OwnBuffers().ToList())
            {
                if (!b.IsFloatingPoint || b.DType == dtype) continue;
                if (!converted.TryGetValue(b, out var nb)) converted[b] = nb = TensorScope.Suspend(() => b.Detach().To(dtype));
                m.SetMember(name, nb);
            }
        }
        return this;
    }

    /// <summary>Converts floating-point parameters and buffers to float64 (torch.nn.Module.double()). See <see cref="To"/>.</summary>
    public Module Double() => To(DType.Float64);

    /// <summary>Converts floating-point parameters and buffers to float32 (torch.nn.Module.float()). See <see cref="To"/>.</summary>
    public Module Float() => To(DType.Float32);
}
