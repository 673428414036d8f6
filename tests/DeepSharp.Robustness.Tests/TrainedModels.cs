using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Metrics;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

namespace DeepSharp.Robustness.Tests;

/// <summary>
/// Models trained once for the behaviour tests: a LeNet-5 on a slice of Fashion-MNIST for one epoch (clean accuracy
/// near 75 %), with the test images it is attacked on.
/// </summary>
public sealed class TrainedModels
{
    public const string MissingData = "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist (tools/ensure-datasets.sh)";
    public static bool HaveData => Directory.Exists("/usr/share/datasets/fashion-mnist");

    public TrainedModels()
    {
        if (!HaveData) return;
        var train = MnistDataset.LoadFashion(train: true).Take(3000);
        var test = MnistDataset.LoadFashion(train: false).Take(300);
        Train = new TensorDataset(train.Images, train.Labels);
        TestImages = test.Images; TestLabels = test.Labels;
        // the fixture is built outside any test's random fork: a fork of its own keeps the trained model independent of
        // whatever other test classes running in parallel draw from the global stream
        using var rng = DeepSharp.Random.Fork(3);
        Standard = new LeNet5();
        var trainer = new Trainer(Standard, new Adam(Standard.Parameters(), 2e-3), F.CrossEntropy, progress: new PlainProgress(TextWriter.Null));
        trainer.Fit(new DataLoader(Train, 64, shuffle: true), epochs: 3);
        Standard.Eval();
    }

    public TensorDataset Train { get; } = null!;
    public Tensor TestImages { get; } = null!;
    public Tensor TestLabels { get; } = null!;
    public LeNet5 Standard { get; } = null!;

    public IEnumerable<Tensor[]> TestBatches(int batchSize = 100) => new DataLoader(new TensorDataset(TestImages, TestLabels), batchSize);
}
