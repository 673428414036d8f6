using DeepSharp.Data;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Imaging;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests;

public class ImageFolderTests
{
    static Image Solid(int h, int w, int channels, int value)
    {
        var s = new ushort[h * w * channels];
        for (int i = 0; i < s.Length; i++) s[i] = (ushort)((value + i) % 256);
        return new Image(h, w, channels, s);
    }

    /// <summary>root/{B, _x, a (nested), empty?}: PNG, PPM, PGM files, upper-case extensions and files that are not images.</summary>
    static string MakeTree(bool withEmptyClass = false)
    {
        var root = TestFiles.TempDir("ds-folder");
        void Put(string rel, Image image)
        {
            var path = Path.Combine(root, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var ext = Path.GetExtension(path).ToLowerInvariant();
            File.WriteAllBytes(path, ext == ".png" ? Png.Encode(image) : Netpbm.Encode(ext == ".pgm" ? image.ToGrayscale() : image.ToRgb()));
        }
        Put("a/z.png", Solid(4, 5, 3, 10));
        Put("a/sub/b.ppm", Solid(4, 5, 3, 20));
        Put("a/A.PNG", Solid(4, 5, 4, 30));      // RGBA: alpha is dropped
        Put("B/img.pgm", Solid(4, 5, 1, 40));    // grey: replicated to RGB
        Put("_x/one.png", Solid(4, 5, 2, 50));
        File.WriteAllText(Path.Combine(root, "a", "notes.txt"), "not an image");
        File.WriteAllText(Path.Combine(root, "README"), "files at the root are not classes");
        if (withEmptyClass) Directory.CreateDirectory(Path.Combine(root, "empty", "deeper"));
        return root;
    }

    [Fact]
    public void ClassesAndSamplesFollowTorchvisionOrder()
    {
        var root = MakeTree();
        var ds = new ImageFolderDataset(root);
        Assert.Equal(new[] { "B", "_x", "a" }, ds.Classes);          // ordinal (code point) order, as Python's sorted()
        Assert.Equal(2, ds.ClassToIndex["a"]);
        var rel = ds.Samples.Select(s => (Path.GetRelativePath(root, s.Path).Replace('\\', '/'), s.ClassIndex)).ToArray();
        Assert.Equal(new[] { ("B/img.pgm", 0), ("_x/one.png", 1), ("a/A.PNG", 2), ("a/z.png", 2), ("a/sub/b.ppm", 2) }, rel);
        Assert.Equal(new long[] { 0, 1, 2, 2, 2 }, ds.Targets);
        var item = ds.Get(2);
        Assert.Equal([3, 4, 5], item[0].Shape);
        Assert.Equal(2L, item[1].Item<long>());
        Assert.Equal(30 / 255f, (float)item[0].At(0, 0, 0), 6);       // RGBA pixel 0 = (30, 31, 32, 33): R
        Assert.Equal(34 / 255f, (float)item[0].At(0, 0, 1), 6);       // next pixel's R
        var grey = ds.Get(0)[0];
        Assert.Equal(grey.Select(0, 0).ToArray<float>(), grey.Select(0, 2).ToArray<float>());
    }

    [Fact]
    public void EmptyClassesAndBadArgumentsAreReported()
    {
        var root = MakeTree(withEmptyClass: true);
        var ex = Assert.Throws<FileNotFoundException>(() => new ImageFolderDataset(root));
        Assert.Contains("empty", ex.Message);
        Assert.Contains(".png", ex.Message);
        var ds = new ImageFolderDataset(root, allowEmpty: true);
        Assert.Equal(4, ds.Classes.Length);
        Assert.Equal(5, ds.Count);
        Assert.Throws<ArgumentException>(() => new ImageFolderDataset(root, extensions: [".png"], isValidFile: _ => true));
        Assert.Throws<DirectoryNotFoundException>(() => new ImageFolderDataset(Path.Combine(root, "nope")));
        Assert.Throws<FileNotFoundException>(() => new ImageFolderDataset(TestFiles.TempDir()));
        var pngOnly = new ImageFolderDataset(root, extensions: [".png"], allowEmpty: true);
        Assert.Equal(3, pngOnly.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(5));
    }

    [Fact]
    public void TransformsRunInTheLoaderReproducibly()
    {
        var root = MakeTree();
        var transform = new Compose(new RandomResizedCrop(3), new ColorJitter(0.4, 0.4, 0.4, 0.1), new RandomHorizontalFlip());
        var ds = new ImageFolderDataset(root, transform);
        Tensor[][] Run(int workers, long seed) =>
            new DataLoader(ds, batchSize: 2, shuffle: true, numWorkers: workers, generator: new Generator(seed)).ToArray();
        var serial = Run(0, 5);
        var parallel = Run(2, 5);
        Assert.Equal(3, serial.Length);
        for (int k = 0; k < serial.Length; k++)
        {
            Assert.Equal([serial[k][1].Shape[0], 3, 3, 3], serial[k][0].Shape);
            Assert.Equal(serial[k][0].ToArray<float>(), parallel[k][0].ToArray<float>());
            Assert.Equal(serial[k][1].ToArray<long>(), parallel[k][1].ToArray<long>());
        }
        var other = Run(2, 6);
        Assert.NotEqual(serial.SelectMany(b => b[0].ToArray<float>()), other.SelectMany(b => b[0].ToArray<float>()));
    }

    [Fact]
    public void CustomLoader()
    {
        var root = MakeTree();
        var ds = new ImageFolderDataset(root, loader: path => Image.Load(path).ToGrayscale().ToTensor());
        Assert.Equal([1, 4, 5], ds.Get(1)[0].Shape);
    }
}
