using System.Text.Json;

namespace DeepSharp.Compression.Tests;

/// <summary>Reference values written by the tools/golden scripts of this project (Golden/*.json).</summary>
static class GoldenFile
{
    static readonly Dictionary<string, JsonElement> files = new();

    public static JsonElement Case(string file, string name)
    {
        lock (files)
        {
            if (!files.TryGetValue(file, out var root))
                files[file] = root = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", file + ".json"))).RootElement.GetProperty("cases");
            return root.GetProperty(name);
        }
    }

    public static IEnumerable<string> CaseNames(string file)
    {
        Case(file, "grad").ToString();
        lock (files) return files[file].EnumerateObject().Select(p => p.Name).ToList();
    }

    /// <summary>An entry {shape, dtype, data} as a tensor: float32 data as float32, everything else as float64.</summary>
    public static Tensor Tensor(JsonElement entry)
    {
        var shape = entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var data = entry.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        var t = DeepSharp.Tensor.FromArray(data, DType.Float64).Reshape(shape);
        return entry.GetProperty("dtype").GetString() == "float32" ? t.To(DType.Float32).Contiguous() : t.Contiguous();
    }

    public static Tensor Tensor(JsonElement c, string key) => Tensor(c.GetProperty(key));

    public static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Shape.ToArray(), actual.Shape.ToArray());
        var e = expected.To(DType.Float64).Contiguous().ToArray<double>();
        var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]), $"{what}[{i}]: expected {e[i]:G12}, got {a[i]:G12}");
    }

    public static void AssertEqual(Tensor expected, Tensor actual, string what) => AssertClose(expected, actual, 0, 0, what);
}
