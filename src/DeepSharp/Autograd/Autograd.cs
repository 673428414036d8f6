namespace DeepSharp;

/// <summary>
/// Reverse-mode automatic differentiation (torch.autograd): grad mode, the backward engine, and
/// Grad() for gradients that can themselves be differentiated.
/// </summary>
public static partial class Autograd
{
    [ThreadStatic] static bool gradDisabled;

    /// <summary>Whether operations are being recorded on this thread (torch.is_grad_enabled()).</summary>
    public static bool IsGradEnabled => !gradDisabled;

    /// <summary>A scope that turns off recording until disposed (torch.no_grad()). Use with <c>using</c>.</summary>
    public static GradModeScope NoGrad() => new(false);

    /// <summary>A scope that turns recording on until disposed (torch.enable_grad()).</summary>
    public static GradModeScope EnableGrad() => new(true);

    /// <summary>Restores the previous grad mode when disposed.</summary>
    public readonly struct GradModeScope : IDisposable
    {
        readonly bool previousDisabled;
        internal GradModeScope(bool enabled) { previousDisabled = gradDisabled; gradDisabled = !enabled; }
        /// <summary>Restores the grad mode that was in force when the scope was created.</summary>
        public void Dispose() => gradDisabled = previousDisabled;
    }

    /// <summary>True when an op with these inputs must be recorded.</summary>
    internal static bool ShouldRecord(Tensor a) => !gradDisabled && a.RequiresGrad;
    internal static bool ShouldRecord(Tensor a, Tensor b) => !gradDisabled && (a.RequiresGrad || b.RequiresGrad);
    internal static bool ShouldRecord(ReadOnlySpan<Tensor> inputs)
    {
        if (gradDisabled) return false;
        foreach (var t in inputs) if (t.RequiresGrad) return true;
        return false;
    }

    /// <summary>
    /// Attaches a backward function to <paramref name="result"/>. <paramref name="backward"/> receives the gradient of
    /// the result and returns one gradient per input (null for inputs that need none). Tensors in <paramref name="saved"/>
    /// are checked for in-place modification before backward runs. <paramref name="inputs"/> is read, not kept: a
    /// collection expression (<c>[a, b]</c>) passed here lives on the stack.
    /// </summary>
    internal static Tensor Record(Tensor result, string name, ReadOnlySpan<Tensor?> inputs, Func<Tensor, Tensor?[]> backward, params ReadOnlySpan<Tensor> saved)
    {
        result.GradFn = new Node(name, inputs, backward, saved, null);
        result.SetRequiresGradInternal();
        return result;
    }

    /// <summary>
    /// Like <see cref="Record(Tensor, string, ReadOnlySpan{Tensor}, Func{Tensor, Tensor?[]}, ReadOnlySpan{Tensor})"/> with a
    /// backward function that allocates no closure: <paramref name="backward"/> must be a static lambda or method (cached by
    /// the compiler) that reads the saved tensors (<see cref="Node.Saved"/>, version-checked), the inputs
    /// (<see cref="Node.Input"/>) and <paramref name="state"/> (<see cref="Node.State"/>) from the node it is given. Used by
    /// the ops every training step runs.
    /// </summary>
    internal static Tensor Record(Tensor result, string name, ReadOnlySpan<Tensor?> inputs, BackwardFunction backward, object? state, params ReadOnlySpan<Tensor> saved)
    {
        result.GradFn = new Node(name, inputs, backward, saved, state);
        result.SetRequiresGradInternal();
        return result;
    }

    static readonly object[] boxedDims = [0, 1, 2, 3, 4, 5, 6, 7];

    /// <summary>A dimension as a node state, boxed once for the common small dims (no allocation per record).</summary>
    internal static object BoxedDim(int dim) => (uint)dim < (uint)boxedDims.Length ? boxedDims[dim] : dim;

    /// <summary>
    /// Computes and accumulates gradients of <paramref name="root"/> into the <see cref="Tensor.Grad"/> of the leaves
    /// (torch.autograd.backward).
    /// </summary>
    public static void Backward(Tensor root, Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
    {
        if (gradient == null) Run([root], default, retainGraph || createGraph, createGraph, null);
        else Run([root], [gradient], retainGraph || createGraph, createGraph, null);
    }

    /// <summary>
    /// Returns the gradients of <paramref name="outputs"/> with respect to <paramref name="inputs"/> without touching
    /// <see cref="Tensor.Grad"/> (torch.autograd.grad). With <paramref name="createGraph"/> the returned gradients are
    /// themselves recorded, so they can be differentiated again (gradient penalties, Hessian-vector products).
    /// </summary>
    public static Tensor?[] Grad(Tensor[] outputs, Tensor[] inputs, Tensor[]? gradOutputs = null,
        bool? retainGraph = null, bool createGraph = false, bool allowUnused = false)
    {
        foreach (var t in inputs)
            if (!t.RequiresGrad) throw new ArgumentException($"Grad: one of the inputs (shape {ShapeUtil.Format(t.shape)}) does not require grad", nameof(inputs));
        var captured = new Dictionary<object, Tensor?>(ReferenceEqualityComparer.Instance);
        foreach (var t in inputs) captured[t.GradFn ?? (object)t] = null;
        Run(outputs, gradOutputs, retainGraph ?? createGraph, createGraph, captured);
        var result = new Tensor?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            result[i] = captured[inputs[i].GradFn ?? (object)inputs[i]];
            if (result[i] == null && !allowUnused)
                throw new InvalidOperationException($"Grad: input {i} (shape {ShapeUtil.Format(inputs[i].shape)}) was not used to compute the outputs; pass allowUnused: true to get null for it");
        }
        return result;
    }

    /// <summary>Convenience overload for one output and one input.</summary>
    public static Tensor Grad(Tensor output, Tensor input, Tensor? gradOutput = null, bool? retainGraph = null, bool createGraph = false)
        => Grad([output], [input], gradOutput == null ? null : [gradOutput], retainGraph, createGraph)[0]!;

    /// <summary>
    /// The engine's working collections, kept per thread between backward passes so that a steady-state step does not
    /// allocate them again; a backward pass started inside another one (a hook, a custom function) gets fresh ones.
    /// </summary>
    sealed class EngineBuffers
    {
        public readonly Dictionary<Node, int> Dependencies = new(ReferenceEqualityComparer.Instance);
        public readonly Stack<Node> Stack = new();
        public readonly Dictionary<Node, Tensor> Pending = new(ReferenceEqualityComparer.Instance);
        public readonly Queue<Node> Ready = new();
        public readonly HashSet<Tensor> Fresh = new(ReferenceEqualityComparer.Instance);

        public void Clear() { Dependencies.Clear(); Stack.Clear(); Pending.Clear(); Ready.Clear(); Fresh.Clear(); }
    }

    [ThreadStatic] static EngineBuffers? idleBuffers;

    /// <summary>True while this thread's engine runs a plain backward pass (no <c>createGraph</c>, not <c>Autograd.Grad</c>):
    /// then a backward function may add a parameter's gradient straight into its <see cref="Tensor.Grad"/>.</summary>
    [ThreadStatic] static bool accumulatingIntoLeaves;

    /// <summary>The gradients of this thread's plain backward pass that only the engine holds (see <see cref="Fresh"/>), or null.</summary>
    [ThreadStatic] static HashSet<Tensor>? freshGradients;

    /// <summary>
    /// Marks a gradient a backward function has just allocated and returns for one input only, and keeps no reference to:
    /// while it waits in the engine for the other gradients of the same tensor (a residual connection's two branches), the
    /// next one is added into it in place instead of into a new sum (the same additions: a + b is b + a). Plain backward
    /// passes only; returns <paramref name="gradient"/>.
    /// </summary>
    internal static Tensor Fresh(Tensor gradient)
    {
        freshGradients?.Add(gradient);
        return gradient;
    }

    /// <summary>
    /// What a backward function returns for an input whose gradient it has already added into that leaf's
    /// <see cref="Tensor.Grad"/> (see <see cref="LeafGrad"/>): the engine then only counts the delivery (post-accumulate hooks).
    /// </summary>
    internal static readonly Tensor Accumulated = new(new Storage(new float[1], DType.Float32), []);

    /// <summary>
    /// The existing gradient of <paramref name="input"/> when a backward function may add that input's gradient straight
    /// into it, else null. That is when the engine runs a plain backward pass, the input is a leaf that requires grad (a
    /// parameter), and its <see cref="Tensor.Grad"/> is a contiguous tensor of its shape and dtype outside the graph (as after
    /// <c>ZeroGrad(setToNone: false)</c> or a previous backward). The function then writes <c>grad += its gradient</c> (the
    /// same sum the engine would form, without a gradient tensor of its own), calls <see cref="MarkAccumulated"/> and returns
    /// <see cref="Accumulated"/> for that input. A training step's parameter gradients thus allocate nothing.
    /// </summary>
    internal static Tensor? LeafGrad(Tensor? input)
    {
        if (!accumulatingIntoLeaves || input is not { GradFn: null, RequiresGrad: true } || input.Grad is not { } grad) return null;
        if (grad.RequiresGrad || grad.DType != input.DType || !ShapeUtil.SameShape(grad.shape, input.shape) || !grad.IsContiguous
            || grad.storage.IsReleased) return null;
        return grad;
    }

    /// <summary>Records an in-place write into a leaf's gradient made through <see cref="LeafGrad"/>; returns <see cref="Accumulated"/>.</summary>
    internal static Tensor MarkAccumulated(Tensor grad)
    {
        grad.BumpVersion();
        AccumulatedInPlaceCount++;
        return Accumulated;
    }

    /// <summary>How many gradients backward functions have added in place on this thread (for tests).</summary>
    [ThreadStatic] internal static int AccumulatedInPlaceCount;

    static void Run(ReadOnlySpan<Tensor> roots, ReadOnlySpan<Tensor> rootGrads, bool retainGraph, bool createGraph, Dictionary<object, Tensor?>? captured)
    {
        var buffers = idleBuffers ?? new EngineBuffers();
        idleBuffers = null;
        try { Run(roots, rootGrads, retainGraph, createGraph, captured, buffers); }
        finally { buffers.Clear(); idleBuffers = buffers; }
    }

    static void Run(ReadOnlySpan<Tensor> roots, ReadOnlySpan<Tensor> rootGrads, bool retainGraph, bool createGraph, Dictionary<object, Tensor?>? captured,
        EngineBuffers buffers)
    {
        if (rootGrads.Length != 0 && rootGrads.Length != roots.Length)
            throw new ArgumentException($"Backward: {rootGrads.Length} gradients given for {roots.Length} outputs");
        using var mode = createGraph ? EnableGrad() : NoGrad();

        // Count, for each node, how many edges inside the graph point at it.
        var dependencies = buffers.Dependencies;
        var stack = buffers.Stack;
        foreach (var r in roots)
            if (r.GradFn is { } n && !dependencies.ContainsKey(n)) { dependencies[n] = 0; stack.Push(n); }
        while (stack.Count > 0)
        {
            var node = stack.Pop();
            for (int i = 0; i < node.InputCount; i++)
            {
                if (node.Input(i)?.GradFn is not { } next) continue;
                ref int count = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(dependencies, next, out bool exists);
                count++;
                if (!exists) stack.Push(next);
            }
        }

        var leafHooks = captured == null ? PostAccumulateTracker.Create(dependencies.Keys, roots) : null;
        using var callbacks = captured == null ? new BackwardCallbackScope() : default;
        var pending = buffers.Pending;
        for (int i = 0; i < roots.Length; i++)
        {
            var root = roots[i];
            if (!root.RequiresGrad)
                throw new InvalidOperationException("Backward: element 0 of tensors does not require grad and does not have a grad_fn");
            Tensor grad;
            if (rootGrads.Length != 0 && rootGrads[i] is { } given)
            {
                if (!ShapeUtil.SameShape(given.shape, root.shape))
                    throw new ArgumentException($"Backward: gradient has shape {ShapeUtil.Format(given.shape)} but the output has shape {ShapeUtil.Format(root.shape)}");
                grad = given.DType == root.DType ? given : given.To(root.DType);
            }
            else
            {
                if (root.NumEl != 1)
                    throw new InvalidOperationException($"Backward: grad can be implicitly created only for scalar outputs; this output has shape {ShapeUtil.Format(root.shape)}. Pass a gradient.");
                grad = Tensor.OnesLike(root);
            }
            if (root.GradFn is { } rn) Accumulate(pending, rn, grad);
            else { DeliverToLeaf(root, grad, createGraph, captured); leafHooks?.Delivered(root); }
        }

        var ready = buffers.Ready;
        foreach (var r in roots)
            if (r.GradFn is { } n && dependencies[n] == 0 && !ready.Contains(n)) ready.Enqueue(n);

        bool outerAccumulating = accumulatingIntoLeaves;
        var outerFresh = freshGradients;
        accumulatingIntoLeaves = captured == null && !createGraph;
        freshGradients = accumulatingIntoLeaves ? buffers.Fresh : null;
        try { RunNodes(buffers, retainGraph, createGraph, captured, leafHooks); }
        finally { accumulatingIntoLeaves = outerAccumulating; freshGradients = outerFresh; }
        callbacks.Complete();
    }

    static void RunNodes(EngineBuffers buffers, bool retainGraph, bool createGraph, Dictionary<object, Tensor?>? captured, PostAccumulateTracker? leafHooks)
    {
        var (dependencies, pending, ready) = (buffers.Dependencies, buffers.Pending, buffers.Ready);
        while (ready.Count > 0)
        {
            var node = ready.Dequeue();
            if (!pending.Remove(node, out var gradOut)) continue;
            buffers.Fresh.Remove(gradOut);   // from here on the node's backward (or the caller) may keep it
            if (captured != null && captured.ContainsKey(node)) captured[node] = gradOut;
            if (node.RetainedOutput is { } kept)
                kept.Grad = kept.Grad == null ? (createGraph ? gradOut : gradOut.Detach().Clone()) : kept.Grad.Add(gradOut);
            var inputGrads = node.Apply(gradOut);
            if (!retainGraph) node.Release();
            for (int i = 0; i < node.InputCount; i++)
            {
                var input = node.Input(i);
                if (input == null) continue;
                var g = inputGrads[i];
                if (input.GradFn is { } next)
                {
                    if (g != null)
                    {
                        if (freshGradients != null && freshGradients.Contains(g) && ReturnedTwice(inputGrads, node.InputCount, i)) freshGradients.Remove(g);
                        Accumulate(pending, next, g, freshGradients);
                    }
                    if (--CollectionsMarshalDec(dependencies, next) == 0) ready.Enqueue(next);
                }
                else if (g != null)
                {
                    if (!ReferenceEquals(g, Accumulated)) DeliverToLeaf(input, g, createGraph, captured);
                    leafHooks?.Delivered(input);
                }
                else leafHooks?.Delivered(input, received: false);
            }
        }
    }

    static ref int CollectionsMarshalDec(Dictionary<Node, int> deps, Node n) =>
        ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrNullRef(deps, n);

    static void Accumulate(Dictionary<Node, Tensor> pending, Node node, Tensor grad, HashSet<Tensor>? fresh = null)
    {
        ref var slot = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(pending, node, out bool exists);
        if (!exists) { slot = grad; return; }
        var existing = slot!;
        if (fresh != null && fresh.Count > 0 && !ReferenceEquals(existing, grad) && existing.DType == grad.DType
            && ShapeUtil.SameShape(existing.shape, grad.shape) && !existing.RequiresGrad && !grad.RequiresGrad)
        {
            // one of the two is the engine's alone: add the other into it (a + b and b + a are the same floats)
            if (fresh.Contains(existing) && existing.IsContiguous) { existing.AddInPlace(grad); SummedInPlaceCount++; return; }
            if (fresh.Contains(grad) && grad.IsContiguous) { grad.AddInPlace(existing); slot = grad; SummedInPlaceCount++; return; }
        }
        var sum = existing.Add(grad);
        if (fresh != null) fresh.Add(sum);   // a third gradient of the same tensor is added into this sum
        slot = sum;
    }

    /// <summary>How many times this thread's engine has added a gradient into a fresh one in place (for tests).</summary>
    [ThreadStatic] internal static int SummedInPlaceCount;

    /// <summary>Whether a backward function returned gradient <paramref name="index"/> for another of its inputs too.</summary>
    static bool ReturnedTwice(InputGrads grads, int count, int index)
    {
        for (int j = 0; j < count; j++)
            if (j != index && ReferenceEquals(grads[j], grads[index])) return true;
        return false;
    }

    static Tensor DetachedCopyOutsideScope(Tensor grad)
    {
        using var suspended = TensorScope.SuspendScope();
        return grad.Detach().Clone();
    }

    static void DeliverToLeaf(Tensor leaf, Tensor grad, bool createGraph, Dictionary<object, Tensor?>? captured)
    {
        if (!ShapeUtil.SameShape(grad.shape, leaf.shape))
            throw new InvalidOperationException($"internal: gradient of shape {ShapeUtil.Format(grad.shape)} for a leaf of shape {ShapeUtil.Format(leaf.shape)}");
        if (captured != null)
        {
            if (captured.TryGetValue(leaf, out var prev)) captured[leaf] = prev == null ? grad : prev.Add(grad);
            return;
        }
        // gradients outlive any TensorScope of the step that produced them
        if (leaf.Grad == null) leaf.Grad = createGraph ? grad : DetachedCopyOutsideScope(grad);
        else if (createGraph || leaf.Grad.RequiresGrad) leaf.Grad = leaf.Grad.Add(grad);
        else leaf.Grad.AddInPlace(grad);
    }
}

public sealed partial class Tensor
{
    /// <summary>
    /// Back-propagates from this tensor, accumulating gradients into the leaves' <see cref="Grad"/> (torch.Tensor.backward).
    /// A non-scalar tensor needs an explicit <paramref name="gradient"/> of its shape.
    /// </summary>
    public void Backward(Tensor? gradient = null, bool retainGraph = false, bool createGraph = false)
        => Autograd.Backward(this, gradient, retainGraph, createGraph);
}
