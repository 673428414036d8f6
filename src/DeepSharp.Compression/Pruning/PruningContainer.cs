namespace DeepSharp.Compression.Pruning;

/// <summary>
/// The pruning methods applied in turn to one tensor (torch.nn.utils.prune.PruningContainer). A new method acts only on
/// what is still unpruned: an unstructured method on the entries whose mask is 1 (so a fraction is a fraction of the
/// remaining entries), a structured one on the channels along its dim that still have a non-zero entry, a global one on
/// the whole tensor; its result is written into the existing mask.
/// </summary>
public sealed class PruningContainer : PruningMethod
{
    readonly List<PruningMethod> methods = new();

    /// <summary>A container holding <paramref name="methods"/> in the order they were applied.</summary>
    public PruningContainer(params PruningMethod[] methods)
    {
        foreach (var m in methods) Add(m);
    }

    /// <summary>The methods, first applied first (PruningContainer._pruning_methods).</summary>
    public IReadOnlyList<PruningMethod> Methods => methods;

    /// <summary>The type of the last method added (torch's container leaves it to its members).</summary>
    public override PruningType Type => methods.Count > 0 ? methods[^1].Type : PruningType.Unstructured;

    /// <summary>Appends a method (PruningContainer.add_pruning_method); a container's methods are appended one by one.</summary>
    public void Add(PruningMethod method)
    {
        ArgumentNullException.ThrowIfNull(method);
        if (method is PruningContainer c) methods.AddRange(c.methods);
        else methods.Add(method);
    }

    internal override double[] Compute(double[] t, double[] defaultMask, int[] shape)
    {
        if (methods.Count == 0) throw new InvalidOperationException("PruningContainer: no pruning method was added");
        var method = methods[^1];
        var newMask = (double[])defaultMask.Clone();
        switch (method.Type)
        {
            case PruningType.Unstructured:
            {
                var live = Enumerable.Range(0, t.Length).Where(i => defaultMask[i] == 1).ToArray();
                var part = method.Compute(live.Select(i => t[i]).ToArray(), live.Select(i => defaultMask[i]).ToArray(), [live.Length]);
                for (int j = 0; j < live.Length; j++) newMask[live[j]] = part[j];
                return newMask;
            }
            case PruningType.Structured:
            {
                if (shape.Length <= 1)
                    throw new ArgumentException($"Structured pruning can only be applied to multidimensional tensors. Found tensor of shape {Fmt(shape)} with {shape.Length} dims", "importanceScores");
                int dim = method.Dim < 0 ? method.Dim + shape.Length : method.Dim;
                if (dim < 0 || dim >= shape.Length) throw new ArgumentException($"Invalid index {method.Dim} for tensor of size {Fmt(shape)}", "dim");
                var channels = MaskMath.LiveChannels(defaultMask, shape, dim);
                var subShape = (int[])shape.Clone();
                subShape[dim] = channels.Length;
                var part = method.Compute(MaskMath.GatherChannels(t, shape, dim, channels),
                    MaskMath.GatherChannels(defaultMask, shape, dim, channels), subShape);
                MaskMath.ScatterChannels(newMask, shape, dim, channels, part);
                return newMask;
            }
            default:
                return method.Compute(t, defaultMask, shape);
        }
    }
}
