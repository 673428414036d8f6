namespace DeepSharp.NN;

/// <summary>
/// Base of the loss modules (torch.nn.modules.loss._Loss): a module that compares an input with a target.
/// Call <see cref="Forward(Tensor, Tensor)"/>; the single-input Forward throws.
/// </summary>
public abstract class Loss(Reduction reduction) : Module
{
    /// <summary>How per-element losses are combined (reduction).</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>Losses take an input and a target; this single-input form throws.</summary>
    public override Tensor Forward(Tensor input) =>
        throw new NotSupportedException($"{GetType().Name} takes an input and a target: call Forward(input, target)");

    /// <summary>Computes the loss (forward(input, target)).</summary>
    public abstract Tensor Forward(Tensor input, Tensor target);

    /// <inheritdoc/>
    public override string ExtraRepr() => "";
}

/// <summary>Cross entropy between logits and class indices or probabilities (torch.nn.CrossEntropyLoss).</summary>
public class CrossEntropyLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean, double labelSmoothing = 0)
    : Loss(reduction)
{
    /// <summary>Per-class rescaling weight of shape (C,), or null (weight buffer).</summary>
    [TorchName("weight"), Buffer] public Tensor? Weight { get; private set; } = weight;
    /// <summary>Target value that is ignored (ignore_index).</summary>
    public int IgnoreIndex { get; } = ignoreIndex;
    /// <summary>Amount of label smoothing in [0, 1] (label_smoothing).</summary>
    public double LabelSmoothing { get; } = labelSmoothing;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) =>
        F.CrossEntropy(input, target, Weight, IgnoreIndex, LabelSmoothing, Reduction);
}
