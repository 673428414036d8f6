using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Models;

namespace DeepSharp.Robustness.Tests;

/// <summary>PGD adversarial training and TRADES as custom steps of the Trainer: they run in the one loop and buy robustness.</summary>
public class AdversarialTrainingTests(TrainedModels models) : IClassFixture<TrainedModels>
{
    static Trainer NewTrainer(Module<Tensor, Tensor> model, Func<StepContext, Tensor?> step) =>
        new(model, new Adam(model.Parameters(), 2e-3), step, [new Accuracy()], new PlainProgress(TextWriter.Null));

    double PgdAccuracy(Module<Tensor, Tensor> model, double eps = 0.1) =>
        RobustEvaluation.Accuracy(model, models.TestBatches(), new Pgd(model, eps, Pgd.DefaultAlpha(eps, 10), 10) { Generator = new Generator(7) }).Accuracy;

    [Fact]
    public void PgdAdversarialTrainingIsMoreRobustThanStandardTraining()
    {
        Requires.FashionMnist();
        DeepSharp.Random.Seed(3);
        var model = new LeNet5();
        var trainer = NewTrainer(model, AdversarialTraining.PgdStep(model, 0.1, steps: 3));
        trainer.Fit(new DataLoader(models.Train, 64, shuffle: true), epochs: 3);
        Assert.True(model.IsTraining, "the step must leave the model in the mode the trainer set");
        double standard = PgdAccuracy(models.Standard), adversarial = PgdAccuracy(model);
        double clean = trainer.Evaluate(models.TestBatches())["acc"];
        Assert.True(adversarial > standard + 0.1, $"PGD-10 accuracy at ε 0.1: adversarially trained {adversarial:F3}, standard {standard:F3}");
        Assert.True(clean > 0.5, $"clean accuracy of the adversarially trained model {clean:F3}");
        Assert.All(trainer.History, h => Assert.True(double.IsFinite(h["loss"]) && h["acc"] > 0));
    }

    [Fact]
    public void TradesStepTrainsAndLogsItsTerms()
    {
        Requires.FashionMnist();
        DeepSharp.Random.Seed(4);
        var model = new LeNet5();
        var trainer = NewTrainer(model, AdversarialTraining.TradesStep(model, 0.1, beta: 6.0, steps: 3));
        trainer.Fit(new DataLoader(models.Train, 64, shuffle: true), epochs: 3);
        var last = trainer.History[^1];
        Assert.True(last["natural_loss"] > 0 && last["robust_kl"] >= 0, string.Join(", ", last.Select(kv => $"{kv.Key} {kv.Value:F3}")));
        Assert.Equal(last["natural_loss"] + 6.0 * last["robust_kl"], last["loss"], 3);
        Assert.True(trainer.History[0]["natural_loss"] > last["natural_loss"], "the natural loss should fall over three epochs");
        double standard = PgdAccuracy(models.Standard), trades = PgdAccuracy(model);
        Assert.True(trades > standard + 0.1, $"PGD-10 accuracy at ε 0.1: TRADES {trades:F3}, standard {standard:F3}");
        var evaluation = trainer.Evaluate(models.TestBatches());
        Assert.False(evaluation.ContainsKey("robust_kl"), "validation scores the clean images only");
        Assert.True(evaluation["acc"] > 0.5, $"clean accuracy {evaluation["acc"]:F3}");
    }

    [Fact]
    public void StepsParseTheirNamesAndRejectUnknownOnes()
    {
        Assert.Equal(AdversarialMethod.Pgd, AdversarialTraining.ParseMethod("PGD"));
        Assert.Equal(AdversarialMethod.Trades, AdversarialTraining.ParseMethod("trades"));
        var e = Assert.Throws<ArgumentException>(() => AdversarialTraining.ParseMethod("fgsm-free"));
        Assert.Contains("pgd or trades", e.Message);
        Assert.Throws<ArgumentException>(() => new Trades(new LeNet5(), 0.1, beta: -1));
    }
}
