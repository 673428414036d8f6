using DeepSharp.NN;

namespace DeepSharp.Robustness.Tests;

/// <summary>
/// Checks against false robustness (Carlini et al., "On Evaluating Adversarial Robustness"): the iterative attack is at
/// least as strong as the one-step attack, more steps never help the model, and a large enough budget takes the model
/// to chance or below; the perturbations respect their budgets.
/// </summary>
public class FalseRobustnessTests(TrainedModels models) : IClassFixture<TrainedModels>
{
    double Accuracy(Attack? attack) => RobustEvaluation.Accuracy(models.Standard, models.TestBatches(), attack).Accuracy;

    [Fact]
    public void PgdAccuracyIsAtMostFgsmAccuracyAndBothBelowClean()
    {
        Requires.FashionMnist();
        double clean = Accuracy(null);
        double fgsm = Accuracy(new Fgsm(models.Standard, 0.1));
        double pgd = Accuracy(new Pgd(models.Standard, 0.1, 0.01, 20) { Generator = new Generator(1) });
        Assert.True(clean > 0.6, $"the trained model is too weak to test attacks on: clean accuracy {clean:F3}");
        Assert.True(fgsm < clean, $"FGSM at ε 0.1 left accuracy at {fgsm:F3} (clean {clean:F3})");
        Assert.True(pgd <= fgsm, $"PGD-20 accuracy {pgd:F3} above FGSM's {fgsm:F3}: the iterative attack is broken");
    }

    [Fact]
    public void MorePgdStepsNeverRaiseAccuracy()
    {
        Requires.FashionMnist();
        const double eps = 0.05;
        var accuracies = new[] { 1, 2, 5, 10, 20 }
            .Select(steps => Accuracy(new Pgd(models.Standard, eps, Pgd.DefaultAlpha(eps, steps), steps) { Generator = new Generator(2) }))
            .ToArray();
        for (int i = 1; i < accuracies.Length; i++)
            Assert.True(accuracies[i] <= accuracies[i - 1], $"accuracy by steps 1, 2, 5, 10, 20: {string.Join(", ", accuracies.Select(a => a.ToString("F3")))}");
        Assert.True(accuracies[^1] < accuracies[0], "20 steps should beat one step at ε 0.05");
    }

    [Fact]
    public void AccuracyAtLargeEpsilonFallsToChance()
    {
        Requires.FashionMnist();
        double pgd = Accuracy(new Pgd(models.Standard, 0.5, 0.05, 20) { Generator = new Generator(3) });
        double l2 = Accuracy(new PgdL2(models.Standard, 8.0, 1.0, 20) { Generator = new Generator(4) });
        Assert.True(pgd <= 0.1, $"PGD-L∞ at ε 0.5 leaves accuracy {pgd:F3}, above chance (0.1) for 10 classes");
        Assert.True(l2 <= 0.1, $"PGD-L2 at ε 8 leaves accuracy {l2:F3}, above chance (0.1) for 10 classes");
    }

    [Fact]
    public void AccuracyFallsAlongTheEpsilonList()
    {
        Requires.FashionMnist();
        var curve = RobustEvaluation.AccuracyVsEpsilon(models.Standard, models.TestBatches(), RobustEvaluation.FashionMnistEpsilons,
            eps => new Pgd(models.Standard, eps, Pgd.DefaultAlpha(eps, 10), 10) { Generator = new Generator(5) }, limit: 200);
        Assert.Equal([0, 0.05, 0.1, 0.2], curve.Select(c => c.Epsilon));
        Assert.All(curve, c => Assert.Equal(200, c.Examples));
        for (int i = 1; i < curve.Count; i++) Assert.True(curve[i].Accuracy < curve[i - 1].Accuracy, $"accuracy did not fall from ε {curve[i - 1].Epsilon} to {curve[i].Epsilon}");
        long clean = RobustEvaluation.CountCorrect(models.Standard, models.TestImages.Narrow(0, 0, 200), models.TestLabels.Narrow(0, 0, 200));
        Assert.Equal(clean / 200.0, curve[0].Accuracy);
        var table = RobustEvaluation.Table([("standard", curve)]);
        Assert.Contains("| 0.1 |", table);
    }

    [Fact]
    public void TargetedPgdReachesItsTargets()
    {
        Requires.FashionMnist();
        var x = models.TestImages.Narrow(0, 0, 100);
        var targets = Tensor.FromArray(models.TestLabels.Narrow(0, 0, 100).ToArray<long>().Select(l => (l + 1) % 10).ToArray());
        var adversarial = new Pgd(models.Standard, 0.3, 0.02, 40) { Generator = new Generator(6) }.PerturbTargeted(x, targets);
        double hit = RobustEvaluation.Predict(models.Standard, adversarial).Eq(targets).Sum().Item<long>() / 100.0;
        double before = RobustEvaluation.Predict(models.Standard, x).Eq(targets).Sum().Item<long>() / 100.0;
        Assert.True(hit > 0.75 && before < 0.2, $"targeted PGD at ε 0.3 reached the target class for {hit:P0} (before: {before:P0})");
    }

    [Fact]
    public void PerturbationsStayInTheirBudgetAndThePixelRange()
    {
        Requires.FashionMnist();
        var x = models.TestImages.Narrow(0, 0, 50);
        var y = models.TestLabels.Narrow(0, 0, 50);
        foreach (var attack in new Attack[] { new Fgsm(models.Standard, 0.1), new Pgd(models.Standard, 0.1, 0.03, 7) })
        {
            var adv = attack.Perturb(x, y);
            Assert.InRange((adv - x).Abs().Max().Item(), 0.05, 0.1 + 1e-6);
            Assert.InRange(adv.Min().Item(), 0, 1); Assert.InRange(adv.Max().Item(), 0, 1);
        }
        var l2 = new PgdL2(models.Standard, 1.5, 0.3, 7).Perturb(x, y);
        var norms = (l2 - x).Reshape(50, -1).Norm(2, 1);
        Assert.InRange(norms.Max().Item(), 1.0, 1.5 * (1 + 1e-5));
        Assert.InRange(l2.Min().Item(), 0, 1); Assert.InRange(l2.Max().Item(), 0, 1);
    }
}
