using DeepSharp.NN;

namespace DeepSharp.Robustness;

/// <summary>
/// The fast gradient sign method (Goodfellow et al., 2015; torchattacks.FGSM): one step of size ε along the sign of the
/// input gradient of the cross-entropy, x' = clamp(x + ε·sign(∇ₓ CE(f(x), y)), 0, 1) (targeted: minus the gradient
/// towards the target). It has no random start: <see cref="Attack.Perturb"/>'s start must be null.
/// </summary>
public sealed class Fgsm : Attack
{
    /// <summary>FGSM with budget <paramref name="epsilon"/> (torchattacks.FGSM(model, eps=8/255)).</summary>
    public Fgsm(Module<Tensor, Tensor> model, double epsilon = 8.0 / 255) : base(model, epsilon) { }

    /// <inheritdoc/>
    protected override Tensor Generate(Tensor images, Tensor labels, bool targeted, Tensor? start)
    {
        if (start is not null) throw new ArgumentException("Fgsm: FGSM takes no start perturbation (it has no random start); use Pgd for one", nameof(start));
        var grad = LossGradient(images, labels, targeted);
        return (images + grad.Sign() * Epsilon).Clamp(0, 1);
    }

    /// <inheritdoc/>
    public override string ToString() => $"FGSM(eps={Epsilon})";
}

/// <summary>
/// Projected gradient descent under an L∞ budget (Madry et al., 2018; torchattacks.PGD): from a random start uniform in
/// [−ε, ε] (clamped to [0, 1]), <see cref="Steps"/> steps x ← x + α·sign(∇ₓ CE), each followed by the projection
/// δ = clamp(x − x₀, −ε, ε), x = clamp(x₀ + δ, 0, 1).
/// </summary>
public sealed class Pgd : Attack
{
    /// <summary>
    /// PGD with budget <paramref name="epsilon"/>, step size <paramref name="alpha"/>, <paramref name="steps"/> steps and a
    /// random start (torchattacks.PGD(model, eps=8/255, alpha=2/255, steps=10, random_start=True)).
    /// </summary>
    public Pgd(Module<Tensor, Tensor> model, double epsilon = 8.0 / 255, double alpha = 2.0 / 255, int steps = 10, bool randomStart = true)
        : base(model, epsilon)
    {
        AttackChecks.Steps(nameof(Pgd), alpha, steps);
        Alpha = alpha; Steps = steps; RandomStart = randomStart;
    }

    /// <summary>The step size α of each signed-gradient step (torchattacks' alpha).</summary>
    public double Alpha { get; }
    /// <summary>The number of steps (torchattacks' steps).</summary>
    public int Steps { get; }
    /// <summary>Whether the attack starts from a uniform random point of the ε-ball (torchattacks' random_start).</summary>
    public bool RandomStart { get; }

    /// <summary>Madry et al.'s rule for the step size, α = 2.5·ε / steps (torchattacks' defaults 8/255, 2/255, 10 follow it).</summary>
    public static double DefaultAlpha(double epsilon, int steps) => 2.5 * epsilon / Math.Max(1, steps);

    /// <inheritdoc/>
    protected override Tensor Generate(Tensor images, Tensor labels, bool targeted, Tensor? start)
    {
        start ??= RandomStart ? Tensor.Rand([.. images.Shape], images.DType, generator: Generator) * (2 * Epsilon) - Epsilon : null;
        var adversarial = start is null ? images : (images + start).Clamp(0, 1);
        for (int step = 0; step < Steps; step++)
        {
            using var scope = TensorScope.Begin();          // each step's temporaries are recycled by the next
            var grad = LossGradient(adversarial, labels, targeted);
            var moved = adversarial + grad.Sign() * Alpha;
            var delta = (moved - images).Clamp(-Epsilon, Epsilon);
            adversarial = scope.Keep((images + delta).Clamp(0, 1));
        }
        return adversarial;
    }

    /// <inheritdoc/>
    public override string ToString() => $"PGD(eps={Epsilon}, alpha={Alpha}, steps={Steps}, random_start={RandomStart})";
}

/// <summary>
/// Projected gradient descent under an L2 budget (torchattacks.PGDL2): each step moves α along the gradient normalised
/// per example (∇ / (‖∇‖₂ + 1e-10)), then the perturbation is scaled back into the ε-ball (δ·min(ε/‖δ‖₂, 1)) and the image
/// clamped to [0, 1]. The random start is torchattacks': a normal direction scaled to a radius ε·U(0, 1).
/// </summary>
public sealed class PgdL2 : Attack
{
    /// <summary>
    /// PGD-L2 with budget <paramref name="epsilon"/>, step size <paramref name="alpha"/>, <paramref name="steps"/> steps
    /// (torchattacks.PGDL2(model, eps=1.0, alpha=0.2, steps=10, random_start=True, eps_for_division=1e-10)).
    /// </summary>
    public PgdL2(Module<Tensor, Tensor> model, double epsilon = 1.0, double alpha = 0.2, int steps = 10, bool randomStart = true, double epsForDivision = 1e-10)
        : base(model, epsilon)
    {
        AttackChecks.Steps(nameof(PgdL2), alpha, steps);
        Alpha = alpha; Steps = steps; RandomStart = randomStart; EpsForDivision = epsForDivision;
    }

    /// <summary>The L2 length α of each step (torchattacks' alpha).</summary>
    public double Alpha { get; }
    /// <summary>The number of steps.</summary>
    public int Steps { get; }
    /// <summary>Whether the attack starts from a random point of the ε-ball (torchattacks' random_start).</summary>
    public bool RandomStart { get; }
    /// <summary>Added to the gradient norm before dividing (torchattacks' eps_for_division).</summary>
    public double EpsForDivision { get; }

    /// <inheritdoc/>
    protected override Tensor Generate(Tensor images, Tensor labels, bool targeted, Tensor? start)
    {
        var perExample = PerExampleShape(images);
        int n = images.Shape[0];
        if (start is null && RandomStart)
        {
            var direction = Tensor.Randn([.. images.Shape], images.DType, generator: Generator);
            var norm = direction.Reshape(n, -1).Norm(2, 1).Reshape(perExample);
            var radius = Tensor.Rand(perExample, images.DType, generator: Generator);
            start = direction * radius / norm * Epsilon;
        }
        var adversarial = start is null ? images : (images + start).Clamp(0, 1);
        for (int step = 0; step < Steps; step++)
        {
            using var scope = TensorScope.Begin();
            var grad = LossGradient(adversarial, labels, targeted);
            var gradNorm = grad.Reshape(n, -1).Norm(2, 1) + EpsForDivision;
            adversarial = adversarial + grad / gradNorm.Reshape(perExample) * Alpha;
            var delta = adversarial - images;
            var factor = (Epsilon / delta.Reshape(n, -1).Norm(2, 1)).ClampMax(1);      // ε / 0 = ∞ → 1
            adversarial = scope.Keep((images + delta * factor.Reshape(perExample)).Clamp(0, 1));
        }
        return adversarial;
    }

    /// <inheritdoc/>
    public override string ToString() => $"PGD-L2(eps={Epsilon}, alpha={Alpha}, steps={Steps}, random_start={RandomStart})";
}
