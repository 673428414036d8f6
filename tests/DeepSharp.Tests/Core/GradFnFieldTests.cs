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

/// <summary>
/// A node keeps its name and backward function in one reference: a shared (name, function) object for the static backward
/// functions every step records, the closure itself (and the name in the state's field) for the others. Names, state
/// and the "backward twice" error must survive that, and a node is 96 bytes.
/// </summary>
public class NodeLayoutTests
{
    static readonly BackwardFunction Identity = static (node, g) => InputGrads.Create([g]);

    [Fact]
    public void NodesOfOneStaticFunctionKeepTheirOwnNamesAndState()
    {
        var x = Tensor.Randn(3).RequiresGrad_();
        var a = Autograd.Record(Tensor.Randn(3), "FirstBackward", [x], Identity, "state a", x);
        var b = Autograd.Record(Tensor.Randn(3), "Second" + "Backward".ToString(), [x], Identity, 7, x);   // a name made at run time
        Assert.Equal("FirstBackward", a.GradFn!.Name);
        Assert.Equal("SecondBackward", b.GradFn!.Name);
        Assert.Equal("state a", a.GradFn.State);
        Assert.Equal(7, b.GradFn.State);
        var c = Autograd.Record(Tensor.Randn(3), "FirstBackward", [x], Identity, null, x);
        Assert.Equal("FirstBackward", c.GradFn!.Name);
        Assert.Null(c.GradFn.State);
    }

    [Fact]
    public void ClosureAndCapturingNodesKeepTheirNamesAfterRelease()
    {
        var x = Tensor.Randn(3).RequiresGrad_();
        int captured = 2;
        BackwardFunction capturing = (node, g) => InputGrads.Create([g.Mul(captured)]);
        var y = Autograd.Record(Tensor.Randn(3), "CapturingBackward", [x], capturing, "s", x);
        var z = Autograd.Record(Tensor.Randn(3), "ClosureBackward", [x], g => [g.Mul(3)], x);
        Assert.Equal("CapturingBackward", y.GradFn!.Name);
        Assert.Equal("ClosureBackward", z.GradFn!.Name);
        Assert.Equal("s", y.GradFn.State);
        Assert.Null(z.GradFn.State);                  // a closure node has no state (its name sits in that field)
        y.Add(z).Sum().Backward();
        Assert.Equal(new[] { 5f, 5f, 5f }, x.Grad!.ToArray<float>());
        Assert.Equal("ClosureBackward", z.GradFn.Name);   // released, still named
        Assert.True(z.GradFn.Released);
        var error = Assert.Throws<InvalidOperationException>(() => z.Sum().Backward());
        Assert.Contains("ClosureBackward", error.Message);
    }

    [Fact]
    public void ANodeIs96Bytes()
    {
        var x = Tensor.Randn(3).RequiresGrad_();
        var result = Tensor.Randn(3);
        for (int i = 0; i < 100; i++) Autograd.Record(result, "SizeBackward", [x], Identity, null, x);
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int n = 1000;
        for (int i = 0; i < n; i++) Autograd.Record(result, "SizeBackward", [x], Identity, null, x);   // the node only
        Assert.Equal(96, (GC.GetAllocatedBytesForCurrentThread() - before) / n);
    }
}

/// <summary>A static backward lambda inside a generic method: its delegate is cached too, so its nodes share one kind.</summary>
public class GenericBackwardKindTests
{
    static Tensor Record<T>(Tensor result, Tensor x, string name) where T : struct
    {
        BackwardFunction backward = static (node, g) => InputGrads.Create([g.Mul(2)]);
        return Autograd.Record(result, name, [x], backward, null, x);
    }

    [Fact]
    public void NodesOfAStaticLambdaInAGenericMethodAre96BytesAndNamed()
    {
        var x = Tensor.Randn(3).RequiresGrad_();
        var result = Tensor.Randn(3);
        for (int i = 0; i < 100; i++) Record<int>(result, x, "GenericBackward");
        long before = GC.GetAllocatedBytesForCurrentThread();
        const int n = 1000;
        for (int i = 0; i < n; i++) Record<int>(result, x, "GenericBackward");
        Assert.Equal(96, (GC.GetAllocatedBytesForCurrentThread() - before) / n);   // the node only: no kind object per node
        var y = Record<long>(Tensor.Randn(3), x, "OtherName");
        Assert.Equal("OtherName", y.GradFn!.Name);
        y.Sum().Backward();
        Assert.Equal(new[] { 2f, 2f, 2f }, x.Grad!.ToArray<float>());
    }
}
