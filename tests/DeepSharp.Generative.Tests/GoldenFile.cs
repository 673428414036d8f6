using System.Text.Json;

namespace DeepSharp.Generative.Tests;

/// <summary>The PyTorch/numpy/scipy reference values written by tools/golden/generative.py (Golden/generative.json).</summary>
static class GoldenFile
{
    static readonly Lazy<JsonElement> root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "generative.json"))).RootElement);

    public static JsonElement Case(string name) => root.Value.GetProperty(name);

    /// <summary>An array entry {shape, data} as a float64 tensor.</summary>
    public static Tensor Tensor(JsonElement entry)
    {
        var shape = entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var data = entry.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        return DeepSharp.Tensor.FromArray(data, DType.Float64).Reshape(shape.Length == 0 ? [] : shape).Contiguous();
    }

    public static Tensor Tensor(string caseName, string key) => Tensor(Case(caseName).GetProperty(key));

    public static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).Contiguous().ToArray<double>();
        var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]), $"{what}[{i}]: expected {e[i]:G12}, got {a[i]:G12}");
    }
}
