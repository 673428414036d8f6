namespace DeepSharp;

/// <summary>
/// A recorded operation in the autograd graph (torch.autograd.graph.Node, a tensor's grad_fn). It maps the
/// gradient of its output to the gradients of its inputs. Nodes are created by ops; users only inspect them.
/// </summary>
/// <remarks>
/// A backward function is either a closure (<c>Func&lt;Tensor, Tensor?[]&gt;</c>) or, for the ops every training step runs,
/// a static <see cref="BackwardFunction"/> that reads what it needs from the node itself (<see cref="Saved"/>,
/// <see cref="Input"/> and <see cref="State"/>), so recording such an op allocates no closure and no delegate. The first two
/// saved tensors and the first three inputs are kept in fields, so a node of up to three inputs needs no array.
/// </remarks>
public sealed class Node
{
    object? kind;                       // a Kind (name and static backward function, shared), or a closure backward; null once a closure's node is released
    readonly object? stateOrName;       // the state of a static backward function, or a closure node's name
    Tensor? saved0, saved1;
    int version0, version1;
    int counts;                         // InputCount (bits 0-15), saved tensor count (bits 16-29), released (bit 30)
    readonly Tensor? input0, input1, input2;
    Rare? rare;                         // what few nodes have, so that the common node stays at 96 bytes

    const int SavedShift = 16, ReleasedBit = 1 << 30, CountMask = 0xFFFF;

    /// <summary>The parts of a node that few nodes need: more than two saved tensors, more than three inputs, a retained output.</summary>
    sealed class Rare
    {
        public (Tensor Tensor, int Version)[]? SavedMore;
        public Tensor?[]? Inputs;       // all the inputs, when there are more than three
        public Tensor? RetainedOutput;
    }

    /// <summary>
    /// A node's name and <see cref="BackwardFunction"/>. For a static function (no target) one object per (function, name)
    /// serves every node recording it, so such a node holds one reference for the two; a closure's node keeps the closure
    /// and, in the field a static function's state takes, its name.
    /// </summary>
    sealed class Kind(string name, BackwardFunction backward)
    {
        public readonly string Name = name;
        public readonly BackwardFunction Backward = backward;
    }

    /// <summary>The kinds of static backward functions: per function, its names (a function serves a few ops).</summary>
    static readonly System.Collections.Concurrent.ConcurrentDictionary<Delegate, Kind[]> kinds = new();

    static Kind KindOf(string name, BackwardFunction backward)
    {
        if (kinds.TryGetValue(backward, out var known))
            foreach (var k in known)
                if (ReferenceEquals(k.Name, name) || k.Name == name) return k;
        // only a delegate the compiler caches comes again: a static method's, or a lambda capturing nothing (an instance
        // method of the compiler's singleton "<>c" class, "<>c__N`1" in a generic method); one made per call (a capturing
        // lambda: a "<>c__DisplayClass" instance, or any other target) gets a kind of its own
        if (backward.Target is { } target && !IsCompilerSingleton(target.GetType())) return new Kind(name, backward);
        lock (kinds)
        {
            known = kinds.TryGetValue(backward, out var again) ? again : [];
            foreach (var k in known)
                if (k.Name == name) return k;
            var made = new Kind(name, backward);
            kinds[backward] = [.. known, made];
            return made;
        }
    }

    static bool IsCompilerSingleton(Type type) =>
        type.Name.StartsWith("<>c", StringComparison.Ordinal) && !type.Name.StartsWith("<>c__DisplayClass", StringComparison.Ordinal)
        && type.IsDefined(typeof(System.Runtime.CompilerServices.CompilerGeneratedAttribute), false);

    internal Node(string name, ReadOnlySpan<Tensor?> inputs, Delegate backward, ReadOnlySpan<Tensor> saved, object? state)
    {
        if (inputs.Length > CountMask || saved.Length > 0x3FFF)
            throw new ArgumentException($"internal: {name} records {inputs.Length} inputs and {saved.Length} saved tensors (at most {CountMask} and {0x3FFF})");
        if (backward is BackwardFunction function) { kind = KindOf(name, function); stateOrName = state; }
        else { kind = backward; stateOrName = name; }
        // the graph edges: the inputs that require grad, null for the others
        if (inputs.Length > 3)
        {
            var all = new Tensor?[inputs.Length];
            for (int i = 0; i < inputs.Length; i++) all[i] = Edge(inputs[i]);
            rare = new Rare { Inputs = all };
        }
        else
        {
            if (inputs.Length > 0) input0 = Edge(inputs[0]);
            if (inputs.Length > 1) input1 = Edge(inputs[1]);
            if (inputs.Length > 2) input2 = Edge(inputs[2]);
        }
        counts = inputs.Length | saved.Length << SavedShift;
        if (saved.Length > 0) { saved0 = saved[0]; version0 = saved0.Version; }
        if (saved.Length > 1) { saved1 = saved[1]; version1 = saved1.Version; }
        if (saved.Length > 2)
        {
            var savedMore = new (Tensor, int)[saved.Length - 2];
            for (int i = 2; i < saved.Length; i++) savedMore[i - 2] = (saved[i], saved[i].Version);
            (rare ??= new Rare()).SavedMore = savedMore;
        }
    }

    int SavedCount => (counts >> SavedShift) & 0x3FFF;   // zero once released

    /// <summary>What a static backward function needs besides the saved tensors (a shape, a dim, a boxed option).</summary>
    internal object? State => kind is Kind ? stateOrName : null;

    static Tensor? Edge(Tensor? input) => input is { RequiresGrad: true } ? input : null;

    /// <summary>Name of the backward function, e.g. "MulBackward" (type(grad_fn).__name__).</summary>
    public string Name => kind is Kind k ? k.Name : (string)stateOrName!;

    /// <summary>The inputs whose gradients this node computes (null where an input needs none); a copy.</summary>
    public IReadOnlyList<Tensor?> Inputs
    {
        get
        {
            var copy = new Tensor?[InputCount];
            for (int i = 0; i < copy.Length; i++) copy[i] = Input(i);
            return copy;
        }
    }

    /// <summary>Number of inputs (edges, null or not).</summary>
    internal int InputCount => counts & CountMask;

    /// <summary>Input <paramref name="index"/> if it requires grad, else null (the node's edge).</summary>
    internal Tensor? Input(int index) => rare?.Inputs is { } all ? all[index] : index switch
    {
        0 => input0,
        1 => input1,
        2 => input2,
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };



    /// <summary>The output whose gradient is kept (Tensor.RetainGrad), or null.</summary>
    internal Tensor? RetainedOutput
    {
        get => rare?.RetainedOutput;
        set => (rare ??= new Rare()).RetainedOutput = value;
    }

    internal bool Released => (counts & ReleasedBit) != 0;

    /// <summary>Saved tensor <paramref name="index"/>, in the order given to Autograd.Record.</summary>
    internal Tensor Saved(int index) => index switch
    {
        0 when SavedCount > 0 => saved0!,
        1 when SavedCount > 1 => saved1!,
        _ when index >= 2 && index < SavedCount => rare!.SavedMore![index - 2].Tensor,
        _ => throw new InvalidOperationException($"internal: {Name} has no saved tensor {index}"),
    };

    internal InputGrads Apply(Tensor gradOutput)
    {
        if (Released || kind == null)
            throw new InvalidOperationException(
                $"Backward: trying to backward through the graph a second time (through {Name}), or to use saved tensors after they were freed. " +
                "Pass retainGraph: true to the first Backward() call if you need to backward twice.");
        if (SavedCount > 0) CheckVersion(saved0!, version0);
        if (SavedCount > 1) CheckVersion(saved1!, version1);
        if (rare?.SavedMore is { } savedMore)
            foreach (var (t, version) in savedMore) CheckVersion(t, version);
        var grads = kind is Kind k ? k.Backward(this, gradOutput) : ((Func<Tensor, Tensor?[]>)kind!)(gradOutput);
        if (grads.Count != InputCount)
            throw new InvalidOperationException($"internal: {Name} returned {grads.Count} gradients for {InputCount} inputs");
        return grads;
    }

    void CheckVersion(Tensor t, int version)
    {
        if (t.Version != version)
            throw new InvalidOperationException(
                $"Backward: one of the tensors needed for gradient computation by {Name} has been modified by an in-place operation " +
                $"(tensor of shape {ShapeUtil.Format(t.shape)} is at version {t.Version}; expected version {version}).");
    }

    internal void Release()
    {
        if (kind is not Kind) kind = null;                                 // a closure: let its captures go
        counts = (counts & CountMask) | ReleasedBit;                       // no saved tensors left
        saved0 = saved1 = null;
        if (rare != null) rare.SavedMore = null;
    }

    /// <inheritdoc/>
    public override string ToString() => $"<{Name}>";
}
