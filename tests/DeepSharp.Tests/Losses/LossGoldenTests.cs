using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Tests.Golden;

namespace DeepSharp.Tests.Losses;

/// <summary>Every case of tools/golden/losses.py: value and input gradients against PyTorch, float64, rtol 1e-6.</summary>
public class LossGoldenTests
{
    public static TheoryData<string> Cases() => new(Golden.Golden.CaseNames("losses"));

    static Reduction Red(string s) => s switch
    {
        "mean" => Reduction.Mean, "sum" => Reduction.Sum, "none" => Reduction.None, "batchmean" => Reduction.BatchMean,
        _ => throw new InvalidDataException(s),
    };

    /// <summary>Calls the DeepSharp loss the case's 'extra' names, with the case's inputs in the script's order.</summary>
    internal static Tensor Call(JsonElement e, Tensor?[] x)
    {
        var red = Red(e.GetProperty("reduction").GetString()!);
        double D(string name, double dflt) => e.TryGetProperty(name, out var v) ? v.GetDouble() : dflt;
        Tensor? Opt(int i) => i < x.Length ? x[i] : null;
        return e.GetProperty("fn").GetString() switch
        {
            "ce" => F.CrossEntropy(x[0]!, x[1]!, Opt(2), ignoreIndex: (int)D("ignore_index", -100),
                labelSmoothing: D("label_smoothing", 0), reduction: red),
            "nll" => F.NllLoss(x[0]!, x[1]!, Opt(2), reduction: red),
            "mse" => F.MseLoss(x[0]!, x[1]!, red),
            "l1" => F.L1Loss(x[0]!, x[1]!, red),
            "smooth_l1" => F.SmoothL1Loss(x[0]!, x[1]!, red, beta: D("beta", 1)),
            "huber" => F.HuberLoss(x[0]!, x[1]!, red, delta: D("delta", 1)),
            "bce" => F.BinaryCrossEntropy(x[0]!, x[1]!, Opt(2), red),
            "bcel" => F.BinaryCrossEntropyWithLogits(x[0]!, x[1]!, Opt(2), Opt(3), red),
            "kl" => F.KLDivLoss(x[0]!, x[1]!, red, logTarget: e.GetProperty("log_target").GetBoolean()),
            "cosine" => F.CosineEmbeddingLoss(x[0]!, x[1]!, x[2]!, margin: D("margin", 0), reduction: red),
            "triplet" => F.TripletMarginLoss(x[0]!, x[1]!, x[2]!, margin: D("margin", 1), swap: e.GetProperty("swap").GetBoolean(), reduction: red),
            "sigmoid_focal" => F.SigmoidFocalLoss(x[0]!, x[1]!, alpha: D("alpha", 0.25), gamma: D("gamma", 2), reduction: red),
            "focal" => F.FocalLoss(x[0]!, x[1]!, Opt(2), gamma: D("gamma", 2), reduction: red),
            "contrastive" => F.ContrastiveLoss(x[0]!, x[1]!, x[2]!, margin: D("margin", 1), reduction: red),
            var s => throw new InvalidDataException($"unknown loss '{s}'"),
        };
    }

    internal static Tensor?[] Inputs(GoldenCase c) =>
        Enumerable.Range(0, c.Inputs.Length).Select(i => c.Inputs[i] == null ? null : c.Input(i)).ToArray();

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string name)
    {
        var c = Golden.Golden.Case("losses", name);
        var x = Inputs(c);
        var output = Call(c.Extra!.Value, x);
        var leaves = x.Where((t, i) => t != null && c.Grads?[i] != null).Select(t => t!).ToArray();
        c.Check(output, leaves, rtol: 1e-6, atol: 1e-10);
    }

    [Fact]
    public void FixtureCoversEveryLoss()
    {
        var fns = Golden.Golden.CaseNames("losses")
            .Select(n => Golden.Golden.Case("losses", n).Extra!.Value.GetProperty("fn").GetString()).ToHashSet();
        foreach (var f in new[] { "ce", "nll", "mse", "l1", "smooth_l1", "huber", "bce", "bcel", "kl", "cosine", "triplet", "sigmoid_focal", "focal", "contrastive" })
            Assert.Contains(f, fns);
    }
}
