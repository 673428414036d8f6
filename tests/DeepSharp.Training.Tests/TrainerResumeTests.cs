using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training.Callbacks;
using DeepSharp.Vision.Models;

namespace DeepSharp.Training.Tests;

/// <summary>
/// Resuming from a checkpoint gives bitwise the weights of an uninterrupted run (same seed, same thread count), at an
/// epoch boundary or in the middle of one: dropout and shuffling draw from the global generator or the loader's own,
/// the schedule follows the budget, gradients accumulate, epochs are cut from an endless stream.
/// </summary>
public class TrainerResumeTests
{
    static readonly PlainProgress Quiet = new(TextWriter.Null);

    static readonly TensorDataset Data = new(Tensor.Randn([100, 8], generator: new Generator(1)), Tensor.RandInt(0, 3, [100], generator: new Generator(2)));
    static readonly TensorDataset Validation = new(Tensor.Randn([20, 8], generator: new Generator(3)), Tensor.RandInt(0, 3, [20], generator: new Generator(4)));

    sealed record Setup(bool OwnGenerator, int Workers, int Accumulate, int BatchesPerEpoch, bool Schedule = true)
    {
        // 100 items in batches of 8: 13 batches a pass, the last one short.
        public DataLoader Loader() => new(Data, 8, shuffle: true, numWorkers: Workers, generator: OwnGenerator ? new Generator(7) : null);

        public Trainer Make(long seed)
        {
            DeepSharp.Random.Seed(seed);
            var model = new Mlp(8, [16], 3, dropout: 0.2);
            var optimizer = new Adam(model.Parameters(), 0.01);
            var trainer = new Trainer(model, optimizer, F.CrossEntropy, progress: Quiet)
            {
                ClipGradNorm = 1.0, StepSchedulerPerBatch = true, AccumulateGradBatches = Accumulate,
                BatchesPerEpoch = BatchesPerEpoch > 0 ? BatchesPerEpoch : null,
            };
            if (Schedule) trainer.Scheduler = ProgressLR.WarmupCosine(optimizer, () => trainer.BudgetUsed, warmup: 0.1);
            return trainer;
        }
    }

    static string TempPath() => Path.Combine(Path.GetTempPath(), $"resume-{Guid.NewGuid():N}.ckpt");

    static void AssertSameRun(Trainer expected, Trainer actual)
    {
        Assert.Equal((expected.Epoch, expected.GlobalStep), (actual.Epoch, actual.GlobalStep));
        var (a, b) = (expected.Model.StateDict(), actual.Model.StateDict());
        foreach (var key in a.Keys) Assert.Equal(a[key].ToArray<float>(), b[key].ToArray<float>());
        Assert.Equal(expected.History[^1]["loss"], actual.History[^1]["loss"]);   // the unfinished epoch's running loss came along
        Assert.Equal(expected.Optimizer.ParamGroups[0].Lr, actual.Optimizer.ParamGroups[0].Lr);
    }

    [Theory]
    [InlineData(false, 0, 1, 0, 17, 30)]   // the global generator shuffles and drops out; stop in the middle of epoch 2
    [InlineData(true, 2, 1, 0, 17, 30)]    // the loader's own generator, worker threads
    [InlineData(false, 0, 1, 0, 13, 30)]   // stop right at the end of a pass
    [InlineData(true, 0, 2, 0, 9, 16)]     // gradient accumulation (7 steps a pass)
    [InlineData(false, 0, 1, 5, 12, 30)]   // epochs of 5 batches from an endless stream of passes
    public void ResumingFromACheckpointGivesBitwiseTheSameWeights(bool ownGenerator, int workers, int accumulate, int batchesPerEpoch, int stopAt, int total)
    {
        var setup = new Setup(ownGenerator, workers, accumulate, batchesPerEpoch);
        var straight = setup.Make(5);
        straight.Fit(setup.Loader(), new DataLoader(Validation, 10), TrainingBudget.Steps(total));

        // The interrupted run has the same budget (its schedule spans it) and is stopped at stopAt, in a batch.
        var path = TempPath();
        var first = setup.Make(5);
        first.Fit(setup.Loader(), new DataLoader(Validation, 10), TrainingBudget.Steps(total), [new StopAtStep(stopAt)]);
        Assert.Equal(stopAt, first.GlobalStep);
        first.SaveCheckpoint(path);
        DeepSharp.Random.Seed(999);                       // a new process: other random state until the checkpoint restores it
        var resumed = setup.Make(77);
        resumed.LoadCheckpoint(path);
        Assert.Equal(stopAt, resumed.GlobalStep);
        resumed.Fit(setup.Loader(), new DataLoader(Validation, 10), TrainingBudget.Steps(total));
        AssertSameRun(straight, resumed);
        File.Delete(path);
    }

    sealed class StopAtStep(long step) : ICallback
    {
        public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (trainer.GlobalStep == step) trainer.StopTraining = true;
        }
    }

    /// <summary>Saves a checkpoint once, when the run reaches a step (what a periodic checkpoint of a killed run leaves).</summary>
    sealed class SaveAtStep(long step, string path) : ICallback
    {
        public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs)
        {
            if (trainer.GlobalStep == step && !File.Exists(path)) trainer.SaveCheckpoint(path);
        }
    }

    [Fact]
    public void CheckpointTakenDuringABatchResumesTheKilledRun()
    {
        var setup = new Setup(OwnGenerator: false, Workers: 1, Accumulate: 1, BatchesPerEpoch: 0);
        var path = TempPath();
        var straight = setup.Make(5);
        straight.Fit(setup.Loader(), new DataLoader(Validation, 10), TrainingBudget.Steps(30), [new SaveAtStep(20, path)]);
        var resumed = setup.Make(77);
        resumed.LoadCheckpoint(path);
        Assert.Equal((1, 20L), (resumed.Epoch, resumed.GlobalStep));      // 7 batches into epoch 2
        resumed.Fit(setup.Loader(), new DataLoader(Validation, 10), TrainingBudget.Steps(30));
        AssertSameRun(straight, resumed);
        File.Delete(path);
    }

    [Fact]
    public void FitAgainWithALargerBudgetContinuesTheEpoch()
    {
        // A constant learning rate: a schedule over the budget would differ between a budget of 17 steps and one of 30.
        var setup = new Setup(OwnGenerator: true, Workers: 0, Accumulate: 1, BatchesPerEpoch: 0, Schedule: false);
        var straight = setup.Make(5);
        straight.Fit(setup.Loader(), null, TrainingBudget.Steps(30));
        var twice = setup.Make(5);
        var loader = setup.Loader();
        twice.Fit(loader, null, TrainingBudget.Steps(17));
        Assert.Equal(1, twice.Epoch);
        twice.Fit(loader, null, TrainingBudget.Steps(30));
        AssertSameRun(straight, twice);

        var path = TempPath();                                                // and through a checkpoint with a new loader
        var stopped = setup.Make(5);
        stopped.Fit(setup.Loader(), null, TrainingBudget.Steps(17));
        stopped.SaveCheckpoint(path);
        var resumed = setup.Make(6);
        resumed.LoadCheckpoint(path);
        resumed.Fit(setup.Loader(), null, TrainingBudget.Steps(30));
        AssertSameRun(straight, resumed);
        File.Delete(path);
    }

    [Fact]
    public void GanWithTwoOptimizersResumesBitwise()
    {
        var straightGan = TrainerCustomStepTests.Gan.Create(seed: 8);
        var straight = straightGan.Trainer();
        straight.Fit(new DataLoader(TrainerCustomStepTests.Gan.RealData(), 32, shuffle: true), null, TrainingBudget.Steps(40));

        var path = TempPath();
        var first = TrainerCustomStepTests.Gan.Create(seed: 8).Trainer();
        first.Fit(new DataLoader(TrainerCustomStepTests.Gan.RealData(), 32, shuffle: true), null, TrainingBudget.Steps(23));
        first.SaveCheckpoint(path);
        var resumedGan = TrainerCustomStepTests.Gan.Create(seed: 9);
        var resumed = resumedGan.Trainer();
        resumed.LoadCheckpoint(path);
        resumed.Fit(new DataLoader(TrainerCustomStepTests.Gan.RealData(), 32, shuffle: true), null, TrainingBudget.Steps(40));
        Assert.Equal(40, resumed.GlobalStep);
        var (a, b) = (straight.Model.StateDict(), resumed.Model.StateDict());
        foreach (var key in a.Keys) Assert.Equal(a[key].ToArray<float>(), b[key].ToArray<float>());
        Assert.Equal(straightGan.DiscriminatorOptimizer.StateDict().Scalars, resumedGan.DiscriminatorOptimizer.StateDict().Scalars);

        var single = new Trainer(straight.Model, straightGan.GeneratorOptimizer, _ => null, progress: Quiet);
        single.LoadCheckpoint(path);                                          // a trainer with the first optimizer only reads its part
        File.Delete(path);
    }

    [Fact]
    public void CheckpointInsideAnAccumulationWindowIsRefused()
    {
        var setup = new Setup(OwnGenerator: false, Workers: 0, Accumulate: 3, BatchesPerEpoch: 0);
        var trainer = setup.Make(1);
        var x = Data.Get(0)[0].Unsqueeze(0);
        trainer.TrainStep(x, Data.Get(0)[1].Unsqueeze(0));
        var error = Assert.Throws<InvalidOperationException>(() => trainer.SaveCheckpoint(TempPath()));
        Assert.Contains("1 of 3 micro-batches", error.Message);
    }
}
