using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

namespace DeepSharp.Training.Tests;

[Collection(SerialCollection.Name)]
public class TrainerTests
{
    static readonly StringWriter quiet = new();

    static (TensorDataset Train, TensorDataset Test) Slice(int n)
    {
        var train = MnistDataset.LoadFashion(train: true).Take(n);
        var test = MnistDataset.LoadFashion(train: false).Take(1000);
        return (new TensorDataset(train.Images, train.Labels), new TensorDataset(test.Images, test.Labels));
    }

    [Fact]
    public void OneEpochOnASliceOfFashionMnistIsWellAboveChance()
    {
        Requires.FashionMnist();
        DeepSharp.Random.Seed(1);
        var (train, test) = Slice(3000);
        var model = new Mlp(784, [128], 10);
        var trainer = new Trainer(model, new Adam(model.Parameters(), 2e-3), F.CrossEntropy, progress: new PlainProgress(quiet));
        trainer.Fit(new DataLoader(train, 64, shuffle: true), epochs: 1);
        var result = trainer.Evaluate(new DataLoader(test, 500));
        Assert.True(result["acc"] > 0.6, $"test accuracy {result["acc"]:F3} after one epoch on 3000 images");
        Assert.Single(trainer.History);
    }

    [Fact]
    public void KillAndResumeGivesTheSameWeightsAsAnUninterruptedRun()
    {
        var x = Tensor.Randn(256, 1, 28, 28); var y = Tensor.RandInt(0, 10, [256]);
        var data = new TensorDataset(x, y);
        Trainer Make(int seed)
        {
            DeepSharp.Random.Seed(seed);
            var model = new LeNet5();
            return new Trainer(model, new Adam(model.Parameters(), 1e-3), F.CrossEntropy, progress: new PlainProgress(quiet));
        }
        var straight = Make(5);
        straight.Fit(new DataLoader(data, 32, shuffle: true), epochs: 3);

        var path = Path.Combine(Path.GetTempPath(), $"resume-{Guid.NewGuid():N}.ckpt");
        var first = Make(5);
        first.Fit(new DataLoader(data, 32, shuffle: true), epochs: 2);
        first.SaveCheckpoint(path);
        DeepSharp.Random.Seed(999);                       // a new process: different RNG until the checkpoint restores it
        var resumed = Make(77);
        resumed.LoadCheckpoint(path);
        Assert.Equal(2, resumed.Epoch);
        resumed.Fit(new DataLoader(data, 32, shuffle: true), epochs: 3);

        var a = straight.Model.StateDict(); var b = resumed.Model.StateDict();
        foreach (var key in a.Keys) Assert.Equal(a[key].ToArray<float>(), b[key].ToArray<float>());
        File.Delete(path);
    }

    [Fact]
    public void CorruptCheckpointGivesClearError()
    {
        var path = Path.Combine(Path.GetTempPath(), $"bad-{Guid.NewGuid():N}.ckpt");
        File.WriteAllBytes(path, [1, 2, 3, 4, 5]);
        var model = new Mlp(4, [3], 2);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.1), F.CrossEntropy, progress: new PlainProgress(quiet));
        Assert.Throws<InvalidDataException>(() => trainer.LoadCheckpoint(path));
        File.Delete(path);
    }

    [Fact]
    public void EarlyStoppingCsvLoggerAndCheckpointCallbacks()
    {
        DeepSharp.Random.Seed(3);
        var x = Tensor.Randn(64, 4); var y = Tensor.RandInt(0, 2, [64]);
        var model = new Mlp(4, [8], 2);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.0), F.CrossEntropy, progress: new PlainProgress(quiet));
        var dir = Path.Combine(Path.GetTempPath(), $"cb-{Guid.NewGuid():N}");
        var stop = new EarlyStopping("val_loss", patience: 2);
        trainer.Fit(new DataLoader(new TensorDataset(x, y), 16), new DataLoader(new TensorDataset(x, y), 64), epochs: 10,
            callbacks: [stop, new CsvLogger(Path.Combine(dir, "log.csv")), new ModelCheckpoint(Path.Combine(dir, "best.safetensors"))]);
        Assert.Equal(3, trainer.Epoch);                  // lr 0: no improvement after epoch 1, patience 2
        Assert.Equal(4, File.ReadAllLines(Path.Combine(dir, "log.csv")).Length);
        Assert.True(File.Exists(Path.Combine(dir, "best.safetensors")));
    }

    [Fact]
    public void MetricsMatchHandComputedValues()
    {
        var logits = Tensor.FromArray(new float[] { 2, 1, 0, 0, 3, 1, 1, 0, 2, 0, 2, 1 }, 4, 3);
        var target = Tensor.FromArray(new long[] { 0, 1, 1, 2 });   // predictions 0, 1, 2, 1
        var acc = new Accuracy(); acc.Update(logits, target);
        Assert.Equal(0.5, acc.Compute());
        var top2 = new TopKAccuracy(2); top2.Update(logits, target);
        Assert.Equal(0.75, top2.Compute());             // row 3: target score 0 ranks third
        var cm = new ConfusionMatrix(3); cm.Update(logits, target);
        Assert.Equal(1, cm.Counts[1, 2]);
        Assert.Equal(0.5, cm.Recall(1)); Assert.Equal(0.5, cm.Precision(1));
        var r2 = new R2Score(); r2.Update(Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }), Tensor.FromArray(new[] { 1.0, 2.0, 4.0 }));
        Assert.Equal(1 - 1.0 / (21 - 49.0 / 3), r2.Compute(), 10);
    }

    [Fact]
    public void SteadyStateTrainingStepAllocatesLittle()
    {
        DeepSharp.Random.Seed(0);
        var model = new Mlp(784, [512, 256], 10);
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.01, momentum: 0.9), F.CrossEntropy, [], new PlainProgress(quiet));
        var x = Tensor.Randn(128, 784); var y = Tensor.RandInt(0, 10, [128]);
        for (int i = 0; i < 5; i++) trainer.TrainStep(x, y);
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) trainer.TrainStep(x, y);
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        // the step's arrays (activations, gradients: ~2 MB) are recycled; what remains is graph bookkeeping
        Assert.True(perStep < 100_000, $"a steady-state MLP step allocated {perStep} bytes");
    }

    [Fact]
    public void EvaluatingAtTheTrainingBatchSizeReusesTheStepsBuffers()
    {
        // Issue 13 (memory): evaluation in batches of the training size takes its buffers from the array cache that the
        // training steps filled, so the heap grows by the input batches and graph objects only, not by activations.
        DeepSharp.Random.Seed(5);
        var model = new Sequential(new Conv2d(1, 8, 3, padding: 1), new ReLU(), new Flatten(), new Linear(8 * 28 * 28, 10));
        var data = new TensorDataset(Tensor.Rand(128, 1, 28, 28), Tensor.RandInt(0, 10, [128]));
        var trainer = new Trainer(model, new SGD(model.Parameters(), 0.01), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
        trainer.Fit(new DataLoader(data, 32), epochs: 1);
        trainer.Evaluate(new DataLoader(data, 32));   // warm-up: JIT and the metrics' first allocations
        long before = GC.GetAllocatedBytesForCurrentThread();
        trainer.Evaluate(new DataLoader(data, 32));
        long evaluated = GC.GetAllocatedBytesForCurrentThread() - before;
        // 4 batches: inputs 4 × 100 KB (collated outside the step's scope); without reuse the conv and ReLU outputs alone add 6.4 MB
        Assert.True(evaluated < 1_000_000, $"evaluating 4 batches of 32 allocated {evaluated:N0} bytes");
    }
}
