// Transfer learning on Fashion-MNIST. A ResNet-18 narrowed for 28×28 images (3×3 stride-1 stem, no max pooling) learns
// classes 0-4 (T-shirt, trouser, pullover, dress, coat). Its weights then start a model for classes 5-9 (sandal, shirt,
// sneaker, bag, ankle boot) that sees only 500 labelled images: fine-tuned end to end (backbone and head with their own
// learning rates), or with the backbone frozen as a feature extractor; a model trained from scratch on the same 500
// images is the baseline. All three are evaluated on the 5000 test images of classes 5-9. The comparison is repeated
// with 100 labelled images (20 per class) from the same pretrained weights. The labelled images of the new task arrive
// the way a user's own pictures do: as JPEG files in a folder per class, read back with ImageFolderDataset.
// Run: dotnet run -c Release --project examples/TransferLearning [-- --threads 2 --width 16 --per-class 100,20 ...]
using DeepSharp;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Models;

var options = TransferLearningExample.Options.Parse(args);
DeepSharp.Kernels.KernelThreadPool.SetThreadCount(options.Threads);
TransferLearningExample.Run(options, Console.Out);

/// <summary>The example's pieces, public so the test suite runs the same code.</summary>
public static class TransferLearningExample
{
    /// <summary>Sizes of the run; the defaults are the recorded run (docs/transfer-learning.md).</summary>
    public sealed record Options
    {
        public int Width { get; init; } = 16;             // ResNet base channels (torchvision: 64)
        public int SourceImages { get; init; } = 30000;   // training images of classes 0-4 for pretraining
        public int SourceEpochs { get; init; } = 1;
        public int[] PerClass { get; init; } = [100, 20]; // labelled target images per class (5 classes: 500, then 100)
        public int TargetSteps { get; init; } = 120;      // optimizer steps on the target images, rounded up to whole epochs
        public int TestImages { get; init; } = 0;         // 0: the whole test split of each task
        public int BatchSize { get; init; } = 64;
        public int Seed { get; init; } = 0;
        public int Threads { get; init; } = Environment.ProcessorCount;
        public string? DataDir { get; init; }

        /// <summary>Reads "--train-images 1000 --out dir ..." (every property, dashed; examples/Shared/ExampleOptions.cs).</summary>
        public static Options Parse(string[] args) => ExampleOptions.Parse<Options>(args, "examples/TransferLearning", new Dictionary<string, string> { ["--data"] = "DataDir" });
    }

    /// <summary>Test accuracies on classes 5-9 of the three models trained on <paramref name="Images"/> labelled images.</summary>
    public sealed record TargetResult(int Images, double FineTuned, double FrozenBackbone, double Scratch);

    /// <summary>Test accuracies: the pretrained model on classes 0-4, then one comparison per target size.</summary>
    public sealed record Result(double Source, IReadOnlyList<TargetResult> Targets);

    /// <summary>The images of the given classes (labels shifted to start at 0), at most <paramref name="limit"/> of them, or <paramref name="perClass"/> of each.</summary>
    public static (Tensor X, Tensor Y) Select(MnistDataset data, int firstClass, int classes, int limit = 0, int perClass = 0)
    {
        var labels = data.Labels.ToArray<long>();
        var taken = new int[classes];
        var indices = new List<long>();
        for (int i = 0; i < labels.Length && (limit == 0 || indices.Count < limit); i++)
        {
            int c = (int)labels[i] - firstClass;
            if (c < 0 || c >= classes || (perClass > 0 && taken[c] == perClass)) continue;
            taken[c]++;
            indices.Add(i);
        }
        var index = Tensor.FromArray(indices.ToArray());
        return (data.Images.IndexSelect(0, index), data.Labels.IndexSelect(0, index) - firstClass);
    }

    /// <summary>
    /// Writes images (N, 1, H, W) in [0, 1] with labels <paramref name="y"/> as JPEG files (quality
    /// <paramref name="quality"/>) into <paramref name="root"/>/&lt;label&gt;_&lt;class name&gt;/&lt;n&gt;.jpg, so the
    /// folder names sort in label order.
    /// </summary>
    public static void WriteJpegFolder(string root, Tensor x, Tensor y, IReadOnlyList<string> classNames, int quality = 90)
    {
        var labels = y.ToArray<long>();
        for (int i = 0; i < labels.Length; i++)
        {
            var folder = Path.Combine(root, $"{labels[i]}_{classNames[(int)labels[i]].Replace('/', '-').Replace(' ', '-')}");
            Directory.CreateDirectory(folder);
            Image.FromTensor(x.Select(0, i)).Save(Path.Combine(folder, $"{i:D5}.jpg"), quality);
        }
    }

    /// <summary>
    /// Reads a folder of class sub-folders with <see cref="ImageFolderDataset"/> (any format; grey, as the model takes one
    /// channel) into one (N, 1, H, W) batch and its labels.
    /// </summary>
    public static (Tensor X, Tensor Y) ReadImageFolder(string root)
    {
        var folder = new ImageFolderDataset(root, loader: path => Image.Load(path).ToGrayscale().ToTensor());
        var items = Enumerable.Range(0, folder.Count).Select(folder.Get).ToArray();
        return (Tensor.Stack(items.Select(item => item[0]).ToArray()), Tensor.Stack(items.Select(item => item[1]).ToArray()));
    }

    /// <summary>Mini-batch training with cross-entropy, shuffled each epoch, the learning rate on a per-batch cosine to 0.</summary>
    public static void Train(Module<Tensor, Tensor> model, Optimizer optimizer, Tensor x, Tensor y, int epochs, int batchSize, Generator generator, bool frozenBackbone = false)
    {
        int n = x.Shape[0], batches = (n + batchSize - 1) / batchSize;
        var schedule = new CosineAnnealingLR(optimizer, epochs * batches);
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            // a frozen backbone is a fixed feature extractor: evaluation mode keeps its batch-norm statistics too
            if (frozenBackbone) model.Eval(); else model.Train();
            var order = Tensor.RandPerm(n, generator: generator);
            for (int b = 0; b < batches; b++)
            {
                var index = order.Narrow(0, b * batchSize, Math.Min(batchSize, n - b * batchSize));
                optimizer.ZeroGrad();
                F.CrossEntropy(model.Call(x.IndexSelect(0, index)), y.IndexSelect(0, index)).Backward();
                optimizer.Step();
                schedule.Step();
            }
        }
    }

    /// <summary>Top-1 accuracy in evaluation mode.</summary>
    public static double Accuracy(Module<Tensor, Tensor> model, Tensor x, Tensor y)
    {
        model.Eval();
        long correct = 0;
        using (Autograd.NoGrad())
            for (int start = 0; start < x.Shape[0]; start += 500)
            {
                int count = Math.Min(500, x.Shape[0] - start);
                var predicted = model.Call(x.Narrow(0, start, count)).ArgMax(1);
                correct += predicted.Eq(y.Narrow(0, start, count)).Sum().Item<long>();
            }
        return (double)correct / x.Shape[0];
    }

    /// <summary>Runs the whole comparison, printing as it goes.</summary>
    public static Result Run(Options o, TextWriter log)
    {
        DeepSharp.Random.Seed(o.Seed);
        var generator = new Generator(o.Seed);
        var train = MnistDataset.Load(MnistDataset.FashionMnist, train: true, o.DataDir);
        var test = MnistDataset.Load(MnistDataset.FashionMnist, train: false, o.DataDir);
        var (sourceX, sourceY) = Select(train, 0, 5, o.SourceImages);
        var (sourceTestX, sourceTestY) = Select(test, 0, 5, o.TestImages);
        var (targetTestX, targetTestY) = Select(test, 5, 5, o.TestImages);
        ResNet NewModel() => ResNet.ResNet18Small(numClasses: 5, inChannels: 1, baseChannels: o.Width);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string Elapsed() => $"{clock.Elapsed.TotalSeconds:F0}s";

        // 1. pretrain on classes 0-4
        var source = NewModel();
        log.WriteLine($"ResNet-18 (small-input stem, width {o.Width}): {source.ParameterCount():N0} parameters");
        Train(source, new Adam(source.Parameters(), lr: 2e-3), sourceX, sourceY, o.SourceEpochs, o.BatchSize, generator);
        double sourceAcc = Accuracy(source, sourceTestX, sourceTestY);
        log.WriteLine($"pretrained on {sourceX.Shape[0]} images of classes 0-4: test accuracy {sourceAcc:F4} ({Elapsed()})");
        var pretrained = source.StateDict().ToDictionary(p => p.Key, p => p.Value.Clone());

        var targets = new List<TargetResult>();
        foreach (int perClass in o.PerClass)
        {
            // the new task's labelled images, as a user has them: JPEG files in a folder per class
            var (pickedX, pickedY) = Select(train, 5, 5, perClass: perClass);
            var folder = Path.Combine(Path.GetTempPath(), $"deepsharp-transfer-{Environment.ProcessId}-{perClass}");
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            WriteJpegFolder(folder, pickedX, pickedY, MnistDataset.FashionClasses[5..]);
            var (targetX, targetY) = ReadImageFolder(folder);
            Directory.Delete(folder, recursive: true);
            int n = targetX.Shape[0];
            log.WriteLine($"{n} labelled images of classes 5-9 written as JPEG (quality 90) to a folder per class and read back with ImageFolderDataset");
            int epochs = (int)Math.Ceiling(o.TargetSteps / Math.Ceiling(n / (double)o.BatchSize));   // same steps for every size

            // 2. fine-tune everything on the target images: a fresh head, the backbone at a tenth of the head's rate
            var fineTuned = NewModel();
            log.WriteLine(TransferLearning.LoadPretrained(fineTuned, pretrained, skipHead: true).ToString().Split('\n')[0]);
            Train(fineTuned, new Adam(TransferLearning.ParamGroups(fineTuned, backboneLr: 2e-4, headLr: 2e-3)), targetX, targetY, epochs, o.BatchSize, generator);
            double fineTunedAcc = Accuracy(fineTuned, targetTestX, targetTestY);
            log.WriteLine($"fine-tuned on {n} images of classes 5-9: test accuracy {fineTunedAcc:F4} ({Elapsed()})");

            // 3. frozen backbone: only the head (5·(8·width) + 5 parameters) learns
            var frozen = NewModel();
            TransferLearning.LoadPretrained(frozen, pretrained, skipHead: true);
            long trainable = TransferLearning.FreezeBackbone(frozen);
            Train(frozen, new Adam(TransferLearning.ParamGroups(frozen, backboneLr: 0, headLr: 1e-2)), targetX, targetY, epochs, o.BatchSize, generator, frozenBackbone: true);
            double frozenAcc = Accuracy(frozen, targetTestX, targetTestY);
            log.WriteLine($"frozen backbone ({trainable} trainable parameters) on {n} images: test accuracy {frozenAcc:F4} ({Elapsed()})");

            // 4. the baseline: the same images, no pretraining
            var scratch = NewModel();
            Train(scratch, new Adam(scratch.Parameters(), lr: 2e-3), targetX, targetY, epochs, o.BatchSize, generator);
            double scratchAcc = Accuracy(scratch, targetTestX, targetTestY);
            log.WriteLine($"from scratch on the same {n} images: test accuracy {scratchAcc:F4} ({Elapsed()})");
            log.WriteLine($"classes 5-9 from {n} labelled images, {targetTestX.Shape[0]} test images: fine-tuned {fineTunedAcc:F4}, " +
                          $"frozen backbone {frozenAcc:F4}, from scratch {scratchAcc:F4}");
            targets.Add(new TargetResult(n, fineTunedAcc, frozenAcc, scratchAcc));
        }
        return new Result(sourceAcc, targets);
    }
}
