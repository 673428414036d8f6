namespace DeepSharp.Tests.Core;

/// <summary>
/// A tensor keeps its grad_fn and its rarely used extras (Grad, post-accumulate hooks) in one field: a Node for an op's
/// result, the extras object (which then holds the grad_fn) once a gradient or a hook is set. These check that the two
/// never lose each other, whichever comes first, and that an op's result is 56 bytes.
/// </summary>
public class GradFnFieldTests
{
    [Fact]
    public void ANonLeafThatRetainsItsGradientKeepsItsGradFn()
    {
        // torch: x = tensor([1., -2., 3.], requires_grad=True); y = x * 2; y.retain_grad(); (y * y).sum().backward()
        // -> y.grad = 2y = [4, -8, 12], x.grad = 8x = [8, -16, 24], y.grad_fn stays MulBackward0, y.is_leaf False
        var x = Tensor.FromArray(new[] { 1f, -2f, 3f }, 3).RequiresGrad_();
        var y = x.Mul(2);
        var node = y.GradFn;
        Assert.NotNull(node);
        y.RetainGrad();
        y.Mul(y).Sum().Backward();

        Assert.Same(node, y.GradFn);
        Assert.False(y.IsLeaf);
        Assert.Equal(new[] { 4f, -8f, 12f }, y.Grad!.ToArray<float>());
        Assert.Equal(new[] { 8f, -16f, 24f }, x.Grad!.ToArray<float>());
        Assert.True(x.IsLeaf);
        Assert.Null(x.GradFn);
    }

    [Fact]
    public void AGradientSetOnAnOpResultKeepsItsGradFnAndClearingItKeepsItToo()
    {
        var x = Tensor.Randn(2, 3).RequiresGrad_();
        var y = x.Relu();
        var node = y.GradFn;
        y.Grad = Tensor.Ones(2, 3);
        Assert.Same(node, y.GradFn);
        Assert.Equal(6.0, y.Grad!.Sum().Item<float>());
        y.Grad = null;
        Assert.Null(y.Grad);
        Assert.Same(node, y.GradFn);
        Assert.False(y.IsLeaf);
    }

    [Fact]
    public void ALeafWithAHookAndAGradientStaysALeaf()
    {
        var w = Tensor.Randn(3).RequiresGrad_();
        int calls = 0;
        using var handle = w.RegisterPostAccumulateGradHook(_ => calls++);
        Assert.True(w.IsLeaf);
        w.Mul(w).Sum().Backward();
        Assert.Equal(1, calls);
        Assert.True(w.IsLeaf);
        Assert.Null(w.GradFn);
        Assert.NotNull(w.Grad);
    }

    [Fact]
    public void ATensorObjectIs56Bytes()
    {
        var x = Tensor.Randn(4, 5);
        for (int i = 0; i < 100; i++) x.Detach();
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int n = 1000;
        for (int i = 0; i < n; i++) x.Detach();   // one Tensor object each, sharing x's storage, shape and strides
        long perTensor = (GC.GetAllocatedBytesForCurrentThread() - before) / n;
        Assert.Equal(56, perTensor);
    }
}
