namespace DeepSharp.NN;

/// <summary>A registered hook; disposing it (or calling <see cref="Remove"/>) unregisters it (torch.utils.hooks.RemovableHandle).</summary>
public sealed class HookHandle : IDisposable
{
    readonly Action remove;
    bool removed;
    internal HookHandle(Action remove) => this.remove = remove;

    /// <summary>Unregisters the hook; later calls do nothing (RemovableHandle.remove()).</summary>
    public void Remove() { if (!removed) { removed = true; remove(); } }

    /// <summary>Same as <see cref="Remove"/>.</summary>
    public void Dispose() => Remove();
}

// Calling a module: forward pre-hooks, Forward, forward hooks.
public abstract partial class Module
{
    List<Func<Module, Tensor, Tensor?>>? preHooks;
    List<Func<Module, Tensor, Tensor, Tensor?>>? hooks;

    /// <summary>
    /// Runs the module on <paramref name="input"/> (torch.nn.Module.__call__): forward pre-hooks, then <see cref="Forward"/>,
    /// then forward hooks, in registration order. Containers call their children through this, so hooks fire there too.
    /// </summary>
    public Tensor Call(Tensor input)
    {
        if (preHooks is { Count: > 0 })
            foreach (var hook in preHooks.ToArray())
                if (hook(this, input) is { } replaced) input = replaced;
        var output = Forward(input);
        if (hooks is { Count: > 0 })
            foreach (var hook in hooks.ToArray())
                if (hook(this, input, output) is { } replaced) output = replaced;
        return output;
    }

    /// <summary>
    /// Registers a hook run before <see cref="Forward"/> by <see cref="Call"/> (torch.nn.Module.register_forward_pre_hook);
    /// a non-null result replaces the input. Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterForwardPreHook(Func<Module, Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (preHooks ??= []).Add(hook);
        return new HookHandle(() => preHooks.Remove(hook));
    }

    /// <summary>Registers an observing pre-hook that does not change the input (torch.nn.Module.register_forward_pre_hook).</summary>
    public HookHandle RegisterForwardPreHook(Action<Module, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterForwardPreHook((m, x) => { hook(m, x); return null; });
    }

    /// <summary>
    /// Registers a hook run after <see cref="Forward"/> by <see cref="Call"/> with (module, input, output)
    /// (torch.nn.Module.register_forward_hook); a non-null result replaces the output. Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterForwardHook(Func<Module, Tensor, Tensor, Tensor?> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        (hooks ??= []).Add(hook);
        return new HookHandle(() => hooks.Remove(hook));
    }

    /// <summary>Registers an observing forward hook, e.g. to record activations (torch.nn.Module.register_forward_hook).</summary>
    public HookHandle RegisterForwardHook(Action<Module, Tensor, Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        return RegisterForwardHook((m, x, y) => { hook(m, x, y); return null; });
    }
}
