namespace DeepSharp.Vision.Datasets;

/// <summary>
/// MNIST-format image classification data (torchvision.datasets.MNIST / FashionMNIST): images as a float32 tensor
/// (N, 1, 28, 28) scaled to [0, 1] (kept as bytes, converted on use), labels as int64 (N). Files are looked for in the
/// folder given by the user (<c>--data</c>) only when there is one, else in the cache folder and then the system folder (Debian's dataset
/// package), and downloaded only when <c>download</c> is true. The decompressed content of every file is checked
/// against the MD5 of the official release, so a modified or look-alike file is refused unless verification is off.
/// </summary>
public sealed class MnistDataset
{
    /// <summary>The ten Fashion-MNIST class names, index = label (FashionMNIST.classes).</summary>
    public static readonly string[] FashionClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>The ten MNIST class names (MNIST.classes).</summary>
    public static readonly string[] DigitClasses =
        ["0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six", "7 - seven", "8 - eight", "9 - nine"];

    /// <summary>Description of one MNIST-format dataset: name, mirrors, files and where the OS keeps a copy.</summary>
    public sealed record Spec(string Name, string[] Mirrors, DatasetFile TrainImages, DatasetFile TrainLabels,
        DatasetFile TestImages, DatasetFile TestLabels, string? SystemFolder, string[] Classes);

    /// <summary>Fashion-MNIST (Zalando), with the official mirror and checksums (of the archives and of their content).</summary>
    public static readonly Spec FashionMnist = new("fashion-mnist",
        ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
        new("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
        new("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe", "9018921c3c673c538a1fc5bad174d6f9"),
        new("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79", "8181f5470baa50b63fa0f6fddb340f0a"),
        new("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310", "15d484375f8d13e6eb1aabb0c3f46965"),
        "/usr/share/datasets/fashion-mnist", FashionClasses);

    /// <summary>MNIST digits, with torchvision's mirrors and checksums.</summary>
    public static readonly Spec Mnist = new("mnist",
        ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"],
        new("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "6bbc9ace898e44ae57da46a324031adb"),
        new("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "a25bea736e30d166cdddb491f175f624"),
        new("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "2646ac647ad5339dbf082846283269ea"),
        new("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "27ae3e4e09519cfbb04c329615203637"),
        "/usr/share/datasets/mnist", DigitClasses);

    readonly byte[] pixels;
    readonly int height, width;
    Tensor? images;

    MnistDataset(byte[] pixels, int height, int width, Tensor labels, string[] classes, string source)
    {
        this.pixels = pixels; this.height = height; this.width = width; Labels = labels; Classes = classes; Source = source;
    }

    /// <summary>
    /// Images, float32 (N, 1, 28, 28) in [0, 1], converted from the bytes on first use (four times their memory; a
    /// training run uses <see cref="AsDataset"/>, which converts batch by batch).
    /// </summary>
    public Tensor Images => images ??= ToFloat();

    Tensor ToFloat()
    {
        var values = GC.AllocateUninitializedArray<float>(pixels.Length);
        DeepSharp.Data.ByteImageDataset.Convert(pixels, values, 1f / 255f);
        return Tensor.FromArray(values, Count, 1, height, width);
    }

    /// <summary>
    /// The examples as a dataset of (image float32 (1, 28, 28) in [0, 1], label int64) items that keeps the pixels as
    /// bytes and converts each batch when it is fetched (the values of <see cref="Images"/>, a quarter of the memory).
    /// </summary>
    public DeepSharp.Data.ByteImageDataset AsDataset() => new(pixels, Labels.AsReadOnlySpan<long>().ToArray(), [1, height, width]);
    /// <summary>Labels, int64 (N).</summary>
    public Tensor Labels { get; }
    /// <summary>Class names, index = label.</summary>
    public string[] Classes { get; }
    /// <summary>The folder the files were read from.</summary>
    public string Source { get; }
    /// <summary>Number of examples.</summary>
    public int Count => Labels.Shape[0];

    /// <summary>The default cache folder: $DEEPSHARP_DATA, else ~/.cache/deepsharp.</summary>
    public static string DefaultCacheRoot =>
        Environment.GetEnvironmentVariable("DEEPSHARP_DATA") is { Length: > 0 } env ? env
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepsharp");

    /// <summary>
    /// The folders searched for the files of <paramref name="spec"/>, in order: <paramref name="dataDir"/> and its
    /// sub-folder named after the dataset when a data folder is given (and nothing else: an explicit folder that does
    /// not hold the files is an error, not a reason to use another copy), else the cache and the system folder.
    /// </summary>
    public static IEnumerable<string> SearchFolders(Spec spec, string? dataDir, string? cacheRoot = null)
    {
        if (dataDir != null) { yield return dataDir; yield return Path.Combine(dataDir, spec.Name); yield break; }
        yield return Path.Combine(cacheRoot ?? DefaultCacheRoot, spec.Name);
        if (spec.SystemFolder != null) yield return spec.SystemFolder;
    }

    /// <summary>
    /// Loads the training or test split. Throws <see cref="FileNotFoundException"/> with a message saying where it looked
    /// and what to do when the files are nowhere and <paramref name="download"/> is false, and
    /// <see cref="DirectoryNotFoundException"/> when <paramref name="dataDir"/> is not a folder. With
    /// <paramref name="verify"/> (the default) a file whose decompressed content differs from the official release's
    /// (MD5) is refused with <see cref="InvalidDataException"/>. Downloads go into <paramref name="dataDir"/> when given,
    /// else into the cache folder. A positive <paramref name="limit"/> decodes only the first <paramref name="limit"/>
    /// examples (the file is still checked whole), so a quick run does not hold the whole split.
    /// </summary>
    public static MnistDataset Load(Spec spec, bool train, string? dataDir = null, bool download = false,
        string? cacheRoot = null, HttpClient? client = null, TextWriter? log = null, bool verify = true, int limit = 0)
    {
        ArgumentNullException.ThrowIfNull(spec);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        var imagesFile = train ? spec.TrainImages : spec.TestImages;
        var labelsFile = train ? spec.TrainLabels : spec.TestLabels;
        CheckDataFolder(spec, dataDir, download);
        string? folder = SearchFolders(spec, dataDir, cacheRoot).FirstOrDefault(f => Find(f, imagesFile) != null && Find(f, labelsFile) != null);
        if (folder == null)
        {
            if (!download)
                throw new FileNotFoundException(
                    $"{spec.Name}: {imagesFile.FileName} and {labelsFile.FileName} were not found in " +
                    string.Join(", ", SearchFolders(spec, dataDir, cacheRoot)) + (dataDir != null
                        ? $". Pass the folder that holds them (--data DIR), leave out --data to use the installed copy, or allow downloading (--download)."
                        : $". Install Debian's package (apt-get install dataset-{spec.Name}), pass --data DIR, or allow downloading (--download)."));
            folder = dataDir != null ? Path.Combine(dataDir, spec.Name) : Path.Combine(cacheRoot ?? DefaultCacheRoot, spec.Name);
            Downloader.Fetch(spec.Mirrors, imagesFile, folder, client, log);
            Downloader.Fetch(spec.Mirrors, labelsFile, folder, client, log);
        }
        // the values are read in place from the file's content (no copy of the 47 MB of training pixels)
        var pixelContent = ReadVerified(spec, folder, imagesFile, verify);
        var (pixelStart, imageShape) = Idx.ParseHeader(pixelContent, imagesFile.FileName);
        var pixels = pixelContent.AsSpan(pixelStart);
        var (labelBytes, labelShape) = Idx.Parse(ReadVerified(spec, folder, labelsFile, verify), labelsFile.FileName);
        if (imageShape.Length != 3) throw new InvalidDataException($"{spec.Name}: images file has rank {imageShape.Length}, expected 3 (N, H, W)");
        if (labelShape.Length != 1 || labelShape[0] != imageShape[0])
            throw new InvalidDataException($"{spec.Name}: {labelShape[0]} labels for {imageShape[0]} images");
        int count = limit > 0 ? Math.Min(limit, imageShape[0]) : imageShape[0];
        pixels = pixels[..(count * imageShape[1] * imageShape[2])];
        labelBytes = labelBytes[..count];
        var labels = new long[labelBytes.Length];
        for (int i = 0; i < labels.Length; i++)
        {
            labels[i] = labelBytes[i];
            if (labels[i] >= spec.Classes.Length) throw new InvalidDataException($"{spec.Name}: label {labels[i]} at index {i} is out of range for {spec.Classes.Length} classes");
        }
        // only the examples' bytes are kept (a copy, so the decompressed file can go): 47 MB for the training split, not 188
        return new MnistDataset(pixels.ToArray(), imageShape[1], imageShape[2], Tensor.FromArray(labels, labels.Length), spec.Classes, folder);
    }

    /// <summary>An explicit data folder must be a folder that exists (unless it is about to receive a download).</summary>
    internal static void CheckDataFolder(string name, string? dataDir, bool download)
    {
        if (dataDir == null) return;
        if (File.Exists(dataDir))
            throw new DirectoryNotFoundException($"{name}: the data folder {dataDir} is a file; pass the folder that holds the dataset's files (--data DIR)");
        if (!Directory.Exists(dataDir) && !download)
            throw new DirectoryNotFoundException($"{name}: the data folder {dataDir} does not exist; pass the folder that holds the dataset's files (--data DIR), or leave out --data");
    }

    static void CheckDataFolder(Spec spec, string? dataDir, bool download) => CheckDataFolder(spec.Name, dataDir, download);

    /// <summary>The IDX content of <paramref name="file"/> in <paramref name="folder"/>, its MD5 checked against the official release's.</summary>
    static byte[] ReadVerified(Spec spec, string folder, DatasetFile file, bool verify)
    {
        var path = Find(folder, file)!;
        var content = Idx.ReadContent(path);
        if (verify && file.ContentMd5 != null)
        {
            var md5 = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(content));
            if (md5 != file.ContentMd5)
                throw new InvalidDataException($"{spec.Name}: {path} is not the official {Path.GetFileNameWithoutExtension(file.FileName)} " +
                    $"(MD5 of its content {md5}, expected {file.ContentMd5}): a modified, truncated or different dataset. " +
                    "Replace it with the official file, or skip the check (--no-verify) if the change is intended");
        }
        return content;
    }

    /// <summary>Fashion-MNIST's training (60 000) or test (10 000) split.</summary>
    public static MnistDataset LoadFashion(bool train, string? dataDir = null, bool download = false) => Load(FashionMnist, train, dataDir, download);

    static string? Find(string folder, DatasetFile file)
    {
        var gz = Path.Combine(folder, file.FileName);
        if (File.Exists(gz)) return gz;
        var plain = Path.Combine(folder, Path.GetFileNameWithoutExtension(file.FileName));
        return File.Exists(plain) ? plain : null;
    }

    /// <summary>The first <paramref name="count"/> examples (a cheap slice for quick runs and tests).</summary>
    public MnistDataset Take(int count)
    {
        int n = Math.Min(count, Count);
        return new MnistDataset(pixels[..(n * height * width)], height, width, Labels.Narrow(0, 0, n).Contiguous(), Classes, Source);
    }
}
