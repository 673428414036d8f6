namespace DeepSharp.Compression.Pruning;

/// <summary>Leaves the mask as it is (torch.nn.utils.prune.Identity).</summary>
public sealed class IdentityPruning : PruningMethod
{
    /// <inheritdoc/>
    public override PruningType Type => PruningType.Unstructured;

    internal override double[] Compute(double[] t, double[] defaultMask, int[] shape) => (double[])defaultMask.Clone();
}

/// <summary>
/// An unstructured method that zeroes the <c>amount</c> entries it picks from the flat tensor (the shared body of
/// torch.nn.utils.prune's L1Unstructured and RandomUnstructured: only the choice of entries differs).
/// </summary>
public abstract class UnstructuredPruningMethod(PruningAmount amount) : PruningMethod
{
    /// <summary>The fraction or count to prune.</summary>
    public PruningAmount Amount { get; } = amount;

    /// <inheritdoc/>
    public override PruningType Type => PruningType.Unstructured;

    /// <summary>The flat indices of the <paramref name="k"/> entries of <paramref name="t"/> to zero (k &gt; 0).</summary>
    internal abstract int[] Choose(double[] t, int k);

    internal sealed override double[] Compute(double[] t, double[] defaultMask, int[] shape)
    {
        int k = Amount.ToPrune(t.Length);
        var mask = (double[])defaultMask.Clone();
        if (k == 0) return mask;
        foreach (int i in Choose(t, k)) mask[i] = 0;
        return mask;
    }
}

/// <summary>Zeroes the <c>amount</c> entries of smallest absolute value (torch.nn.utils.prune.L1Unstructured).
/// Among equal magnitudes the lower flat index goes first (PyTorch's topk leaves ties unspecified).</summary>
public sealed class L1Unstructured(PruningAmount amount) : UnstructuredPruningMethod(amount)
{
    internal override int[] Choose(double[] t, int k) => MaskMath.Smallest(t.Select(Math.Abs).ToArray(), k);
}

/// <summary>Zeroes <c>amount</c> entries chosen uniformly at random (torch.nn.utils.prune.RandomUnstructured).
/// The draw uses DeepSharp's generator, so the entries differ from PyTorch's for the same seed; the count does not.</summary>
public sealed class RandomUnstructured(PruningAmount amount, Generator? generator = null) : UnstructuredPruningMethod(amount)
{
    internal override int[] Choose(double[] t, int k) =>
        MaskMath.Largest(Tensor.Rand([t.Length], DType.Float64, generator: generator).ToArray<double>(), k);
}

/// <summary>Base of the structured methods: checks the tensor has a channel dimension <see cref="Dim"/>.</summary>
public abstract class StructuredPruningMethod(PruningAmount amount, int dim) : PruningMethod
{
    /// <summary>The fraction or count of channels to prune.</summary>
    public PruningAmount Amount { get; } = amount;

    /// <inheritdoc/>
    public override PruningType Type => PruningType.Structured;

    /// <inheritdoc/>
    public override int Dim { get; } = dim;

    /// <summary>The dimension, made non-negative, after prune._validate_structured_pruning / _validate_pruning_dim.</summary>
    protected int CheckedDim(int[] shape)
    {
        if (shape.Length <= 1)
            throw new ArgumentException($"Structured pruning can only be applied to multidimensional tensors. Found tensor of shape {Fmt(shape)} with {shape.Length} dims", "importanceScores");
        int d = Dim < 0 ? Dim + shape.Length : Dim;
        if (d < 0 || d >= shape.Length) throw new ArgumentException($"Invalid index {Dim} for tensor of size {Fmt(shape)}", "dim");
        return d;
    }

    /// <summary>The mask keeping the channels in <paramref name="keep"/> along <paramref name="dim"/>, times the default mask.</summary>
    protected static double[] KeepChannels(int[] keep, double[] defaultMask, int[] shape, int dim)
    {
        var (outer, size, inner) = MaskMath.Split(shape, dim);
        var mask = new double[defaultMask.Length];
        foreach (int c in keep)
            for (int o = 0; o < outer; o++)
                for (int i = 0; i < inner; i++)
                {
                    int at = (o * size + c) * inner + i;
                    mask[at] = defaultMask[at];
                }
        return mask;
    }
}

/// <summary>
/// Zeroes the <c>amount</c> channels along <c>dim</c> of smallest Ln norm (torch.nn.utils.prune.LnStructured); <c>n</c> is
/// the norm order (1, 2, ±∞, or any p; PyTorch's "fro" is 2). dim 0 of a conv weight prunes output filters.
/// </summary>
public sealed class LnStructured(PruningAmount amount, double n, int dim = -1) : StructuredPruningMethod(amount, dim)
{
    /// <summary>The norm order.</summary>
    public double N { get; } = n;

    internal override double[] Compute(double[] t, double[] defaultMask, int[] shape)
    {
        int d = CheckedDim(shape);
        int size = shape[d];
        int toPrune = Amount.ToPrune(size);
        if (toPrune == 0) return (double[])defaultMask.Clone();
        var norms = MaskMath.ChannelNorms(t, shape, d, N);
        return KeepChannels(MaskMath.Largest(norms, size - toPrune), defaultMask, shape, d);
    }
}

/// <summary>Zeroes <c>amount</c> channels along <c>dim</c> chosen at random (torch.nn.utils.prune.RandomStructured).</summary>
public sealed class RandomStructured(PruningAmount amount, int dim = -1, Generator? generator = null) : StructuredPruningMethod(amount, dim)
{
    internal override double[] Compute(double[] t, double[] defaultMask, int[] shape)
    {
        int d = CheckedDim(shape);
        int size = shape[d];
        int toPrune = Amount.ToPrune(size);
        if (toPrune == 0) return (double[])defaultMask.Clone();
        var prob = Tensor.Rand([size], DType.Float64, generator: generator).ToArray<double>();
        return KeepChannels(MaskMath.Largest(prob, size - toPrune), defaultMask, shape, d);
    }
}

/// <summary>Multiplies the mask in force by a given mask (torch.nn.utils.prune.CustomFromMask).</summary>
public sealed class CustomFromMask : PruningMethod
{
    readonly double[] mask;
    readonly int[] shape;

    /// <summary>Prunes where <paramref name="mask"/> is zero.</summary>
    public CustomFromMask(Tensor mask)
    {
        ArgumentNullException.ThrowIfNull(mask);
        this.mask = MaskMath.Values(mask);
        shape = mask.Shape.ToArray();
    }

    /// <inheritdoc/>
    public override PruningType Type => PruningType.Global;

    internal override double[] Compute(double[] t, double[] defaultMask, int[] shape)
    {
        if (!shape.SequenceEqual(this.shape))
            throw new ArgumentException($"CustomFromMask: the mask has shape {Fmt(this.shape)}, the tensor {Fmt(shape)}", "mask");
        var result = new double[defaultMask.Length];
        for (int i = 0; i < result.Length; i++) result[i] = defaultMask[i] * mask[i];
        return result;
    }
}
