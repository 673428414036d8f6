using DeepSharp.Vision.Datasets;

namespace DeepSharp.Vision.Tests;

/// <summary>
/// An explicit data folder is the only place looked at, and local MNIST-format files are checked against the MD5 of the
/// official release's content (issue 13: look-alike files with shifted labels trained without a warning).
/// </summary>
public class DatasetVerificationTests
{
    static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "ds-verify-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    static void WriteLookAlike(string dir, int n = 5)
    {
        var images = new byte[n * 28 * 28];
        Idx.WriteBytes(Path.Combine(dir, "t10k-images-idx3-ubyte.gz"), images, [n, 28, 28], gzip: true);
        Idx.WriteBytes(Path.Combine(dir, "t10k-labels-idx1-ubyte.gz"), Enumerable.Range(0, n).Select(i => (byte)((i + 1) % 10)).ToArray(), [n], gzip: true);
    }

    [Fact]
    public void LookAlikeFilesAreRefusedUnlessVerificationIsOff()
    {
        var dir = TempDir();
        WriteLookAlike(dir);
        var ex = Assert.Throws<InvalidDataException>(() => MnistDataset.Load(MnistDataset.FashionMnist, train: false, dataDir: dir));
        Assert.Contains("is not the official t10k-images-idx3-ubyte", ex.Message);
        Assert.Contains("expected 8181f5470baa50b63fa0f6fddb340f0a", ex.Message);
        Assert.Contains("--no-verify", ex.Message);
        Assert.Equal(5, MnistDataset.Load(MnistDataset.FashionMnist, train: false, dataDir: dir, verify: false).Count);
    }

    [Fact]
    public void TheOfficialFilesPassWhateverTheirCompression()
    {
        // Debian's package recompresses the archives (other .gz checksums), but the content is the official release's.
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var test = MnistDataset.Load(MnistDataset.FashionMnist, train: false, dataDir: "/usr/share/datasets/fashion-mnist");
        Assert.Equal(10000, test.Count);
        var plain = TempDir();   // the same content uncompressed
        foreach (var name in new[] { "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte" })
            File.WriteAllBytes(Path.Combine(plain, name), Idx.ReadContent($"/usr/share/datasets/fashion-mnist/{name}.gz"));
        Assert.Equal(test.Labels.ToArray<long>(), MnistDataset.Load(MnistDataset.FashionMnist, train: false, dataDir: plain).Labels.ToArray<long>());
    }

    [Fact]
    public void AnExplicitDataFolderThatDoesNotHoldTheFilesIsAnErrorNotAFallback()
    {
        var missing = Path.Combine(TempDir(), "nonexistent");
        Assert.Contains("does not exist", Assert.Throws<DirectoryNotFoundException>(() => MnistDataset.Load(MnistDataset.FashionMnist, false, missing)).Message);
        var file = Path.Combine(TempDir(), "a-file");
        File.WriteAllText(file, "x");
        Assert.Contains("is a file", Assert.Throws<DirectoryNotFoundException>(() => MnistDataset.Load(MnistDataset.FashionMnist, false, file)).Message);
        var empty = TempDir();
        var ex = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(MnistDataset.FashionMnist, false, empty));
        Assert.Contains(empty, ex.Message);
        Assert.DoesNotContain("/usr/share/datasets", ex.Message);   // the installed copy is not looked at
        Assert.Equal([empty, Path.Combine(empty, "fashion-mnist")], MnistDataset.SearchFolders(MnistDataset.FashionMnist, empty));
        Assert.Throws<DirectoryNotFoundException>(() => CifarDataset.Load(CifarDataset.Cifar10, false, missing));
        var cifarEx = Assert.Throws<FileNotFoundException>(() => CifarDataset.Load(CifarDataset.Cifar10, false, empty, cacheRoot: TempDir()));
        Assert.DoesNotContain(".cache", cifarEx.Message);
    }
}
