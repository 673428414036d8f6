using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using DeepSharp.IO;

namespace DeepSharp.Tests.IO;

public class SafeTensorsTests
{
    static readonly float[] FloatSpecials =
    [
        float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 0f, float.Epsilon, -1e-40f, float.MaxValue, float.MinValue,
        BitConverter.UInt32BitsToSingle(0x7FA00001), BitConverter.UInt32BitsToSingle(0xFFC12345), 1f / 3,
    ];

    static readonly double[] DoubleSpecials =
    [
        double.NaN, double.PositiveInfinity, double.NegativeInfinity, -0.0, 0.0, double.Epsilon, double.MaxValue,
        BitConverter.UInt64BitsToDouble(0x7FF0000000000001), 1.0 / 3, -2.5e-300,
    ];

    static void AssertBitsEqual(Tensor expected, Tensor actual, string name)
    {
        Assert.True(expected.DType == actual.DType, $"{name}: dtype {actual.DType} vs {expected.DType}");
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{name}: shape {TestUtil.Fmt(actual.Shape)} vs {TestUtil.Fmt(expected.Shape)}");
        switch (expected.DType)
        {
            case DType.Float32:
                Assert.Equal(expected.ToArray<float>().Select(BitConverter.SingleToUInt32Bits), actual.ToArray<float>().Select(BitConverter.SingleToUInt32Bits)); break;
            case DType.Float64:
                Assert.Equal(expected.ToArray<double>().Select(BitConverter.DoubleToUInt64Bits), actual.ToArray<double>().Select(BitConverter.DoubleToUInt64Bits)); break;
            case DType.Int64: Assert.Equal(expected.ToArray<long>(), actual.ToArray<long>()); break;
            case DType.Int32: Assert.Equal(expected.ToArray<int>(), actual.ToArray<int>()); break;
            case DType.Bool: Assert.Equal(expected.ToArray<bool>(), actual.ToArray<bool>()); break;
        }
    }

    static Dictionary<string, Tensor> EveryDType() => new()
    {
        ["f32"] = Tensor.FromArray(FloatSpecials, 3, 4),
        ["f64"] = Tensor.FromArray(DoubleSpecials, 2, 5),
        ["i64"] = Tensor.FromArray(new[] { long.MinValue, -1L, 0, 1, long.MaxValue }),
        ["i32"] = Tensor.FromArray(new[] { int.MinValue, -1, 0, 7, int.MaxValue }, 5, 1),
        ["mask"] = Tensor.FromArray(new[] { true, false, false, true, true }),
        ["scalar"] = Tensor.Scalar(-4.5, DType.Float64),
        ["empty"] = Tensor.Zeros(0, 3),
        ["transposed"] = Tensor.Arange(0, 6, dtype: DType.Float32).Reshape(2, 3).T,   // non-contiguous view
    };

    [Fact]
    public void RoundTripIsBitExactForEveryDType()
    {
        var tensors = EveryDType();
        var metadata = new Dictionary<string, string> { ["a"] = "1", ["unicode"] = "é ✓ \"q\" <b>" };
        using var dir = new TempDir();
        string path = dir.File("all.safetensors");
        SafeTensors.Save(path, tensors, metadata);
        var (loaded, loadedMetadata) = SafeTensors.LoadWithMetadata(path);
        Assert.Equal(tensors.Keys, loaded.Keys);   // header order is the caller's order
        foreach (var (name, tensor) in tensors) AssertBitsEqual(tensor, loaded[name], name);
        Assert.Equal(metadata, loadedMetadata);

        // bytes and streams give the same
        var bytes = SafeTensors.Serialize(tensors, metadata);
        Assert.Equal(File.ReadAllBytes(path), bytes);
        foreach (var (name, tensor) in SafeTensors.Load(bytes)) AssertBitsEqual(tensors[name], tensor, name);
        using var nonSeekable = new NonSeekableStream(bytes);
        foreach (var (name, tensor) in SafeTensors.Load(nonSeekable)) AssertBitsEqual(tensors[name], tensor, name);
    }

    [Fact]
    public void LayoutFollowsTheSpec()
    {
        var bytes = SafeTensors.Serialize(EveryDType(), new Dictionary<string, string> { ["k"] = "v" });
        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0UL, n % 8);
        Assert.Equal((byte)'{', bytes[8]);
        var headerText = Encoding.UTF8.GetString(bytes, 8, (int)n);
        Assert.Equal(headerText.TrimEnd(' ').Length + (int)(n - (ulong)headerText.TrimEnd(' ').Length), headerText.Length);
        using var header = JsonDocument.Parse(headerText);
        Assert.Equal("v", header.RootElement.GetProperty("__metadata__").GetProperty("k").GetString());
        var f32 = header.RootElement.GetProperty("f32");
        Assert.Equal("F32", f32.GetProperty("dtype").GetString());
        Assert.Equal([3, 4], f32.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal("BOOL", header.RootElement.GetProperty("mask").GetProperty("dtype").GetString());
        Assert.Empty(header.RootElement.GetProperty("scalar").GetProperty("shape").EnumerateArray());
        // every tensor starts at a multiple of its element size; together they tile the data section
        var info = SafeTensors.ReadHeader(new MemoryStream(bytes));
        foreach (var t in info.Tensors) Assert.Equal(0, t.Begin % t.DType.ElementSize());
        Assert.Equal(bytes.Length - 8 - (long)n, info.DataLength);
        // the transposed view was written in row-major order of its logical shape
        var transposed = info.Tensors.Single(t => t.Name == "transposed");
        var raw = bytes.AsSpan(8 + (int)n + (int)transposed.Begin, 24);
        Assert.Equal([0f, 3, 1, 4, 2, 5], System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(raw).ToArray());
    }

    [Fact]
    public void HalfAndBFloat16ConversionsMatchKnownValues()
    {
        float[] values = [1f, -2f, 0.1f, 65504f, 65520f, 1e-8f, 6e-8f, float.NegativeInfinity, float.NaN, -0f,
                          BitConverter.UInt32BitsToSingle(0x3F808000), BitConverter.UInt32BitsToSingle(0x3F818000), 3.0e38f];
        ushort[] half = [0x3C00, 0xC000, 0x2E66, 0x7BFF, 0x7C00, 0x0000, 0x0001, 0xFC00, 0 /*NaN*/, 0x8000, 0x3C04, 0x3C0C, 0x7C00];
        ushort[] bf16 = [0x3F80, 0xC000, 0x3DCD, 0x4780, 0x4780, 0x322C, 0x3381, 0xFF80, 0 /*NaN*/, 0x8000, 0x3F80, 0x3F82, 0x7F62];
        for (int i = 0; i < values.Length; i++)
        {
            if (float.IsNaN(values[i]))
            {
                Assert.True(float.IsNaN(HalfConversion.HalfToSingle(HalfConversion.SingleToHalf(values[i]))));
                Assert.True(float.IsNaN(HalfConversion.BFloat16ToSingle(HalfConversion.SingleToBFloat16(values[i]))));
                continue;
            }
            Assert.True(half[i] == HalfConversion.SingleToHalf(values[i]), $"half of {values[i]:R}: {HalfConversion.SingleToHalf(values[i]):X4} vs {half[i]:X4}");
            Assert.True(bf16[i] == HalfConversion.SingleToBFloat16(values[i]), $"bf16 of {values[i]:R}: {HalfConversion.SingleToBFloat16(values[i]):X4} vs {bf16[i]:X4}");
        }

        var t = Tensor.FromArray(values);
        foreach (var (storeAs, table, decode) in new (SafeTensorsDType, ushort[], Func<ushort, float>)[]
                 { (SafeTensorsDType.F16, half, HalfConversion.HalfToSingle), (SafeTensorsDType.BF16, bf16, HalfConversion.BFloat16ToSingle) })
        {
            var bytes = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["x"] = t, ["d"] = t.To(DType.Float64), ["i"] = Tensor.FromArray(new[] { 1, 2 }) }, storeAs: storeAs);
            var header = SafeTensors.ReadHeader(new MemoryStream(bytes));
            Assert.Equal(storeAs, header.Tensors.Single(e => e.Name == "x").DType);
            Assert.Equal(storeAs, header.Tensors.Single(e => e.Name == "d").DType);
            Assert.Equal(SafeTensorsDType.I32, header.Tensors.Single(e => e.Name == "i").DType);
            var loaded = SafeTensors.Load(bytes);
            Assert.Equal(DType.Float32, loaded["x"].DType);
            Assert.Equal(DType.Float32, loaded["d"].DType);   // 16-bit floats load as float32
            var got = loaded["x"].ToArray<float>();
            for (int i = 0; i < values.Length; i++)
                if (float.IsNaN(values[i])) Assert.True(float.IsNaN(got[i]));
                else Assert.Equal(BitConverter.SingleToUInt32Bits(decode(table[i])), BitConverter.SingleToUInt32Bits(got[i]));
        }
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["x"] = t }, storeAs: SafeTensorsDType.I32));
    }

    [Fact]
    public void LoadsTheFileWrittenByPython()
    {
        string dir = Path.Combine(AppContext.BaseDirectory, "IO", "Fixtures");
        var (tensors, metadata) = SafeTensors.LoadWithMetadata(Path.Combine(dir, "python_fixture.safetensors"));
        using var expected = JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, "python_fixture.json")));
        foreach (var entry in expected.RootElement.GetProperty("metadata").EnumerateObject())
            Assert.Equal(entry.Value.GetString(), metadata[entry.Name]);
        var cases = expected.RootElement.GetProperty("tensors").EnumerateObject().ToList();
        Assert.Equal(cases.Select(c => c.Name).Order(), tensors.Keys.Order());
        var header = SafeTensors.ReadHeader(Path.Combine(dir, "python_fixture.safetensors"));
        foreach (var c in cases)
        {
            var t = tensors[c.Name];
            string dtype = c.Value.GetProperty("dtype").GetString()!;
            Assert.Equal(c.Value.GetProperty("stored").GetString(), header.Tensors.Single(i => i.Name == c.Name).DType.SpecName());
            Assert.Equal(c.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()), t.Shape);
            var values = c.Value.GetProperty("values").EnumerateArray().ToList();
            switch (dtype)
            {
                case "float32":
                    Assert.Equal(DType.Float32, t.DType);
                    Assert.Equal(values.Select(v => Convert.ToUInt32(v.GetString(), 16)), t.ToArray<float>().Select(BitConverter.SingleToUInt32Bits)); break;
                case "float64":
                    Assert.Equal(DType.Float64, t.DType);
                    Assert.Equal(values.Select(v => Convert.ToUInt64(v.GetString(), 16)), t.ToArray<double>().Select(BitConverter.DoubleToUInt64Bits)); break;
                case "int64":
                    Assert.Equal(DType.Int64, t.DType);
                    Assert.Equal(values.Select(v => v.GetInt64()), t.ToArray<long>()); break;
                case "int32":
                    Assert.Equal(DType.Int32, t.DType);
                    Assert.Equal(values.Select(v => v.GetInt32()), t.ToArray<int>()); break;
                case "bool":
                    Assert.Equal(DType.Bool, t.DType);
                    Assert.Equal(values.Select(v => v.GetInt32() == 1), t.ToArray<bool>()); break;
                default: Assert.Fail($"unexpected dtype {dtype}"); break;
            }
        }
    }

    /// <summary>
    /// Writes the file that tools/golden/safetensors_fixture.py check validates against PyTorch (set DEEPSHARP_INTEROP_OUT
    /// to a path to keep it), and checks it round-trips.
    /// </summary>
    [Fact]
    public void WritesInteropFile()
    {
        var b = Tensor.Arange(0, 24, dtype: DType.Float32).Reshape(2, 3, 4) * 0.37f - 3.1f;
        float[] specials = [float.NaN, float.PositiveInfinity, float.NegativeInfinity, -0f, 1e-40f, 65519f, 3.0e38f, 1f + 1f / 256];
        var tensors = new Dictionary<string, Tensor>
        {
            ["f32"] = b, ["f64"] = b.To(DType.Float64) / 3.0,
            ["i64"] = Tensor.Arange(-3, 3, dtype: DType.Int64) * Tensor.Scalar(1L << 40, DType.Int64),
            ["i32"] = Tensor.FromArray(new[] { 1, -2, int.MaxValue, int.MinValue }, 2, 2),
            ["mask"] = Tensor.FromArray(new[] { true, false, true }), ["scalar"] = Tensor.Scalar(2.5),
            ["transposed"] = Tensor.Arange(0, 6, dtype: DType.Float32).Reshape(2, 3).T,
        };
        var metadata = new Dictionary<string, string> { ["written_by"] = "DeepSharp" };
        var plain = SafeTensors.Serialize(tensors, metadata);
        var half = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["specials.f16"] = Tensor.FromArray(specials) }, storeAs: SafeTensorsDType.F16);
        var bf16 = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["specials.bf16"] = Tensor.FromArray(specials) }, storeAs: SafeTensorsDType.BF16);
        // One file needs one storeAs, so the 16-bit tensors are written raw beside the others via a merged header.
        var all = Merge(plain, half, bf16);
        var loaded = SafeTensors.Load(all);
        Assert.Equal(9, loaded.Count);
        AssertBitsEqual(tensors["f32"], loaded["f32"], "f32");
        if (Environment.GetEnvironmentVariable("DEEPSHARP_INTEROP_OUT") is { Length: > 0 } outPath)
        {
            File.WriteAllBytes(outPath, all);
            // the writer's own files, header and layout untouched, for the strict layout check
            File.WriteAllBytes(outPath + ".part0", plain); File.WriteAllBytes(outPath + ".part1", half); File.WriteAllBytes(outPath + ".part2", bf16);
        }
    }

    /// <summary>Merges safetensors blobs at the raw level (header entries with shifted offsets), keeping alignment.</summary>
    static byte[] Merge(params byte[][] blobs)
    {
        var entries = new List<(string Name, string DType, int[] Shape, byte[] Data)>();
        var metadata = new Dictionary<string, string>();
        foreach (var blob in blobs)
        {
            var header = SafeTensors.ReadHeader(new MemoryStream(blob));
            foreach (var (k, v) in header.Metadata) metadata[k] = v;
            int start = 8 + (int)header.HeaderLength;
            foreach (var t in header.Tensors)
                entries.Add((t.Name, t.DType.SpecName(), t.Shape, blob.AsSpan(start + (int)t.Begin, (int)(t.End - t.Begin)).ToArray()));
        }
        entries = entries.OrderByDescending(e => e.DType switch { "F64" or "I64" => 8, "F32" or "I32" => 4, "F16" or "BF16" => 2, _ => 1 }).ToList();
        var json = new Dictionary<string, object> { ["__metadata__"] = metadata };
        long offset = 0;
        foreach (var e in entries) { json[e.Name] = new { dtype = e.DType, shape = e.Shape, data_offsets = new[] { offset, offset + e.Data.Length } }; offset += e.Data.Length; }
        return Build(JsonSerializer.Serialize(json), entries.Select(e => e.Data).ToArray());
    }

    /// <summary>Builds a file from a header text and data blocks, padding the header to 8 bytes.</summary>
    internal static byte[] Build(string header, params byte[][] data)
    {
        var headerBytes = Encoding.UTF8.GetBytes(header);
        int padded = (headerBytes.Length + 7) / 8 * 8;
        var result = new List<byte>();
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)padded);
        result.AddRange(prefix);
        result.AddRange(headerBytes);
        result.AddRange(Enumerable.Repeat((byte)' ', padded - headerBytes.Length));
        foreach (var block in data) result.AddRange(block);
        return result.ToArray();
    }

    static InvalidDataException Bad(byte[] bytes, bool alsoNonSeekable = true)
    {
        var seekable = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(bytes));
        // a non-seekable stream cannot check the length up front but must fail just as clearly
        if (alsoNonSeekable) Assert.Throws<InvalidDataException>(() => SafeTensors.Load(new NonSeekableStream(bytes)));
        return seekable;
    }

    [Fact]
    public void CorruptInputsGiveClearErrors()
    {
        var good = SafeTensors.Serialize(new Dictionary<string, Tensor> { ["w"] = Tensor.Ones(2, 3), ["b"] = Tensor.Zeros(3) });

        Assert.Contains("fewer than the 8-byte", Bad(good[..5]).Message);
        Assert.Contains("truncated", Bad(good[..(good.Length - 4)]).Message);
        Assert.Contains("'b'", Bad(good[..(good.Length - 4)]).Message);
        Assert.Contains("truncated", Bad(good[..20]).Message);

        var huge = (byte[])good.Clone();
        BinaryPrimitives.WriteUInt64LittleEndian(huge, 1UL << 40);
        Assert.Contains("header length", Assert.Throws<InvalidDataException>(() => SafeTensors.Load(huge)).Message);

        string F32(string name, string shape, long begin, long end) => $"\"{name}\":{{\"dtype\":\"F32\",\"shape\":{shape},\"data_offsets\":[{begin},{end}]}}";
        var e = Bad(Build("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[2]", 4, 12) + "}", new byte[12]));
        Assert.Contains("'b'", e.Message); Assert.Contains("overlaps", e.Message);
        e = Bad(Build("{" + F32("a", "[2]", 0, 8) + "," + F32("b", "[2]", 12, 20) + "}", new byte[20]));
        Assert.Contains("gap", e.Message);
        e = Bad(Build("{" + F32("a", "[2, 3]", 0, 20) + "}", new byte[20]));
        Assert.Contains("'a'", e.Message); Assert.Contains("needs 24 bytes", e.Message);
        e = Bad(Build("{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[2],\"data_offsets\":[0,2]}}", new byte[2]));
        Assert.Contains("'a'", e.Message); Assert.Contains("F8_E4M3", e.Message);
        // (a non-seekable stream is read only as far as the header says, so it cannot see trailing bytes)
        e = Bad(Build("{" + F32("a", "[2]", 0, 8) + "}", new byte[12]), alsoNonSeekable: false);
        Assert.Contains("unexpected bytes", e.Message);
        e = Bad(Build("{" + F32("a", "[2]", 0, 8), new byte[8]));
        Assert.Contains("not valid JSON", e.Message);
        e = Bad(Build("{" + F32("a", "[-2]", 0, 8) + "}", new byte[8]));
        Assert.Contains("shape entry 0", e.Message);
        e = Bad(Build("{\"__metadata__\":{\"k\":3}," + F32("a", "[2]", 0, 8) + "}", new byte[8]));
        Assert.Contains("metadata value 'k'", e.Message);
        e = Bad(Build("{" + F32("a", "[2]", 0, 8) + "," + F32("a", "[2]", 8, 16) + "}", new byte[16]));
        Assert.Contains("twice", e.Message);
        e = Bad(Build("{\"a\":{\"dtype\":\"F32\",\"shape\":[2]}}", new byte[8]));
        Assert.Contains("data_offsets", e.Message);

        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("cut.safetensors"), good[..(good.Length - 1)]);
        var fileError = Assert.Throws<InvalidDataException>(() => SafeTensors.Load(dir.File("cut.safetensors")));
        Assert.Contains("cut.safetensors", fileError.Message);
    }

    [Fact]
    public void SaveRejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { ["__metadata__"] = Tensor.Ones(1) }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize(new Dictionary<string, Tensor> { [""] = Tensor.Ones(1) }));
        Assert.Throws<ArgumentException>(() => SafeTensors.Serialize([new("x", Tensor.Ones(1)), new("x", Tensor.Ones(1))]));
    }

    [Fact]
    public void U8AndSmallIntegersLoadAsInt32()
    {
        var bytes = Build("{\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},\"s\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[3,5]}}",
                          [0, 200, 255], BitConverter.GetBytes((short)-300));
        var loaded = SafeTensors.Load(bytes);
        Assert.Equal(DType.Int32, loaded["u"].DType);
        Assert.Equal([0, 200, 255], loaded["u"].ToArray<int>());
        Assert.Equal([-300], loaded["s"].ToArray<int>());
        // saved back, U8 becomes I32
        var header = SafeTensors.ReadHeader(new MemoryStream(SafeTensors.Serialize(loaded)));
        Assert.Equal(SafeTensorsDType.I32, header.Tensors.Single(t => t.Name == "u").DType);
    }

    sealed class NonSeekableStream(byte[] data) : Stream
    {
        readonly MemoryStream inner = new(data, writable: false);
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 7));
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
