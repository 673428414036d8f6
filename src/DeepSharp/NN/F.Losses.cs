namespace DeepSharp.NN;

// Loss functions (torch.nn.functional losses), composed from differentiable ops: log-softmax is a fused kernel,
// the rest are elementwise, so every loss has exact gradients (and double backward) without a backward of its own.
public static partial class F
{
    static Tensor Reduce(Tensor loss, Reduction reduction, string op) => reduction switch
    {
        Reduction.Mean => loss.Mean(),
        Reduction.Sum => loss.Sum(),
        Reduction.None => loss,
        Reduction.BatchMean => loss.Rank == 0 ? loss : loss.Sum().Div(loss.Shape[0]),
        _ => throw new ArgumentOutOfRangeException(nameof(reduction), $"{op}: unknown reduction {reduction}"),
    };

    static void SameShape(Tensor input, Tensor target, string op)
    {
        if (!input.Shape.SequenceEqual(target.Shape))
            throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} and target of shape {ShapeUtil.Format(target.shape)} must have the same shape");
    }

    /// <summary>Cross-entropy with the default options (torch.nn.functional.cross_entropy(input, target)); fits <c>Func&lt;Tensor, Tensor, Tensor&gt;</c>.</summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target) => CrossEntropy(input, target, null);

    /// <summary>
    /// Cross-entropy between logits <paramref name="input"/> (N, C) or (N, C, d1, ...) and either class indices
    /// (N) / (N, d1, ...) or class probabilities of the input's shape (torch.nn.functional.cross_entropy).
    /// <paramref name="weight"/> rescales classes; targets equal to <paramref name="ignoreIndex"/> contribute nothing;
    /// <paramref name="labelSmoothing"/> mixes the target with the uniform distribution.
    /// </summary>
    public static Tensor CrossEntropy(Tensor input, Tensor target, Tensor? weight, int ignoreIndex = -100,
        double labelSmoothing = 0.0, Reduction reduction = Reduction.Mean)
    {
        if (labelSmoothing < 0 || labelSmoothing > 1)
            throw new ArgumentOutOfRangeException(nameof(labelSmoothing), $"CrossEntropy: labelSmoothing must be in [0, 1], got {labelSmoothing}");
        if (input.DType.IsReducedPrecision()) return CrossEntropyReduced(input, target, weight, ignoreIndex, labelSmoothing, reduction);
        var (logits, flatTarget, restore) = FlattenClasses(input, target, "CrossEntropy");
        int classes = logits.Shape[1];
        CheckWeight(weight, classes, "CrossEntropy");
        var logProbs = logits.LogSoftmax(1);
        if (flatTarget.IsFloatingPoint)
        {
            // class probabilities
            var probs = labelSmoothing > 0 ? flatTarget * (1 - labelSmoothing) + labelSmoothing / classes : flatTarget;
            var weighted = weight != null ? logProbs * weight.To(logProbs.DType) : logProbs;
            var perRow = (weighted * probs.To(logProbs.DType)).Sum(1).Neg();
            return reduction == Reduction.None ? restore(perRow) : Reduce(perRow, reduction, "CrossEntropy");
        }
        return NllCore(logProbs, flatTarget, weight, ignoreIndex, labelSmoothing, reduction, restore, "CrossEntropy");
    }

    /// <summary>
    /// <see cref="CrossEntropy(Tensor, Tensor, Tensor?, int, double, Reduction)"/> of a 16-bit input: log-softmax and the
    /// reduction in float32, the loss rounded once. A method of its own: a lambda capturing parameters is allocated on
    /// entry to the method that declares it, which would be every call of CrossEntropy.
    /// </summary>
    static Tensor CrossEntropyReduced(Tensor input, Tensor target, Tensor? weight, int ignoreIndex, double labelSmoothing, Reduction reduction) =>
        ReducedFloat.Apply(input, x => CrossEntropy(x, target.IsFloatingPoint ? target.To(DType.Float32) : target, weight?.To(DType.Float32), ignoreIndex, labelSmoothing, reduction));

    /// <summary>Negative log-likelihood of log-probabilities (N, C) or (N, C, d...) at class indices (torch.nn.functional.nll_loss).</summary>
    public static Tensor NllLoss(Tensor input, Tensor target, Tensor? weight = null, int ignoreIndex = -100, Reduction reduction = Reduction.Mean)
    {
        if (target.IsFloatingPoint) throw new ArgumentException($"NllLoss: target must hold class indices (int64 or int32), got {target.DType.TorchName()}", nameof(target));
        var (logProbs, flatTarget, restore) = FlattenClasses(input, target, "NllLoss");
        CheckWeight(weight, logProbs.Shape[1], "NllLoss");
        return NllCore(logProbs, flatTarget, weight, ignoreIndex, 0, reduction, restore, "NllLoss");
    }

    static void CheckWeight(Tensor? weight, int classes, string op)
    {
        if (weight != null && (weight.Rank != 1 || weight.Shape[0] != classes))
            throw new ArgumentException($"{op}: weight of shape {ShapeUtil.Format(weight.shape)} must have one value per class ({classes})", nameof(weight));
    }

    /// <summary>Moves the class dim last and flattens: (N, C, d...) → (N·d..., C); returns a function restoring per-item shape.</summary>
    static (Tensor Logits, Tensor Target, Func<Tensor, Tensor> Restore) FlattenClasses(Tensor input, Tensor target, string op)
    {
        if (input.Rank < 1) throw new ArgumentException($"{op}: input must have a class dimension, got a scalar", nameof(input));
        bool unbatched = input.Rank == 1;                 // (C) with a scalar index or a (C) probability target
        if (unbatched) { input = input.Unsqueeze(0); target = target.Unsqueeze(0); }
        if (!input.IsFloatingPoint) throw new ArgumentException($"{op}: input must be floating point, got {input.DType.TorchName()}", nameof(input));
        bool probabilities = target.IsFloatingPoint;
        if (probabilities)
        {
            if (!input.Shape.SequenceEqual(target.Shape))
                throw new ArgumentException($"{op}: probability target of shape {ShapeUtil.Format(target.shape)} must match the input's shape {ShapeUtil.Format(input.shape)}", nameof(target));
        }
        else
        {
            if (target.DType is not (DType.Int64 or DType.Int32))
                throw new ArgumentException($"{op}: target must hold class indices (int64 or int32) or probabilities (float), got {target.DType.TorchName()}", nameof(target));
            if (!TargetMatchesInput(input.shape, target.shape))
                throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} expects a target of shape {ShapeUtil.Format(WithoutClassDim(input.shape))}, got {ShapeUtil.Format(target.shape)}", nameof(target));
        }
        if (input.Rank == 2) return (input, target, unbatched ? t => t.Reshape() : t => t);
        return FlattenSpatial(input, target, probabilities);
    }

    // a method of its own: the restoring lambda captures a local, whose closure would be allocated on entry to every call
    static (Tensor Logits, Tensor Target, Func<Tensor, Tensor> Restore) FlattenSpatial(Tensor input, Tensor target, bool probabilities)
    {
        int n = input.Shape[0], c = input.Shape[1];
        var spatial = input.Shape.Skip(2).ToArray();
        var perm = new[] { 0 }.Concat(Enumerable.Range(2, input.Rank - 2)).Concat([1]).ToArray();
        var flatInput = input.Permute(perm).Reshape(-1, c);
        var flatTarget = probabilities ? target.Permute(perm).Reshape(-1, c) : target.Reshape(-1);
        var itemShape = new[] { n }.Concat(spatial).ToArray();
        return (flatInput, flatTarget, t => t.Reshape(itemShape));
    }

    /// <summary>Whether a class-index target has the input's shape without its class dim (dim 1).</summary>
    static bool TargetMatchesInput(int[] input, int[] target)
    {
        if (target.Length != input.Length - 1) return false;
        for (int i = 0, j = 0; i < input.Length; i++)
            if (i != 1 && input[i] != target[j++]) return false;
        return true;
    }

    static int[] WithoutClassDim(int[] shape) => shape.Where((_, i) => i != 1).ToArray();

    static Tensor NllCore(Tensor logProbs, Tensor target, Tensor? weight, int ignoreIndex, double smoothing, Reduction reduction,
        Func<Tensor, Tensor> restore, string op)
    {
        int classes = logProbs.Shape[1];
        var t = target.To(DType.Int64).Contiguous();
        var values = t.AsReadOnlySpan<long>();
        bool anyIgnored = false;
        for (int i = 0; i < values.Length; i++)
        {
            if (values[i] == ignoreIndex) { anyIgnored = true; continue; }
            if (values[i] < 0 || values[i] >= classes)
                throw new IndexOutOfRangeException($"{op}: target value {values[i]} at position {i} is out of range for {classes} classes (expected 0..{classes - 1} or ignoreIndex {ignoreIndex})");
        }
        if (!anyIgnored && weight == null && smoothing == 0 && reduction == Reduction.Mean)
        {
            // the default: −Σ log p(target) / N, without the all-ones item weights (the same values, bit for bit); one
            // recorded op when the log-probabilities are a dense float matrix (the same bits as the composed ops)
            if (logProbs.IsContiguous && logProbs.DType is DType.Float32 or DType.Float64 && values.Length > 0)
                return Tensor.NllLossMean(logProbs, t);
            var pickedSum = logProbs.Gather(1, t.Unsqueeze(1)).Sum().Neg();
            return pickedSum.Div(values.Length);
        }
        var valid = anyIgnored ? t.Ne(ignoreIndex) : null;
        var safeTarget = valid != null ? Tensor.Where(valid, t, 0.0).To(DType.Int64) : t;
        var picked = logProbs.Gather(1, safeTarget.Unsqueeze(1)).Squeeze(1).Neg();            // (N,)
        var w = weight?.To(logProbs.DType);
        Tensor itemWeight = w != null ? w.IndexSelect(0, safeTarget) : Tensor.OnesLike(picked).Detach();
        if (valid != null) itemWeight = itemWeight * valid.To(logProbs.DType);
        var loss = picked * itemWeight;
        if (smoothing > 0)
        {
            var smooth = (w != null ? (logProbs * w).Sum(1) : logProbs.Sum(1)).Neg();
            if (valid != null) smooth = smooth * valid.To(logProbs.DType);
            loss = loss * (1 - smoothing) + smooth * (smoothing / classes);
        }
        return reduction switch
        {
            Reduction.None => restore(loss),
            Reduction.Sum => loss.Sum(),
            Reduction.Mean => loss.Sum() / itemWeight.Sum(),
            _ => throw new ArgumentException($"{op}: reduction {reduction} is not supported", nameof(reduction)),
        };
    }

    /// <summary>Mean squared error (torch.nn.functional.mse_loss).</summary>
    public static Tensor MseLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, "MseLoss");
        return Reduce((input - target).Square(), reduction, "MseLoss");
    }

    /// <summary>Mean absolute error (torch.nn.functional.l1_loss).</summary>
    public static Tensor L1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, "L1Loss");
        return Reduce((input - target).Abs(), reduction, "L1Loss");
    }

    /// <summary>Smooth L1: 0.5·d²/β below β, |d| − 0.5β above (torch.nn.functional.smooth_l1_loss).</summary>
    public static Tensor SmoothL1Loss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double beta = 1.0)
    {
        SameShape(input, target, "SmoothL1Loss");
        if (beta < 0) throw new ArgumentOutOfRangeException(nameof(beta), $"SmoothL1Loss: beta must be non-negative, got {beta}");
        var d = (input - target).Abs();
        if (beta == 0) return Reduce(d, reduction, "SmoothL1Loss");
        return Reduce(Tensor.Where(d.Lt(beta), d.Square() * (0.5 / beta), d - 0.5 * beta), reduction, "SmoothL1Loss");
    }

    /// <summary>Huber loss: 0.5·d² below δ, δ(|d| − 0.5δ) above (torch.nn.functional.huber_loss).</summary>
    public static Tensor HuberLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, double delta = 1.0)
    {
        SameShape(input, target, "HuberLoss");
        if (delta <= 0) throw new ArgumentOutOfRangeException(nameof(delta), $"HuberLoss: delta must be positive, got {delta}");
        var d = (input - target).Abs();
        return Reduce(Tensor.Where(d.Lt(delta), d.Square() * 0.5, (d - 0.5 * delta) * delta), reduction, "HuberLoss");
    }

    /// <summary>Binary cross-entropy of probabilities, logs clamped at −100 (torch.nn.functional.binary_cross_entropy).</summary>
    public static Tensor BinaryCrossEntropy(Tensor input, Tensor target, Tensor? weight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, "BinaryCrossEntropy");
        var loss = (target * input.Log().ClampMin(-100) + (1 - target) * (1 - input).Log().ClampMin(-100)).Neg();
        if (weight != null) loss = loss * weight;
        return Reduce(loss, reduction, "BinaryCrossEntropy");
    }

    /// <summary>
    /// Numerically stable binary cross-entropy on logits, with optional per-element <paramref name="weight"/> and
    /// per-class <paramref name="posWeight"/> for positives (torch.nn.functional.binary_cross_entropy_with_logits).
    /// </summary>
    public static Tensor BinaryCrossEntropyWithLogits(Tensor input, Tensor target, Tensor? weight = null, Tensor? posWeight = null, Reduction reduction = Reduction.Mean)
    {
        SameShape(input, target, "BinaryCrossEntropyWithLogits");
        var softplusNeg = input.Neg().Softplus();                                   // log(1 + e^-x)
        var logWeight = posWeight != null ? (posWeight - 1) * target + 1 : null;
        var loss = (1 - target) * input + (logWeight != null ? logWeight * softplusNeg : softplusNeg);
        if (weight != null) loss = loss * weight;
        return Reduce(loss, reduction, "BinaryCrossEntropyWithLogits");
    }

    /// <summary>
    /// KL divergence with <paramref name="input"/> as log-probabilities (torch.nn.functional.kl_div); use
    /// <see cref="Reduction.BatchMean"/> for the mathematically correct mean.
    /// </summary>
    public static Tensor KLDivLoss(Tensor input, Tensor target, Reduction reduction = Reduction.Mean, bool logTarget = false)
    {
        SameShape(input, target, "KLDivLoss");
        var pointwise = logTarget ? target.Exp() * (target - input)
            : Tensor.Where(target.Gt(0), target * (target.ClampMin(1e-300).Log() - input), 0.0);
        return Reduce(pointwise, reduction, "KLDivLoss");
    }

    /// <summary>1 − cos(x1, x2) for y = 1, max(0, cos − margin) for y = −1 (torch.nn.functional.cosine_embedding_loss).</summary>
    public static Tensor CosineEmbeddingLoss(Tensor input1, Tensor input2, Tensor target, double margin = 0, Reduction reduction = Reduction.Mean)
    {
        SameShape(input1, input2, "CosineEmbeddingLoss");
        int dim = input1.Rank - 1;
        var cos = (input1 * input2).Sum(dim) / ((input1.Square().Sum(dim) + 1e-12) * (input2.Square().Sum(dim) + 1e-12)).Sqrt();
        var y = target.To(cos.DType);
        var loss = Tensor.Where(y.Eq(1), 1 - cos, 0.0) + Tensor.Where(y.Eq(-1), (cos - margin).ClampMin(0), 0.0);
        return Reduce(loss, reduction, "CosineEmbeddingLoss");
    }

    static Tensor PairwiseDistance(Tensor a, Tensor b, double p, double eps) => (a - b + eps).Norm(p, a.Rank - 1);

    /// <summary>max(0, margin + d(a, p) − d(a, n)) with p-norm distances (torch.nn.functional.triplet_margin_loss).</summary>
    public static Tensor TripletMarginLoss(Tensor anchor, Tensor positive, Tensor negative, double margin = 1.0, double p = 2,
        double eps = 1e-6, bool swap = false, Reduction reduction = Reduction.Mean)
    {
        SameShape(anchor, positive, "TripletMarginLoss"); SameShape(anchor, negative, "TripletMarginLoss");
        var dPos = PairwiseDistance(anchor, positive, p, eps);
        var dNeg = PairwiseDistance(anchor, negative, p, eps);
        if (swap)
        {
            var dSwap = PairwiseDistance(positive, negative, p, eps);
            dNeg = Tensor.Where(dSwap.Lt(dNeg), dSwap, dNeg);
        }
        return Reduce((dPos - dNeg + margin).ClampMin(0), reduction, "TripletMarginLoss");
    }

    /// <summary>
    /// Contrastive loss for pairs (Hadsell, Chopra &amp; LeCun 2006): y·d² + (1 − y)·max(0, margin − d)², with d the
    /// Euclidean distance and y = 1 for similar pairs, 0 for dissimilar ones. No torch equivalent.
    /// </summary>
    public static Tensor ContrastiveLoss(Tensor input1, Tensor input2, Tensor target, double margin = 1.0, Reduction reduction = Reduction.Mean)
    {
        SameShape(input1, input2, "ContrastiveLoss");
        var d = PairwiseDistance(input1, input2, 2, 1e-6);
        var y = target.To(d.DType);
        if (!y.Shape.SequenceEqual(d.Shape))
            throw new ArgumentException($"ContrastiveLoss: target of shape {ShapeUtil.Format(target.shape)} must have one label per pair {ShapeUtil.Format(d.shape)}", nameof(target));
        var loss = y * d.Square() + (1 - y) * (margin - d).ClampMin(0).Square();
        return Reduce(loss, reduction, "ContrastiveLoss");
    }

    /// <summary>
    /// Multi-class focal loss (Lin et al. 2017): −α_t (1 − p_t)^γ log p_t over softmax probabilities, with optional
    /// per-class <paramref name="alpha"/> (C). No torch equivalent; gamma = 0 and no alpha give cross-entropy.
    /// </summary>
    public static Tensor FocalLoss(Tensor input, Tensor target, Tensor? alpha = null, double gamma = 2.0, Reduction reduction = Reduction.Mean)
    {
        if (target.IsFloatingPoint) throw new ArgumentException($"FocalLoss: target must hold class indices (int64 or int32), got {target.DType.TorchName()}", nameof(target));
        var (logits, flatTarget, restore) = FlattenClasses(input, target, "FocalLoss");
        CheckWeight(alpha, logits.Shape[1], "FocalLoss");
        var logPt = NllCore(logits.LogSoftmax(1), flatTarget, null, int.MinValue, 0, Reduction.None, t => t, "FocalLoss").Neg();
        var loss = (1 - logPt.Exp()).ClampMin(0).Pow(gamma) * logPt.Neg();
        if (alpha != null) loss = loss * alpha.To(loss.DType).IndexSelect(0, flatTarget.To(DType.Int64));
        return reduction == Reduction.None ? restore(loss) : Reduce(loss, reduction, "FocalLoss");
    }

    /// <summary>
    /// Binary focal loss on logits as torchvision.ops.sigmoid_focal_loss: BCE·(1 − p_t)^γ, weighted by α for positives and
    /// 1 − α for negatives (α &lt; 0 disables). Default reduction None, as torchvision's.
    /// </summary>
    public static Tensor SigmoidFocalLoss(Tensor input, Tensor target, double alpha = 0.25, double gamma = 2.0, Reduction reduction = Reduction.None)
    {
        SameShape(input, target, "SigmoidFocalLoss");
        var p = input.Sigmoid();
        var ce = BinaryCrossEntropyWithLogits(input, target, reduction: Reduction.None);
        var pt = p * target + (1 - p) * (1 - target);
        var loss = ce * (1 - pt).Pow(gamma);
        if (alpha >= 0) loss = loss * (target * alpha + (1 - target) * (1 - alpha));
        return Reduce(loss, reduction, "SigmoidFocalLoss");
    }
}
