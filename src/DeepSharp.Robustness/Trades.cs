using DeepSharp.NN;

namespace DeepSharp.Robustness;

/// <summary>The terms of one TRADES loss: the total to minimise, its two parts, and the adversarial images it was found at.</summary>
/// <param name="Loss">CE(f(x), y) + β·KL: the training loss.</param>
/// <param name="NaturalLoss">CE(f(x), y), mean over the batch.</param>
/// <param name="RobustKl">KL(softmax f(x) ‖ softmax f(x')) summed over classes, averaged over the batch.</param>
/// <param name="Logits">f(x) on the natural images (train mode), for metrics.</param>
/// <param name="Adversarial">x', the images that maximise the KL term.</param>
public sealed record TradesLoss(Tensor Loss, Tensor NaturalLoss, Tensor RobustKl, Tensor Logits, Tensor Adversarial);

/// <summary>
/// TRADES (Zhang et al., 2019, "Theoretically Principled Trade-off between Robustness and Accuracy"; the reference
/// yaodongyu/TRADES trades_loss, L∞ distance): the loss CE(f(x), y) + β·KL(softmax f(x) ‖ softmax f(x'))/N, where x'
/// maximises the KL term inside the ε-ball: from x + 0.001·N(0, 1), <see cref="Steps"/> steps x' ← x' + α·sign(∇KL),
/// x' = min(max(x', x − ε), x + ε), clamped to [0, 1], the model in eval mode; the loss is then taken in the model's own
/// mode (train mode when training). One difference from the reference, which calls the model on x twice in its loss:
/// the natural logits are computed once and used for both terms (identical without dropout; one forward pass fewer).
/// </summary>
public sealed class Trades
{
    /// <summary>
    /// TRADES with budget <paramref name="epsilon"/>, trade-off <paramref name="beta"/> (the reference's CIFAR-10 setting,
    /// 6.0, by default; its MNIST setting is 1.0), <paramref name="steps"/> inner steps of size <paramref name="stepSize"/>
    /// (default 2.5·ε/steps, Madry's rule; the reference uses 0.007 for ε = 0.031 and 0.01 for ε = 0.3).
    /// </summary>
    public Trades(Module<Tensor, Tensor> model, double epsilon, double beta = 6.0, int steps = 10, double? stepSize = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(epsilon >= 0) || double.IsInfinity(epsilon)) throw new ArgumentException($"Trades: epsilon must be finite and non-negative, got {epsilon}", nameof(epsilon));
        if (!(beta >= 0) || double.IsInfinity(beta)) throw new ArgumentException($"Trades: beta must be finite and non-negative, got {beta}", nameof(beta));
        StepSize = stepSize ?? Pgd.DefaultAlpha(epsilon, steps);
        AttackChecks.Steps(nameof(Trades), StepSize, steps);
        Model = model; Epsilon = epsilon; Beta = beta; Steps = steps;
    }

    /// <summary>The trained classifier.</summary>
    public Module<Tensor, Tensor> Model { get; }
    /// <summary>The L∞ budget ε of the inner maximisation (the reference's epsilon).</summary>
    public double Epsilon { get; }
    /// <summary>The weight β of the robustness term (the reference's beta, 1/λ in the paper).</summary>
    public double Beta { get; }
    /// <summary>The inner maximisation's steps (the reference's perturb_steps).</summary>
    public int Steps { get; }
    /// <summary>The inner maximisation's step size (the reference's step_size).</summary>
    public double StepSize { get; }
    /// <summary>Where the start noise is drawn from; null uses the global generator.</summary>
    public Generator? Generator { get; init; }

    /// <summary>
    /// The inner maximisation: images x' within ε of <paramref name="images"/> that maximise KL(softmax f(x) ‖ softmax f(x'))
    /// (summed over the batch, as the reference's KLDivLoss(size_average=False)). <paramref name="start"/>, when given,
    /// replaces the random start noise 0.001·N(0, 1). The model runs in eval mode; its mode is restored.
    /// </summary>
    public Tensor Perturb(Tensor images, Tensor? start = null)
    {
        CheckImages(images, start);
        var natural = images.Detach();
        using var scope = new AttackScope(Model);
        Tensor target;
        using (Autograd.NoGrad()) target = Model.Call(natural).Softmax(1);
        var adversarial = natural + (start?.Detach() ?? Tensor.Randn([.. natural.Shape], natural.DType, generator: Generator) * 0.001);
        Tensor lower = natural - Epsilon, upper = natural + Epsilon;
        for (int step = 0; step < Steps; step++)
        {
            using var stepScope = TensorScope.Begin();      // each step's temporaries are recycled by the next
            var x = adversarial.Detach().RequiresGrad_();
            var kl = F.KLDivLoss(Model.Call(x).LogSoftmax(1), target, Reduction.Sum);
            var moved = x.Detach() + Autograd.Grad(kl, x).Sign() * StepSize;
            moved = Tensor.Where(moved.Gt(lower), moved, lower);   // torch.max(x', x − ε)
            moved = Tensor.Where(moved.Lt(upper), moved, upper);   // torch.min(x', x + ε)
            adversarial = stepScope.Keep(moved.Clamp(0, 1));
        }
        return adversarial.Clamp(0, 1).Detach();
    }

    /// <summary>
    /// The TRADES loss of a batch (the reference's trades_loss): finds x' with <see cref="Perturb"/>, then, in the model's
    /// current mode, CE(f(x), y) + β·(1/N)·KL(softmax f(x) ‖ softmax f(x'))(sum), differentiable in the parameters
    /// through both f(x) and f(x').
    /// </summary>
    public TradesLoss Loss(Tensor images, Tensor labels, Tensor? start = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        var adversarial = Perturb(images, start);
        if (labels.Rank != 1 || labels.Shape[0] != images.Shape[0])
            throw new ArgumentException($"Trades: labels must have shape ({images.Shape[0]}) for images {AttackChecks.Format(images)}, got {AttackChecks.Format(labels)}", nameof(labels));
        var logits = Model.Call(images);
        var natural = F.CrossEntropy(logits, labels);
        var robust = F.KLDivLoss(Model.Call(adversarial).LogSoftmax(1), logits.Softmax(1), Reduction.Sum) * (1.0 / images.Shape[0]);
        return new TradesLoss(natural + robust * Beta, natural, robust, logits, adversarial);
    }

    void CheckImages(Tensor images, Tensor? start)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (!images.IsFloatingPoint || images.Rank < 2)
            throw new ArgumentException($"Trades: images must be a floating-point batch (N, ...), got {images.DType} of shape {AttackChecks.Format(images)}", nameof(images));
        if (start is not null && !start.Shape.SequenceEqual(images.Shape))
            throw new ArgumentException($"Trades: the start noise {AttackChecks.Format(start)} must have the images' shape {AttackChecks.Format(images)}", nameof(start));
        AttackChecks.PixelRange(nameof(Trades), images, nameof(images));
    }

    /// <inheritdoc/>
    public override string ToString() => $"TRADES(eps={Epsilon}, beta={Beta}, steps={Steps}, step_size={StepSize})";
}
