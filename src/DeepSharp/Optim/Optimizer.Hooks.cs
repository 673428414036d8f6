using DeepSharp.NN;

namespace DeepSharp.Optim;

// Step hooks: code that runs around every Step() without subclassing the optimizer (DeepSharp.Distributed's
// ZeroRedundancyOptimizer shards the update with them).
public abstract partial class Optimizer
{
    List<Action<Optimizer>>? stepPreHooks, stepPostHooks;

    /// <summary>
    /// Registers <paramref name="hook"/> to run at the start of every <see cref="Step()"/>, before any parameter is
    /// updated, under no-grad (torch.optim.Optimizer.register_step_pre_hook). Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterStepPreHook(Action<Optimizer> hook) => AddHook(ref stepPreHooks, hook);

    /// <summary>
    /// Registers <paramref name="hook"/> to run at the end of every <see cref="Step()"/>, after every parameter was
    /// updated, under no-grad (torch.optim.Optimizer.register_step_post_hook). Dispose the handle to remove it.
    /// </summary>
    public HookHandle RegisterStepPostHook(Action<Optimizer> hook) => AddHook(ref stepPostHooks, hook);

    static HookHandle AddHook(ref List<Action<Optimizer>>? hooks, Action<Optimizer> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        var list = hooks ??= [];
        list.Add(hook);
        return new HookHandle(() => list.Remove(hook));
    }

    void RunHooks(List<Action<Optimizer>>? hooks)
    {
        if (hooks == null) return;
        foreach (var hook in hooks.ToArray()) hook(this);
    }
}
