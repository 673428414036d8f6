using DeepSharp.Quantization;
using static DeepSharp.Quantization.Tests.GoldenFile;

namespace DeepSharp.Quantization.Tests;

public class FakeQuantizeTests
{
    [Theory]
    [InlineData("fq_tensor_f32")]
    [InlineData("fq_tensor_f64")]
    [InlineData("fq_tensor_halfway")]
    public void PerTensorMatchesPyTorchWithStraightThroughGradient(string name)
    {
        var c = Case(name);
        var dtype = c.GetProperty("dtype").GetString() == "torch.float64" ? DType.Float64 : DType.Float32;
        var x = Tensor(c.GetProperty("x"), dtype); x.RequiresGrad = true;
        var y = x.FakeQuantizePerTensorAffine(c.GetProperty("scale").GetDouble(), c.GetProperty("zero_point").GetInt64(),
            c.GetProperty("quant_min").GetInt64(), c.GetProperty("quant_max").GetInt64());
        AssertClose(Vals(c.GetProperty("out")), Doubles(y), 1e-6, 1e-7, name + " out");
        var g = Autograd.Grad([y], [x], [Tensor(c.GetProperty("upstream"), dtype)])[0]!;
        AssertClose(Vals(c.GetProperty("grad")), Doubles(g), 1e-6, 0, name + " grad");
    }

    [Fact]
    public void PerChannelMatchesPyTorch()
    {
        var c = Case("fq_channel_axis1");
        var x = Tensor(c.GetProperty("x")); x.RequiresGrad = true;
        var y = x.FakeQuantizePerChannelAffine(Tensor(c.GetProperty("scales")), Tensor(c.GetProperty("zero_points"), DType.Int64), 1, -128, 127);
        AssertClose(Vals(c.GetProperty("out")), Doubles(y), 1e-6, 1e-7, "out");
        var g = Autograd.Grad([y], [x], [Tensor(c.GetProperty("upstream"))])[0]!;
        AssertClose(Vals(c.GetProperty("grad")), Doubles(g), 1e-6, 0, "grad");
    }

    [Fact]
    public void ModuleMatchesPyTorchOverBatches()
    {
        var c = Case("fqmod_default");
        var fq = new FakeQuantize();
        var outs = c.GetProperty("outs").EnumerateArray().ToArray();
        var qps = c.GetProperty("qparams").EnumerateArray().ToArray();
        int i = 0;
        foreach (var b in c.GetProperty("batches").EnumerateArray())
        {
            var y = fq.Call(Tensor(b));
            var expected = qps[i].EnumerateArray().Select(e => e.GetDouble()).ToArray();
            AssertClose([expected[0]], [fq.QParams.Scale[0]], 1e-6, 0, $"scale {i}");
            Assert.Equal((long)expected[1], fq.QParams.ZeroPoint[0]);
            AssertClose(Vals(outs[i]), Doubles(y), 1e-6, 1e-6, $"out {i}");
            i++;
        }
        Assert.Equal(3, i);
    }

    /// <summary>
    /// Finite differences taken on the quantization grid (step = scale, a power of two so every value is exact): inside
    /// [qmin, qmax] fq(x ± s) = fq(x) ± s, so the difference quotient is exactly 1; beyond the clamp it is 0. This is
    /// the derivative the straight-through estimator claims, checked with GradCheck's float64 machinery.
    /// </summary>
    [Fact]
    public void StraightThroughGradientMatchesGridFiniteDifferences()
    {
        const double scale = 0.0625; const long zp = 3, qmin = -20, qmax = 20;
        // points well inside (|q| ≤ 15) and well outside (|q| ≥ 25) the range, off the rounding midpoints
        var values = new[] { -0.8, -0.31, 0.02, 0.4, 0.77, 0.9, -2.5, 2.3, -3.1, 1.9 };
        var x = DeepSharp.Tensor.FromArray(values, [2, 5]); x.RequiresGrad = true;
        Assert.True(GradCheck.Check(t => t[0].FakeQuantizePerTensorAffine(scale, zp, qmin, qmax), [x], eps: scale, atol: 1e-12, rtol: 0));
        var g = Autograd.Grad([x.FakeQuantizePerTensorAffine(scale, zp, qmin, qmax).Sum()], [x])[0]!.ToArray<double>();
        Assert.Equal(new double[] { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0 }, g);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var x = DeepSharp.Tensor.Randn(2, 3);
        Assert.Contains("zero point", Assert.Throws<ArgumentException>(() => x.FakeQuantizePerTensorAffine(0.1, 300, 0, 255)).Message);
        Assert.Contains("(2, 3)", Assert.Throws<ArgumentException>(() =>
            x.FakeQuantizePerChannelAffine(DeepSharp.Tensor.Ones(2), DeepSharp.Tensor.Zeros([2], DType.Int64), 1, 0, 255)).Message);
    }
}
