namespace DeepSharp.NN;

/// <summary>
/// Base of the loss modules (torch.nn.modules.loss._Loss): a two-input module that compares an input with a target,
/// <c>loss.Call(input, target)</c>. The losses of three tensors derive from <see cref="TripleInputLoss"/>.
/// </summary>
public abstract class Loss(Reduction reduction) : Module<Tensor, Tensor, Tensor>
{
    /// <summary>How per-element losses are combined (reduction).</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>Computes the loss (forward(input, target)); call it as <c>Call(input, target)</c> so hooks run.</summary>
    public abstract override Tensor Forward(Tensor input, Tensor target);

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

/// <summary>Negative log-likelihood of log-probabilities and class indices (torch.nn.NLLLoss).</summary>
public class NLLLoss(Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Per-class rescaling weight of shape (C,), or null (weight buffer).</summary>
    [TorchName("weight"), Buffer] public Tensor? Weight { get; private set; } = weight;
    /// <summary>Target value that is ignored (ignore_index).</summary>
    public int IgnoreIndex { get; } = ignoreIndex;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.NllLoss(input, target, Weight, IgnoreIndex, Reduction);
}

/// <summary>Mean squared error (torch.nn.MSELoss).</summary>
public class MSELoss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.MseLoss(input, target, Reduction);
}

/// <summary>Mean absolute error (torch.nn.L1Loss).</summary>
public class L1Loss(Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.L1Loss(input, target, Reduction);
}

/// <summary>Smooth L1: quadratic below <see cref="Beta"/>, linear above (torch.nn.SmoothL1Loss).</summary>
public class SmoothL1Loss(Reduction reduction = Reduction.Mean, double beta = 1.0) : Loss(reduction)
{
    /// <summary>Threshold between the quadratic and linear regions (beta).</summary>
    public double Beta { get; } = beta;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.SmoothL1Loss(input, target, Reduction, Beta);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"beta={Beta}";
}

/// <summary>Huber loss: quadratic below <see cref="Delta"/>, linear with slope delta above (torch.nn.HuberLoss).</summary>
public class HuberLoss(Reduction reduction = Reduction.Mean, double delta = 1.0) : Loss(reduction)
{
    /// <summary>Threshold between the quadratic and linear regions (delta).</summary>
    public double Delta { get; } = delta;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.HuberLoss(input, target, Reduction, Delta);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"delta={Delta}";
}

/// <summary>Binary cross-entropy between probabilities and targets in [0, 1] (torch.nn.BCELoss).</summary>
public class BCELoss(Tensor? weight = null, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Rescaling weight broadcast against the input, or null (weight buffer).</summary>
    [TorchName("weight"), Buffer] public Tensor? Weight { get; private set; } = weight;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.BinaryCrossEntropy(input, target, Weight, Reduction);
}

/// <summary>Sigmoid plus binary cross-entropy in one numerically stable step (torch.nn.BCEWithLogitsLoss).</summary>
public class BCEWithLogitsLoss(Tensor? weight = null, Reduction reduction = Reduction.Mean, Tensor? posWeight = null) : Loss(reduction)
{
    /// <summary>Rescaling weight broadcast against the input, or null (weight buffer).</summary>
    [TorchName("weight"), Buffer] public Tensor? Weight { get; private set; } = weight;
    /// <summary>Weight of positive examples per class, or null (pos_weight buffer).</summary>
    [TorchName("pos_weight"), Buffer] public Tensor? PosWeight { get; private set; } = posWeight;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.BinaryCrossEntropyWithLogits(input, target, Weight, PosWeight, Reduction);
}

/// <summary>KL divergence with the input as log-probabilities (torch.nn.KLDivLoss).</summary>
public class KLDivLoss(Reduction reduction = Reduction.Mean, bool logTarget = false) : Loss(reduction)
{
    /// <summary>Whether the target is given as log-probabilities too (log_target).</summary>
    public bool LogTarget { get; } = logTarget;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.KLDivLoss(input, target, Reduction, LogTarget);
}

/// <summary>Multi-class focal loss over logits (Lin et al. 2017; see <see cref="F.FocalLoss"/>). No torch module.</summary>
public class FocalLoss(Tensor? alpha = null, double gamma = 2.0, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Per-class weight α of shape (C,), or null (alpha buffer).</summary>
    [TorchName("alpha"), Buffer] public Tensor? Alpha { get; private set; } = alpha;
    /// <summary>Focusing parameter γ (0 gives cross-entropy).</summary>
    public double Gamma { get; } = gamma;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.FocalLoss(input, target, Alpha, Gamma, Reduction);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"gamma={Gamma}";
}

/// <summary>Binary focal loss over logits, as torchvision.ops.sigmoid_focal_loss (see <see cref="F.SigmoidFocalLoss"/>).</summary>
public class SigmoidFocalLoss(double alpha = 0.25, double gamma = 2.0, Reduction reduction = Reduction.Mean) : Loss(reduction)
{
    /// <summary>Weight of positives (negatives get 1 − α); negative disables weighting.</summary>
    public double Alpha { get; } = alpha;
    /// <summary>Focusing parameter γ.</summary>
    public double Gamma { get; } = gamma;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input, Tensor target) => F.SigmoidFocalLoss(input, target, Alpha, Gamma, Reduction);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"alpha={Alpha}, gamma={Gamma}";
}

/// <summary>
/// Base of the losses that compare two inputs under a third tensor (a label or a negative example), such as
/// torch.nn.CosineEmbeddingLoss and torch.nn.TripletMarginLoss (torch.nn.modules.loss._Loss with a three-argument
/// forward): a three-input module, <c>loss.Call(input1, input2, third)</c>.
/// </summary>
public abstract class TripleInputLoss(Reduction reduction) : Module<Tensor, Tensor, Tensor, Tensor>
{
    /// <summary>How per-element losses are combined (reduction).</summary>
    public Reduction Reduction { get; } = reduction;

    /// <summary>Computes the loss from the two inputs and the third tensor (label or negative); call it through <c>Call</c>.</summary>
    public abstract override Tensor Forward(Tensor input1, Tensor input2, Tensor third);
}

/// <summary>1 − cos for similar pairs (y = 1), max(0, cos − margin) for dissimilar ones (torch.nn.CosineEmbeddingLoss).</summary>
public class CosineEmbeddingLoss(double margin = 0, Reduction reduction = Reduction.Mean) : TripleInputLoss(reduction)
{
    /// <summary>Margin for dissimilar pairs (margin).</summary>
    public double Margin { get; } = margin;

    /// <summary>Computes the loss of pairs (input1, input2) with labels <paramref name="target"/> in {1, −1}.</summary>
    public override Tensor Forward(Tensor input1, Tensor input2, Tensor target) => F.CosineEmbeddingLoss(input1, input2, target, Margin, Reduction);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"margin={Margin}";
}

/// <summary>max(0, margin + d(a, p) − d(a, n)) (torch.nn.TripletMarginLoss).</summary>
public class TripletMarginLoss(double margin = 1.0, double p = 2, double eps = 1e-6, bool swap = false, Reduction reduction = Reduction.Mean)
    : TripleInputLoss(reduction)
{
    /// <summary>Margin between positive and negative distances (margin).</summary>
    public double Margin { get; } = margin;
    /// <summary>Norm degree of the pairwise distance (p).</summary>
    public double P { get; } = p;
    /// <summary>Small constant added inside the distance (eps).</summary>
    public double Eps { get; } = eps;
    /// <summary>Use the positive-negative distance when it is smaller (swap).</summary>
    public bool Swap { get; } = swap;

    /// <summary>Computes the loss of (anchor, positive, negative) triplets.</summary>
    public override Tensor Forward(Tensor anchor, Tensor positive, Tensor negative) =>
        F.TripletMarginLoss(anchor, positive, negative, Margin, P, Eps, Swap, Reduction);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"margin={Margin}, p={P}";
}

/// <summary>Contrastive loss for pairs with a margin (Hadsell et al. 2006; see <see cref="F.ContrastiveLoss"/>). No torch module.</summary>
public class ContrastiveLoss(double margin = 1.0, Reduction reduction = Reduction.Mean) : TripleInputLoss(reduction)
{
    /// <summary>Distance beyond which dissimilar pairs cost nothing (margin).</summary>
    public double Margin { get; } = margin;

    /// <summary>Computes the loss of pairs (input1, input2) with labels 1 (similar) or 0 (dissimilar).</summary>
    public override Tensor Forward(Tensor input1, Tensor input2, Tensor target) => F.ContrastiveLoss(input1, input2, target, Margin, Reduction);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"margin={Margin}";
}
