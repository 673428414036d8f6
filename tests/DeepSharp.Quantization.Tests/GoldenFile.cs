using System.Text.Json;
using DeepSharp.Quantization;

namespace DeepSharp.Quantization.Tests;

/// <summary>The PyTorch reference values written by tools/golden/quantization.py (Golden/quantization.json).</summary>
static class GoldenFile
{
    static readonly Lazy<JsonElement> root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "quantization.json"))).RootElement.GetProperty("cases"));

    public static JsonElement Case(string name) => root.Value.GetProperty(name);

    public static IEnumerable<string> Names(string prefix) =>
        root.Value.EnumerateObject().Select(p => p.Name).Where(n => n.StartsWith(prefix, StringComparison.Ordinal));

    public static double[] Vals(JsonElement entry) => entry.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static int[] ShapeOf(JsonElement entry) => entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>An array entry {shape, data} as a tensor of <paramref name="dtype"/>.</summary>
    public static Tensor Tensor(JsonElement entry, DType dtype = DType.Float32) =>
        DeepSharp.Tensor.FromArray(Vals(entry), ShapeOf(entry)).To(dtype);

    public static QuantDType QDType(string s) => s == "qint8" ? QuantDType.QInt8 : QuantDType.QUInt8;

    public static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]), $"{what}[{i}]: expected {expected[i]:G12}, got {actual[i]:G12}");
    }

    public static double[] Doubles(Tensor t) => t.To(DType.Float64).ToArray<double>();
}
