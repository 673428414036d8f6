namespace DeepSharp.NN;

/// <summary>How a loss combines its per-element values (PyTorch's reduction='mean'|'sum'|'none').</summary>
public enum Reduction
{
    /// <summary>Average over elements (or the weighted average where the loss defines one).</summary>
    Mean,
    /// <summary>Sum over elements.</summary>
    Sum,
    /// <summary>No reduction: one loss per element.</summary>
    None,
    /// <summary>Sum divided by the batch size (KL divergence's 'batchmean').</summary>
    BatchMean,
}
