using DeepSharp.Optim;

namespace DeepSharp.Distributed.Tests;

/// <summary>The core hooks ZeroRedundancyOptimizer is built on: Optimizer.RegisterStepPreHook and RegisterStepPostHook.</summary>
public sealed class OptimizerHookTests
{
    [Fact]
    public void PreHookRunsBeforeTheUpdateAndPostHookAfterIt()
    {
        var w = Tensor.FromArray(new double[] { 1, 2 }).RequiresGrad_();
        var sgd = new SGD([w], lr: 0.5);
        var seen = new List<string>();
        using var pre = sgd.RegisterStepPreHook(o => seen.Add($"pre {w.ToArray<double>()[0]}"));
        using var post = sgd.RegisterStepPostHook(o => seen.Add($"post {w.ToArray<double>()[0]}"));
        w.Grad = Tensor.FromArray(new double[] { 1, 1 });
        sgd.Step();
        Assert.Equal(["pre 1", "post 0.5"], seen);
    }

    [Fact]
    public void AParameterWhoseGradientAPreHookHidesIsNotUpdatedAndGetsNoState()
    {
        var a = Tensor.FromArray(new double[] { 1 }).RequiresGrad_();
        var b = Tensor.FromArray(new double[] { 1 }).RequiresGrad_();
        var adam = new Adam([a, b], lr: 0.1);
        var handle = adam.RegisterStepPreHook(_ => b.Grad = null);
        a.Grad = Tensor.FromArray(new double[] { 1 });
        b.Grad = Tensor.FromArray(new double[] { 1 });
        adam.Step();
        Assert.Equal([1.0], b.ToArray<double>());
        Assert.NotEqual([1.0], a.ToArray<double>());
        Assert.False(adam.State.ContainsKey(b));
        handle.Dispose();   // removed: b is updated again
        b.Grad = Tensor.FromArray(new double[] { 1 });
        adam.Step();
        Assert.NotEqual([1.0], b.ToArray<double>());
    }
}
