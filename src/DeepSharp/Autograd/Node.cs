namespace DeepSharp;

/// <summary>
/// A recorded operation in the autograd graph (torch.autograd.graph.Node, a tensor's grad_fn). It maps the
/// gradient of its output to the gradients of its inputs. Nodes are created by ops; users only inspect them.
/// </summary>
public sealed class Node
{
    Func<Tensor, Tensor?[]>? backward;
    (Tensor Tensor, int Version)[]? saved;
    readonly Tensor?[] inputs;

    internal Node(string name, Tensor?[] inputs, Func<Tensor, Tensor?[]> backward, Tensor[]? saved)
    {
        Name = name;
        this.inputs = inputs;
        this.backward = backward;
        if (saved != null && saved.Length > 0)
        {
            this.saved = new (Tensor, int)[saved.Length];
            for (int i = 0; i < saved.Length; i++) this.saved[i] = (saved[i], saved[i].Version);
        }
    }

    /// <summary>Name of the backward function, e.g. "MulBackward" (type(grad_fn).__name__).</summary>
    public string Name { get; }

    /// <summary>The inputs whose gradients this node computes (null where an input needs none).</summary>
    public IReadOnlyList<Tensor?> Inputs => inputs;

    internal Tensor? RetainedOutput;

    internal bool Released => backward == null;

    internal Tensor?[] Apply(Tensor gradOutput)
    {
        var fn = backward ?? throw new InvalidOperationException(
            $"Backward: trying to backward through the graph a second time (through {Name}), or to use saved tensors after they were freed. " +
            "Pass retainGraph: true to the first Backward() call if you need to backward twice.");
        if (saved != null)
            foreach (var (t, version) in saved)
                if (t.Version != version)
                    throw new InvalidOperationException(
                        $"Backward: one of the tensors needed for gradient computation by {Name} has been modified by an in-place operation " +
                        $"(tensor of shape {ShapeUtil.Format(t.shape)} is at version {t.Version}; expected version {version}).");
        var grads = fn(gradOutput);
        if (grads.Length != inputs.Length)
            throw new InvalidOperationException($"internal: {Name} returned {grads.Length} gradients for {inputs.Length} inputs");
        return grads;
    }

    internal void Release() { backward = null; saved = null; }

    /// <inheritdoc/>
    public override string ToString() => $"<{Name}>";
}
