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
