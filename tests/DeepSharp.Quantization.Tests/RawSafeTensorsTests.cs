using System.Buffers.Binary;
using System.Collections;
using System.Text;
using DeepSharp.Quantization;

namespace DeepSharp.Quantization.Tests;

/// <summary>RawSafeTensors: atomic saves, and every malformed header refused with an InvalidDataException naming the file
/// and the tensor (never a KeyNotFound, JSON or IndexOutOfRange exception).</summary>
public class RawSafeTensorsTests : IDisposable
{
    readonly string dir = Path.Combine(Path.GetTempPath(), $"deepsharp-rawst-{Guid.NewGuid():N}");

    public RawSafeTensorsTests() => Directory.CreateDirectory(dir);

    public void Dispose() => Directory.Delete(dir, recursive: true);

    static readonly Dictionary<string, string> NoMetadata = [];

    /// <summary>A file with <paramref name="header"/> as its JSON header and <paramref name="data"/> after it.</summary>
    string Write(string header, byte[] data, ulong? headerLength = null)
    {
        var json = Encoding.UTF8.GetBytes(header);
        var bytes = new byte[8 + json.Length + data.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, headerLength ?? (ulong)json.Length);
        json.CopyTo(bytes, 8);
        data.CopyTo(bytes, 8 + json.Length);
        var path = Path.Combine(dir, $"{Guid.NewGuid():N}.safetensors");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [Fact]
    public void RoundTripsEveryTensorAndTheMetadata()
    {
        var path = Path.Combine(dir, "ok.safetensors");
        var tensors = new Dictionary<string, RawTensor>
        {
            ["b"] = new("I8", [2, 3], [1, 2, 3, 255, 254, 0]),
            ["a"] = RawTensor.F32([1.5f, -2f], 2),
            ["z"] = RawTensor.I64([7L], 1),
            ["empty"] = new("U8", [0, 4], []),
        };
        RawSafeTensors.Save(path, tensors, new Dictionary<string, string> { ["k"] = "v" });
        var (loaded, metadata) = RawSafeTensors.Load(path);
        Assert.Equal("v", metadata["k"]);
        Assert.Equal("v", RawSafeTensors.ReadMetadata(path)["k"]);
        Assert.Equal(tensors.Keys.Order(), loaded.Keys.Order());
        foreach (var (name, t) in tensors)
        {
            Assert.Equal(t.DType, loaded[name].DType);
            Assert.Equal(t.Shape, loaded[name].Shape);
            Assert.Equal(t.Bytes, loaded[name].Bytes);
        }
    }

    public static TheoryData<string, string, int, string> MalformedHeaders => new()
    {
        // header, tensor named in the message (or ""), data bytes, words of the message
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]", "", 8, "not valid JSON" },
        { "[1, 2]", "", 0, "not a JSON object" },
        { "{\"w\": 5}", "w", 0, "is not a JSON object" },
        { "{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", "w", 8, "'dtype'" },
        { "{\"w\": {\"dtype\": \"Q7\", \"shape\": [2], \"data_offsets\": [0, 8]}}", "w", 8, "unknown dtype 'Q7'" },
        { "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", "w", 8, "'shape'" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [\"2\"], \"data_offsets\": [0, 8]}}", "w", 8, "non-integer 'shape'" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", "w", 8, "dimension -2" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", "w", 8, "'data_offsets'" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", "w", 8, "1 data offsets" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", "w", 8, "out of order" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 80]}}", "w", 8, "(80 bytes)" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", "w", 8, "12 bytes" },
        { "{\"w\": {\"dtype\": \"I64\", \"shape\": [2], \"data_offsets\": [0, 8]}}", "w", 8, "16 bytes" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 16]}}", "w", 16, "starts at byte 8" },
        { "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}, \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", "b", 8, "overlap" },
        { "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", "", 12, "data section holds 12" },
        { "{\"__metadata__\": {\"k\": 3}}", "", 0, "metadata 'k'" },
        { "{\"__metadata__\": [1]}", "", 0, "'__metadata__'" },
    };

    [Theory]
    [MemberData(nameof(MalformedHeaders))]
    public void AMalformedHeaderIsInvalidDataNamingTheFileAndTensor(string header, string tensor, int dataBytes, string words)
    {
        var path = Write(header, new byte[dataBytes]);
        var e = Assert.Throws<InvalidDataException>(() => RawSafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        if (tensor.Length > 0) Assert.Contains($"'{tensor}'", e.Message);
        Assert.Contains(words, e.Message);
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1000UL)]
    [InlineData(ulong.MaxValue)]
    public void ABadHeaderLengthIsInvalidData(ulong headerLength)
    {
        var path = Write("{}", [], headerLength);
        var e = Assert.Throws<InvalidDataException>(() => RawSafeTensors.Load(path));
        Assert.Contains(path, e.Message);
        Assert.Contains($"header length {headerLength}", e.Message);
        Assert.Throws<InvalidDataException>(() => RawSafeTensors.ReadMetadata(path));
    }

    [Fact]
    public void AFileShorterThanTheLengthIsInvalidData()
    {
        var path = Path.Combine(dir, "short.safetensors");
        File.WriteAllBytes(path, [1, 2, 3]);
        Assert.Contains("shorter than 8 bytes", Assert.Throws<InvalidDataException>(() => RawSafeTensors.Load(path)).Message);
        Assert.Contains("shorter than 8 bytes", Assert.Throws<InvalidDataException>(() => RawSafeTensors.ReadMetadata(path)).Message);
        var json = Write("{\"__metadata__\": {\"k\": ", []);
        Assert.Contains("not valid JSON", Assert.Throws<InvalidDataException>(() => RawSafeTensors.ReadMetadata(json)).Message);
    }

    [Fact]
    public void ATensorWhoseBytesDoNotMatchItsShapeIsNotSavedAndTheOldFileIsKept()
    {
        var path = Path.Combine(dir, "keep.safetensors");
        RawSafeTensors.Save(path, new Dictionary<string, RawTensor> { ["w"] = RawTensor.F32([1f, 2f], 2) }, NoMetadata);
        var before = File.ReadAllBytes(path);
        var e = Assert.Throws<ArgumentException>(() => RawSafeTensors.Save(path, new Dictionary<string, RawTensor> { ["w"] = new("F32", [3], new byte[8]) }, NoMetadata));
        Assert.Contains("'w'", e.Message);
        Assert.Throws<ArgumentException>(() => RawSafeTensors.Save(path, new Dictionary<string, RawTensor> { ["w"] = new("F31", [2], new byte[8]) }, NoMetadata));
        Assert.Equal(before, File.ReadAllBytes(path));
    }

    /// <summary>Tensors whose values fail to come once the header is written (a lazily computed tensor that throws):
    /// the indexer answers the first <c>allowed</c> look-ups, then throws.</summary>
    sealed class FailingTensors(Dictionary<string, RawTensor> inner, int allowed) : IReadOnlyDictionary<string, RawTensor>
    {
        int lookups;
        public RawTensor this[string key] => ++lookups > allowed ? throw new IOException("simulated failure while writing") : inner[key];
        public IEnumerable<string> Keys => inner.Keys;
        public IEnumerable<RawTensor> Values => inner.Values;
        public int Count => inner.Count;
        public bool ContainsKey(string key) => inner.ContainsKey(key);
        public bool TryGetValue(string key, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out RawTensor value) => inner.TryGetValue(key, out value);
        public IEnumerator<KeyValuePair<string, RawTensor>> GetEnumerator() => inner.GetEnumerator();
        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }

    [Fact]
    public void ASaveThatFailsWhileWritingKeepsTheOldFile()
    {
        var path = Path.Combine(dir, "old.safetensors");
        RawSafeTensors.Save(path, new Dictionary<string, RawTensor> { ["w"] = RawTensor.F32([1f, 2f], 2) }, new Dictionary<string, string> { ["v"] = "1" });
        var before = File.ReadAllBytes(path);
        var tensors = new Dictionary<string, RawTensor> { ["a"] = RawTensor.F32([3f], 1), ["b"] = RawTensor.F32([4f, 5f, 6f], 3) };
        // every tensor is looked up for the checks and the header (2 · count), then again while its bytes are written
        var e = Assert.Throws<IOException>(() => RawSafeTensors.Save(path, new FailingTensors(tensors, 2 * tensors.Count + 1), NoMetadata));
        Assert.Contains("simulated", e.Message);
        Assert.Equal(before, File.ReadAllBytes(path));
        Assert.Equal("1", RawSafeTensors.Load(path).Metadata["v"]);
        Assert.Equal([Path.GetFileName(path)], Directory.GetFiles(dir).Select(Path.GetFileName));   // no temporary left behind
    }
}
