namespace DeepSharp.Compression.Pruning;

/// <summary>What a pruning method removes (PRUNING_TYPE of torch.nn.utils.prune methods).</summary>
public enum PruningType
{
    /// <summary>Individual entries ("unstructured").</summary>
    Unstructured,
    /// <summary>Whole channels along one dimension ("structured").</summary>
    Structured,
    /// <summary>A mask over the whole tensor given from outside ("global", e.g. CustomFromMask).</summary>
    Global,
}

/// <summary>
/// A way to compute a pruning mask (torch.nn.utils.prune.BasePruningMethod). <see cref="ComputeMask"/> takes importance
/// scores and the mask already in force and returns the new mask; <see cref="Prune"/> applies methods to modules.
/// </summary>
public abstract class PruningMethod
{
    /// <summary>Entries or channels (BasePruningMethod.PRUNING_TYPE).</summary>
    public abstract PruningType Type { get; }

    /// <summary>The dimension along which a structured method prunes channels (the <c>dim</c> argument); -1 otherwise.</summary>
    public virtual int Dim => -1;

    /// <summary>
    /// The mask that prunes <paramref name="importanceScores"/> on top of <paramref name="defaultMask"/> (compute_mask(t,
    /// default_mask)), in the dtype of <paramref name="defaultMask"/>.
    /// </summary>
    public Tensor ComputeMask(Tensor importanceScores, Tensor defaultMask)
    {
        ArgumentNullException.ThrowIfNull(importanceScores);
        ArgumentNullException.ThrowIfNull(defaultMask);
        if (!importanceScores.Shape.SequenceEqual(defaultMask.Shape))
            throw new ArgumentException($"{GetType().Name}.ComputeMask: importance scores of shape {Fmt(importanceScores)} and default mask of shape {Fmt(defaultMask)} differ", nameof(defaultMask));
        var shape = importanceScores.Shape.ToArray();
        var mask = Compute(MaskMath.Values(importanceScores), MaskMath.Values(defaultMask), shape);
        return MaskMath.ToTensor(mask, shape, defaultMask.DType);
    }

    /// <summary>The pruned copy of <paramref name="tensor"/>: tensor · ComputeMask(tensor, ones) (BasePruningMethod.prune).</summary>
    public Tensor PruneTensor(Tensor tensor, Tensor? defaultMask = null)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        using var _ = Autograd.NoGrad();
        return tensor * ComputeMask(tensor, defaultMask ?? Tensor.OnesLike(tensor));
    }

    /// <summary>The mask as a flat array: <paramref name="t"/> and <paramref name="defaultMask"/> are row-major of <paramref name="shape"/>.</summary>
    internal abstract double[] Compute(double[] t, double[] defaultMask, int[] shape);

    internal static string Fmt(Tensor t) => "(" + string.Join(", ", t.Shape.ToArray()) + ")";

    internal static string Fmt(int[] shape) => "(" + string.Join(", ", shape) + ")";
}
