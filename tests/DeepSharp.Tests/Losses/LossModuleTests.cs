using System.Text.Json;
using DeepSharp.NN;
using DeepSharp.Tests.Golden;

namespace DeepSharp.Tests.Losses;

/// <summary>Every PyTorch case of tools/golden/losses.py again, this time through the loss modules (torch.nn.*Loss).</summary>
public class LossModuleTests
{
    public static TheoryData<string> Cases() => new(Golden.Golden.CaseNames("losses"));

    static Reduction Red(string s) => s switch
    {
        "mean" => Reduction.Mean, "sum" => Reduction.Sum, "none" => Reduction.None, "batchmean" => Reduction.BatchMean,
        _ => throw new InvalidDataException(s),
    };

    /// <summary>Builds the module the case's 'extra' describes and applies it to the case's inputs.</summary>
    static (Module Module, Tensor Output) Call(JsonElement e, Tensor?[] x)
    {
        var red = Red(e.GetProperty("reduction").GetString()!);
        double D(string name, double dflt) => e.TryGetProperty(name, out var v) ? v.GetDouble() : dflt;
        Tensor? Opt(int i) => i < x.Length ? x[i] : null;
        Module m = e.GetProperty("fn").GetString() switch
        {
            "ce" => new CrossEntropyLoss(Opt(2), (int)D("ignore_index", -100), red, D("label_smoothing", 0)),
            "nll" => new NLLLoss(Opt(2), reduction: red),
            "mse" => new MSELoss(red),
            "l1" => new L1Loss(red),
            "smooth_l1" => new SmoothL1Loss(red, D("beta", 1)),
            "huber" => new HuberLoss(red, D("delta", 1)),
            "bce" => new BCELoss(Opt(2), red),
            "bcel" => new BCEWithLogitsLoss(Opt(2), red, Opt(3)),
            "kl" => new KLDivLoss(red, e.GetProperty("log_target").GetBoolean()),
            "cosine" => new CosineEmbeddingLoss(D("margin", 0), red),
            "triplet" => new TripletMarginLoss(D("margin", 1), swap: e.GetProperty("swap").GetBoolean(), reduction: red),
            "sigmoid_focal" => new SigmoidFocalLoss(D("alpha", 0.25), D("gamma", 2), red),
            "focal" => new FocalLoss(Opt(2), D("gamma", 2), red),
            "contrastive" => new ContrastiveLoss(D("margin", 1), red),
            var s => throw new InvalidDataException($"unknown loss '{s}'"),
        };
        var output = m is TripleInputLoss t ? t.Call(x[0]!, x[1]!, x[2]!) : ((Loss)m).Call(x[0]!, x[1]!);
        return (m, output);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void ModuleMatchesPyTorch(string name)
    {
        var c = Golden.Golden.Case("losses", name);
        var x = LossGoldenTests.Inputs(c);
        var (module, output) = Call(c.Extra!.Value, x);
        var leaves = x.Where((t, i) => t != null && c.Grads?[i] != null).Select(t => t!).ToArray();
        c.Check(output, leaves, rtol: 1e-6, atol: 1e-10);
        Assert.Empty(module.Parameters());
    }

    [Fact]
    public void WeightsAreBuffersInTheStateDict()
    {
        var w = Tensor.FromArray(new[] { 1.0, 2.0, 3.0 }, 3);
        Assert.Equal(["weight"], new NLLLoss(w).StateDict().Keys);
        Assert.Equal(["weight", "pos_weight"], new BCEWithLogitsLoss(w, posWeight: w).StateDict().Keys);
        Assert.Empty(new MSELoss().StateDict());
        Assert.Equal(["alpha"], new FocalLoss(w).StateDict().Keys);
    }

    [Fact]
    public void ArityIsPartOfTheType()
    {
        // a loss of two tensors cannot be called with one or three: the generic base fixes the signature
        Assert.IsAssignableFrom<Module<Tensor, Tensor, Tensor>>(new MSELoss());
        Assert.IsAssignableFrom<Module<Tensor, Tensor, Tensor, Tensor>>(new TripletMarginLoss());
        Assert.Equal(Reduction.Sum, new TripletMarginLoss(reduction: Reduction.Sum).Reduction);
        Assert.Contains("margin=1", new TripletMarginLoss().ToString());
    }
}
