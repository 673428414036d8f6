using DeepSharp.Optim;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Optim;

public class GradClipTests
{
    static (Tensor P1, Tensor P2) Params(Golden.GoldenCase c, DType dtype)
    {
        var p1 = Tensor.Zeros([3, 4], dtype, requiresGrad: true);
        var p2 = Tensor.Zeros([5], dtype, requiresGrad: true);
        p1.Grad = c.Inputs[0]!.To(dtype).Clone();
        p2.Grad = c.Inputs[1]!.To(dtype).Clone();
        return (p1, p2);
    }

    [Theory]
    [InlineData("clip_norm2", 1.0, 2.0)]
    [InlineData("clip_norm1", 2.0, 1.0)]
    [InlineData("clip_norminf", 0.5, double.PositiveInfinity)]
    [InlineData("clip_norm3", 1.5, 3.0)]
    [InlineData("clip_norm2_noop", 100.0, 2.0)]
    public void ClipGradNormMatchesPyTorch(string name, double maxNorm, double normType)
    {
        var c = Golden.Golden.Case("optim", name);
        foreach (var dtype in new[] { DType.Float64, DType.Float32 })
        {
            var (p1, p2) = Params(c, dtype);
            var unused = Tensor.Zeros([2], dtype, requiresGrad: true);   // no gradient: skipped
            double total = GradClip.ClipGradNorm([p1, unused, p2], maxNorm, normType);
            double tol = dtype == DType.Float64 ? 1e-12 : 1e-5;
            Assert.Equal(c.Outputs[0]!.Item(), total, tol * 10);
            AssertClose(c.Outputs[1]!, p1.Grad!, tol, tol);
            AssertClose(c.Outputs[2]!, p2.Grad!, tol, tol);
            Assert.Null(unused.Grad);
        }
    }

    [Fact]
    public void ClipGradValueMatchesPyTorch()
    {
        var c = Golden.Golden.Case("optim", "clip_value");
        var (p1, p2) = Params(c, DType.Float64);
        GradClip.ClipGradValue([p1, p2], 0.7);
        AssertClose(c.Outputs[0]!, p1.Grad!, 0, 0);
        AssertClose(c.Outputs[1]!, p2.Grad!, 0, 0);
    }

    [Fact]
    public void ClipWorksOnNonContiguousGradients()
    {
        var p = Tensor.Zeros([2, 3], DType.Float64, requiresGrad: true);
        p.Grad = Tensor.FromArray(new double[] { 3, 0, 0, 4, 0, 0 }, 3, 2).T;   // (2, 3) view, norm 5
        Assert.False(p.Grad.IsContiguous);
        Assert.Equal(5.0, GradClip.ClipGradNorm([p], 1.0), 12);
        Assert.Equal(0.6, p.Grad.At(0, 0), 6);
        Assert.Equal(0.8, p.Grad.At(1, 1), 6);
        GradClip.ClipGradValue([p], 0.7);
        Assert.Equal(0.6, p.Grad.At(0, 0), 6);
        Assert.Equal(0.7, p.Grad.At(1, 1), 12);
    }

    [Fact]
    public void EdgeCases()
    {
        Assert.Equal(0.0, GradClip.ClipGradNorm([Tensor.Zeros([2], requiresGrad: true)], 1.0));
        var p = Tensor.Zeros([2], DType.Float64, requiresGrad: true);
        p.Grad = Tensor.FromArray(new[] { double.NaN, 1.0 }, 2);
        Assert.Contains("non-finite", Assert.Throws<InvalidOperationException>(() => GradClip.ClipGradNorm([p], 1.0, errorIfNonfinite: true)).Message);
        Assert.True(double.IsNaN(GradClip.ClipGradNorm([p], 1.0)));
        Assert.Throws<ArgumentOutOfRangeException>(() => GradClip.ClipGradNorm([p], 1.0, normType: -1));
    }
}
