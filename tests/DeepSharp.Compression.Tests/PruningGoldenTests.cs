using DeepSharp.Compression.Pruning;
using DeepSharp.NN;

namespace DeepSharp.Compression.Tests;

/// <summary>Masks and gradients against torch.nn.utils.prune (tools/golden/pruning.py).</summary>
public class PruningGoldenTests
{
    static System.Text.Json.JsonElement C(string name) => GoldenFile.Case("pruning", name);

    [Theory]
    [InlineData("l1_frac")]
    [InlineData("l1_count")]
    [InlineData("l1_round_down")]
    [InlineData("l1_round_up")]
    [InlineData("l1_zero")]
    [InlineData("ln_dim0_n2")]
    [InlineData("ln_dim1_n1")]
    [InlineData("ln_inf_last")]
    [InlineData("ln_ninf")]
    [InlineData("ln_p3")]
    public void MethodMaskMatchesTorch(string name)
    {
        PruningMethod method = name switch
        {
            "l1_frac" => new L1Unstructured(0.3),
            "l1_count" => new L1Unstructured(7),
            "l1_round_down" or "l1_round_up" => new L1Unstructured(0.5),
            "l1_zero" => new L1Unstructured(0.0),
            "ln_dim0_n2" => new LnStructured(0.5, 2, 0),
            "ln_dim1_n1" => new LnStructured(2, 1, 1),
            "ln_inf_last" => new LnStructured(0.25, double.PositiveInfinity, -1),
            "ln_ninf" => new LnStructured(0.5, double.NegativeInfinity, 0),
            "ln_p3" => new LnStructured(0.4, 3, 0),
            _ => throw new ArgumentException(name),
        };
        var t = GoldenFile.Tensor(C(name), "t");
        GoldenFile.AssertEqual(GoldenFile.Tensor(C(name), "mask"), method.ComputeMask(t, Tensor.OnesLike(t)), name);
    }

    static void LoadWeight(Module m, Tensor w)
    {
        using (Autograd.NoGrad()) m.GetTensor("weight")!.CopyFrom(w);
    }

    [Fact]
    public void IterativeL1ComposesLikePruningContainer()
    {
        var c = C("iter_l1");
        var fc = new Linear(5, 6);
        LoadWeight(fc, GoldenFile.Tensor(c, "t"));
        var masks = c.GetProperty("masks").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        Prune.L1Unstructured(fc, "weight", 0.3);
        GoldenFile.AssertEqual(masks[0], fc.GetTensor("weight_mask")!, "mask 1");
        Prune.L1Unstructured(fc, "weight", 0.5);
        GoldenFile.AssertEqual(masks[1], fc.GetTensor("weight_mask")!, "mask 2");
        Prune.L1Unstructured(fc, "weight", 3);
        GoldenFile.AssertEqual(masks[2], fc.GetTensor("weight_mask")!, "mask 3");
        Assert.Equal(c.GetProperty("keys").EnumerateArray().Select(k => k.GetString()), fc.StateDict().Keys);
        Assert.IsType<PruningContainer>(Prune.MethodOf(fc, "weight"));
        Assert.Equal(3, ((PruningContainer)Prune.MethodOf(fc, "weight")!).Methods.Count);
    }

    [Fact]
    public void IterativeStructuredAndMixedMatchTorch()
    {
        var c = C("iter_ln");
        var conv = new Conv2d(4, 8, 3);
        LoadWeight(conv, GoldenFile.Tensor(c, "t"));
        var masks = c.GetProperty("masks").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        Prune.LnStructured(conv, "weight", 0.25, 2, 0);
        GoldenFile.AssertEqual(masks[0], conv.GetTensor("weight_mask")!, "ln 1");
        Prune.LnStructured(conv, "weight", 0.5, 2, 0);
        GoldenFile.AssertEqual(masks[1], conv.GetTensor("weight_mask")!, "ln 2");

        c = C("iter_mixed");
        conv = new Conv2d(3, 6, 3);
        LoadWeight(conv, GoldenFile.Tensor(c, "t"));
        masks = c.GetProperty("masks").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        Prune.L1Unstructured(conv, "weight", 0.5);
        GoldenFile.AssertEqual(masks[0], conv.GetTensor("weight_mask")!, "mixed 1");
        Prune.LnStructured(conv, "weight", 0.34, 1, 0);
        GoldenFile.AssertEqual(masks[1], conv.GetTensor("weight_mask")!, "mixed 2");
        Prune.LnStructured(conv, "weight", 1, 2, 1);
        GoldenFile.AssertEqual(masks[2], conv.GetTensor("weight_mask")!, "mixed 3");
    }

    [Fact]
    public void GlobalUnstructuredMatchesTorchTwice()
    {
        var c = C("global");
        var fc1 = new Linear(6, 8); var fc2 = new Linear(8, 4);
        LoadWeight(fc1, GoldenFile.Tensor(c, "w1")); LoadWeight(fc2, GoldenFile.Tensor(c, "w2"));
        (Module, string)[] ps = [(fc1, "weight"), (fc2, "weight")];
        Prune.GlobalUnstructured(ps, new L1Unstructured(0.6));
        var first = c.GetProperty("first").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        GoldenFile.AssertEqual(first[0], fc1.GetTensor("weight_mask")!, "fc1 first");
        GoldenFile.AssertEqual(first[1], fc2.GetTensor("weight_mask")!, "fc2 first");
        Prune.GlobalUnstructured(ps, new L1Unstructured(0.5));
        var second = c.GetProperty("second").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        GoldenFile.AssertEqual(second[0], fc1.GetTensor("weight_mask")!, "fc1 second");
        GoldenFile.AssertEqual(second[1], fc2.GetTensor("weight_mask")!, "fc2 second");

        c = C("global_after_layer");
        var fc3 = new Linear(5, 4); var fc4 = new Linear(4, 3);
        LoadWeight(fc3, GoldenFile.Tensor(c, "w1")); LoadWeight(fc4, GoldenFile.Tensor(c, "w2"));
        Prune.L1Unstructured(fc3, "weight", 5);
        Prune.GlobalUnstructured([(fc3, "weight"), (fc4, "weight")], new L1Unstructured(10));
        var masks = c.GetProperty("masks").EnumerateArray().Select(GoldenFile.Tensor).ToArray();
        GoldenFile.AssertEqual(masks[0], fc3.GetTensor("weight_mask")!, "fc3");
        GoldenFile.AssertEqual(masks[1], fc4.GetTensor("weight_mask")!, "fc4");
    }

    [Fact]
    public void GradientsAreZeroWhereMaskedAndRemoveMatchesTorch()
    {
        var c = C("grad");
        var fc = new Linear(5, 3);
        LoadWeight(fc, GoldenFile.Tensor(c, "w"));
        using (Autograd.NoGrad()) fc.Bias!.CopyFrom(GoldenFile.Tensor(c, "b"));
        Prune.L1Unstructured(fc, "weight", 0.4);
        Assert.Equal(c.GetProperty("keys_pruned").EnumerateArray().Select(k => k.GetString()), fc.StateDict().Keys);
        Assert.Equal(["bias", "weight_orig"], fc.NamedParameters().Select(p => p.Name));
        (fc.Call(GoldenFile.Tensor(c, "x")) * GoldenFile.Tensor(c, "up")).Sum().Backward();
        var orig = fc.GetTensor("weight_orig")!;
        GoldenFile.AssertClose(GoldenFile.Tensor(c, "grad_orig"), orig.Grad!, 1e-5, 1e-6, "grad weight_orig");
        GoldenFile.AssertClose(GoldenFile.Tensor(c, "grad_bias"), fc.Bias!.Grad!, 1e-5, 1e-6, "grad bias");
        var mask = fc.GetTensor("weight_mask")!.ToArray<float>();
        var grad = orig.Grad!.ToArray<float>();
        for (int i = 0; i < mask.Length; i++) if (mask[i] == 0) Assert.Equal(0f, grad[i]);

        Prune.Remove(fc, "weight");
        Assert.False(Prune.IsPruned(fc));
        Assert.Same(orig, fc.Weight);
        Assert.Equal(c.GetProperty("keys_removed").EnumerateArray().Select(k => k.GetString()).Order(), fc.StateDict().Keys.Order());
        GoldenFile.AssertEqual(GoldenFile.Tensor(c, "removed"), fc.Weight, "removed weight");
    }
}
