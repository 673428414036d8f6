using System.Net;
using System.Security.Cryptography;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Vision.Tests;

public class DatasetTests
{
    static string TempDir()
    {
        var d = Path.Combine(Path.GetTempPath(), "ds-vision-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(d);
        return d;
    }

    static (byte[] Images, byte[] Labels) WriteTiny(string dir, bool gzip, int n = 5)
    {
        var images = new byte[n * 28 * 28];
        for (int i = 0; i < images.Length; i++) images[i] = (byte)(i % 251);
        var labels = Enumerable.Range(0, n).Select(i => (byte)(i % 10)).ToArray();
        string ext = gzip ? ".gz" : "";
        Idx.WriteBytes(Path.Combine(dir, "train-images-idx3-ubyte" + ext), images, [n, 28, 28], gzip);
        Idx.WriteBytes(Path.Combine(dir, "train-labels-idx1-ubyte" + ext), labels, [n], gzip);
        return (images, labels);
    }

    [Theory]
    [InlineData(true)] [InlineData(false)]
    public void ReadsIdxFromDataFolder(bool gzip)
    {
        var dir = TempDir();
        var (images, labels) = WriteTiny(dir, gzip);
        var ds = MnistDataset.Load(MnistDataset.FashionMnist, train: true, dataDir: dir, cacheRoot: TempDir(), verify: false);
        Assert.Equal([5, 1, 28, 28], ds.Images.Shape);
        Assert.Equal(images[100] / 255f, (float)ds.Images.At(0, 0, 3, 16), 6);
        Assert.Equal(labels.Select(b => (long)b), ds.Labels.ToArray<long>());
        Assert.Equal(dir, ds.Source);
    }

    [Fact]
    public void AsDatasetKeepsBytesAndGivesTheValuesOfImages()
    {
        var dir = TempDir();
        WriteTiny(dir, gzip: true);
        var ds = MnistDataset.Load(MnistDataset.FashionMnist, train: true, dataDir: dir, cacheRoot: TempDir(), verify: false);
        var items = ds.AsDataset();
        Assert.Equal(5, items.Count);
        var batch = items.GetBatch([4, 0, 2]);
        Assert.Equal([3, 1, 28, 28], batch[0].Shape);
        Assert.Equal(DType.Float32, batch[0].DType);
        // bit for bit the float tensor converted at once, so training on either gives the same weights
        Assert.Equal(Tensor.Stack([ds.Images.Select(0, 4), ds.Images.Select(0, 0), ds.Images.Select(0, 2)]).ToArray<float>(), batch[0].ToArray<float>());
        Assert.Equal(new[] { ds.Labels.ToArray<long>()[4], ds.Labels.ToArray<long>()[0], ds.Labels.ToArray<long>()[2] }, batch[1].ToArray<long>());
        var item = items.Get(3);
        Assert.Equal([1, 28, 28], item[0].Shape);
        Assert.Equal(ds.Images.Select(0, 3).ToArray<float>(), item[0].ToArray<float>());
        Assert.Equal(ds.Labels.ToArray<long>()[3], item[1].Item<long>());
        Assert.Equal(ds.Take(2).Images.ToArray<float>(), ds.Images.Narrow(0, 0, 2).ToArray<float>());
    }

    [Fact]
    public void MissingDataGivesActionableError()
    {
        var spec = MnistDataset.FashionMnist with { SystemFolder = "/nonexistent" };
        var ex = Assert.Throws<FileNotFoundException>(() => MnistDataset.Load(spec, true, cacheRoot: TempDir()));
        Assert.Contains("--data", ex.Message);
        Assert.Contains("apt-get install dataset-fashion-mnist", ex.Message);
    }

    [Fact]
    public void CorruptIdxGivesClearError()
    {
        var dir = TempDir();
        var path = Path.Combine(dir, "bad");
        File.WriteAllBytes(path, [0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3]);
        var ex = Assert.Throws<InvalidDataException>(() => Idx.ReadBytes(path));
        Assert.Contains("header promises", ex.Message);
    }

    [Fact]
    public void DownloadsFromLocalServerAndVerifiesChecksums()
    {
        var served = TempDir();
        WriteTiny(served, gzip: true);
        string Md5(string f) => Convert.ToHexStringLower(MD5.HashData(File.ReadAllBytes(Path.Combine(served, f))));
        int port = 0;
        HttpListener? listener = null;
        for (int attempt = 0; attempt < 20 && listener == null; attempt++)
        {
            port = System.Random.Shared.Next(20000, 60000);
            var l = new HttpListener(); l.Prefixes.Add($"http://127.0.0.1:{port}/");
            try { l.Start(); listener = l; } catch (HttpListenerException) { }
        }
        Assert.NotNull(listener);
        int requests = 0;
        var serverTask = Task.Run(() =>
        {
            while (listener!.IsListening)
            {
                HttpListenerContext ctx;
                try { ctx = listener.GetContext(); } catch { return; }
                Interlocked.Increment(ref requests);
                var file = Path.Combine(served, Path.GetFileName(ctx.Request.Url!.AbsolutePath));
                if (File.Exists(file)) { var bytes = File.ReadAllBytes(file); ctx.Response.OutputStream.Write(bytes); }
                else ctx.Response.StatusCode = 404;
                ctx.Response.Close();
            }
        }, TestContext.Current.CancellationToken);
        try
        {
            var good = new MnistDataset.Spec("tiny", [$"http://127.0.0.1:{port}/missing/", $"http://127.0.0.1:{port}/"],
                new("train-images-idx3-ubyte.gz", Md5("train-images-idx3-ubyte.gz")), new("train-labels-idx1-ubyte.gz", Md5("train-labels-idx1-ubyte.gz")),
                new("t10k-images-idx3-ubyte.gz", "0"), new("t10k-labels-idx1-ubyte.gz", "0"), null, MnistDataset.FashionClasses);
            var cache = TempDir();
            var ds = MnistDataset.Load(good, train: true, download: true, cacheRoot: cache);
            Assert.Equal(5, ds.Count);
            Assert.True(File.Exists(Path.Combine(cache, "tiny", "train-images-idx3-ubyte.gz")));
            Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tiny"), "*.part-*"));

            var bad = good with { Name = "tiny-bad", TrainImages = new("train-images-idx3-ubyte.gz", "00000000000000000000000000000000") };
            var ex = Assert.Throws<IOException>(() => MnistDataset.Load(bad, train: true, download: true, cacheRoot: cache));
            Assert.Contains("checksum", ex.Message);
            Assert.Empty(Directory.GetFiles(Path.Combine(cache, "tiny-bad")));
        }
        finally { listener!.Stop(); listener.Close(); }
        Assert.True(requests >= 3);
    }

    [Fact]
    public void LoadsRealFashionMnistWhenInstalled()
    {
        Requires.FashionMnist();
        var test = MnistDataset.LoadFashion(train: false);
        Assert.Equal(10000, test.Count);
        Assert.Equal([10000, 1, 28, 28], test.Images.Shape);
        var counts = new int[10];
        foreach (var l in test.Labels.ToArray<long>()) counts[l]++;
        Assert.All(counts, c => Assert.Equal(1000, c));
    }

    [Fact]
    public void ALimitDecodesOnlyTheFirstExamples()
    {
        Requires.FashionMnist();
        var whole = MnistDataset.LoadFashion(train: false);
        var first = MnistDataset.Load(MnistDataset.FashionMnist, train: false, limit: 250);
        Assert.Equal(250, first.Count);
        Assert.Equal(new[] { 250, 1, 28, 28 }, first.Images.Shape.ToArray());
        Assert.Equal(whole.Take(250).Images.ToArray<float>(), first.Images.ToArray<float>());
        Assert.Equal(whole.Take(250).Labels.ToArray<long>(), first.Labels.ToArray<long>());
        Assert.Equal(10_000, MnistDataset.Load(MnistDataset.FashionMnist, train: false, limit: 50_000).Count);   // more than there are: all
        Assert.Throws<ArgumentOutOfRangeException>(() => MnistDataset.Load(MnistDataset.FashionMnist, train: false, limit: -1));
    }
}
