using System.Globalization;
using System.Text;
using DeepSharp.NN;

namespace DeepSharp.Robustness;

/// <summary>Accuracy under an attack of budget <paramref name="Epsilon"/> (ε = 0: clean accuracy).</summary>
public readonly record struct RobustAccuracy(double Epsilon, double Accuracy, int Examples);

/// <summary>
/// Robust accuracy: the fraction of examples still classified correctly after an attack (torchattacks' and
/// RobustBench's robust accuracy), and the accuracy-vs-ε curve. Models run in eval mode; their mode is restored.
/// </summary>
public static class RobustEvaluation
{
    /// <summary>The ε list for Fashion-MNIST and MNIST in [0, 1] pixel space: 0, 0.05, 0.1, 0.2.</summary>
    public static readonly double[] FashionMnistEpsilons = [0, 0.05, 0.1, 0.2];

    /// <summary>
    /// Accuracy of <paramref name="model"/> on the (input, label) batches of <paramref name="data"/> after
    /// <paramref name="attack"/> (null: clean accuracy), over the first <paramref name="limit"/> examples (0: all).
    /// <paramref name="onBatch"/>, when given, sees each batch's (clean images, attacked images, labels), e.g. to keep a
    /// few for a picture (clone what you keep: each batch's temporaries are recycled afterwards).
    /// </summary>
    public static RobustAccuracy Accuracy(Module<Tensor, Tensor> model, IEnumerable<Tensor[]> data, Attack? attack = null, int limit = 0,
        Action<Tensor, Tensor, Tensor>? onBatch = null)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(data);
        if (limit < 0) throw new ArgumentException($"RobustEvaluation: limit must be non-negative, got {limit}", nameof(limit));
        if (attack is not null && !ReferenceEquals(attack.Model, model))
            throw new ArgumentException("RobustEvaluation: the attack targets another model than the one evaluated (a transfer attack); give the attack of this model", nameof(attack));
        long correct = 0; int seen = 0;
        foreach (var batch in data)
        {
            if (batch.Length < 2) throw new ArgumentException($"RobustEvaluation: each batch must hold (input, label), got {batch.Length} tensor(s)", nameof(data));
            var (x, y) = (batch[0], batch[1]);
            if (limit > 0 && seen + x.Shape[0] > limit) { x = x.Narrow(0, 0, limit - seen); y = y.Narrow(0, 0, limit - seen); }
            using var scope = TensorScope.Begin();
            var attacked = attack is null ? x : attack.Perturb(x, y);
            correct += CountCorrect(model, attacked, y);
            onBatch?.Invoke(x, attacked, y);
            seen += x.Shape[0];
            if (limit > 0 && seen >= limit) break;
        }
        if (seen == 0) throw new ArgumentException("RobustEvaluation: the data holds no example", nameof(data));
        return new RobustAccuracy(attack?.Epsilon ?? 0, (double)correct / seen, seen);
    }

    /// <summary>
    /// Accuracy against the attack <paramref name="attackFor"/>(ε) for each ε of <paramref name="epsilons"/> (ε = 0 is
    /// the clean accuracy), e.g. <c>eps =&gt; new Pgd(model, eps, eps / 4, 10)</c>. Re-enumerates <paramref name="data"/> for each ε.
    /// </summary>
    public static IReadOnlyList<RobustAccuracy> AccuracyVsEpsilon(Module<Tensor, Tensor> model, IEnumerable<Tensor[]> data,
        IEnumerable<double> epsilons, Func<double, Attack> attackFor, int limit = 0)
    {
        ArgumentNullException.ThrowIfNull(epsilons); ArgumentNullException.ThrowIfNull(attackFor);
        return epsilons.Select(eps => eps == 0 ? Accuracy(model, data, null, limit) : Accuracy(model, data, attackFor(eps), limit)).ToArray();
    }

    /// <summary>The number of rows of (<paramref name="images"/>, <paramref name="labels"/>) that <paramref name="model"/> classifies correctly (eval mode, no gradients).</summary>
    public static long CountCorrect(Module<Tensor, Tensor> model, Tensor images, Tensor labels) => Predict(model, images).Eq(labels).Sum().Item<long>();

    /// <summary>The predicted classes (argmax of the logits) of <paramref name="images"/>, in eval mode without gradients.</summary>
    public static Tensor Predict(Module<Tensor, Tensor> model, Tensor images)
    {
        bool wasTraining = model.IsTraining;
        model.Eval();
        try { using (Autograd.NoGrad()) return model.Call(images).ArgMax(1); }
        finally { model.Train(wasTraining); }
    }

    /// <summary>A Markdown table of accuracy against ε, one column per model: <c>| ε | standard | adversarial |</c>.</summary>
    public static string Table(IReadOnlyList<(string Name, IReadOnlyList<RobustAccuracy> Curve)> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var text = new StringBuilder("| ε |" + string.Concat(models.Select(m => $" {m.Name} |")) + "\n|---|" + string.Concat(models.Select(_ => "---|")) + "\n");
        var epsilons = models.SelectMany(m => m.Curve.Select(c => c.Epsilon)).Distinct().Order();
        foreach (var eps in epsilons)
        {
            text.Append(CultureInfo.InvariantCulture, $"| {eps} |");
            foreach (var (_, curve) in models)
                text.Append(curve.FirstOrDefault(c => c.Epsilon == eps) is { Examples: > 0 } r ? string.Create(CultureInfo.InvariantCulture, $" {r.Accuracy:P1} |") : " – |");
            text.Append('\n');
        }
        return text.ToString();
    }
}
