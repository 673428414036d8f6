using DeepSharp.NN;

namespace DeepSharp.Tests.NN;

/// <summary>
/// Linear calls the GEMM on the arrays directly when its operands are contiguous, and goes through reshaped and
/// transposed views otherwise or while a backward graph is recorded: both routes must agree, in value and gradient.
/// </summary>
public class LinearDirectGemmTests
{
    static (Tensor Out, Tensor Gx, Tensor Gw, Tensor Gb) Run(Tensor x, Tensor w, Tensor b)
    {
        var (xi, wi, bi) = (x.Detach().RequiresGrad_(), w.Detach().RequiresGrad_(), b.Detach().RequiresGrad_());
        var output = F.Linear(xi, wi, bi);
        output.Mul(output).Sum().Backward();
        return (output.Detach(), xi.Grad!, wi.Grad!, bi.Grad!);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void ContiguousAndStridedInputsGiveTheSameOutputAndGradients(DType dtype)
    {
        var w = Tensor.Randn([6, 5], dtype); var b = Tensor.Randn([6], dtype);
        var strided = Tensor.Randn([5, 7], dtype).T;                   // (7, 5), not contiguous: the view route
        var contiguous = strided.Contiguous();                          // the direct route
        var viaViews = Run(strided, w, b);
        var direct = Run(contiguous, w, b);
        TestUtil.AssertClose(viaViews.Out, direct.Out, what: "output");
        TestUtil.AssertClose(viaViews.Gx, direct.Gx, what: "input grad");
        TestUtil.AssertClose(viaViews.Gw, direct.Gw, what: "weight grad");
        TestUtil.AssertClose(viaViews.Gb, direct.Gb, what: "bias grad");
    }

    [Fact]
    public void BatchedInputKeepsItsLeadingDimsAndGradientShape()
    {
        var w = Tensor.Randn([3, 4], DType.Float64); var b = Tensor.Randn([3], DType.Float64);
        var x = Tensor.Randn([2, 5, 4], DType.Float64);
        var r = Run(x, w, b);
        Assert.Equal([2, 5, 3], r.Out.Shape);
        Assert.Equal([2, 5, 4], r.Gx.Shape);
        var flat = Run(x.Reshape(10, 4), w, b);
        TestUtil.AssertClose(flat.Out.Reshape(2, 5, 3), r.Out);
        TestUtil.AssertClose(flat.Gw, r.Gw);
        TestUtil.GradCheck(t => F.Linear(t[0], t[1], t[2]).Square().Sum(), TestUtil.R(2, 5, 4), TestUtil.R(3, 4), TestUtil.R(3));
    }

    [Fact]
    public void SecondDerivativesGoThroughTheRecordedBackward()
    {
        // createGraph: the backward must be recorded (the direct GEMM route records nothing), so grad-of-grad works
        TestUtil.GradCheck(t =>
        {
            using var recording = Autograd.EnableGrad();   // GradCheck's finite differences run under no-grad
            var y = F.Linear(t[0], t[1], t[2]).Square().Sum();
            var gw = Autograd.Grad(y, t[1], createGraph: true);
            return gw.Square().Sum();
        }, TestUtil.R(4, 3), TestUtil.R(2, 3), TestUtil.R(2));
    }

    [Theory]
    [InlineData(7, 5, DType.Float32)]
    [InlineData(130, 1, DType.Float32)]
    [InlineData(1, 9, DType.Float32)]
    [InlineData(64, 10, DType.Float64)]
    public void BiasGradientIsBitwiseTheSumOverRows(int m, int n, DType dtype)
    {
        DeepSharp.Random.Seed(m * 7 + n);
        var w = Tensor.Randn([n, 3], dtype); var b = Tensor.Randn([n], dtype).RequiresGrad_();
        var x = Tensor.Randn([2, m, 3], dtype);
        var g = Tensor.Randn([2, m, n], dtype).Mul(100.0);
        F.Linear(x, w, b).Backward(g);
        var expected = g.Reshape(2 * m, n).Sum(0).ToArray<double>();
        var actual = b.Grad!.ToArray<double>();
        for (int i = 0; i < n; i++) Assert.Equal(BitConverter.DoubleToInt64Bits(expected[i]), BitConverter.DoubleToInt64Bits(actual[i]));
    }
}
