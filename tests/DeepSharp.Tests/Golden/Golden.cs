using System.Text.Json;

namespace DeepSharp.Tests.Golden;

/// <summary>One PyTorch reference case from tools/golden: inputs, outputs, upstream gradient and input gradients.</summary>
public sealed class GoldenCase
{
    public required string Name { get; init; }
    public required Tensor?[] Inputs { get; init; }
    public required Tensor?[] Outputs { get; init; }
    public Tensor? Upstream { get; init; }
    public Tensor?[]? Grads { get; init; }
    public JsonElement? Extra { get; init; }

    /// <summary>Input i as a fresh leaf (requiring grad when PyTorch's did), optionally cast to another dtype.</summary>
    public Tensor Input(int i, DType? dtype = null)
    {
        var t = Inputs[i] ?? throw new InvalidOperationException($"{Name}: input {i} is not a tensor");
        var c = dtype is { } d ? t.To(d) : Tensor.CopyToContiguous(t);
        if (c.IsFloatingPoint && Grads?[i] != null) c.RequiresGrad = true;
        return c;
    }

    /// <summary>
    /// Checks <paramref name="output"/> against PyTorch's first output and, when the case has gradients,
    /// back-propagates PyTorch's upstream gradient and checks every input's gradient.
    /// </summary>
    public void Check(Tensor output, Tensor[] leaves, double rtol = 1e-6, double atol = 1e-8)
    {
        TestUtil.AssertClose(Outputs[0]!, output, rtol, atol, $"{Name}: output");
        if (Upstream == null || Grads == null) return;
        var grads = Autograd.Grad([output], leaves, [Upstream.To(output.DType)], allowUnused: true);
        for (int i = 0, j = 0; i < Grads.Length; i++)
        {
            if (Grads[i] == null) continue;
            var g = grads[j++];
            Assert.True(g != null, $"{Name}: no gradient for input {i}");
            TestUtil.AssertClose(Grads[i]!, g!, rtol, atol, $"{Name}: gradient of input {i}");
        }
    }
}

/// <summary>Loads fixture files written by tools/golden/*.py.</summary>
public static class Golden
{
    static readonly Dictionary<string, Dictionary<string, GoldenCase>> cache = new();

    public static GoldenCase Case(string file, string name)
    {
        lock (cache)
        {
            if (!cache.TryGetValue(file, out var cases)) cache[file] = cases = Load(file);
            return cases.TryGetValue(name, out var c) ? c : throw new KeyNotFoundException($"fixture {file}.json has no case '{name}'");
        }
    }

    public static IEnumerable<string> CaseNames(string file)
    {
        lock (cache)
        {
            if (!cache.TryGetValue(file, out var cases)) cache[file] = cases = Load(file);
            return cases.Keys.ToArray();
        }
    }

    static Dictionary<string, GoldenCase> Load(string file)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Golden", "Fixtures", file + ".json");
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var result = new Dictionary<string, GoldenCase>();
        foreach (var c in doc.RootElement.GetProperty("cases").EnumerateObject())
        {
            var v = c.Value;
            result[c.Name] = new GoldenCase
            {
                Name = c.Name,
                Inputs = v.GetProperty("inputs").EnumerateArray().Select(ReadTensor).ToArray(),
                Outputs = v.GetProperty("outputs").EnumerateArray().Select(ReadTensor).ToArray(),
                Upstream = v.TryGetProperty("upstream", out var u) ? ReadTensor(u) : null,
                Grads = v.TryGetProperty("grads", out var g) ? g.EnumerateArray().Select(ReadTensor).ToArray() : null,
                Extra = v.TryGetProperty("extra", out var e) ? e.Clone() : null,
            };
        }
        return result;
    }

    public static Tensor? ReadTensor(JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Object || !e.TryGetProperty("shape", out var shapeEl)) return null;
        var shape = shapeEl.EnumerateArray().Select(x => x.GetInt32()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(x => x.ValueKind switch
        {
            JsonValueKind.True => 1.0, JsonValueKind.False => 0.0,
            JsonValueKind.String => double.Parse(x.GetString()!.Replace("Infinity", "∞").Replace("∞", "Infinity"), System.Globalization.CultureInfo.InvariantCulture),
            _ => x.GetDouble(),
        }).ToArray();
        var t = shape.Length == 0 ? Tensor.Scalar(data[0], DType.Float64) : Tensor.FromArray(data, shape);
        return e.GetProperty("dtype").GetString() switch
        {
            "float32" => t.To(DType.Float32), "float64" => t, "int64" => t.To(DType.Int64),
            "int32" => t.To(DType.Int32), "bool" => t.To(DType.Bool), var s => throw new InvalidDataException($"unknown dtype {s}"),
        };
    }
}
