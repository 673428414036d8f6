using System.Text.Json;
using DeepSharp.NN;

namespace DeepSharp.Robustness.Tests;

/// <summary>
/// tools/golden/adversarial.py's fixture: a small CNN's weights, a batch of images with labels and targets, and the
/// adversarial examples (and TRADES/Madry losses) PyTorch computed from stored starts.
/// </summary>
public sealed class GoldenFixture
{
    public static readonly GoldenFixture Instance = new(Path.Combine(AppContext.BaseDirectory, "Golden", "adversarial.json"));

    readonly JsonElement root;

    GoldenFixture(string path)
    {
        root = JsonDocument.Parse(File.ReadAllText(path)).RootElement;
        Images = Decode(root.GetProperty("images"));
        Labels = Decode(root.GetProperty("labels"));
        Targets = Decode(root.GetProperty("targets"));
    }

    public Tensor Images { get; }
    public Tensor Labels { get; }
    public Tensor Targets { get; }

    public IEnumerable<string> CaseNames => root.GetProperty("cases").EnumerateObject().Select(p => p.Name);

    public JsonElement Case(string name) => root.GetProperty("cases").GetProperty(name);

    /// <summary>A fresh copy of the fixture's CNN with its weights and batch-norm statistics, in eval mode.</summary>
    public SmallCnn Model()
    {
        var model = new SmallCnn();
        var state = root.GetProperty("weights").EnumerateObject().ToDictionary(p => p.Name, p => Decode(p.Value));
        model.LoadStateDict(state);
        model.Eval();
        return model;
    }

    public static Tensor Decode(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var data = e.GetProperty("data");
        return e.GetProperty("dtype").GetString() switch
        {
            "int64" => Tensor.FromArray(data.EnumerateArray().Select(v => v.GetInt64()).ToArray()).Reshape(shape),
            _ => Tensor.FromArray(data.EnumerateArray().Select(v => (float)v.GetDouble()).ToArray()).Reshape(shape),
        };
    }

    public static Tensor? DecodeOrNull(JsonElement c, string name) =>
        c.TryGetProperty(name, out var e) && e.ValueKind != JsonValueKind.Null ? Decode(e) : null;
}

/// <summary>The fixture's CNN: conv 1→4 3×3 pad 1, batch norm, ReLU, 2×2 max pooling, linear 64→5 (keys as PyTorch's).</summary>
public sealed class SmallCnn : Module<Tensor, Tensor>
{
    public readonly Conv2d conv = new(1, 4, 3, padding: 1);
    public readonly BatchNorm2d bn = new(4);
    public readonly Linear fc = new(64, 5);

    public override Tensor Forward(Tensor x) => fc.Call(F.MaxPool2d(F.Relu(bn.Call(conv.Call(x))), 2).Flatten(1));
}
