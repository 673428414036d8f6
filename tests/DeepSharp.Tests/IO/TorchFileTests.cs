using System.IO.Compression;
using System.Text.Json;
using DeepSharp.IO;
using DeepSharp.NN;

namespace DeepSharp.Tests.IO;

/// <summary>
/// TorchFile against files PyTorch 1.13 wrote (tools/golden/torch_checkpoint.py): the zip and legacy formats, every
/// storage dtype, views sharing a storage, nested checkpoints, a malicious pickle; and files DeepSharp writes.
/// </summary>
public class TorchFileTests
{
    static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "IO", "Fixtures");

    static readonly Dictionary<string, DType> LoadedAs = new()
    {
        ["float32"] = DType.Float32, ["float16"] = DType.Float32, ["bfloat16"] = DType.Float32, ["float64"] = DType.Float64,
        ["int64"] = DType.Int64, ["int32"] = DType.Int32, ["int16"] = DType.Int32, ["int8"] = DType.Int32, ["uint8"] = DType.Int32,
        ["bool"] = DType.Bool,
    };

    static void AssertMatchesPyTorch(Dictionary<string, Tensor> loaded)
    {
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(Fixtures, "torch_expected.json")));
        var cases = expected.RootElement.EnumerateObject().ToList();
        Assert.Equal(cases.Select(c => c.Name), loaded.Keys);                      // the file's order
        foreach (var c in cases)
        {
            var t = loaded[c.Name];
            Assert.Equal(LoadedAs[c.Value.GetProperty("dtype").GetString()!], t.DType);
            Assert.Equal(c.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), t.Shape);
            Assert.True(t.IsContiguous, c.Name);
            var want = c.Value.GetProperty("values").EnumerateArray().Select(v => v.GetDouble()).ToArray();
            double[] got = t.DType == DType.Bool ? t.ToArray<bool>().Select(b => b ? 1.0 : 0.0).ToArray() : t.To(DType.Float64).ToArray<double>();
            Assert.Equal(want, got);                                                 // exact: every value is representable
        }
    }

    [Fact]
    public void LoadsEveryDTypeAndViewFromTheZipFormat() => AssertMatchesPyTorch(TorchFile.LoadStateDict(Path.Combine(Fixtures, "torch_zip.pth")));

    [Fact]
    public void LoadsTheLegacyFormat() => AssertMatchesPyTorch(TorchFile.LoadStateDict(Path.Combine(Fixtures, "torch_legacy.pth")));

    [Fact]
    public void ViewsOfOneStorageLoadAsIndependentTensors()
    {
        var sd = TorchFile.LoadStateDict(Path.Combine(Fixtures, "torch_zip.pth"));
        Assert.Equal(sd["f32"].T.ToArray<float>(), sd["f32_transposed"].ToArray<float>());
        Assert.Equal(sd["f32"].Select(0, 2).ToArray<float>(), sd["f32_row"].ToArray<float>());
        sd["f32"].FillInPlace(0);
        Assert.NotEqual(0f, sd["f32_row"].ToArray<float>()[0]);                   // not sharing memory
    }

    [Fact]
    public void LoadsANestedTrainingCheckpoint()
    {
        string path = Path.Combine(Fixtures, "torch_nested.pth");
        var root = Assert.IsAssignableFrom<IReadOnlyDictionary<string, object?>>(TorchFile.Load(path));
        Assert.Equal(["epoch", "model", "lr", "names", "shape", "flag", "none"], root.Keys);
        Assert.Equal(3L, root["epoch"]);
        Assert.Equal(0.1, root["lr"]);
        Assert.Equal(["a", "b"], Assert.IsType<List<object?>>(root["names"]));
        Assert.Equal([2L, 3L], Assert.IsType<object?[]>(root["shape"]));
        Assert.Equal(true, root["flag"]);
        Assert.Null(root["none"]);
        // the state dict under "model" goes into a DeepSharp module with the same layout
        var net = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
        var sd = TorchFile.LoadStateDict(path);
        Assert.Equal(["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"], sd.Keys);
        var result = net.LoadStateDict(sd);
        Assert.Empty(result.MissingKeys); Assert.Empty(result.UnexpectedKeys);
        Assert.Equal(sd["0.weight"].ToArray<float>(), net.StateDict()["0.weight"].ToArray<float>());
        Assert.All(net.StateDict()["1.running_mean"].ToArray<float>(), v => Assert.Equal(0.25f, v));
    }

    [Fact]
    public void AMaliciousPickleIsRefusedAndNothingRuns()
    {
        var e = Assert.Throws<InvalidDataException>(() => TorchFile.Load(Path.Combine(Fixtures, "torch_malicious.pth")));
        Assert.Contains("refused to load 'posix.system'", e.Message);
        Assert.Contains("torch_malicious.pth", e.Message);
    }

    [Fact]
    public void RoundTripsEveryDTypeAndTheZipLayoutIsTorchs()
    {
        using var dir = new TempDir();
        string path = dir.File("my model.pth");
        var state = new Dictionary<string, Tensor>
        {
            ["w"] = Tensor.Randn(3, 4), ["w_t"] = Tensor.Randn(4, 3).T, ["d"] = Tensor.Randn([2, 2], DType.Float64),
            ["steps"] = Tensor.Scalar(7L, DType.Int64), ["i"] = Tensor.FromArray(new[] { -1, 2 }), ["mask"] = Tensor.FromArray(new[] { true, false }),
            ["empty"] = Tensor.Zeros([0, 5]), ["big"] = Tensor.Full([300], 1.5f),
        };
        TorchFile.Save(path, state);
        var back = TorchFile.LoadStateDict(path);
        Assert.Equal(state.Keys, back.Keys);
        foreach (var (k, v) in state)
        {
            Assert.Equal(v.DType, back[k].DType);
            Assert.Equal(v.Shape, back[k].Shape);
            Assert.True(v.Contiguous().Eq(back[k]).All().Item<bool>() || v.NumEl == 0, k);
        }
        using var zip = ZipFile.OpenRead(path);
        Assert.Equal(["my_model/data.pkl", .. Enumerable.Range(0, state.Count).Select(i => $"my_model/data/{i}"), "my_model/version"],
                     zip.Entries.Select(e => e.FullName));
        Assert.All(zip.Entries, e => Assert.Equal(e.Length, e.CompressedLength));   // stored, as torch.save writes
        Assert.Equal(12 * 4, zip.GetEntry("my_model/data/0")!.Length);
    }

    /// <summary>Writes the file that tools/golden/torch_checkpoint.py check loads with torch.load (DEEPSHARP_TORCH_OUT keeps it).</summary>
    [Fact]
    public void WritesTorchFileForPyTorch()
    {
        using var dir = new TempDir();
        string path = Environment.GetEnvironmentVariable("DEEPSHARP_TORCH_OUT") is { Length: > 0 } kept ? kept : dir.File("ds.pth");
        var net = new Sequential(new Linear(3, 2), new BatchNorm1d(2));
        var state = net.StateDict().ToDictionary(kv => "net." + kv.Key, kv => kv.Value);
        state["transposed"] = Tensor.Arange(0, 6, dtype: DType.Float32).Reshape(2, 3).T;
        state["f64"] = Tensor.FromArray(new[] { 1e-300, -2.5 });
        state["mask"] = Tensor.FromArray(new[] { true, false, true });
        state["i32"] = Tensor.FromArray(new[] { int.MinValue, 5 });
        TorchFile.Save(path, state);
        var torchNames = new Dictionary<DType, string> { [DType.Float32] = "float32", [DType.Float64] = "float64", [DType.Int64] = "int64", [DType.Int32] = "int32", [DType.Bool] = "bool" };
        File.WriteAllText(path + ".json", JsonSerializer.Serialize(state.ToDictionary(kv => kv.Key, kv => new
        {
            dtype = torchNames[kv.Value.DType], shape = kv.Value.Shape,
            values = kv.Value.DType == DType.Bool ? kv.Value.ToArray<bool>().Select(b => b ? 1.0 : 0.0).ToArray() : kv.Value.To(DType.Float64).ToArray<double>(),
        })));
        Assert.Equal(state.Keys, TorchFile.LoadStateDict(path).Keys);
    }

    [Fact]
    public void AFailedSaveKeepsThePreviousFile()
    {
        using var dir = new TempDir();
        string path = dir.File("keep.pth");
        TorchFile.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(2) });
        var before = File.ReadAllBytes(path);
        Tensor released;
        using (TensorScope.Begin()) released = Tensor.Ones(3) * 2f;                   // its memory goes back to the pool
        Assert.Throws<ObjectDisposedException>(() => TorchFile.Save(path, new Dictionary<string, Tensor> { ["a"] = Tensor.Ones(2), ["b"] = released }));
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Single(Directory.GetFiles(dir.Path));                                  // no temporary left behind
        Assert.Contains("appears twice", Assert.Throws<ArgumentException>(() =>
            TorchFile.Save(path, [new("a", Tensor.Ones(1)), new("a", Tensor.Ones(1))])).Message);
    }

    [Fact]
    public void CorruptAndForeignFilesGiveClearErrors()
    {
        using var dir = new TempDir();
        Assert.Throws<FileNotFoundException>(() => TorchFile.Load(dir.File("missing.pth")));
        string text = dir.File("text.pth");
        File.WriteAllText(text, "hello, not a checkpoint");
        Assert.Contains("text.pth", Assert.Throws<InvalidDataException>(() => TorchFile.Load(text)).Message);
        var legacy = File.ReadAllBytes(Path.Combine(Fixtures, "torch_legacy.pth"));
        string cut = dir.File("cut.pth");
        File.WriteAllBytes(cut, legacy[..(legacy.Length - 10)]);
        Assert.Throws<InvalidDataException>(() => TorchFile.Load(cut));
        string nested = Path.Combine(Fixtures, "torch_nested.pth");
        var tensorsOnly = dir.File("list.pth");
        File.Copy(Path.Combine(Fixtures, "torch_zip.pth"), tensorsOnly);
        Assert.Equal(22, TorchFile.LoadStateDict(tensorsOnly).Count);
        Assert.NotNull(TorchFile.LoadStateDict(nested));
    }

    /// <summary>Seeded byte mutations of both formats: each load succeeds or throws InvalidDataException, never anything else.</summary>
    [Fact]
    public void MutatedFilesNeverCrashTheReader()
    {
        using var dir = new TempDir();
        var rng = new System.Random(1234);
        foreach (var name in new[] { "torch_legacy.pth", "torch_zip.pth" })
        {
            var original = File.ReadAllBytes(Path.Combine(Fixtures, name));
            for (int trial = 0; trial < 150; trial++)
            {
                var bytes = (byte[])original.Clone();
                for (int k = rng.Next(1, 4); k > 0; k--) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
                string path = dir.File($"m{trial}.pth");
                File.WriteAllBytes(path, bytes);
                try { TorchFile.Load(path); }
                catch (InvalidDataException) { }
            }
        }
    }
}
