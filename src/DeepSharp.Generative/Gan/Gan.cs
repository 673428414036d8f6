using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Generative.Gan;

/// <summary>The adversarial objective a <see cref="Gan"/> trains with.</summary>
public enum GanLoss
{
    /// <summary>DCGAN: binary cross-entropy on logits, the generator's non-saturating loss −log D(G(z)) (Goodfellow et al. 2014).</summary>
    NonSaturating,
    /// <summary>WGAN-GP: critic loss D(fake) − D(real) + λ·(‖∇D(x̂)‖₂ − 1)² on random interpolates (Gulrajani et al. 2017).</summary>
    WassersteinGradientPenalty,
}

/// <summary>
/// A generator and a discriminator (critic) held together, so the pair trains in one <see cref="Trainer"/>, saves as one
/// state dict ("generator.*", "discriminator.*") and loads back. <see cref="Optimizers"/> makes the usual two Adams and
/// <see cref="Step"/> the alternating updates (Lightning's manual optimization: <c>AutomaticOptimization = false</c>).
/// Real images come from the loader in [0, 1] and are mapped to [−1, 1], the generator's tanh range.
/// </summary>
public sealed class Gan : Module
{
    readonly DcganGenerator generator;
    readonly DcganDiscriminator discriminator;

    /// <summary>Holds <paramref name="generator"/> and <paramref name="discriminator"/>; they must agree on image shape and classes.</summary>
    public Gan(DcganGenerator generator, DcganDiscriminator discriminator)
    {
        ArgumentNullException.ThrowIfNull(generator); ArgumentNullException.ThrowIfNull(discriminator);
        if (generator.Shape != discriminator.Shape || generator.NumClasses != discriminator.NumClasses)
            throw new ArgumentException($"Gan: the generator ({generator.Shape}, {generator.NumClasses} classes) and discriminator ({discriminator.Shape}, {discriminator.NumClasses} classes) disagree");
        this.generator = generator; this.discriminator = discriminator;
    }

    /// <summary>A DCGAN (batch-norm discriminator, <see cref="GanLoss.NonSaturating"/>) or a WGAN-GP (layer-norm critic) for <paramref name="shape"/>.</summary>
    public static Gan Create(ImageShape shape, GanLoss loss, int latent = 64, int width = 64, int numClasses = 0)
        => new(new DcganGenerator(shape, latent, width, numClasses),
               new DcganDiscriminator(shape, width, numClasses, loss == GanLoss.NonSaturating ? CriticNorm.BatchNorm : CriticNorm.LayerNorm));

    /// <summary>The generator.</summary>
    public DcganGenerator Generator => generator;
    /// <summary>The discriminator (critic).</summary>
    public DcganDiscriminator Discriminator => discriminator;

    /// <summary>(generator, discriminator) Adam optimizers with DCGAN's lr 2e-4 and β = (0.5, 0.999), or WGAN-GP's 1e-4 and (0.5, 0.9).</summary>
    public (Optimizer Generator, Optimizer Discriminator) Optimizers(GanLoss loss)
    {
        var (lr, betas) = loss == GanLoss.NonSaturating ? (2e-4, (0.5, 0.999)) : (1e-4, (0.5, 0.9));
        return (new Adam(generator.Parameters(), lr, betas), new Adam(discriminator.Parameters(), lr, betas));
    }

    /// <summary>
    /// The WGAN-GP gradient penalty (Gulrajani et al. 2017): on x̂ = ε·real + (1 − ε)·fake with ε ~ U(0, 1) per image,
    /// mean over the batch of (‖∇ₓ D(x̂)‖₂ − 1)². The gradient is taken with createGraph, so back-propagating the penalty
    /// differentiates the critic twice (through conv, LeakyReLU, layer norm).
    /// </summary>
    public static Tensor GradientPenalty(Func<Tensor, Tensor> critic, Tensor real, Tensor fake, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(critic); ArgumentNullException.ThrowIfNull(real); ArgumentNullException.ThrowIfNull(fake);
        if (!real.Shape.SequenceEqual(fake.Shape))
            throw new ArgumentException($"GradientPenalty: real ({string.Join(", ", real.Shape)}) and fake ({string.Join(", ", fake.Shape)}) differ", nameof(fake));
        var shape = new int[real.Rank]; Array.Fill(shape, 1); shape[0] = real.Shape[0];
        var epsilon = Tensor.Rand(shape, real.DType, generator: generator);
        return PenaltyAt(critic, (real.Detach() * epsilon + fake.Detach() * (1 - epsilon)).RequiresGrad_());
    }

    /// <summary>
    /// The penalty at given points: mean over the batch of (‖∇ₓ D(x)‖₂ − 1)², the gradient taken with createGraph (the
    /// part of <see cref="GradientPenalty"/> after the interpolation; torch.autograd.grad(..., create_graph=True)).
    /// </summary>
    public static Tensor PenaltyAt(Func<Tensor, Tensor> critic, Tensor interpolates)
    {
        ArgumentNullException.ThrowIfNull(critic); ArgumentNullException.ThrowIfNull(interpolates);
        if (!interpolates.RequiresGrad) throw new ArgumentException("PenaltyAt: the points must require grad (RequiresGrad_())", nameof(interpolates));
        var scores = critic(interpolates);
        var gradient = Autograd.Grad([scores.Sum()], [interpolates], createGraph: true)[0]!;
        var norm = (gradient.Flatten(1).Square().Sum(1) + 1e-12).Sqrt();     // (N,), ε keeps the backward finite at 0
        return (norm - 1).Square().Mean();
    }

    /// <summary>
    /// The trainer step (manual optimization): one discriminator (critic) update on the batch, then, every
    /// <paramref name="criticSteps"/>-th batch, one generator update. Logs "d_loss" and "g_loss" (and "gp" and
    /// "wasserstein" for WGAN-GP) and returns the discriminator loss. Conditional GANs take the batch's labels.
    /// </summary>
    public Func<StepContext, Tensor?> Step(GanLoss loss, Optimizer generatorOptimizer, Optimizer discriminatorOptimizer,
        int criticSteps = 1, double penaltyWeight = 10)
    {
        ArgumentNullException.ThrowIfNull(generatorOptimizer); ArgumentNullException.ThrowIfNull(discriminatorOptimizer);
        if (criticSteps < 1) throw new ArgumentOutOfRangeException(nameof(criticSteps), $"Gan.Step: criticSteps must be at least 1, got {criticSteps}");
        return ctx =>
        {
            var real = ctx.Input * 2 - 1;
            var labels = generator.NumClasses > 0 ? ctx.Target : null;
            var fake = generator.Generate(Tensor.Randn([real.Shape[0], generator.Latent]), labels);
            discriminatorOptimizer.ZeroGrad();
            var dLoss = DiscriminatorLoss(loss, real, fake.Detach(), labels, penaltyWeight, ctx);
            ctx.Backward(dLoss); ctx.Step(discriminatorOptimizer);
            ctx.Log("d_loss", dLoss);
            if (ctx.Trainer.GlobalStep % criticSteps == 0)
            {
                generatorOptimizer.ZeroGrad();
                var scores = discriminator.Judge(fake, labels);
                var gLoss = loss == GanLoss.NonSaturating
                    ? F.BinaryCrossEntropyWithLogits(scores, Tensor.OnesLike(scores))
                    : -scores.Mean();
                ctx.Backward(gLoss); ctx.Step(generatorOptimizer);
                ctx.Log("g_loss", gLoss);
            }
            return dLoss;
        };
    }

    Tensor DiscriminatorLoss(GanLoss loss, Tensor real, Tensor fake, Tensor? labels, double penaltyWeight, StepContext ctx)
    {
        var realScores = discriminator.Judge(real, labels);
        var fakeScores = discriminator.Judge(fake, labels);
        if (loss == GanLoss.NonSaturating)
            return F.BinaryCrossEntropyWithLogits(realScores, Tensor.OnesLike(realScores))
                 + F.BinaryCrossEntropyWithLogits(fakeScores, Tensor.ZerosLike(fakeScores));
        var penalty = GradientPenalty(x => discriminator.Judge(x, labels), real, fake);
        var wasserstein = realScores.Mean() - fakeScores.Mean();
        ctx.Log("gp", penalty); ctx.Log("wasserstein", wasserstein);
        return -wasserstein + penalty * penaltyWeight;
    }
}
