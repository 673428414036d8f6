using System.Text.Json;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `--dataset folder:PATH`: a folder of the user's own pictures (JPEG, PNG, BMP, GIF, PPM/PGM), one sub-folder per class,
/// read with <see cref="ImageFolderDataset"/>. When PATH has `train/` and `val/` (or `test/`) sub-folders, ImageNet-style,
/// they are the splits; otherwise a seeded sixth of PATH is held out as the test split. Training images get
/// RandomResizedCrop(size) and a horizontal flip, test images Resize(size · 8/7) and CenterCrop(size) (torchvision's
/// 256/224 recipe); both are then normalised with the ImageNet mean and standard deviation.
/// </summary>
public static class FolderImages
{
    /// <summary>The `--dataset` prefix.</summary>
    public const string Prefix = "folder:";

    /// <summary>The default `--image-size` of folder datasets.</summary>
    public const int DefaultImageSize = 64;

    static readonly float[] Mean = [0.485f, 0.456f, 0.406f], Std = [0.229f, 0.224f, 0.225f];

    /// <summary>Whether a `--dataset` value names a folder.</summary>
    public static bool IsFolder(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    static string Root(string name)
    {
        var root = name[Prefix.Length..];
        if (root.Length == 0) throw new UsageException("deepsharp: --dataset folder:PATH needs a folder, e.g. folder:photos");
        if (!Directory.Exists(root)) throw new UsageException($"deepsharp: dataset folder not found: {root}");
        return root;
    }

    /// <summary>The (train, test) folders: PATH/train and PATH/val or PATH/test when they exist, else PATH and null.</summary>
    static (string Train, string? Test) Splits(string root)
    {
        var train = Path.Combine(root, "train");
        var test = new[] { "val", "test" }.Select(s => Path.Combine(root, s)).FirstOrDefault(Directory.Exists);
        return Directory.Exists(train) && test != null ? (train, test) : (root, null);
    }

    /// <summary>Class names and image shape (3 channels, <paramref name="imageSize"/> square) of a folder dataset.</summary>
    public static ImageDatasetInfo Info(string name, int imageSize)
    {
        var (train, _) = Splits(Root(name));
        var (classes, _) = ImageFolderDataset.FindClasses(train);
        return new ImageDatasetInfo(Prefix + Path.GetFullPath(Root(name)), classes, 3, imageSize);
    }

    /// <summary>The transform of training (random crop and flip) or evaluation (resize and centre crop) images.</summary>
    public static ITransform Transform(int size, bool train) => train
        ? new Compose(new RandomResizedCrop(size), new RandomHorizontalFlip(), new Normalize(Mean, Std))
        : new Compose(new Resize(size * 8 / 7), new CenterCrop(new Size2(size, size)), new Normalize(Mean, Std));

    /// <summary>One split of a folder dataset, its first <paramref name="limit"/> items when positive.</summary>
    public static (IDataset<Tensor[]> Items, string[] Classes, string Source) LoadSplit(string name, bool train, int imageSize, int limit)
    {
        var root = Root(name);
        var (trainDir, testDir) = Splits(root);
        var transform = Transform(imageSize, train);
        IDataset<Tensor[]> items;
        string[] classes;
        if (testDir != null)
        {
            var folder = new ImageFolderDataset(train ? trainDir : testDir, transform);
            (items, classes) = (folder, folder.Classes);
        }
        else
        {
            // no split folders: a fixed, seeded sixth of the images is the test split
            var folder = new ImageFolderDataset(root, transform);
            int testCount = Math.Max(1, folder.Count / 6);
            var parts = DeepSharp.Data.Dataset.RandomSplit(folder, [folder.Count - testCount, testCount], new Generator(0));
            (items, classes) = (parts[train ? 0 : 1], folder.Classes);
        }
        if (limit > 0 && limit < items.Count) items = new Subset<Tensor[]>(items, Enumerable.Range(0, limit).ToArray());
        return (items, classes, root);
    }

    /// <summary>The metadata `deepsharp train` saves beside a folder model, so predict/evaluate can rebuild it.</summary>
    public static Dictionary<string, string> Metadata(ImageDatasetInfo info) => new()
    {
        ["deepsharp.classes"] = JsonSerializer.Serialize(info.Classes, CliJsonContext.Default.StringArray),
        ["deepsharp.image_size"] = info.Size.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    /// <summary>The dataset description of a folder model from its saved metadata.</summary>
    public static ImageDatasetInfo FromMetadata(string name, IReadOnlyDictionary<string, string> metadata)
    {
        if (!metadata.TryGetValue("deepsharp.classes", out var classes) || !metadata.TryGetValue("deepsharp.image_size", out var size))
            throw new InvalidDataException($"the model was trained on {name} but its file lacks deepsharp.classes / deepsharp.image_size metadata");
        return new ImageDatasetInfo(name, JsonSerializer.Deserialize(classes, CliJsonContext.Default.StringArray)!, 3, int.Parse(size, System.Globalization.CultureInfo.InvariantCulture));
    }
}
