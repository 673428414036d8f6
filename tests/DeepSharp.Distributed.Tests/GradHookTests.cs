using DeepSharp.NN;

namespace DeepSharp.Distributed.Tests;

/// <summary>The core hooks DistributedDataParallel is built on: Tensor.RegisterPostAccumulateGradHook and Autograd.QueueCallback.</summary>
public sealed class GradHookTests
{
    [Fact]
    public void HookFiresOnceWithTheWholeGradientOfATiedParameter()
    {
        var w = Tensor.FromArray(new double[] { 2, 3 }).RequiresGrad_();
        var seen = new List<double[]>();
        using var handle = w.RegisterPostAccumulateGradHook(t => seen.Add(t.Grad!.ToArray<double>()));
        ((w * w).Sum() + (w * 3).Sum()).Backward();   // w used twice: d/dw = 2w + 3
        Assert.Single(seen);
        Assert.Equal([7.0, 9.0], seen[0]);
    }

    [Fact]
    public void HooksFireBackToFrontAndNotAfterRemoval()
    {
        var a = Tensor.FromArray(new double[] { 1 }).RequiresGrad_();
        var b = Tensor.FromArray(new double[] { 2 }).RequiresGrad_();
        var order = new List<string>();
        var ha = a.RegisterPostAccumulateGradHook(_ => order.Add("a"));
        using var hb = b.RegisterPostAccumulateGradHook(_ => order.Add("b"));
        ((a * 2).Exp() * b).Sum().Backward();        // b's gradient is ready before a's
        Assert.Equal(["b", "a"], order);
        ha.Dispose();
        order.Clear();
        ((a * 2).Exp() * b).Sum().Backward();
        Assert.Equal(["b"], order);
    }

    [Fact]
    public void AutogradGradDoesNotFireHooks()
    {
        var w = Tensor.FromArray(new double[] { 1, 2 }).RequiresGrad_();
        int fired = 0;
        using var _ = w.RegisterPostAccumulateGradHook(_ => fired++);
        Autograd.Grad((w * w).Sum(), w);
        Assert.Equal(0, fired);
    }

    [Fact]
    public void QueuedCallbackRunsAfterEveryGradientIsDelivered()
    {
        var a = Tensor.FromArray(new double[] { 1 }).RequiresGrad_();
        var b = Tensor.FromArray(new double[] { 2 }).RequiresGrad_();
        double? bGradAtEnd = null;
        using var _ = a.RegisterPostAccumulateGradHook(_ => Autograd.QueueCallback(() => bGradAtEnd = b.Grad?.Item()));
        (a * b + b * b).Sum().Backward();
        Assert.Equal(1 + 2 * 2, bGradAtEnd);
        Assert.Throws<InvalidOperationException>(() => Autograd.QueueCallback(() => { }));   // outside backward
    }

    [Fact]
    public void HookNeedsALeafThatRequiresGrad()
    {
        var x = Tensor.Ones(2).RequiresGrad_();
        Assert.Throws<InvalidOperationException>(() => (x * 2).RegisterPostAccumulateGradHook(_ => { }));
        Assert.Throws<InvalidOperationException>(() => Tensor.Ones(2).RegisterPostAccumulateGradHook(_ => { }));
    }
}
