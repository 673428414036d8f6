using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Training.Tests;

/// <summary>The loop itself: budgets, batches per epoch, schedules over the budget, accumulation, clipping, divergence,
/// callbacks and the learning rate the history records.</summary>
public class TrainerLoopTests
{
    static readonly PlainProgress Quiet = new(TextWriter.Null);

    /// <summary>x = 0, 1, ..., n-1 in column 0 (so a batch says where it came from), y = a linear function of x.</summary>
    static TensorDataset Line(int n, int features = 4)
    {
        var values = Tensor.Randn(n, features).ToArray<float>();
        for (int i = 0; i < n; i++) values[i * features] = i / (float)n;
        var x = Tensor.FromArray(values, n, features);
        var y = x.MatMul(Tensor.Randn(features, 1));
        return new TensorDataset(x, y);
    }

    static Trainer Regression(Module<Tensor, Tensor> model, double lr = 0.05, Optimizer? optimizer = null) =>
        new(model, optimizer ?? new SGD(model.Parameters(), lr), (output, target) => F.MseLoss(output, target), metrics: [], progress: Quiet);

    /// <summary>Records every batch's logs.</summary>
    sealed class Recorder : ICallback
    {
        public readonly List<Dictionary<string, double>> Batches = [];
        public readonly List<long> Steps = [];
        public Func<Trainer, bool>? StopWhen;
        public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
        {
            Batches.Add(new(logs));
            Steps.Add(trainer.GlobalStep);
            if (StopWhen?.Invoke(trainer) == true) trainer.StopTraining = true;
        }
    }

    [Fact]
    public void BudgetStopsAtStepsEpochsOrSecondsWhicheverComesFirst()
    {
        DeepSharp.Random.Seed(1);
        var data = Line(100);
        var byEpochs = Regression(new Linear(4, 1));
        byEpochs.Fit(new DataLoader(data, 10), epochs: 3);
        Assert.Equal((3, 30L), (byEpochs.Epoch, byEpochs.GlobalStep));

        var bySteps = Regression(new Linear(4, 1));
        bySteps.Fit(new DataLoader(data, 10), null, TrainingBudget.Steps(25));
        Assert.Equal((2, 25L), (bySteps.Epoch, bySteps.GlobalStep));   // the third epoch was cut short: not complete
        Assert.Equal(3, bySteps.History.Count);                          // but reported
        Assert.Equal(1.0, bySteps.BudgetUsed);

        var both = Regression(new Linear(4, 1));
        both.Fit(new DataLoader(data, 10), null, new TrainingBudget { MaxSteps = 25, MaxEpochs = 2 });
        Assert.Equal((2, 20L), (both.Epoch, both.GlobalStep));

        var byTime = Regression(new Linear(4, 1));
        byTime.Fit(new DataLoader(data, 10), null, new TrainingBudget { MaxSeconds = 0.3, MaxEpochs = 1_000_000 });
        Assert.InRange(byTime.TrainingSeconds, 0.3, 10);
        Assert.True(byTime.GlobalStep > 0);
        Assert.True(byTime.Epoch < 1_000_000);

        Assert.Equal("budget", Assert.Throws<ArgumentException>(() => byTime.Fit(new DataLoader(data, 10), null, new TrainingBudget())).ParamName);
        Assert.Throws<ArgumentOutOfRangeException>(() => byTime.Fit(new DataLoader(data, 10), null, TrainingBudget.Steps(0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => byTime.Fit(new DataLoader(data, 10), null, TrainingBudget.Seconds(double.NaN)));
    }

    [Fact]
    public void BatchesPerEpochDrawsFromAnEndlessStreamOfPasses()
    {
        DeepSharp.Random.Seed(2);
        var trainer = Regression(new Linear(4, 1));
        trainer.BatchesPerEpoch = 4;
        var recorder = new Recorder();
        var seen = new List<int>();
        var loader = new DataLoader(Line(100), 10);                      // 10 batches a pass, in order
        trainer.Fit(loader.Select(b => { seen.Add((int)Math.Round(b[0].ToArray<float>()[0] * 100)); return b; }), null, TrainingBudget.Steps(14), [recorder]);
        Assert.Equal([0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 0, 10, 20, 30], seen);   // a new pass starts where one ends
        Assert.Equal(3, trainer.Epoch);                                   // 4 + 4 + 4, then 2 of a fourth epoch
        Assert.Equal(4, trainer.History.Count);
    }

    [Fact]
    public void ProgressScheduleFollowsTheBudgetInForce()
    {
        DeepSharp.Random.Seed(3);
        var data = new DataLoader(Line(50), 10);                          // 5 batches an epoch
        var factor = WarmupCosineLR.Factor(warmup: 0.2, minFactor: 0.1);

        var trainer = Regression(new Linear(4, 1), lr: 0.1);
        trainer.StepSchedulerPerBatch = true;
        trainer.Scheduler = ProgressLR.WarmupCosine(trainer.Optimizer, () => trainer.BudgetUsed, warmup: 0.2, minFactor: 0.1);
        var recorder = new Recorder();
        trainer.Fit(data, null, TrainingBudget.Steps(8), [recorder]);
        AssertClose(Enumerable.Range(0, 8).Select(k => 0.1 * factor(k / 8.0)), recorder.Batches.Select(b => b["lr"]));

        // An epoch budget counts the batches of the epoch: batch j of epoch e trains at factor((e + j / 5) / 2).
        var byEpochs = Regression(new Linear(4, 1), lr: 0.1);
        byEpochs.StepSchedulerPerBatch = true;
        byEpochs.Scheduler = ProgressLR.WarmupCosine(byEpochs.Optimizer, () => byEpochs.BudgetUsed, warmup: 0.2, minFactor: 0.1);
        var perEpoch = new Recorder();
        byEpochs.Fit(data, epochs: 2, callbacks: [perEpoch]);
        AssertClose(Enumerable.Range(0, 10).Select(k => 0.1 * factor(k / 10.0)), perEpoch.Batches.Select(b => b["lr"]));
        Assert.Equal(0.01, byEpochs.Optimizer.ParamGroups[0].Lr, 12);   // the end of the budget: minFactor
    }

    static void AssertClose(IEnumerable<double> expected, IEnumerable<double> actual)
    {
        var (e, a) = (expected.ToArray(), actual.ToArray());
        Assert.Equal(e.Length, a.Length);
        for (int i = 0; i < e.Length; i++) Assert.Equal(e[i], a[i], 14);
    }

    [Fact]
    public void HistoryRecordsTheLearningRateInForceDuringTheEpoch()
    {
        // A cosine stepped per batch down to 0 at the end of the run (the CLI's schedule): the last epoch trained at a
        // positive rate, and that is what history.csv must say, not the 0 set after its last step.
        DeepSharp.Random.Seed(4);
        var trainer = Regression(new Linear(4, 1), lr: 0.1);
        trainer.Scheduler = new CosineAnnealingLR(trainer.Optimizer, tMax: 10);
        trainer.StepSchedulerPerBatch = true;
        var csv = Path.Combine(Path.GetTempPath(), $"history-{Guid.NewGuid():N}.csv");
        trainer.Fit(new DataLoader(Line(50), 10), epochs: 2, callbacks: [new CsvLogger(csv)]);
        Assert.Equal(0.1, trainer.History[0]["lr"], 12);
        Assert.Equal(0.05, trainer.History[1]["lr"], 12);                 // cos(π·5/10): the rate of the epoch's first step
        Assert.Equal(0.0, trainer.Optimizer.ParamGroups[0].Lr, 12);
        var last = File.ReadAllLines(csv)[^1].Split(',');
        Assert.Equal(0.05, double.Parse(last[^1], System.Globalization.CultureInfo.InvariantCulture), 12);
        File.Delete(csv);
    }

    [Fact]
    public void AccumulatingKMicroBatchesEqualsOneBatchKTimesLarger()
    {
        DeepSharp.Random.Seed(5);
        var data = Line(32);
        Linear Model() { DeepSharp.Random.Seed(50); return new Linear(4, 1); }
        var whole = Regression(Model(), lr: 0.1);
        whole.Fit(new DataLoader(data, 32), epochs: 2);
        var accumulated = Regression(Model(), lr: 0.1);
        accumulated.AccumulateGradBatches = 4;
        accumulated.Fit(new DataLoader(data, 8), epochs: 2);
        Assert.Equal(2, accumulated.GlobalStep);
        var a = ((Linear)whole.Model).Weight.ToArray<float>();
        var b = ((Linear)accumulated.Model).Weight.ToArray<float>();
        for (int i = 0; i < a.Length; i++) Assert.Equal(a[i], b[i], 5);
        Assert.NotEqual(((Linear)Model()).Weight.ToArray<float>(), b);    // it did train

        // An epoch's last, shorter window is stepped too: 5 micro-batches with K = 4 are 2 steps.
        var partial = Regression(Model());
        partial.AccumulateGradBatches = 4;
        partial.Fit(new DataLoader(Line(40), 8), epochs: 1);
        Assert.Equal(2, partial.GlobalStep);
        Assert.Throws<ArgumentOutOfRangeException>(() => partial.AccumulateGradBatches = 0);
    }

    [Fact]
    public void ClippingByValueBoundsEveryGradientElement()
    {
        DeepSharp.Random.Seed(6);
        var data = new TensorDataset(Tensor.Randn(16, 4) * 100, Tensor.Randn(16, 1) * 100);
        var model = new Linear(4, 1);
        var before = model.Weight.ToArray<float>();
        var trainer = Regression(model, lr: 1.0);
        trainer.ClipGradValue = 1e-3;
        trainer.Fit(new DataLoader(data, 16), epochs: 1);
        var after = model.Weight.ToArray<float>();
        for (int i = 0; i < before.Length; i++) Assert.InRange(Math.Abs(after[i] - before[i]), 1e-5, 1.0001e-3);   // lr 1 × clipped gradient
    }

    [Theory]
    [InlineData(float.NaN)]
    [InlineData(float.PositiveInfinity)]
    [InlineData(float.NegativeInfinity)]
    public void NonFiniteLossStopsBeforeTheOptimizerStep(float bad)
    {
        DeepSharp.Random.Seed(7);
        var data = Line(40);
        var model = new Linear(4, 1);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.05),
            ctx => F.MseLoss(model.Call(ctx.Input), ctx.Target) + (ctx.Trainer.GlobalStep == 2 ? bad : 0f), progress: Quiet);
        float[]? afterTwo = null;
        var snapshot = new Recorder { StopWhen = t => { if (t.GlobalStep == 2) afterTwo = model.Weight.ToArray<float>(); return false; } };
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(new DataLoader(data, 10), epochs: 1, callbacks: [snapshot]));
        Assert.Equal(2, error.Step);
        Assert.Contains("step 3 (epoch 1, batch 3)", error.Message);
        Assert.Contains(bad.ToString(System.Globalization.CultureInfo.InvariantCulture), error.Message);
        Assert.Equal(afterTwo, model.Weight.ToArray<float>());             // the bad batch never reached the weights

        DeepSharp.Random.Seed(7);
        var skipping = new Linear(4, 1);
        var tolerant = new Trainer(skipping, new SGD(skipping.Parameters(), 0.05),
            ctx => F.MseLoss(skipping.Call(ctx.Input), ctx.Target) + (ctx.Trainer.SkippedBatches == 0 && ctx.Trainer.GlobalStep == 2 ? bad : 0f), progress: Quiet)
        {
            OnNonFiniteLoss = NonFiniteLossAction.SkipBatch,
        };
        tolerant.Fit(new DataLoader(data, 10), epochs: 1);
        Assert.Equal((1L, 3L), (tolerant.SkippedBatches, tolerant.GlobalStep));
        Assert.All(skipping.Weight.ToArray<float>(), w => Assert.True(float.IsFinite(w)));
        Assert.True(double.IsFinite(tolerant.History[0]["loss"]));
    }

    [Theory]
    [InlineData(false, float.PositiveInfinity)]   // d sqrt(z)/dz at z = 0
    [InlineData(false, float.NaN)]                // the same times 0
    [InlineData(true, float.PositiveInfinity)]    // clipping by value would turn the infinity into 0.5: checked before it
    public void NonFiniteGradientWithAFiniteLossStopsBeforeTheStepWithoutNormClipping(bool clipByValue, float bad)
    {
        // A finite loss (the extra term is sqrt(0) = 0) whose gradient is not: no ClipGradNorm, so no norm is computed,
        // yet the gradients are checked before the optimizer step.
        DeepSharp.Random.Seed(11);
        var model = new Linear(4, 1);
        Tensor Extra(StepContext ctx)
        {
            var zero = model.Bias! - model.Bias!.Detach();
            return ctx.Trainer.GlobalStep == 1 && ctx.Trainer.SkippedBatches == 0 ? (float.IsNaN(bad) ? (zero * 0f).Sqrt() * 0f : zero.Sqrt()).Sum() : zero.Sum();
        }
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.05),
            ctx => F.MseLoss(model.Call(ctx.Input), ctx.Target) + Extra(ctx), progress: Quiet) { ClipGradValue = clipByValue ? 0.5 : null };
        float[]? afterOne = null;
        var snapshot = new Recorder { StopWhen = t => { if (t.GlobalStep == 1) afterOne = model.Bias!.ToArray<float>(); return false; } };
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(new DataLoader(Line(40), 10), epochs: 1, callbacks: [snapshot]));
        Assert.Equal(1, error.Step);
        Assert.Contains($"the gradient norm is {bad.ToString(System.Globalization.CultureInfo.InvariantCulture)} at step 2", error.Message);
        Assert.Equal(afterOne, model.Bias!.ToArray<float>());              // the bad gradient never reached the weights

        DeepSharp.Random.Seed(11);
        model = new Linear(4, 1);
        var tolerant = new Trainer(model, new SGD(model.Parameters(), 0.05),
            ctx => F.MseLoss(model.Call(ctx.Input), ctx.Target) + Extra(ctx), progress: Quiet) { OnNonFiniteLoss = NonFiniteLossAction.SkipBatch };
        tolerant.Fit(new DataLoader(Line(40), 10), epochs: 1);
        Assert.Equal(1L, tolerant.SkippedBatches);
        Assert.All(model.Bias!.ToArray<float>(), w => Assert.True(float.IsFinite(w)));
    }

    [Fact]
    public void DivergingDefaultStepIsCaughtOnTheFirstBadLoss()
    {
        // The classic case: a learning rate far too high for the default loss(model(x), y) step.
        DeepSharp.Random.Seed(8);
        var model = new Linear(4, 1);
        var trainer = Regression(model, lr: 1e6);
        var error = Assert.Throws<TrainingDivergedException>(() => trainer.Fit(new DataLoader(Line(200), 10), epochs: 5));
        Assert.All(model.Weight.ToArray<float>(), w => Assert.True(float.IsFinite(w)));
        Assert.Equal(trainer.GlobalStep, error.Step);
        Assert.Contains("the weights are those after step", error.Message);
    }

    [Fact]
    public void CallbacksSeeEveryBatchAndCanStopMidEpoch()
    {
        DeepSharp.Random.Seed(9);
        var model = new Linear(4, 2);
        var x = Tensor.Randn(60, 4); var y = Tensor.RandInt(0, 2, [60]);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.1), F.CrossEntropy, progress: Quiet);
        var recorder = new Recorder { StopWhen = t => t.GlobalStep == 4 };
        trainer.Fit(new DataLoader(new TensorDataset(x, y), 10), epochs: 3, callbacks: [recorder]);
        Assert.Equal([1L, 2, 3, 4], recorder.Steps);
        Assert.All(recorder.Batches, b => Assert.Equal(["loss", "acc", "lr", "examples_per_second"], b.Keys));
        Assert.All(recorder.Batches, b => Assert.True(b["examples_per_second"] > 0 && double.IsFinite(b["loss"])));
        Assert.Equal((0, 1), (trainer.Epoch, trainer.History.Count));    // stopped inside epoch 1, which is reported
    }
}
