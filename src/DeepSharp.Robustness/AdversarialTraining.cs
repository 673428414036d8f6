using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Robustness;

/// <summary>The defences <see cref="AdversarialTraining.Step"/> builds.</summary>
public enum AdversarialMethod
{
    /// <summary>PGD adversarial training (Madry et al., 2018): minimise the cross-entropy on PGD examples.</summary>
    Pgd,
    /// <summary>TRADES (Zhang et al., 2019): cross-entropy on clean images plus β·KL to the adversarial prediction.</summary>
    Trades,
}

/// <summary>
/// Adversarial training as custom steps of the one training loop (docs/training.md: <c>new Trainer(model, optimizer,
/// step: ...)</c>): the step builds the adversarial batch and returns the loss; the trainer back-propagates it, clips and
/// steps the optimizer. While the trainer evaluates (validation, <see cref="Trainer.Evaluate"/>), the steps score the
/// clean images: clean loss and clean metrics; measure robustness with <see cref="RobustEvaluation"/>. Pass the metrics
/// (e.g. <c>[new Accuracy()]</c>) to the trainer: in training they see the adversarial (PGD) or clean (TRADES) logits.
/// </summary>
public static class AdversarialTraining
{
    /// <summary>
    /// Madry et al.'s PGD adversarial training step (robustness library / "Towards Deep Learning Models Resistant to
    /// Adversarial Attacks"): x' = PGD-L∞(x, y) with a random start, <paramref name="steps"/> steps of
    /// <paramref name="stepSize"/> (default 2.5·ε/steps) in eval mode, then the loss CE(f(x'), y) in train mode.
    /// </summary>
    public static Func<StepContext, Tensor?> PgdStep(Module<Tensor, Tensor> model, double epsilon, int steps = 10, double? stepSize = null, Generator? generator = null)
    {
        var attack = new Pgd(model, epsilon, stepSize ?? Pgd.DefaultAlpha(epsilon, steps), steps) { Generator = generator };
        return context =>
        {
            if (!context.IsTraining) return CleanLoss(model, context);
            var adversarial = attack.Perturb(context.Input, context.Target);
            var logits = model.Call(adversarial);
            context.UpdateMetrics(logits, context.Target);
            return F.CrossEntropy(logits, context.Target);
        };
    }

    /// <summary>
    /// The TRADES step (the reference's trades_loss, <see cref="Trades"/>): loss CE(f(x), y) + β·KL(f(x) ‖ f(x')), logging
    /// its two terms as "natural_loss" and "robust_kl"; the metrics see the clean logits.
    /// </summary>
    public static Func<StepContext, Tensor?> TradesStep(Module<Tensor, Tensor> model, double epsilon, double beta = 6.0, int steps = 10, double? stepSize = null, Generator? generator = null)
    {
        var trades = new Trades(model, epsilon, beta, steps, stepSize) { Generator = generator };
        return context =>
        {
            if (!context.IsTraining) return CleanLoss(model, context);
            var terms = trades.Loss(context.Input, context.Target);
            context.Log("natural_loss", terms.NaturalLoss);
            context.Log("robust_kl", terms.RobustKl);
            context.UpdateMetrics(terms.Logits, context.Target);
            return terms.Loss;
        };
    }

    /// <summary>The step of <paramref name="method"/> with its defaults (β = 6 for TRADES); what `deepsharp train --adversarial` uses.</summary>
    public static Func<StepContext, Tensor?> Step(AdversarialMethod method, Module<Tensor, Tensor> model, double epsilon, int steps = 10) => method switch
    {
        AdversarialMethod.Pgd => PgdStep(model, epsilon, steps),
        AdversarialMethod.Trades => TradesStep(model, epsilon, steps: steps),
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "AdversarialTraining.Step: unknown method"),
    };

    /// <summary>Reads "pgd" or "trades" (case-insensitive).</summary>
    public static AdversarialMethod ParseMethod(string name) => name?.ToLowerInvariant() switch
    {
        "pgd" or "madry" => AdversarialMethod.Pgd,
        "trades" => AdversarialMethod.Trades,
        _ => throw new ArgumentException($"AdversarialTraining: unknown method '{name}'; use pgd or trades", nameof(name)),
    };

    static Tensor CleanLoss(Module<Tensor, Tensor> model, StepContext context)
    {
        var logits = model.Call(context.Input);
        context.UpdateMetrics(logits, context.Target);
        return F.CrossEntropy(logits, context.Target);
    }
}
