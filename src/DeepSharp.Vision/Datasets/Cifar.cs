using DeepSharp.Data;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Datasets;

/// <summary>Which CIFAR-100 label an item carries: one of the 100 fine classes or one of the 20 coarse superclasses.</summary>
public enum CifarLabelMode
{
    /// <summary>The 100 fine classes (torchvision.datasets.CIFAR100 targets).</summary>
    Fine,
    /// <summary>The 20 coarse superclasses (the first label byte of each CIFAR-100 record).</summary>
    Coarse,
}

/// <summary>
/// CIFAR-10 and CIFAR-100 from the binary version of the dataset (torchvision.datasets.CIFAR10 / CIFAR100, which read the
/// Python version of the same data). A record is the label byte(s) — one for CIFAR-10, coarse then fine for CIFAR-100 —
/// followed by 3072 pixel bytes: the 1024 red values of the 32×32 image row by row, then green, then blue. Items are
/// <c>[image, label]</c>: a float32 (3, 32, 32) tensor in [0, 1] (after the optional transform) and an int64 scalar.
/// The pixels stay as bytes in memory (150 MB for the training split) and are converted per item or per batch.
/// </summary>
public sealed class CifarDataset : IBatchDataset
{
    /// <summary>Bytes of pixel data in one record (3 × 32 × 32).</summary>
    public const int ImageBytes = 3 * 32 * 32;

    /// <summary>Description of one CIFAR variant: names, mirrors, archive and the files inside it.</summary>
    /// <param name="Name">Folder name under the cache root ("cifar-10").</param>
    /// <param name="Mirrors">Base URLs of the archive.</param>
    /// <param name="Archive">The archive's file name and MD5.</param>
    /// <param name="Folder">The folder the archive extracts into ("cifar-10-batches-bin").</param>
    /// <param name="TrainFiles">Training batch files.</param>
    /// <param name="TestFiles">Test batch files.</param>
    /// <param name="LabelBytes">Label bytes per record: 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine).</param>
    /// <param name="ClassesFile">Class names of the (fine) labels, one per line.</param>
    /// <param name="CoarseClassesFile">Class names of the coarse labels, or null.</param>
    /// <param name="Classes">Built-in class names, used when the names file is missing.</param>
    /// <param name="CoarseClasses">Built-in coarse class names, or null.</param>
    public sealed record Spec(string Name, string[] Mirrors, DatasetFile Archive, string Folder, string[] TrainFiles, string[] TestFiles,
        int LabelBytes, string ClassesFile, string? CoarseClassesFile, string[] Classes, string[]? CoarseClasses);

    /// <summary>CIFAR-10 binary version (https://www.cs.toronto.edu/~kriz/cifar.html), with the archive's published MD5.</summary>
    public static readonly Spec Cifar10 = new("cifar-10", ["https://www.cs.toronto.edu/~kriz/"],
        new("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"), "cifar-10-batches-bin",
        ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"], ["test_batch.bin"],
        1, "batches.meta.txt", null, CifarClasses.Cifar10, null);

    /// <summary>CIFAR-100 binary version, with the archive's published MD5.</summary>
    public static readonly Spec Cifar100 = new("cifar-100", ["https://www.cs.toronto.edu/~kriz/"],
        new("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8"), "cifar-100-binary",
        ["train.bin"], ["test.bin"], 2, "fine_label_names.txt", "coarse_label_names.txt", CifarClasses.Cifar100Fine, CifarClasses.Cifar100Coarse);

    readonly byte[] pixels;     // (N, 3, 32, 32)
    readonly long[] labels;

    CifarDataset(byte[] pixels, long[] labels, string[] classes, string source, ITransform? transform)
    {
        this.pixels = pixels; this.labels = labels; Classes = classes; Source = source; Transform = transform;
    }

    /// <summary>Number of images (len(dataset)).</summary>
    public int Count => labels.Length;
    /// <summary>Class names, index = label (CIFAR10.classes).</summary>
    public string[] Classes { get; }
    /// <summary>The folder the batch files were read from.</summary>
    public string Source { get; }
    /// <summary>The transform applied to each image, or null (the transform= argument).</summary>
    public ITransform? Transform { get; }
    /// <summary>The raw pixels, (N, 3, 32, 32) bytes: channel planes, rows top to bottom.</summary>
    public ReadOnlyMemory<byte> Pixels => pixels;
    /// <summary>The labels as an int64 tensor (N) (CIFAR10.targets).</summary>
    public Tensor Labels => Tensor.FromArray(labels, labels.Length);

    /// <summary>The same data with another transform (the data is shared, not copied).</summary>
    public CifarDataset WithTransform(ITransform? transform) => new(pixels, labels, Classes, Source, transform);

    /// <summary>The first <paramref name="count"/> examples (a cheap slice for quick runs and tests).</summary>
    public CifarDataset Take(int count)
    {
        int n = Math.Clamp(count, 0, Count);
        return new CifarDataset(pixels.AsSpan(0, n * ImageBytes).ToArray(), labels.AsSpan(0, n).ToArray(), Classes, Source, Transform);
    }

    /// <summary>Image <paramref name="index"/> as an 8-bit RGB <see cref="Image"/> (what CIFAR10.__getitem__ hands to the transform).</summary>
    public Image GetImage(int index)
    {
        CheckIndex(index);
        var samples = new ushort[ImageBytes];
        int o = index * ImageBytes;
        for (int p = 0; p < 1024; p++)
            for (int c = 0; c < 3; c++) samples[p * 3 + c] = pixels[o + c * 1024 + p];
        return new Image(32, 32, 3, samples, 255);
    }

    /// <summary>Item <paramref name="index"/>: [image (3, 32, 32) float32 in [0, 1], transformed; label int64 scalar] (dataset[index]).</summary>
    public Tensor[] Get(int index)
    {
        CheckIndex(index);
        return [ImageTensor(index, TransformGenerator.Current()), Tensor.Scalar(labels[index], DType.Int64)];
    }

    /// <summary>
    /// The items at <paramref name="indices"/>, collated: [images (B, 3, 32, 32), labels (B)]. Transforms are applied
    /// item by item in order with the batch's generator, so a batch is the same whichever worker builds it.
    /// </summary>
    public Tensor[] GetBatch(ReadOnlySpan<int> indices)
    {
        if (indices.Length == 0) throw new ArgumentException("CifarDataset.GetBatch: the batch is empty", nameof(indices));
        var batchLabels = new long[indices.Length];
        for (int b = 0; b < indices.Length; b++) { CheckIndex(indices[b]); batchLabels[b] = labels[indices[b]]; }
        Tensor images;
        if (Transform == null)
        {
            var data = new float[indices.Length * ImageBytes];
            for (int b = 0; b < indices.Length; b++)
            {
                var src = pixels.AsSpan(indices[b] * ImageBytes, ImageBytes);
                var dst = data.AsSpan(b * ImageBytes, ImageBytes);
                for (int i = 0; i < ImageBytes; i++) dst[i] = src[i] / 255f;
            }
            images = Tensor.FromArray(data, indices.Length, 3, 32, 32);
        }
        else
        {
            var generator = TransformGenerator.Current();
            var items = new Tensor[indices.Length];
            for (int b = 0; b < indices.Length; b++) items[b] = ImageTensor(indices[b], generator);
            images = Collate.Stack(items);
        }
        return [images, Tensor.FromArray(batchLabels, indices.Length)];
    }

    void CheckIndex(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"CifarDataset: index {index} is out of range for a dataset of {Count} items");
    }

    Tensor ImageTensor(int index, Generator generator)
    {
        var data = new float[ImageBytes];
        var src = pixels.AsSpan(index * ImageBytes, ImageBytes);
        for (int i = 0; i < ImageBytes; i++) data[i] = src[i] / 255f;
        var image = Tensor.FromArray(data, 3, 32, 32);
        return Transform == null ? image : Transform.Apply(image, generator);
    }

    /// <summary>
    /// The folders searched for the batch files (and the archive) of <paramref name="spec"/>, in order: only the data
    /// folder and its sub-folders when <paramref name="dataDir"/> is given, else the cache folder.
    /// </summary>
    public static IEnumerable<string> SearchFolders(Spec spec, string? dataDir, string? cacheRoot = null)
    {
        if (dataDir != null)
        {
            yield return dataDir;
            yield return Path.Combine(dataDir, spec.Folder);
            yield return Path.Combine(dataDir, spec.Name);
            yield return Path.Combine(dataDir, spec.Name, spec.Folder);
            yield break;
        }
        var cache = Path.Combine(cacheRoot ?? MnistDataset.DefaultCacheRoot, spec.Name);
        yield return cache;
        yield return Path.Combine(cache, spec.Folder);
    }

    /// <summary>
    /// Loads the training or test split (CIFAR10(root, train, download=...)). The batch files are looked for in the
    /// <paramref name="dataDir"/> (the <c>--data</c> folder) and in the cache folder, directly or in the archive's folder;
    /// an archive found there instead is checked and extracted; with <paramref name="download"/> the archive is fetched into
    /// the data folder or the cache folder (MD5-verified) and extracted. Otherwise a <see cref="FileNotFoundException"/> says
    /// where it looked; a <paramref name="dataDir"/> that is not a folder is a <see cref="DirectoryNotFoundException"/>.
    /// </summary>
    public static CifarDataset Load(Spec spec, bool train, string? dataDir = null, bool download = false,
        CifarLabelMode labelMode = CifarLabelMode.Fine, ITransform? transform = null, string? cacheRoot = null,
        HttpClient? client = null, TextWriter? log = null)
    {
        ArgumentNullException.ThrowIfNull(spec);
        if (labelMode == CifarLabelMode.Coarse && spec.LabelBytes < 2)
            throw new ArgumentException($"{spec.Name}: coarse labels exist only in CIFAR-100 (records with two label bytes)", nameof(labelMode));
        var files = train ? spec.TrainFiles : spec.TestFiles;
        MnistDataset.CheckDataFolder(spec.Name, dataDir, download);
        var folders = SearchFolders(spec, dataDir, cacheRoot).ToArray();
        string? folder = folders.FirstOrDefault(f => files.All(name => File.Exists(Path.Combine(f, name))));
        if (folder == null)
        {
            var archive = folders.Select(f => Path.Combine(f, spec.Archive.FileName)).FirstOrDefault(File.Exists);
            if (archive == null && download)
                archive = Downloader.Fetch(spec.Mirrors, spec.Archive, Path.Combine(dataDir ?? cacheRoot ?? MnistDataset.DefaultCacheRoot, spec.Name), client, log);
            if (archive == null)
                throw new FileNotFoundException(
                    $"{spec.Name}: {string.Join(", ", files)} were not found in {string.Join(", ", folders)}, and neither was {spec.Archive.FileName}. " +
                    $"Pass --data DIR (a folder holding the .bin files or the archive), or allow downloading (--download) from {spec.Mirrors[0]}{spec.Archive.FileName}.");
            folder = ExtractArchive(spec, archive, cacheRoot, log);
            if (!files.All(name => File.Exists(Path.Combine(folder, name))))
                throw new InvalidDataException($"{spec.Name}: the archive {archive} does not contain {spec.Folder}/{string.Join(", ", files)}");
        }

        var classes = ReadClassNames(folder, labelMode == CifarLabelMode.Coarse ? spec.CoarseClassesFile! : spec.ClassesFile,
            labelMode == CifarLabelMode.Coarse ? spec.CoarseClasses! : spec.Classes);
        var (pixels, labels) = ReadRecords(spec, files.Select(f => Path.Combine(folder, f)).ToArray(), labelMode, classes.Length);
        return new CifarDataset(pixels, labels, classes, folder, transform);
    }

    /// <summary>CIFAR-10's training (50 000) or test (10 000) split.</summary>
    public static CifarDataset LoadCifar10(bool train, string? dataDir = null, bool download = false, ITransform? transform = null) =>
        Load(Cifar10, train, dataDir, download, CifarLabelMode.Fine, transform);

    /// <summary>CIFAR-100's training (50 000) or test (10 000) split with fine (100) or coarse (20) labels.</summary>
    public static CifarDataset LoadCifar100(bool train, string? dataDir = null, bool download = false,
        CifarLabelMode labelMode = CifarLabelMode.Fine, ITransform? transform = null) =>
        Load(Cifar100, train, dataDir, download, labelMode, transform);

    /// <summary>Checks the archive's MD5 and extracts it next to itself (or into the cache folder when that is read-only).</summary>
    static string ExtractArchive(Spec spec, string archive, string? cacheRoot, TextWriter? log)
    {
        var md5 = Downloader.Md5Of(archive);
        if (md5 != spec.Archive.Md5)
            throw new InvalidDataException($"{spec.Name}: {archive} has MD5 {md5}, expected {spec.Archive.Md5} (incomplete download or another file); delete it and try again");
        var here = Path.GetDirectoryName(Path.GetFullPath(archive))!;
        try
        {
            Archives.ExtractTar(archive, here, log);
            return Path.Combine(here, spec.Folder);
        }
        catch (UnauthorizedAccessException)
        {
            var cache = Path.Combine(cacheRoot ?? MnistDataset.DefaultCacheRoot, spec.Name);
            Archives.ExtractTar(archive, cache, log);
            return Path.Combine(cache, spec.Folder);
        }
    }

    static string[] ReadClassNames(string folder, string file, string[] fallback)
    {
        var path = Path.Combine(folder, file);
        if (!File.Exists(path)) return fallback;
        var names = File.ReadAllLines(path).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        return names.Length > 0 ? names : fallback;
    }

    static (byte[] Pixels, long[] Labels) ReadRecords(Spec spec, string[] paths, CifarLabelMode mode, int classCount)
    {
        int recordSize = spec.LabelBytes + ImageBytes;
        long total = 0;
        foreach (var p in paths)
        {
            long length = new FileInfo(p).Length;
            if (length == 0 || length % recordSize != 0)
                throw new InvalidDataException($"{spec.Name}: {p} has {length} bytes, not a whole number of {recordSize}-byte records (truncated or not a CIFAR binary file)");
            total += length / recordSize;
        }
        if (total * ImageBytes > Array.MaxLength) throw new InvalidDataException($"{spec.Name}: {total} records do not fit in memory");
        var pixels = new byte[total * ImageBytes];
        var labels = new long[total];
        int labelOffset = mode == CifarLabelMode.Coarse ? 0 : spec.LabelBytes - 1;   // CIFAR-100: coarse byte, then fine
        int n = 0;
        var record = new byte[recordSize];
        foreach (var p in paths)
        {
            using var s = new BufferedStream(File.OpenRead(p), 1 << 20);
            while (true)
            {
                int read = s.ReadAtLeast(record, recordSize, throwOnEndOfStream: false);
                if (read == 0) break;
                labels[n] = record[labelOffset];
                if (labels[n] >= classCount)
                    throw new InvalidDataException($"{spec.Name}: {Path.GetFileName(p)} record {n}: label {labels[n]} is out of range for {classCount} classes");
                record.AsSpan(spec.LabelBytes, ImageBytes).CopyTo(pixels.AsSpan(n * ImageBytes));
                n++;
            }
        }
        return (pixels, labels);
    }
}

/// <summary>The class names of CIFAR-10 and CIFAR-100, as listed in the archives' names files.</summary>
public static class CifarClasses
{
    /// <summary>CIFAR-10's ten classes (batches.meta.txt).</summary>
    public static readonly string[] Cifar10 = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

    /// <summary>CIFAR-100's 100 fine classes (fine_label_names.txt).</summary>
    public static readonly string[] Cifar100Fine =
    [
        "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle", "bottle",
        "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle", "caterpillar", "cattle",
        "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch", "crab", "crocodile", "cup", "dinosaur",
        "dolphin", "elephant", "flatfish", "forest", "fox", "girl", "hamster", "house", "kangaroo", "keyboard",
        "lamp", "lawn_mower", "leopard", "lion", "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain",
        "mouse", "mushroom", "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
        "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road", "rocket",
        "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake", "spider",
        "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone", "television", "tiger", "tractor",
        "train", "trout", "tulip", "turtle", "wardrobe", "whale", "willow_tree", "wolf", "woman", "worm",
    ];

    /// <summary>CIFAR-100's 20 coarse superclasses (coarse_label_names.txt).</summary>
    public static readonly string[] Cifar100Coarse =
    [
        "aquatic_mammals", "fish", "flowers", "food_containers", "fruit_and_vegetables", "household_electrical_devices",
        "household_furniture", "insects", "large_carnivores", "large_man-made_outdoor_things", "large_natural_outdoor_scenes",
        "large_omnivores_and_herbivores", "medium_mammals", "non-insect_invertebrates", "people", "reptiles", "small_mammals",
        "trees", "vehicles_1", "vehicles_2",
    ];
}
