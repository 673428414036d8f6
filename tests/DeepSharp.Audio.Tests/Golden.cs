using System.Text.Json;

namespace DeepSharp.Audio.Tests;

/// <summary>PyTorch/torchaudio reference cases written by tools/golden/audio.py (Golden/audio.json).</summary>
static class Golden
{
    static readonly Lazy<JsonElement> cases = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "audio.json"))).RootElement.GetProperty("cases"));

    public static IEnumerable<string> Names => cases.Value.EnumerateObject().Select(p => p.Name);

    public static JsonElement Case(string name) => cases.Value.GetProperty(name);

    public static Tensor Decode(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var dtype = e.GetProperty("dtype").GetString();
        var values = e.GetProperty("data").EnumerateArray();
        if (dtype is "int64" or "int32")
            return Tensor.FromArray(values.Select(v => v.GetInt64()).ToArray(), [values.Count()]).Reshape(shape);
        return Tensor.FromArray(values.Select(v => v.ValueKind == JsonValueKind.String
            ? double.Parse(v.GetString()!.Replace("inf", "Infinity"), System.Globalization.CultureInfo.InvariantCulture) : v.GetDouble()).ToArray(), [values.Count()]).Reshape(shape);
    }

    public static Tensor Input(string name, int i) => Decode(Case(name).GetProperty("inputs")[i]);
    public static Tensor Output(string name, int i = 0) => Decode(Case(name).GetProperty("outputs")[i]);
    public static JsonElement Extra(string name) => Case(name).GetProperty("extra");

    public static void AssertClose(Tensor expected, Tensor actual, double rtol, double atol, string what)
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape), $"{what}: shape [{string.Join(", ", actual.Shape)}], expected [{string.Join(", ", expected.Shape)}]");
        var e = expected.To(DType.Float64).Contiguous().ToArray<double>();
        var a = actual.Detach().To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]) || double.IsInfinity(e[i]) && e[i] == a[i],
                $"{what}[{i}]: expected {e[i]:G12}, got {a[i]:G12}");
    }

    /// <summary>Runs <paramref name="fn"/> on the case's first input (requiring grad), checks the output and the input gradient.</summary>
    public static void Check(string name, Func<Tensor, Tensor> fn, double rtol = 1e-7, double atol = 1e-9)
    {
        var input = Input(name, 0).RequiresGrad_();
        var output = fn(input);
        AssertClose(Output(name), output, rtol, atol, name);
        var upstream = Decode(Case(name).GetProperty("upstream"));
        var grad = Autograd.Grad(output.Mul(upstream).Sum(), input);
        AssertClose(Decode(Case(name).GetProperty("grads")[0]), grad, rtol * 10, atol * 10, name + " grad");
    }
}
