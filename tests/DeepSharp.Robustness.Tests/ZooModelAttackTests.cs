using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Robustness.Tests;

/// <summary>The attacks on a zoo ResNet (batch norm, residual adds, adaptive pooling), not only the small CNNs.</summary>
public class ZooModelAttackTests
{
    static double Loss(Module<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        using (Autograd.NoGrad()) return F.CrossEntropy(model.Call(x), y).Item();
    }

    [Fact]
    public void FgsmAndPgdRaiseTheLossOfAResNetWithinTheirBudget()
    {
        DeepSharp.Random.Seed(5);
        var model = ModelZoo.Create("resnet18", numClasses: 10, inChannels: 1);
        model.Eval();
        var x = Tensor.Rand(4, 1, 32, 32);
        Tensor y;
        using (Autograd.NoGrad()) y = model.Call(x).ArgMax(1);                         // attack the model's own predictions
        double clean = Loss(model, x, y);
        var fgsm = new Fgsm(model, 8 / 255.0).Perturb(x, y);
        var pgd = new Pgd(model, 8 / 255.0, alpha: 2 / 255.0, steps: 5) { Generator = new Generator(1) }.Perturb(x, y);
        double fgsmLoss = Loss(model, fgsm, y), pgdLoss = Loss(model, pgd, y);
        Assert.True(fgsmLoss > clean, $"FGSM loss {fgsmLoss} vs clean {clean}");
        Assert.True(pgdLoss > clean, $"PGD loss {pgdLoss} vs clean {clean}");
        foreach (var adv in new[] { fgsm, pgd })
        {
            Assert.True((adv - x).Abs().Max().Item<float>() <= 8 / 255f + 1e-6f);
            Assert.True(adv.Min().Item<float>() >= 0 && adv.Max().Item<float>() <= 1);
        }
        Assert.All(model.Parameters(), p => Assert.Null(p.Grad));                     // parameters untouched
        Assert.False(model.IsTraining);                                                 // mode as found
        // targeted: the probability of the target class goes up
        var target = Tensor.FromArray(y.ToArray<long>().Select(c => (c + 1) % 10).ToArray(), 4);
        var toward = new Pgd(model, 16 / 255.0, alpha: 4 / 255.0, steps: 5) { Generator = new Generator(2) }.PerturbTargeted(x, target);
        Assert.True(Loss(model, toward, target) < Loss(model, x, target));
    }
}
