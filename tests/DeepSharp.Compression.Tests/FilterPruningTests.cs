using DeepSharp.Compression.Pruning;
using DeepSharp.NN;
using DeepSharp.Vision.Models;

namespace DeepSharp.Compression.Tests;

public class FilterPruningTests
{
    static void RandomizeBatchNorm(Module m)
    {
        using var _ = Autograd.NoGrad();
        foreach (var bn in m.Modules().OfType<BatchNorm2d>())
        {
            bn.RunningMean!.CopyFrom(Tensor.Randn(bn.NumFeatures) * 0.1);
            bn.RunningVar!.CopyFrom(Tensor.Rand(bn.NumFeatures) + 0.5);
            bn.Weight!.CopyFrom(Tensor.Rand(bn.NumFeatures) + 0.5);
            bn.Bias!.CopyFrom(Tensor.Randn(bn.NumFeatures) * 0.1);
        }
    }

    [Fact]
    public void ShrunkFashionCnnComputesWhatTheOriginalDoesWithoutTheRemovedChannels()
    {
        var original = new FashionCnn();
        RandomizeBatchNorm(original);
        var small = new FashionCnn();
        small.LoadStateDict(original.StateDict());
        original.Eval(); small.Eval();

        var report = FilterPruning.Shrink(small, 0.5);
        Assert.Equal(16, report.KeptChannels["features.0"].Kept.Length);
        Assert.Equal(32, report.KeptChannels["features.9"].Kept.Length);
        Assert.Equal(128, report.KeptChannels["classifier.1"].Kept.Length);
        Assert.Equal(10, report.KeptChannels["classifier.4"].Kept.Length);   // the output layer keeps its classes
        Assert.Equal(original.ParameterCount(), report.ParametersBefore);
        Assert.True(report.ParametersAfter < report.ParametersBefore / 3, $"{report.ParametersAfter} of {report.ParametersBefore}");
        Assert.Equal(report.ParametersAfter, small.ParameterCount());

        // zero what reads a removed channel in the original: it then computes exactly what the small model does
        (string Producer, string Consumer, int Per)[] links =
            [("features.0", "features.3", 1), ("features.3", "features.6", 1), ("features.6", "features.9", 1),
             ("features.9", "classifier.1", 49), ("classifier.1", "classifier.4", 1)];
        using (Autograd.NoGrad())
            foreach (var (producer, consumer, per) in links)
            {
                var (kept, of) = report.KeptChannels[producer];
                var w = original.GetSubmodule(consumer).GetTensor("weight")!;
                for (int c = 0; c < of; c++)
                    if (!kept.Contains(c)) w.Narrow(1, c * per, per).FillInPlace(0);
            }
        var x = Tensor.Randn(4, 1, 28, 28);
        GoldenFile.AssertClose(original.Call(x), small.Call(x), 1e-4, 1e-5, "shrunk output");
    }

    [Fact]
    public void CompactAfterStructuredMasksKeepsTheLiveFilters()
    {
        var model = new FashionCnn();
        foreach (var m in model.Modules().Where(m => m is Conv2d).ToList())
            Prune.LnStructured(m, "weight", 0.25, 1, 0);
        var masked = ((Conv2d)model.GetSubmodule("features.3")).GetTensor("weight_mask")!.Sum([1, 2, 3]).ToArray<float>();
        var report = FilterPruning.Compact(model);
        Assert.False(Prune.IsPruned(model));
        Assert.Equal(masked.Count(v => v != 0), report.KeptChannels["features.3"].Kept.Length);
        Assert.Equal(24, report.KeptChannels["features.0"].Kept.Length);
        Assert.Equal(256, report.KeptChannels["classifier.1"].Kept.Length);     // Linear rows had no mask: all live
        Assert.Equal([2, 10], model.Call(Tensor.Randn(2, 1, 28, 28)).Shape.ToArray());
    }

    [Fact]
    public void ShrinkRejectsModelsItCannotFollow()
    {
        Assert.Throws<ArgumentException>(() => FilterPruning.Shrink(new LeNet5(), 1.0));
        var lenet = new LeNet5();
        var report = FilterPruning.Shrink(lenet, 0.5);
        Assert.Equal(3, report.KeptChannels["features.0"].Kept.Length);
        Assert.Equal([3, 10], lenet.Call(Tensor.Randn(3, 1, 28, 28)).Shape.ToArray());
    }
}
