namespace DeepSharp;

/// <summary>
/// A region whose temporary tensors give their memory back when it ends (like TorchSharp's DisposeScope): every
/// tensor created on this thread inside the scope is released at <see cref="Dispose"/>, except those passed to
/// <see cref="Keep"/>. A released tensor throws <see cref="ObjectDisposedException"/> when read, never returns stale
/// values. Nothing requires scopes: without one, the GC owns every tensor. The Trainer wraps each steady-state training
/// step in one so a step allocates next to nothing.
/// </summary>
public sealed class TensorScope : IDisposable
{
    [ThreadStatic] static TensorScope? current;
    readonly TensorScope? parent;
    [ThreadStatic] static List<Storage>? idleList;   // the list of the last scope that ended on this thread, reused by the next
    List<Storage> tracked;
    HashSet<Storage>? kept;
    bool disposed;

    TensorScope()
    {
        tracked = idleList ?? new List<Storage>();
        idleList = null;
        parent = current;
        current = this;
    }

    /// <summary>Starts a scope on the current thread (nested scopes are allowed).</summary>
    public static TensorScope Begin() => new();

    /// <summary>The innermost active scope of this thread, if any.</summary>
    public static TensorScope? Current => current;

    /// <summary>Runs <paramref name="action"/> with no active scope, so what it creates outlives the scope (optimizer state, gradients).</summary>
    public static T Suspend<T>(Func<T> action)
    {
        var saved = current;
        current = null;
        try { return action(); }
        finally { current = saved; }
    }

    /// <summary>Clears the active scope until disposed: what is created meanwhile outlives the scope (like <see cref="Suspend{T}"/>, without a delegate).</summary>
    internal static SuspendedScope SuspendScope() => new(current);

    internal readonly struct SuspendedScope : IDisposable
    {
        readonly TensorScope? saved;
        public SuspendedScope(TensorScope? saved) { this.saved = saved; current = null; }
        public void Dispose() => current = saved;
    }

    internal static void Track(Storage s)
    {
        // a scope disposed out of order can still be current (its inner scope ended after it): what is created then
        // is left to the GC, as before the lists were reused
        if (current is { disposed: false } c) c.tracked.Add(s);
    }

    /// <summary>Keeps <paramref name="tensor"/>'s memory alive after the scope ends (it moves to the enclosing scope, if any).</summary>
    public Tensor Keep(Tensor tensor)
    {
        (kept ??= new HashSet<Storage>(ReferenceEqualityComparer.Instance)).Add(tensor.storage);
        return tensor;
    }

    /// <summary>Releases every tracked tensor that was not kept.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (current == this) current = parent;
        foreach (var s in tracked)
        {
            if (kept != null && kept.Contains(s)) { if (parent is { disposed: false }) parent.tracked.Add(s); continue; }
            s.Release();
        }
        tracked.Clear();
        kept?.Clear();
        if (tracked.Capacity <= 1 << 16) idleList = tracked;   // a step's worth; a huge one goes to the GC
        tracked = null!;
    }
}
