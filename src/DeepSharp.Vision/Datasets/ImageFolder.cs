using DeepSharp.Data;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Datasets;

/// <summary>
/// A classification dataset laid out as one folder per class (torchvision.datasets.ImageFolder):
/// <c>root/dog/xxx.jpg</c>, <c>root/cat/nested/yyy.png</c>, ... Classes are the sub-folder names sorted by ordinal
/// (code point) order, as Python's sorted() orders them; each class folder is searched recursively, folders in sorted
/// path order and files in sorted name order, keeping files whose extension (case-insensitive) is accepted. Items are
/// <c>[image, label]</c>: the loader's tensor (by default the image as RGB float32 (3, H, W) in [0, 1], ToTensor
/// semantics) after the optional transform, and an int64 scalar class index.
/// </summary>
public sealed class ImageFolderDataset : IDataset<Tensor[]>
{
    /// <summary>
    /// The extensions the default loader can read: torchvision's IMG_EXTENSIONS (.jpg .jpeg .png .ppm .bmp .pgm; not .tif,
    /// .tiff, .webp) plus .pnm and .gif (first frame). The loader recognises a file by its content, not its extension.
    /// </summary>
    public static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".pnm", ".gif"];

    readonly Func<string, Tensor> loader;

    /// <summary>
    /// Scans <paramref name="root"/> (ImageFolder(root, transform, loader=, is_valid_file=, allow_empty=)). Files are kept when
    /// <paramref name="isValidFile"/> accepts them, or else when their extension is one of <paramref name="extensions"/>
    /// (default <see cref="ImageExtensions"/>); giving both is an error, as in torchvision. A class folder with no file
    /// is an error unless <paramref name="allowEmpty"/>.
    /// </summary>
    public ImageFolderDataset(string root, ITransform? transform = null, Func<string, Tensor>? loader = null,
        IEnumerable<string>? extensions = null, Func<string, bool>? isValidFile = null, bool allowEmpty = false)
    {
        ArgumentNullException.ThrowIfNull(root);
        if (extensions != null && isValidFile != null)
            throw new ArgumentException("ImageFolderDataset: give extensions or isValidFile, not both", nameof(isValidFile));
        Root = root;
        Transform = transform;
        this.loader = loader ?? DefaultLoader;
        (Classes, ClassToIndex) = FindClasses(root);
        var exts = (extensions ?? ImageExtensions).ToArray();
        string hint = isValidFile == null ? $"Supported extensions are: {string.Join(", ", exts)}" : "No file passed isValidFile";
        isValidFile ??= path => exts.Any(e => path.EndsWith(e, StringComparison.OrdinalIgnoreCase));
        Samples = MakeDataset(root, Classes, isValidFile, allowEmpty, hint);
        Targets = Samples.Select(s => (long)s.ClassIndex).ToArray();
    }

    /// <summary>The root folder (ImageFolder.root).</summary>
    public string Root { get; }
    /// <summary>Class names, sorted; index = label (ImageFolder.classes).</summary>
    public string[] Classes { get; }
    /// <summary>Class name → label (ImageFolder.class_to_idx).</summary>
    public IReadOnlyDictionary<string, int> ClassToIndex { get; }
    /// <summary>Every (file path, label) pair, in item order (ImageFolder.samples / imgs).</summary>
    public IReadOnlyList<(string Path, int ClassIndex)> Samples { get; }
    /// <summary>The label of every item (ImageFolder.targets).</summary>
    public IReadOnlyList<long> Targets { get; }
    /// <summary>The transform applied to each loaded image, or null (ImageFolder.transform).</summary>
    public ITransform? Transform { get; }
    /// <summary>Number of images (len(dataset)).</summary>
    public int Count => Samples.Count;

    /// <summary>
    /// Item <paramref name="index"/>: [loader(path) after the transform, label as an int64 scalar] (dataset[index]).
    /// Inside a data loader the transform draws from the batch's generator (<see cref="WorkerInfo.Generator"/>).
    /// </summary>
    public Tensor[] Get(int index)
    {
        if ((uint)index >= (uint)Count)
            throw new ArgumentOutOfRangeException(nameof(index), $"ImageFolderDataset: index {index} is out of range for a dataset of {Count} items");
        var (path, label) = Samples[index];
        var image = loader(path);
        if (Transform != null) image = Transform.Apply(image, TransformGenerator.Current());
        return [image, Tensor.Scalar(label, DType.Int64)];
    }

    /// <summary>
    /// The default loader (torchvision's default_loader + ToTensor): the file (JPEG, PNG, BMP, GIF, PPM/PGM; a JPEG turned
    /// upright by its EXIF orientation) as RGB (grey replicated, alpha dropped, as PIL's convert("RGB")) in a float32
    /// (3, H, W) tensor scaled to [0, 1].
    /// </summary>
    public static Tensor DefaultLoader(string path) => Image.Load(path).ToRgb().ToTensor();

    /// <summary>
    /// The class folders of <paramref name="root"/>, sorted by ordinal order, and their indices (DatasetFolder.find_classes).
    /// </summary>
    public static (string[] Classes, IReadOnlyDictionary<string, int> ClassToIndex) FindClasses(string root)
    {
        if (!Directory.Exists(root)) throw new DirectoryNotFoundException($"ImageFolderDataset: folder not found: {root}");
        var classes = Directory.EnumerateDirectories(root).Select(d => Path.GetFileName(d)!).Order(StringComparer.Ordinal).ToArray();
        if (classes.Length == 0) throw new FileNotFoundException($"ImageFolderDataset: couldn't find any class folder in {root}");
        var map = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < classes.Length; i++) map[classes[i]] = i;
        return (classes, map);
    }

    static (string, int)[] MakeDataset(string root, string[] classes, Func<string, bool> isValidFile, bool allowEmpty, string hint)
    {
        var samples = new List<(string, int)>();
        var empty = new List<string>();
        for (int c = 0; c < classes.Length; c++)
        {
            int before = samples.Count;
            // os.walk visits every folder; sorted() orders the (folder, subfolders, files) tuples by folder path
            var folders = new List<string>();
            CollectFolders(Path.Combine(root, classes[c]), folders);
            folders.Sort(StringComparer.Ordinal);
            foreach (var folder in folders)
                foreach (var file in Directory.EnumerateFiles(folder).Select(f => Path.GetFileName(f)!).Order(StringComparer.Ordinal))
                {
                    var path = Path.Combine(folder, file);
                    if (isValidFile(path)) samples.Add((path, c));
                }
            if (samples.Count == before) empty.Add(classes[c]);
        }
        if (empty.Count > 0 && !allowEmpty)
            throw new FileNotFoundException($"ImageFolderDataset: found no valid file for the classes {string.Join(", ", empty)} in {root}. {hint}");
        return samples.ToArray();
    }

    static void CollectFolders(string folder, List<string> into)
    {
        into.Add(folder);
        foreach (var sub in Directory.EnumerateDirectories(folder)) CollectFolders(sub, into);
    }
}
