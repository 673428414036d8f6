namespace DeepSharp.Tests.Core;

[Collection(SerialCollection.Name)]
public class TensorScopeTests
{
    [Fact]
    public void ScopeReleasesTemporariesAndReusesTheirMemory()
    {
        var w = Tensor.Randn([64, 64], requiresGrad: true);
        var x = Tensor.Randn(32, 64);
        Tensor kept, lost;
        using (var scope = TensorScope.Begin())
        {
            var y = x.MatMul(w).Exp().Sum();
            y.Backward();
            kept = scope.Keep(x.MatMul(w));
            lost = x.Add(1.0);
        }
        Assert.NotNull(w.Grad);
        Assert.Equal(32 * 64, kept.ToArray<float>().Length);         // kept survives
        var ex = Assert.Throws<ObjectDisposedException>(() => lost.ToArray<float>());
        Assert.Contains("TensorScope", ex.Message);
        // gradients created inside the scope outlive it
        Assert.Equal(64 * 64, w.Grad!.ToArray<float>().Length);
    }

    [Fact]
    public void SteadyStateStepInScopeAllocatesLittle()
    {
        var w = Tensor.Randn([256, 256], requiresGrad: true);
        var x = Tensor.Randn(128, 256);
        void Step()
        {
            using var scope = TensorScope.Begin();
            var loss = x.MatMul(w).Exp().Mean();
            loss.Backward();
            using (Autograd.NoGrad()) w.SubInPlace(w.Grad!.Mul(0.01));
            w.Grad!.ZeroInPlace();
        }
        for (int i = 0; i < 3; i++) Step();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 10; i++) Step();
        long perStep = (GC.GetAllocatedBytesForCurrentThread() - before) / 10;
        // without the scope each step allocates > 600 KB of arrays (128x256 and 256x256 floats several times)
        Assert.True(perStep < 64 * 1024, $"a steady-state step allocated {perStep} bytes");
    }
}

/// <summary>
/// The per-thread reuse that keeps a steady-state step off the managed heap: scope lists, the backward engine's
/// collections, and the array cache for small arrays. Each reuse must be invisible: same results, same errors.
/// </summary>
[Collection(SerialCollection.Name)]
public class ScopeAndEngineReuseTests
{
    [Fact]
    public void SharedStridesCannotBeWrittenThroughThePublicApi()
    {
        var a = Tensor.Zeros(3, 4); var b = Tensor.Ones(3, 4);
        Assert.Same(a.strides, b.strides);                 // contiguous tensors of one shape share one array...
        Assert.False(a.Strides is int[]);                    // ...which the API never hands out
        Assert.Throws<NotSupportedException>(() => ((IList<int>)a.Strides)[0] = 7);
        Assert.Equal([4, 1], b.Strides);
        Assert.Equal([1, 4], a.T.Strides);                   // a view gets its own
        Assert.Equal([4, 1], a.Strides);
    }

    [Fact]
    public void ScopesEndedOutOfOrderReleaseOnlyWhatTheyOwn()
    {
        var outer = TensorScope.Begin();
        var a = Tensor.Randn(40, 40);
        var inner = TensorScope.Begin();
        var b = Tensor.Randn(40, 40);
        outer.Dispose();                       // the outer scope ends first: its tensors go, the inner scope's stay
        Assert.Throws<ObjectDisposedException>(() => a.ToArray<float>());
        Assert.Equal(1600, b.ToArray<float>().Length);
        var c = Tensor.Randn(40, 40);          // still inside the inner scope
        var kept = inner.Keep(Tensor.Randn(40, 40));
        inner.Dispose();                       // its parent is gone: the kept tensor is left to the GC
        Assert.Throws<ObjectDisposedException>(() => b.ToArray<float>());
        Assert.Throws<ObjectDisposedException>(() => c.ToArray<float>());
        Assert.Equal(1600, kept.ToArray<float>().Length);
        // what is created now (the current scope is the disposed outer one) belongs to no scope and stays valid
        var d = Tensor.Randn(40, 40);
        using (var next = TensorScope.Begin()) { var e = Tensor.Randn(40, 40); }
        Assert.Equal(1600, d.ToArray<float>().Length);
        Assert.Equal(1600, kept.ToArray<float>().Length);
    }

    [Fact]
    public void AReusedScopeListDoesNotReleaseTensorsOfAnEarlierScope()
    {
        Tensor first;
        using (TensorScope.Begin()) first = Tensor.Randn(8, 8);
        Tensor survivor;
        using (var scope = TensorScope.Begin())   // takes the list the first scope gave back
        {
            survivor = scope.Keep(Tensor.Randn(8, 8));
            _ = Tensor.Randn(8, 8);
        }
        Assert.Throws<ObjectDisposedException>(() => first.ToArray<float>());
        Assert.Equal(64, survivor.ToArray<float>().Length);
        // disposing twice is harmless and does not hand the list out twice
        var s1 = TensorScope.Begin(); s1.Dispose(); s1.Dispose();
        using var s2 = TensorScope.Begin(); using var s3 = TensorScope.Begin();
        var x = Tensor.Randn(8, 8);
        s3.Dispose();
        Assert.Throws<ObjectDisposedException>(() => x.ToArray<float>());
    }

    [Fact]
    public void SmallArraysComeBackFromTheCacheAndAReleasedTensorStillThrows()
    {
        float[] first;
        Tensor released;
        using (TensorScope.Begin()) { released = Tensor.Randn(64, 10); first = (float[])released.storage.Data; }
        Assert.Throws<ObjectDisposedException>(() => released.ToArray<float>());   // use after release is caught
        using (TensorScope.Begin())
        {
            var again = Tensor.Zeros(64, 10);
            Assert.Same(first, again.storage.Data);                      // the (64, 10) array was reused...
            Assert.All(again.ToArray<float>(), v => Assert.Equal(0f, v));  // ...and cleared for Zeros
        }
    }

    [Fact]
    public void TrainingStepsGiveTheSameResultsWithAndWithoutTheArrayCache()
    {
        float[] Run(bool cache)
        {
            bool saved = ArrayCache.DisableReuse;
            ArrayCache.DisableReuse = !cache;
            try
            {
                DeepSharp.Random.Seed(3);
                var model = new global::DeepSharp.NN.Sequential(new global::DeepSharp.NN.Linear(20, 16), new global::DeepSharp.NN.ReLU(), new global::DeepSharp.NN.Linear(16, 5));
                var opt = new global::DeepSharp.Optim.Adam(model.Parameters(), 1e-2);
                var x = Tensor.Randn(12, 20); var y = Tensor.RandInt(0, 5, [12]);
                for (int i = 0; i < 5; i++)
                {
                    using var scope = TensorScope.Begin();
                    opt.ZeroGrad(setToNone: false);
                    global::DeepSharp.NN.F.CrossEntropy(model.Call(x), y).Backward();
                    opt.Step();
                }
                return model.Parameters().SelectMany(p => p.ToArray<float>()).ToArray();
            }
            finally { ArrayCache.DisableReuse = saved; }
        }
        Assert.Equal(Run(cache: false), Run(cache: true));
    }

    [Fact]
    public void ABackwardInsideAHookGetsItsOwnEngineCollections()
    {
        var w = Tensor.Randn([4, 3], requiresGrad: true);
        var v = Tensor.Randn([3], requiresGrad: true);
        double innerGrad = double.NaN;
        using var handle = w.RegisterPostAccumulateGradHook(_ =>
        {
            // a second, unrelated graph differentiated while the outer pass is still running on this thread
            using var recording = Autograd.EnableGrad();
            var u = Tensor.Scalar(2.0, DType.Float64, requiresGrad: true);
            (u * u * u).Backward();
            innerGrad = u.Grad!.Item();
        });
        var x = Tensor.Randn(5, 4);
        x.MatMul(w).Add(v).Square().Sum().Backward();
        Assert.Equal(12.0, innerGrad, 12);
        using (Autograd.NoGrad()) TestUtil.AssertClose(x.MT.MatMul(x.MatMul(w).Add(v).Mul(2.0)), w.Grad!, what: "w.grad");
        Assert.NotNull(v.Grad);
        // the engine is reusable afterwards and gives the same gradients again
        var before = w.Grad!.ToArray<float>();
        w.Grad = null; v.Grad = null;
        x.MatMul(w).Add(v).Square().Sum().Backward();
        Assert.Equal(before, w.Grad!.ToArray<float>());
    }
}
