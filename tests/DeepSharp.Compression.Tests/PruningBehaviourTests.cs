using DeepSharp.Compression.Pruning;
using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Compression.Tests;

public class PruningBehaviourTests
{
    [Fact]
    public void PrunedModelTrainsKeepsZerosAndReloads()
    {
        var model = new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 3));
        var fc1 = (Linear)model[0];
        Prune.L1Unstructured(fc1, "weight", 0.5);
        Assert.True(Prune.IsPruned(model));
        var opt = new SGD(model.Parameters(), lr: 0.1);
        var x = Tensor.Randn(16, 6);
        var y = Tensor.FromArray(Enumerable.Range(0, 16).Select(i => (long)(i % 3)).ToArray(), 16);
        for (int step = 0; step < 3; step++)
        {
            opt.ZeroGrad();
            F.CrossEntropy(model.Call(x), y).Backward();
            opt.Step();
        }
        var mask = fc1.GetTensor("weight_mask")!.ToArray<float>();
        Assert.Equal(24, mask.Count(m => m == 0));
        var effective = fc1.Weight.ToArray<float>();
        for (int i = 0; i < mask.Length; i++) if (mask[i] == 0) Assert.Equal(0f, effective[i]);

        // save/load like any model: a second pruned copy receives weight_orig and weight_mask
        var sd = model.StateDict();
        Assert.Contains("0.weight_orig", sd.Keys);
        Assert.Contains("0.weight_mask", sd.Keys);
        var copy = new Sequential(new Linear(6, 8), new ReLU(), new Linear(8, 3));
        Prune.Identity(copy[0], "weight");
        copy.LoadStateDict(sd);
        GoldenFile.AssertClose(model.Call(x), copy.Call(x), 1e-6, 1e-6, "reloaded output");
    }

    [Fact]
    public void RandomUnstructuredPrunesTheCountAndIsSeeded()
    {
        var a = new Linear(10, 10); var b = new Linear(10, 10);
        Prune.RandomUnstructured(a, "weight", 0.37, new Generator(3));
        Prune.RandomUnstructured(b, "weight", 0.37, new Generator(3));
        var ma = a.GetTensor("weight_mask")!.ToArray<float>();
        Assert.Equal(37, ma.Count(v => v == 0));
        Assert.Equal(ma, b.GetTensor("weight_mask")!.ToArray<float>());
        Prune.RandomStructured(a, "weight", 3, 0, new Generator(1));
        var rows = a.GetTensor("weight_mask")!.Sum(1).ToArray<float>();
        Assert.Equal(3, rows.Count(r => r == 0));
    }

    [Fact]
    public void BadInputGetsClearErrors()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new L1Unstructured(1.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new L1Unstructured(-1));
        var fc = new Linear(3, 2);
        var e = Assert.Throws<ArgumentException>(() => Prune.L1Unstructured(fc, "weight", 7));
        Assert.Contains("smaller than the number of parameters", e.Message);
        Assert.Throws<ArgumentException>(() => Prune.L1Unstructured(fc, "nope", 0.5));
        Assert.Throws<ArgumentException>(() => Prune.Remove(fc, "weight"));
        Assert.Throws<ArgumentException>(() => Prune.LnStructured(fc, "bias", 0.5, 2, 0));
        Assert.Throws<ArgumentException>(() => Prune.LnStructured(fc, "weight", 0.5, 2, 2));
        Assert.Throws<ArgumentException>(() => Prune.GlobalUnstructured([(fc, "weight")], new LnStructured(0.5, 2, 0)));
        Assert.False(Prune.IsPruned(fc));
        Assert.Equal(["weight", "bias"], fc.StateDict().Keys);
    }
}
