using System.Text.Json;
using DeepSharp.NN;

namespace DeepSharp.Robustness.Tests;

/// <summary>Adversarial examples and defence losses against PyTorch's (tools/golden/adversarial.py), from the same weights and starts.</summary>
public class GoldenTests
{
    static readonly GoldenFixture golden = GoldenFixture.Instance;
    static JsonElement Use(string name) => golden.Case(name);

    static void AssertClose(Tensor expected, Tensor actual, double tolerance, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray<float>();
        var a = actual.Contiguous().ToArray<float>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance, $"{what}: element {i}: PyTorch {e[i]}, DeepSharp {a[i]}");
    }

    Attack Build(JsonElement c, Module<Tensor, Tensor> model)
    {
        double eps = c.GetProperty("eps").GetDouble();
        return c.GetProperty("method").GetString() switch
        {
            "fgsm" => new Fgsm(model, eps),
            "pgd" => new Pgd(model, eps, c.GetProperty("alpha").GetDouble(), c.GetProperty("steps").GetInt32()),
            "pgd_l2" => new PgdL2(model, eps, c.GetProperty("alpha").GetDouble(), c.GetProperty("steps").GetInt32()),
            var m => throw new InvalidDataException($"unknown method {m}"),
        };
    }

    [Theory]
    [InlineData("fgsm")]
    [InlineData("fgsm_targeted")]
    [InlineData("pgd")]
    [InlineData("pgd_targeted")]
    [InlineData("pgd_no_start")]
    [InlineData("pgd_l2")]
    [InlineData("pgd_l2_targeted")]
    [InlineData("pgd_l2_no_start")]
    public void AttackMatchesPyTorch(string name)
    {
        var c = Use(name);
        var model = golden.Model();
        model.Train();                                             // the attack must switch to eval mode itself
        var attack = Build(c, model);
        var start = GoldenFixture.DecodeOrNull(c, "start");
        bool targeted = c.GetProperty("targeted").GetBoolean();
        if (name == "pgd_no_start") attack = new Pgd(model, attack.Epsilon, c.GetProperty("alpha").GetDouble(), c.GetProperty("steps").GetInt32(), randomStart: false);
        if (name == "pgd_l2_no_start") attack = new PgdL2(model, attack.Epsilon, c.GetProperty("alpha").GetDouble(), c.GetProperty("steps").GetInt32(), randomStart: false);
        var adversarial = targeted ? attack.PerturbTargeted(golden.Images, golden.Targets, start) : attack.Perturb(golden.Images, golden.Labels, start);
        AssertClose(GoldenFixture.Decode(c.GetProperty("output")), adversarial, 2e-6, name);
        Assert.True(model.IsTraining, "the attack must restore the model's training mode");
        Assert.All(model.Parameters(), p => { Assert.True(p.RequiresGrad); Assert.Null(p.Grad); });
        Assert.False(adversarial.RequiresGrad);
    }

    [Fact]
    public void TradesLossMatchesTheReference()
    {
        var c = Use("trades");
        var model = golden.Model();
        model.Train();
        var trades = new Trades(model, c.GetProperty("eps").GetDouble(), c.GetProperty("beta").GetDouble(), c.GetProperty("steps").GetInt32(), c.GetProperty("alpha").GetDouble());
        var terms = trades.Loss(golden.Images, golden.Labels, GoldenFixture.Decode(c.GetProperty("start")));
        AssertClose(GoldenFixture.Decode(c.GetProperty("output")), terms.Adversarial, 2e-6, "TRADES x'");
        Assert.Equal(c.GetProperty("natural_loss").GetDouble(), terms.NaturalLoss.Item(), 5);
        Assert.Equal(c.GetProperty("robust_kl").GetDouble(), terms.RobustKl.Item(), 5);
        Assert.Equal(c.GetProperty("loss").GetDouble(), terms.Loss.Item(), 5);
        Assert.True(model.IsTraining);
        terms.Loss.Backward();
        AssertClose(GoldenFixture.Decode(c.GetProperty("fc_weight_grad")), model.fc.Weight.Grad!, 1e-5, "TRADES ∂loss/∂fc.weight");
        AssertClose(GoldenFixture.Decode(c.GetProperty("conv_weight_grad")), model.conv.Weight.Grad!, 1e-5, "TRADES ∂loss/∂conv.weight");
    }

    [Fact]
    public void MadryStepLossMatchesTheReference()
    {
        var c = Use("madry");
        var model = golden.Model();
        model.Train();
        var attack = new Pgd(model, c.GetProperty("eps").GetDouble(), c.GetProperty("alpha").GetDouble(), c.GetProperty("steps").GetInt32());
        var adversarial = attack.Perturb(golden.Images, golden.Labels, GoldenFixture.Decode(c.GetProperty("start")));
        AssertClose(GoldenFixture.Decode(c.GetProperty("output")), adversarial, 2e-6, "Madry x'");
        var loss = F.CrossEntropy(model.Call(adversarial), golden.Labels);
        Assert.Equal(c.GetProperty("loss").GetDouble(), loss.Item(), 5);
        loss.Backward();
        AssertClose(GoldenFixture.Decode(c.GetProperty("fc_weight_grad")), model.fc.Weight.Grad!, 1e-5, "Madry ∂loss/∂fc.weight");
    }

    [Fact]
    public void EveryFixtureCaseIsTested()
    {
        // The theory cases and facts above name every case; this guard fails when the script grows a case no test reads.
        string[] tested = ["fgsm", "fgsm_targeted", "pgd", "pgd_targeted", "pgd_no_start", "pgd_l2", "pgd_l2_targeted", "pgd_l2_no_start", "trades", "madry"];
        Assert.Equal(tested.Order(), golden.CaseNames.Order());
    }
}
