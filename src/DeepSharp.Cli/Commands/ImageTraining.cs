using DeepSharp.Data;
using DeepSharp.IO;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Models;

namespace DeepSharp.Cli.Commands;

/// <summary>What the CLI knows about an image dataset before loading it.</summary>
/// <param name="Name">The command-line name ("fashion-mnist", "cifar10").</param>
/// <param name="Classes">Class names, in label order.</param>
/// <param name="Channels">Image channels (1 or 3).</param>
/// <param name="Size">Image height and width.</param>
public sealed record ImageDatasetInfo(string Name, string[] Classes, int Channels, int Size);

/// <summary>A loaded image dataset: items are [image (C, H, W), label].</summary>
/// <param name="Info">Names, classes and image shape.</param>
/// <param name="Train">The training split.</param>
/// <param name="Test">The test split.</param>
/// <param name="Source">Where the files were read from.</param>
public sealed record ImageData(ImageDatasetInfo Info, IDataset<Tensor[]> Train, IDataset<Tensor[]> Test, string Source);

/// <summary>
/// The image side of `deepsharp train` / `evaluate` / `predict`: datasets (Fashion-MNIST, MNIST, CIFAR-10/100), models
/// (the built-in cnn/mlp/lenet and every <see cref="ModelZoo"/> name, with a clear error when the images are too small),
/// and transfer learning (--pretrained, --freeze-backbone, --head-lr).
/// </summary>
public static class ImageTraining
{
    /// <summary>The image datasets `--dataset` accepts.</summary>
    public static readonly string[] DatasetNames = ["fashion-mnist", "mnist", "cifar10", "cifar100"];

    /// <summary>The built-in short model names (cnn = fashion_cnn, lenet = lenet5, mlp).</summary>
    public static readonly string[] BuiltInModels = ["cnn", "mlp", "lenet"];

    /// <summary>The options and flags this file handles, for the argument parser.</summary>
    public static readonly string[] Options = ["pretrained", "head-lr", "image-size"];

    /// <summary>The boolean flags this file handles.</summary>
    public static readonly string[] Flags = ["freeze-backbone"];

    /// <summary>
    /// Names, classes and image shape of a dataset, without loading it; a `folder:PATH` dataset (<see cref="FolderImages"/>)
    /// has 3 channels of <paramref name="imageSize"/> pixels square.
    /// </summary>
    public static ImageDatasetInfo DatasetInfo(string name, int imageSize = FolderImages.DefaultImageSize) => FolderImages.IsFolder(name) ? FolderImages.Info(name, imageSize) : name switch
    {
        "fashion-mnist" => new(name, MnistDataset.FashionClasses, 1, 28),
        "mnist" => new(name, MnistDataset.DigitClasses, 1, 28),
        "cifar10" => new(name, CifarClasses.Cifar10, 3, 32),
        "cifar100" => new(name, CifarClasses.Cifar100Fine, 3, 32),
        _ => throw new UsageException($"deepsharp: unknown dataset '{name}'. Datasets: {string.Join(", ", DatasetNames)}, folder:PATH."),
    };

    /// <summary>
    /// Loads both splits: the first <paramref name="trainLimit"/> training images and the first <paramref name="testLimit"/>
    /// test images (0: all of them); <paramref name="verify"/> checks local files against the official checksums.
    /// </summary>
    public static ImageData LoadData(string name, string? dataDir, bool download, int trainLimit, int testLimit, TextWriter? log,
        int imageSize = FolderImages.DefaultImageSize, bool verify = true)
    {
        var (train, classes, source) = LoadSplit(name, train: true, dataDir, download, trainLimit, log, imageSize, verify);
        var (test, _, _) = LoadSplit(name, train: false, dataDir, download, testLimit, log, imageSize, verify);
        return new ImageData(DatasetInfo(name, imageSize) with { Classes = classes }, train, test, source);
    }

    /// <summary>
    /// One split of a dataset, its first <paramref name="limit"/> items when positive: the items [image, label], the class
    /// names and the folder it was read from. <paramref name="verify"/> checks (Fashion-)MNIST files against the official
    /// release's checksums (CIFAR archives are always checked when extracted).
    /// </summary>
    public static (IDataset<Tensor[]> Items, string[] Classes, string Source) LoadSplit(string name, bool train, string? dataDir,
        bool download = false, int limit = 0, TextWriter? log = null, int imageSize = FolderImages.DefaultImageSize, bool verify = true)
    {
        if (FolderImages.IsFolder(name)) return FolderImages.LoadSplit(name, train, imageSize, limit);
        DatasetInfo(name);   // a usage error for unknown names
        if (name is "fashion-mnist" or "mnist")
        {
            // only the first `limit` images are decoded (a quick run does not hold the whole split as float32)
            var mnist = MnistDataset.Load(name == "mnist" ? MnistDataset.Mnist : MnistDataset.FashionMnist, train, dataDir, download, log: log, verify: verify, limit: limit);
            return (mnist.AsDataset(), mnist.Classes, mnist.Source);
        }
        var cifar = CifarDataset.Load(name == "cifar10" ? CifarDataset.Cifar10 : CifarDataset.Cifar100, train, dataDir, download, log: log);
        if (limit > 0 && limit < cifar.Count) cifar = cifar.Take(limit);
        return (cifar, cifar.Classes, cifar.Source);
    }

    /// <summary>The model names `--model` accepts, for messages.</summary>
    public static string ModelList => $"{string.Join(", ", BuiltInModels)} or a model-zoo name ({string.Join(", ", ModelZoo.Names)})";

    /// <summary>
    /// Checks a `--model` value against a dataset before anything is loaded: a built-in name or any model-zoo name, able to
    /// take that dataset's image size. Returns the name.
    /// </summary>
    public static string CheckModelName(string name, string dataset, int imageSize = FolderImages.DefaultImageSize)
    {
        Resolve(name, DatasetInfo(dataset, imageSize));
        return name;
    }

    /// <summary>The registry entry behind a model name (null for the mlp), after the name and image-size checks.</summary>
    static ModelInfo? Resolve(string name, ImageDatasetInfo data)
    {
        if (name == "mlp") return null;
        var zooName = name switch { "cnn" => "fashion_cnn", "lenet" => "lenet5", _ => name };
        var info = ModelZoo.TryGetInfo(zooName, out var found) ? found
            : throw new UsageException($"deepsharp train: --model must be one of {ModelList} (got '{name}').");
        if (info.CheckInputSize(data.Size, data.Size) is { } problem)
        {
            var fitting = ModelZoo.Models.Where(m => m.CheckInputSize(data.Size, data.Size) == null).Select(m => m.Name);
            throw new UsageException($"deepsharp train: {problem} ({data.Name} images are {data.Size}×{data.Size}). " +
                $"Models for {data.Size}×{data.Size} images: mlp, {string.Join(", ", fitting)}.");
        }
        return info;
    }

    /// <summary>
    /// Builds the model <paramref name="name"/> for the dataset's classes, channels and image size. A model that cannot take
    /// images of that size gets a usage error naming what it needs and the models that fit.
    /// </summary>
    public static Module<Tensor, Tensor> CreateModel(string name, ImageDatasetInfo data) =>
        Resolve(name, data) is { } info
            ? info.Factory(data.Classes.Length, data.Channels)
            : new Mlp(data.Channels * data.Size * data.Size, [512, 256], data.Classes.Length);

    /// <summary>
    /// Loads `--pretrained FILE` into <paramref name="model"/>: every tensor but the classifier head (which stays freshly
    /// initialised for this dataset's classes); tensors whose shape differs are skipped and listed. A file written by
    /// `deepsharp train` for another architecture is refused.
    /// </summary>
    public static void LoadPretrained(Module model, string modelName, string path, TextWriter output)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"pretrained weights not found: {path}", path);
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(path);
        if (metadata.TryGetValue("deepsharp.model", out var saved) && saved != modelName)
            throw new UsageException($"deepsharp train: {path} holds a '{saved}' model; pass --model {saved} to start from it.");
        PretrainedLoadReport report;
        try { report = TransferLearning.LoadPretrained(model, tensors, skipHead: true); }
        catch (ArgumentException e) { throw new InvalidDataException($"{path}: {e.Message}"); }
        output.WriteLine($"pretrained {path}: {report.ToString().Replace("\n", "\n  ", StringComparison.Ordinal)}");
    }

    /// <summary>
    /// The optimizer of `deepsharp train`. With `--freeze-backbone` only the classifier head trains; with `--head-lr` the
    /// head's learning rate differs from the backbone's (`--lr`); otherwise every parameter shares `--lr`.
    /// </summary>
    public static Optimizer CreateOptimizer(string name, Module model, double lr, double? headLr, bool freezeBackbone, TextWriter output)
    {
        if (freezeBackbone)
        {
            long trainable = TransferLearning.FreezeBackbone(model);
            output.WriteLine($"frozen backbone: {trainable:N0} of {model.ParameterCount():N0} parameters train (the classifier head)");
        }
        if (!freezeBackbone && headLr == null)
            return name switch
            {
                "sgd" => new SGD(model.Parameters(), lr, momentum: 0.9),
                "adamw" => new AdamW(model.Parameters(), lr),
                _ => new Adam(model.Parameters(), lr),
            };
        var groups = TransferLearning.ParamGroups(model, backboneLr: lr, headLr: headLr ?? lr);
        return name switch
        {
            "sgd" => new SGD(groups, lr, momentum: 0.9),
            "adamw" => new AdamW(groups, lr),
            _ => new Adam(groups, lr),
        };
    }
}
