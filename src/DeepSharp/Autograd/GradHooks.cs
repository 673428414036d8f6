using DeepSharp.NN;

namespace DeepSharp;

// Gradient hooks on leaves and end-of-backward callbacks: what a data-parallel wrapper needs to start reducing a
// gradient as soon as backward has finished accumulating it (torch.Tensor.register_post_accumulate_grad_hook,
// Variable._execution_engine.queue_callback). The engine (Autograd.Run) counts, before it starts, the graph edges that
// reach each hooked leaf; a leaf's hooks fire when its last edge has delivered, so a parameter used twice (tied
// weights) fires once, with its whole gradient in Grad.
public sealed partial class Tensor
{
    internal List<Action<Tensor>>? PostAccumulateGradHooks
    {
        get => (link as LeafExtras)?.PostAccumulateGradHooks;
        set { if (value != null || link is LeafExtras) Extras.PostAccumulateGradHooks = value; }
    }
    internal static int HookedLeafCount;

    /// <summary>
    /// Registers <paramref name="hook"/> to run after <see cref="Autograd.Backward"/> has accumulated this leaf's whole
    /// gradient of the pass into <see cref="Grad"/> (torch.Tensor.register_post_accumulate_grad_hook). The hook gets this
    /// tensor. It does not run for <see cref="Autograd.Grad(Tensor[], Tensor[], Tensor[], bool?, bool, bool)"/>, which
    /// leaves Grad alone. Dispose the returned handle to remove it.
    /// </summary>
    public HookHandle RegisterPostAccumulateGradHook(Action<Tensor> hook)
    {
        ArgumentNullException.ThrowIfNull(hook);
        if (!IsLeaf) throw new InvalidOperationException($"RegisterPostAccumulateGradHook: only a leaf tensor can have a post-accumulate hook; this tensor (shape {ShapeUtil.Format(shape)}) has grad_fn {GradFn!.Name}");
        if (!RequiresGrad) throw new InvalidOperationException($"RegisterPostAccumulateGradHook: the tensor (shape {ShapeUtil.Format(shape)}) does not require grad");
        lock (this)
        {
            if (PostAccumulateGradHooks == null) { PostAccumulateGradHooks = []; Interlocked.Increment(ref HookedLeafCount); }
            PostAccumulateGradHooks.Add(hook);
        }
        return new HookHandle(() =>
        {
            lock (this)
            {
                if (PostAccumulateGradHooks == null || !PostAccumulateGradHooks.Remove(hook)) return;
                if (PostAccumulateGradHooks.Count == 0) { PostAccumulateGradHooks = null; Interlocked.Decrement(ref HookedLeafCount); }
            }
        });
    }
}

public static partial class Autograd
{
    [ThreadStatic] static List<Action>? backwardCallbacks;
    [ThreadStatic] static List<Action>? idleCallbackList;   // reused by the next backward pass on this thread

    /// <summary>
    /// Queues <paramref name="callback"/> to run once the backward pass now running on this thread has delivered every
    /// gradient (torch.autograd.Variable._execution_engine.queue_callback). Only valid inside a backward pass (from a
    /// gradient hook); callbacks run in the order queued, and a callback may queue another.
    /// </summary>
    public static void QueueCallback(Action callback)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var list = backwardCallbacks ?? throw new InvalidOperationException("QueueCallback: no backward pass is running on this thread; call it from a gradient hook");
        list.Add(callback);
    }

    /// <summary>The callbacks of one backward pass; restores the enclosing pass's list when disposed.</summary>
    readonly struct BackwardCallbackScope : IDisposable
    {
        readonly List<Action>? previous;
        readonly List<Action>? mine;
        public BackwardCallbackScope()
        {
            previous = backwardCallbacks;
            mine = idleCallbackList ?? [];
            idleCallbackList = null;
            backwardCallbacks = mine;
        }

        public void Complete()
        {
            if (mine == null) return;
            for (int i = 0; i < mine.Count; i++) mine[i]();   // a callback may append another
            mine.Clear();
        }

        public void Dispose()
        {
            if (mine == null) return;
            backwardCallbacks = previous;
            mine.Clear();
            idleCallbackList = mine;
        }
    }

    /// <summary>Counts the edges into each hooked leaf and fires its hooks when the last one has delivered.</summary>
    sealed class PostAccumulateTracker
    {
        readonly Dictionary<Tensor, (int Remaining, bool Received)> leaves = new(ReferenceEqualityComparer.Instance);

        public static PostAccumulateTracker? Create(IEnumerable<Node> nodes, ReadOnlySpan<Tensor> roots)
        {
            if (Volatile.Read(ref Tensor.HookedLeafCount) == 0) return null;
            var tracker = new PostAccumulateTracker();
            foreach (var root in roots) tracker.Count(root);
            foreach (var node in nodes)
                for (int i = 0; i < node.InputCount; i++) tracker.Count(node.Input(i));
            return tracker.leaves.Count == 0 ? null : tracker;
        }

        void Count(Tensor? t)
        {
            if (t is not { GradFn: null, PostAccumulateGradHooks: not null }) return;
            leaves[t] = leaves.TryGetValue(t, out var s) ? (s.Remaining + 1, false) : (1, false);
        }

        public void Delivered(Tensor leaf, bool received = true)
        {
            if (!leaves.TryGetValue(leaf, out var s)) return;
            s = (s.Remaining - 1, s.Received || received);
            leaves[leaf] = s;
            if (s.Remaining != 0 || !s.Received) return;
            Action<Tensor>[] hooks;
            lock (leaf) hooks = leaf.PostAccumulateGradHooks?.ToArray() ?? [];
            foreach (var hook in hooks) hook(leaf);
        }
    }
}
