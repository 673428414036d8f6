using DeepSharp.NN;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Robustness.Tests;

/// <summary>What every attack promises whatever the model: argument checks, reproducible random starts, the model left as found.</summary>
public class AttackContractTests
{
    static readonly GoldenFixture golden = GoldenFixture.Instance;

    [Fact]
    public void BadInputGetsClearArgumentExceptions()
    {
        var model = golden.Model();
        var pgd = new Pgd(model, 0.1);
        var e = Assert.Throws<ArgumentException>(() => pgd.Perturb(golden.Images * 2, golden.Labels));
        Assert.Contains("[0, 1]", e.Message);
        e = Assert.Throws<ArgumentException>(() => pgd.Perturb(golden.Images, golden.Labels.Narrow(0, 0, 4)));
        Assert.Contains("(6)", e.Message); Assert.Equal("labels", e.ParamName);
        e = Assert.Throws<ArgumentException>(() => pgd.Perturb(golden.Images, golden.Labels, Tensor.Zeros(6, 1, 8, 7)));
        Assert.Contains("(6, 1, 8, 7)", e.Message); Assert.Equal("start", e.ParamName);
        Assert.Throws<ArgumentException>(() => new Fgsm(model, 0.1).Perturb(golden.Images, golden.Labels, Tensor.Zeros(6, 1, 8, 8)));
        Assert.Throws<ArgumentException>(() => new Fgsm(model, -0.1));
        Assert.Throws<ArgumentException>(() => new Pgd(model, 0.1, alpha: 0));
        Assert.Throws<ArgumentException>(() => new PgdL2(model, 1.0, steps: -1));
        Assert.Throws<ArgumentException>(() => Attacks.Create("cw", model, 0.1));
        Assert.Throws<ArgumentException>(() => RobustEvaluation.Accuracy(model, [[golden.Images, golden.Labels]], new Pgd(golden.Model(), 0.1)));
    }

    [Fact]
    public void RandomStartsAreReproducibleFromAGenerator()
    {
        var model = golden.Model();
        foreach (var make in new Func<Generator, Attack>[] { g => new Pgd(model, 0.1, 0.02, 3) { Generator = g }, g => new PgdL2(model, 0.5, 0.1, 3) { Generator = g } })
        {
            var a = make(new Generator(9)).Perturb(golden.Images, golden.Labels);
            var b = make(new Generator(9)).Perturb(golden.Images, golden.Labels);
            var c = make(new Generator(10)).Perturb(golden.Images, golden.Labels);
            Assert.Equal(a.ToArray<float>(), b.ToArray<float>());
            Assert.NotEqual(a.ToArray<float>(), c.ToArray<float>());
        }
    }

    [Fact]
    public void AttacksWorkInsideNoGradAndLeaveParameterGradientsAlone()
    {
        var model = golden.Model();
        F.CrossEntropy(model.Call(golden.Images), golden.Labels).Backward();          // gradients a user accumulated before
        var before = model.Parameters().Select(p => p.Grad!.ToArray<float>()).ToArray();
        Tensor adversarial;
        using (Autograd.NoGrad())
        {
            adversarial = new Pgd(model, 0.1, 0.02, 3).Perturb(golden.Images, golden.Labels);
            Assert.False(Autograd.IsGradEnabled);       // the attack's own grad mode is undone
        }
        Assert.NotEqual(golden.Images.ToArray<float>(), adversarial.ToArray<float>());
        var after = model.Parameters().Select(p => p.Grad!.ToArray<float>()).ToArray();
        for (int i = 0; i < before.Length; i++) Assert.Equal(before[i], after[i]);
        Assert.False(model.IsTraining);
    }

    [Fact]
    public void ZeroEpsilonReturnsTheImages()
    {
        var model = golden.Model();
        foreach (var attack in new Attack[] { new Fgsm(model, 0), new Pgd(model, 0), new PgdL2(model, 0) })
            Assert.Equal(golden.Images.ToArray<float>(), attack.Perturb(golden.Images, golden.Labels).ToArray<float>());
    }

    [Fact]
    public void PanelShowsCleanAdversarialAndPerturbationRows()
    {
        var model = golden.Model();
        var adversarial = new Fgsm(model, 0.1).Perturb(golden.Images, golden.Labels);
        var path = Path.Combine(Path.GetTempPath(), $"panel-{Guid.NewGuid():N}.png");
        var grid = AdversarialPanel.Save(path, golden.Images, adversarial, 0.1, columns: 4, scale: 2);
        var image = Image.Load(path);
        File.Delete(path);
        // 4 columns and 3 rows of 16×16 tiles with 2 pixels of padding around and between
        Assert.Equal((3 * 18 + 2, 4 * 18 + 2), (image.Height, image.Width));
        Assert.Equal([3, 56, 74], grid.Shape);
        // the first perturbation tile: 0.5 + (x' − x)/(2ε), each pixel drawn 2×2, in all three channels
        var tile = grid.Narrow(1, 2 * 18 + 2, 16).Narrow(2, 2, 16).Contiguous().ToArray<float>();
        var delta = (adversarial - golden.Images)[0, 0].Contiguous().ToArray<float>();
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 16; y++)
                for (int x = 0; x < 16; x++)
                    Assert.Equal(Math.Clamp(0.5f + delta[(y / 2) * 8 + x / 2] * 5f, 0f, 1f), tile[(c * 16 + y) * 16 + x], 5);
        var clean = grid.Narrow(1, 2, 16).Narrow(2, 2, 16).Contiguous().ToArray<float>();
        Assert.Equal(golden.Images[0, 0, 3, 5].Item(), clean[6 * 16 + 10], 6);
    }
}
