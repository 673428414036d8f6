using System.Text.Json;
using DeepSharp.IO;
using DeepSharp.NN;

namespace DeepSharp.Interpretability.Tests;

/// <summary>The small fixed CNN of tools/golden/interpretability.py (same layer names, so its state dict loads strictly).</summary>
public sealed class TinyCnn : Module<Tensor, Tensor>
{
    readonly Conv2d conv1 = new(1, 4, 3, padding: 1);
    readonly ReLU relu1 = new();
    readonly Conv2d conv2 = new(4, 6, 3, padding: 1);
    readonly ReLU relu2 = new();
    readonly MaxPool2d pool = new(2);
    readonly Linear fc = new(6 * 4 * 4, 3);

    public override Tensor Forward(Tensor x) => fc.Call(pool.Call(relu2.Call(conv2.Call(relu1.Call(conv1.Call(x))))).Flatten(1));
}

/// <summary>The fixture of tools/golden/interpretability.py: the model with its float64 weights and the expected values.</summary>
public static class Golden
{
    static string PathOf(string file) => Path.Combine(AppContext.BaseDirectory, "Golden", file);

    static readonly Lazy<JsonElement> cases = new(() =>
        JsonDocument.Parse(File.ReadAllText(PathOf("interpretability.json"))).RootElement.GetProperty("cases"));

    public static JsonElement Cases => cases.Value;

    /// <summary>The fixture's model, float64, strict load, eval mode.</summary>
    public static TinyCnn Model()
    {
        var model = new TinyCnn();
        model.Double();
        var result = model.LoadStateDict(SafeTensors.Load(PathOf("interpretability_cnn.safetensors")));
        Assert.Empty(result.MissingKeys);
        Assert.Empty(result.UnexpectedKeys);
        model.Eval();
        return model;
    }

    /// <summary>A stored tensor {shape, data} as float64.</summary>
    public static Tensor Tensor(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        return DeepSharp.Tensor.FromArray(data, shape);
    }

    public static Tensor Tensor(string name) => Tensor(Cases.GetProperty(name));

    public static Tensor Input => Tensor("input");

    public static int[] Target => Cases.GetProperty("target").EnumerateArray().Select(v => v.GetInt32()).ToArray();

    /// <summary>Same shape and every element within atol + rtol·|expected|.</summary>
    public static void Close(Tensor expected, Tensor actual, string what, double atol = 1e-9, double rtol = 1e-7)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).Contiguous().ToArray<double>();
        var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]), $"{what}[{i}]: expected {e[i]}, got {a[i]}");
    }
}
