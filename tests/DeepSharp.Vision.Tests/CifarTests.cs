using System.Security.Cryptography;
using DeepSharp.Data;
using DeepSharp.Vision.Datasets;
using DeepSharp.Vision.Transforms;

namespace DeepSharp.Vision.Tests;

public class CifarTests
{
    /// <summary>A CIFAR record: label byte(s) then 3072 pixels whose value depends on (record id, channel, y, x).</summary>
    static byte[] Records(int firstId, int count, params int[][] labels)
    {
        int labelBytes = labels[0].Length;
        var data = new byte[count * (labelBytes + 3072)];
        for (int r = 0; r < count; r++)
        {
            int o = r * (labelBytes + 3072);
            for (int k = 0; k < labelBytes; k++) data[o + k] = (byte)labels[r % labels.Length][k];
            for (int i = 0; i < 3072; i++) data[o + labelBytes + i] = Pixel(firstId + r, i);
        }
        return data;
    }

    static byte Pixel(int id, int i) => (byte)((id * 31 + i * 7) % 256);

    /// <summary>CIFAR-10 files: 5 training batches of 2 records (ids 0..9, labels id % 10) and a test batch of 3.</summary>
    static (string Name, byte[] Data)[] Cifar10Files(string prefix = "")
    {
        var files = new List<(string, byte[])>();
        for (int b = 0; b < 5; b++) files.Add(($"{prefix}data_batch_{b + 1}.bin", Records(2 * b, 2, [2 * b], [2 * b + 1])));
        files.Add(($"{prefix}test_batch.bin", Records(100, 3, [7], [8], [9])));
        files.Add(($"{prefix}batches.meta.txt", "plane\ncar\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n"u8.ToArray()));
        return files.ToArray();
    }

    static string WriteFolder((string Name, byte[] Data)[] files)
    {
        var dir = TestFiles.TempDir("ds-cifar");
        foreach (var (name, data) in files)
        {
            var path = Path.Combine(dir, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, data);
        }
        return dir;
    }

    [Fact]
    public void ReadsCifar10RecordsFromDataFolder()
    {
        var dir = WriteFolder(Cifar10Files("cifar-10-batches-bin/"));
        var train = CifarDataset.Load(CifarDataset.Cifar10, train: true, dataDir: dir, cacheRoot: TestFiles.TempDir());
        Assert.Equal(10, train.Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), train.Labels.ToArray<long>());
        Assert.Equal("car", train.Classes[1]);                         // read from batches.meta.txt, not the built-in list
        Assert.Equal(Path.Combine(dir, "cifar-10-batches-bin"), train.Source);
        var (image, label) = (train.Get(3)[0], train.Get(3)[1]);
        Assert.Equal([3, 32, 32], image.Shape);
        Assert.Equal(3L, label.Item<long>());
        Assert.Equal(Pixel(3, 1024 + 2 * 32 + 5) / 255f, (float)image.At(1, 2, 5), 6);   // green plane, row 2, column 5
        var rgb = train.GetImage(3);
        Assert.Equal(Pixel(3, 2048 + 31), rgb[0, 31, 2]);
        var test = CifarDataset.Load(CifarDataset.Cifar10, train: false, dataDir: dir, cacheRoot: TestFiles.TempDir());
        Assert.Equal(new long[] { 7, 8, 9 }, test.Labels.ToArray<long>());
    }

    [Fact]
    public void BatchFastPathMatchesItems()
    {
        var dir = WriteFolder(Cifar10Files());
        var ds = CifarDataset.Load(CifarDataset.Cifar10, true, dir, cacheRoot: TestFiles.TempDir());
        var batch = ds.GetBatch([4, 0, 9]);
        Assert.Equal([3, 3, 32, 32], batch[0].Shape);
        Assert.Equal(new long[] { 4, 0, 9 }, batch[1].ToArray<long>());
        Assert.Equal(ds.Get(9)[0].ToArray<float>(), batch[0].Select(0, 2).Contiguous().ToArray<float>());
        var loader = new DataLoader(ds, batchSize: 4);
        Assert.Equal(3, loader.Count);
        Assert.Equal([2, 3, 32, 32], loader.Last()[0].Shape);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(10));
        Assert.Equal(4, ds.Take(4).Count);
    }

    [Fact]
    public void Cifar100FineAndCoarseLabels()
    {
        var labels = new[] { new[] { 3, 41 }, new[] { 19, 99 }, new[] { 0, 0 } };
        var dir = WriteFolder([
            ("cifar-100/cifar-100-binary/train.bin", Records(0, 3, labels)),
            ("cifar-100/cifar-100-binary/coarse_label_names.txt", string.Join("\n", Enumerable.Range(0, 20).Select(i => $"super{i}")).Select(c => (byte)c).ToArray()),
        ]);
        var fine = CifarDataset.Load(CifarDataset.Cifar100, true, dir, cacheRoot: TestFiles.TempDir());
        Assert.Equal(new long[] { 41, 99, 0 }, fine.Labels.ToArray<long>());
        Assert.Equal(100, fine.Classes.Length);
        Assert.Equal("worm", fine.Classes[99]);                       // built-in names: fine_label_names.txt is absent
        var coarse = CifarDataset.Load(CifarDataset.Cifar100, true, dir, labelMode: CifarLabelMode.Coarse, cacheRoot: TestFiles.TempDir());
        Assert.Equal(new long[] { 3, 19, 0 }, coarse.Labels.ToArray<long>());
        Assert.Equal("super19", coarse.Classes[19]);
        Assert.Equal(Pixel(1, 77) / 255f, (float)coarse.Get(1)[0].At(0, 2, 13), 6);
        Assert.Throws<ArgumentException>(() => CifarDataset.Load(CifarDataset.Cifar10, true, dir, labelMode: CifarLabelMode.Coarse));
    }

    [Fact]
    public void CorruptFilesGiveClearErrors()
    {
        var files = Cifar10Files();
        files[2] = (files[2].Name, files[2].Data[..^5]);
        var dir = WriteFolder(files);
        var ex = Assert.Throws<InvalidDataException>(() => CifarDataset.Load(CifarDataset.Cifar10, true, dir, cacheRoot: TestFiles.TempDir()));
        Assert.Contains("data_batch_3.bin", ex.Message);
        Assert.Contains("3073-byte records", ex.Message);

        files = Cifar10Files();
        files[5] = (files[5].Name, Records(0, 1, [12]));
        dir = WriteFolder(files);
        ex = Assert.Throws<InvalidDataException>(() => CifarDataset.Load(CifarDataset.Cifar10, false, dir, cacheRoot: TestFiles.TempDir()));
        Assert.Contains("label 12 is out of range for 10 classes", ex.Message);
    }

    [Fact]
    public void MissingDataGivesActionableError()
    {
        var ex = Assert.Throws<FileNotFoundException>(() => CifarDataset.Load(CifarDataset.Cifar10, true, TestFiles.TempDir(), cacheRoot: TestFiles.TempDir()));
        Assert.Contains("--data", ex.Message);
        Assert.Contains("--download", ex.Message);
        Assert.Contains("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz", ex.Message);
    }

    static string Md5(string path) => Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(path)));

    [Fact]
    public void ExtractsAnArchiveFoundInTheDataFolder()
    {
        var dir = TestFiles.TempDir("ds-cifar");
        var archive = Path.Combine(dir, "cifar-10-binary.tar.gz");
        TestFiles.WriteTarGz(archive, Cifar10Files("cifar-10-batches-bin/"));
        var spec = CifarDataset.Cifar10 with { Archive = new("cifar-10-binary.tar.gz", Md5(archive)) };
        var ds = CifarDataset.Load(spec, true, dir, cacheRoot: TestFiles.TempDir());
        Assert.Equal(10, ds.Count);
        Assert.True(File.Exists(Path.Combine(dir, "cifar-10-batches-bin", "test_batch.bin")));

        var other = TestFiles.TempDir("ds-cifar");
        File.Copy(archive, Path.Combine(other, "cifar-10-binary.tar.gz"));
        var ex = Assert.Throws<InvalidDataException>(() => CifarDataset.Load(CifarDataset.Cifar10, true, other, cacheRoot: TestFiles.TempDir()));
        Assert.Contains("expected c32a1d4ab5d03f1284b67883e8d87530", ex.Message);
    }

    [Fact]
    public void DownloadsFromLocalServerIntoTheCache()
    {
        var served = TestFiles.TempDir("ds-served");
        var archive = Path.Combine(served, "cifar-100-binary.tar.gz");
        TestFiles.WriteTarGz(archive,
            ("cifar-100-binary/train.bin", Records(0, 2, [1, 2], [3, 4])), ("cifar-100-binary/test.bin", Records(9, 1, [5, 6])),
            ("cifar-100-binary/fine_label_names.txt", "a\nb\nc\nd\ne\nf\ng\n"u8.ToArray()));
        using var server = new LocalServer(served);
        var spec = CifarDataset.Cifar100 with { Mirrors = [server.Url + "missing/", server.Url], Archive = new("cifar-100-binary.tar.gz", Md5(archive)) };
        var cache = TestFiles.TempDir("ds-cache");
        var log = new StringWriter();
        var test = CifarDataset.Load(spec, train: false, download: true, cacheRoot: cache, log: log);
        Assert.Equal(new long[] { 6 }, test.Labels.ToArray<long>());
        Assert.Equal("g", test.Classes[6]);
        Assert.Equal(Path.Combine(cache, "cifar-100", "cifar-100-binary"), test.Source);
        Assert.Contains("Downloading", log.ToString());
        Assert.Contains("Extracting", log.ToString());
        int requests = server.Requests;
        Assert.True(requests >= 2);   // the missing mirror, then the good one
        var train = CifarDataset.Load(spec, train: true, download: true, cacheRoot: cache);
        Assert.Equal(new long[] { 2, 4 }, train.Labels.ToArray<long>());
        Assert.Equal(requests, server.Requests);   // served from the cache

        var bad = spec with { Name = "cifar-100-bad", Archive = new("cifar-100-binary.tar.gz", "00000000000000000000000000000000") };
        Assert.Contains("checksum", Assert.Throws<IOException>(() => CifarDataset.Load(bad, true, download: true, cacheRoot: cache)).Message);
    }

    [Fact]
    public void TarExtractionRefusesPathsOutsideTheDestination()
    {
        var dir = TestFiles.TempDir("ds-tar");
        var archive = Path.Combine(dir, "evil.tar.gz");
        TestFiles.WriteTarGz(archive, ("ok/a.txt", [1, 2, 3]), ("../escaped.txt", [4]));
        var dest = Path.Combine(dir, "out");
        var ex = Assert.Throws<InvalidDataException>(() => Archives.ExtractTar(archive, dest));
        Assert.Contains("outside the destination", ex.Message);
        Assert.False(File.Exists(Path.Combine(dir, "escaped.txt")));
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(dest, "ok", "a.txt")));

        var truncated = Path.Combine(dir, "cut.tar.gz");
        TestFiles.WriteTarGz(truncated, ("big.bin", new byte[100_000]));
        var bytes = File.ReadAllBytes(truncated);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.Contains("corrupt or truncated", Assert.Throws<InvalidDataException>(() => Archives.ExtractTar(truncated, Path.Combine(dir, "out2"))).Message);
    }

    [Fact]
    public void TransformIsAppliedPerItemWithTheLoaderGenerator()
    {
        var dir = WriteFolder(Cifar10Files());
        var ds = CifarDataset.Load(CifarDataset.Cifar10, true, dir, cacheRoot: TestFiles.TempDir())
            .WithTransform(new Compose(new RandomCrop(32, padding: 4), new RandomHorizontalFlip()));
        Tensor[][] Run(int workers) => new DataLoader(ds, batchSize: 3, shuffle: true, numWorkers: workers, generator: new Generator(11)).ToArray();
        var a = Run(0); var b = Run(2);
        Assert.Equal(a.Length, b.Length);
        for (int k = 0; k < a.Length; k++)
        {
            Assert.Equal(a[k][0].ToArray<float>(), b[k][0].ToArray<float>());
            Assert.Equal(a[k][1].ToArray<long>(), b[k][1].ToArray<long>());
        }
        var plain = ds.WithTransform(null);
        Assert.NotEqual(plain.GetBatch([0, 1, 2])[0].ToArray<float>(), ds.GetBatch([0, 1, 2])[0].ToArray<float>());
    }
}
