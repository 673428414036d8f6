using DeepSharp.NN;

namespace DeepSharp.Robustness;

/// <summary>
/// An evasion attack on a classifier of images in [0, 1] (torchattacks.Attack): <see cref="Perturb"/> returns adversarial
/// images for the true labels (untargeted: the loss is increased), <see cref="PerturbTargeted"/> for target labels (the
/// loss towards the target is decreased). As torchattacks does, the model runs in eval mode during the attack (its mode
/// is restored afterwards), the loss is the mean cross-entropy of its logits, and the result is clamped to [0, 1] and
/// detached. Gradients are taken with respect to the input only (torch.autograd.grad): the parameters' gradients are
/// neither computed nor touched.
/// </summary>
public abstract class Attack
{
    /// <summary>Sets the model and the perturbation budget ε (torchattacks' eps).</summary>
    protected Attack(Module<Tensor, Tensor> model, double epsilon)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (!(epsilon >= 0) || double.IsInfinity(epsilon))
            throw new ArgumentException($"{GetType().Name}: epsilon must be a finite non-negative number, got {epsilon}", nameof(epsilon));
        Model = model;
        Epsilon = epsilon;
    }

    /// <summary>The attacked classifier: images (N, ...) to logits (N, classes).</summary>
    public Module<Tensor, Tensor> Model { get; }

    /// <summary>The perturbation budget ε: the largest L∞ (or, for <see cref="PgdL2"/>, L2) norm of a perturbation (torchattacks' eps).</summary>
    public double Epsilon { get; }

    /// <summary>Where random starts are drawn from; null (the default) uses the global generator (<see cref="DeepSharp.Random"/>).</summary>
    public Generator? Generator { get; init; }

    /// <summary>
    /// Untargeted adversarial examples (torchattacks' attack(images, labels)): <paramref name="images"/> (N, ...) in [0, 1],
    /// <paramref name="labels"/> (N) int64 class indices. <paramref name="start"/>, when given, replaces the random start:
    /// the initial perturbation δ₀ of <paramref name="images"/>'s shape (the attack begins at clamp(x + δ₀, 0, 1)), so a
    /// run can be reproduced exactly. Returns detached images of <paramref name="images"/>'s shape.
    /// </summary>
    public Tensor Perturb(Tensor images, Tensor labels, Tensor? start = null) => Run(images, labels, targeted: false, start);

    /// <summary>
    /// Targeted adversarial examples (torchattacks' set_mode_targeted_*: the loss is −CE(model(x), target), so the attack
    /// pushes every image towards its <paramref name="targetLabels"/> class). Arguments as in <see cref="Perturb"/>.
    /// </summary>
    public Tensor PerturbTargeted(Tensor images, Tensor targetLabels, Tensor? start = null) => Run(images, targetLabels, targeted: true, start);

    /// <summary>The attack proper, run in eval mode with frozen parameters and gradients enabled; images are detached and checked.</summary>
    protected abstract Tensor Generate(Tensor images, Tensor labels, bool targeted, Tensor? start);

    /// <summary>
    /// ∇ₓ of the attack's loss at <paramref name="adversarial"/>: CE(model(x), labels) (mean over the batch), negated for
    /// a targeted attack (torchattacks: cost = −loss(outputs, target_labels)).
    /// </summary>
    protected Tensor LossGradient(Tensor adversarial, Tensor labels, bool targeted)
    {
        var x = adversarial.Detach().RequiresGrad_();
        var cost = F.CrossEntropy(Model.Call(x), labels);
        return Autograd.Grad(targeted ? cost.Neg() : cost, x);
    }

    /// <summary>(N, 1, 1, ...): the shape that broadcasts one value per example over <paramref name="like"/>.</summary>
    protected static int[] PerExampleShape(Tensor like)
    {
        var shape = new int[like.Rank];
        Array.Fill(shape, 1);
        shape[0] = like.Shape[0];
        return shape;
    }

    Tensor Run(Tensor images, Tensor labels, bool targeted, Tensor? start)
    {
        AttackChecks.Inputs(GetType().Name, images, labels, start);
        if (Epsilon == 0) return images.Detach().Clone();        // no perturbation is allowed
        using var scope = new AttackScope(Model);
        return Generate(images.Detach(), labels, targeted, start?.Detach()).Detach();
    }
}

/// <summary>
/// The attack's conditions (torchattacks' set_model_training_mode(False)): the model in eval mode, its parameters not
/// requiring gradients (so backward passes compute input gradients only), gradients recorded even inside a no-grad
/// region (an evaluation loop); all restored on Dispose.
/// </summary>
internal sealed class AttackScope : IDisposable
{
    readonly Module model;
    readonly bool wasTraining;
    readonly Tensor[] frozen;
    readonly Autograd.GradModeScope gradMode;

    public AttackScope(Module model)
    {
        this.model = model;
        wasTraining = model.IsTraining;
        frozen = model.Parameters().Where(p => p.RequiresGrad).ToArray();
        model.Eval();
        foreach (var p in frozen) p.RequiresGrad = false;
        gradMode = Autograd.EnableGrad();
    }

    public void Dispose()
    {
        gradMode.Dispose();
        foreach (var p in frozen) p.RequiresGrad = true;
        model.Train(wasTraining);
    }
}

/// <summary>Argument checks shared by the attacks: clear messages naming the argument and the shapes.</summary>
internal static class AttackChecks
{
    public static void Inputs(string who, Tensor images, Tensor labels, Tensor? start)
    {
        ArgumentNullException.ThrowIfNull(images); ArgumentNullException.ThrowIfNull(labels);
        if (!images.IsFloatingPoint || images.Rank < 2)
            throw new ArgumentException($"{who}: images must be a floating-point batch (N, ...), got {images.DType} of shape {Format(images)}", nameof(images));
        if (labels.Rank != 1 || labels.DType != DType.Int64 || labels.Shape[0] != images.Shape[0])
            throw new ArgumentException($"{who}: labels must be int64 of shape ({images.Shape[0]}) for images {Format(images)}, got {labels.DType} {Format(labels)}", nameof(labels));
        if (start is not null && !start.Shape.SequenceEqual(images.Shape))
            throw new ArgumentException($"{who}: the start perturbation {Format(start)} must have the images' shape {Format(images)}", nameof(start));
        PixelRange(who, images, nameof(images));
    }

    public static void PixelRange(string who, Tensor images, string name)
    {
        if (images.NumEl == 0) return;
        double low = images.Min().Item(), high = images.Max().Item();
        if (!(low >= 0 && high <= 1))
            throw new ArgumentException($"{who}: the attacks work in [0, 1] pixel space, but {name} {Format(images)} spans [{low}, {high}]; " +
                                        "attack the unnormalised images and normalise inside the model", name);
    }

    public static void Steps(string who, double alpha, int steps)
    {
        if (!(alpha > 0) || double.IsInfinity(alpha)) throw new ArgumentException($"{who}: the step size alpha must be positive and finite, got {alpha}", nameof(alpha));
        if (steps < 0) throw new ArgumentException($"{who}: steps must be non-negative, got {steps}", nameof(steps));
    }

    public static string Format(Tensor t) => $"({string.Join(", ", t.Shape)})";
}
