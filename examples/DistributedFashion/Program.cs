// Data-parallel training on MPI with the library API (docs/distributed.md): every rank builds a small CNN with
// BatchNorm, converted to SyncBatchNorm; DistributedDataParallel broadcasts rank 0's weights and averages gradients in
// buckets during backward; a DistributedSampler gives each rank its share of every epoch; the Trainer runs unchanged,
// with progress and the log on rank 0 only (optionally ZeRO-1: --zero true). At the end the ranks check that their
// replicas are bitwise identical and rank 0 saves the model.
// Run: mpiexec -np 2 dotnet examples/DistributedFashion/bin/Release/net10.0/DistributedFashion.dll [--train-images 6000 --epochs 2]
using DeepSharp;
using DeepSharp.Data;
using DeepSharp.Distributed;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;
using DeepSharp.Vision.Datasets;

var o = ExampleOptions.Parse<Options>(args, "examples/DistributedFashion");
var group = ProcessGroup.Init();
DeepSharp.Kernels.KernelThreadPool.SetThreadCount(Math.Max(1, Environment.ProcessorCount / group.WorldSize));
var log = group.Rank == 0 ? Console.Out : TextWriter.Null;
log.WriteLine($"{group.WorldSize} ranks over MPI ({ProcessGroup.LibraryVersion()}); global batch {o.BatchSize}, {o.BatchSize / group.WorldSize} per rank");

DeepSharp.Random.Seed(group.Rank);   // different seeds on purpose: DDP broadcasts rank 0's weights
var trainSplit = MnistDataset.LoadFashion(train: true).Take(o.TrainImages);
var testSplit = MnistDataset.LoadFashion(train: false).Take(o.TestImages);
var train = new TensorDataset(trainSplit.Images, trainSplit.Labels);
var test = new TensorDataset(testSplit.Images, testSplit.Labels);

var model = (Sequential)SyncBatchNorm.ConvertSyncBatchNorm(new Sequential(
    new Conv2d(1, 16, 3, padding: 1), new BatchNorm2d(16), new ReLU(), new MaxPool2d(2),
    new Conv2d(16, 32, 3, padding: 1), new BatchNorm2d(32), new ReLU(), new MaxPool2d(2),
    new Flatten(), new Linear(32 * 7 * 7, 10)));
var ddp = new DistributedDataParallel(model);
Optimizer optimizer = new Adam(ddp.Parameters(), 2e-3);
var sampler = new DistributedSampler(train.Count, seed: 1);
var trainer = new Trainer(ddp, optimizer, F.CrossEntropy) { Progress = new RankZeroProgress(Progress.ForConsole()) };
ICallback[] callbacks = [new SetEpochCallback(sampler), new RankZeroOnly(new CsvLogger(Path.Combine(o.Out, "history.csv")))];
if (o.Zero) _ = new ZeroRedundancyOptimizer(optimizer);   // each rank keeps and steps 1/N of Adam's state
if (group.Rank == 0) Directory.CreateDirectory(o.Out);
var started = DateTime.UtcNow;
trainer.Fit(new DataLoader(train, o.BatchSize / group.WorldSize, sampler: sampler), null, o.Epochs, callbacks);
double seconds = (DateTime.UtcNow - started).TotalSeconds;

// every rank evaluates the whole test set with its replica: the same weights give the same accuracy everywhere
var accuracy = trainer.Evaluate(new DataLoader(test, 500))["acc"];
var checksum = Tensor.FromArray([model.Parameters().Sum(p => p.ToArray<float>().Select((v, i) => (double)v * (i % 7 + 1)).Sum())]);
var all = group.AllGather(checksum);
bool identical = all.All(c => c.ToArray<double>()[0] == checksum.ToArray<double>()[0]);
log.WriteLine($"replicas identical on all {group.WorldSize} ranks: {(identical ? "yes" : "NO")}");
log.WriteLine($"test accuracy {accuracy:F4} after {o.Epochs} epochs of {train.Count} images ({train.Count * o.Epochs / seconds:F0} images/s over all ranks, {(o.Zero ? "ZeRO-1" : "plain DDP")})");
if (group.Rank == 0) SafeTensors.Save(Path.Combine(o.Out, "model.safetensors"), model.StateDict());
group.Barrier();
return identical ? 0 : 1;

/// <summary>The example's options ("--train-images 1000 --epochs 1 --zero true --out dir").</summary>
sealed record Options
{
    public int TrainImages { get; init; } = 6000;
    public int TestImages { get; init; } = 2000;
    public int Epochs { get; init; } = 2;
    public int BatchSize { get; init; } = 128;
    public bool Zero { get; init; }
    public string Out { get; init; } = "runs/distributed-fashion";
}
