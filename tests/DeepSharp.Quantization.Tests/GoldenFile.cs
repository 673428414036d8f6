using System.Text.Json;
using DeepSharp.Quantization;

namespace DeepSharp.Quantization.Tests;

/// <summary>The PyTorch reference values written by tools/golden/quantization.py (Golden/quantization.json).</summary>
static class GoldenFile
{
    // quantization.json (primitives) and quantized_modules.json (layers and models), merged by case name
    static readonly Lazy<Dictionary<string, JsonElement>> cases = new(() =>
        new[] { "quantization.json", "quantized_modules.json", "quantized_functional.json", "quantized_rnn.json", "quantized_residual.json", "quantized_qat.json" }
            .SelectMany(f => JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", f))).RootElement.GetProperty("cases").EnumerateObject())
            .ToDictionary(p => p.Name, p => p.Value));

    public static JsonElement Case(string name) => cases.Value[name];

    public static IEnumerable<string> Names(string prefix) =>
        cases.Value.Keys.Where(n => n.StartsWith(prefix, StringComparison.Ordinal));

    public static double[] Vals(JsonElement entry) => entry.GetProperty("data").EnumerateArray().Select(e => e.GetDouble()).ToArray();

    public static int[] ShapeOf(JsonElement entry) => entry.GetProperty("shape").EnumerateArray().Select(e => e.GetInt32()).ToArray();

    /// <summary>An array entry {shape, data} as a tensor of <paramref name="dtype"/>.</summary>
    public static Tensor Tensor(JsonElement entry, DType dtype = DType.Float32) =>
        DeepSharp.Tensor.FromArray(Vals(entry)).Reshape(ShapeOf(entry)).To(dtype);

    public static QuantDType QDType(string s) => s == "qint8" ? QuantDType.QInt8 : QuantDType.QUInt8;

    public static void AssertClose(double[] expected, double[] actual, double rtol, double atol, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= atol + rtol * Math.Abs(expected[i]), $"{what}[{i}]: expected {expected[i]:G12}, got {actual[i]:G12}");
    }

    public static double[] Doubles(Tensor t) => t.To(DType.Float64).ToArray<double>();
}
