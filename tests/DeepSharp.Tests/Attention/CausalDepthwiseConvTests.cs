using DeepSharp.NN;
using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Attention;

/// <summary>F.CausalDepthwiseConv1d and the CausalDepthwiseConv1d module (Primer's multi-dconv-head attention; the GPT's use of it is tested in DeepSharp.Text.Tests).</summary>
public class CausalDepthwiseConvTests
{
    static GoldenCase Case(string name) => Golden.Golden.Case("attention", name);

    [Fact]
    public void MatchesPyTorchConv1dCroppedToTheCausalOutputs()
    {
        var c = Case("causal_dconv");                                   // x (2, 5, 6), weight (6, 1, 3), bias (6)
        var (x, w, b) = (c.Input(0), c.Input(1), c.Input(2));
        c.Check(F.CausalDepthwiseConv1d(x, w, b), [x, w, b], 1e-10, 1e-10);
        c = Case("causal_dconv_long_kernel_no_bias");                   // kernel 5 over 3 steps
        (x, w) = (c.Input(0), c.Input(1));
        c.Check(F.CausalDepthwiseConv1d(x, w), [x, w], 1e-10, 1e-10);
    }

    [Fact]
    public void Float32MatchesTheGeneralConv1dOnTheTransposedSequence()
    {
        DeepSharp.Random.Seed(3);
        var x = Tensor.Randn(3, 7, 20); var w = Tensor.Randn(20, 1, 4); var b = Tensor.Randn(20);
        var expected = F.Conv1d(x.Transpose(1, 2), w, b, padding: 3, groups: 20).Narrow(2, 0, 7).Transpose(1, 2);
        AssertClose(expected, F.CausalDepthwiseConv1d(x, w, b), 1e-5, 1e-5);
        // the module is that Conv1d's parameters and printout
        var m = new CausalDepthwiseConv1d(20, 4);
        Assert.Equal(new[] { 20, 1, 4 }, m.Weight.Shape);
        Assert.Null(m.Bias);
        Assert.Equal("CausalDepthwiseConv1d(20, 20, kernel_size=(4,), stride=(1,), padding=(3,), groups=20, bias=False)", m.ToString());
        m.ResetToIdentity();
        AssertClose(x, m.Forward(x), 0, 0);
    }

    [Fact]
    public void GradChecksOnStridedInputsShortSequencesAndSecondOrder()
    {
        DeepSharp.Random.Seed(5);
        GradCheck(t => F.CausalDepthwiseConv1d(t[0].Transpose(0, 1), t[1], t[2]), R(4, 2, 5), R(5, 1, 3), R(5));   // (T, N, F) seen as (N, T, F)
        GradCheck(t => F.CausalDepthwiseConv1d(t[0], t[1]), R(2, 2, 3), R(3, 1, 4));                                // kernel longer than the sequence
        var mix = Tensor.Randn([2, 4, 3], DType.Float64);
        GradCheck(t =>
        {
            using var grad = Autograd.EnableGrad();                                // finite differences run under NoGrad
            var leaf = t[0].RequiresGrad ? t[0] : t[0].Detach().RequiresGrad_();
            var y = F.CausalDepthwiseConv1d(leaf, t[1]);
            return Autograd.Grad([y.Square().Sum()], [leaf], createGraph: true)[0]!.Mul(mix);
        }, R(2, 4, 3), R(3, 1, 2));
    }

    [Fact]
    public void BadInputsGiveClearErrors()
    {
        var x = Tensor.Randn(2, 5, 6);
        Assert.Contains("(N, T, F)", Assert.Throws<ArgumentException>(() => F.CausalDepthwiseConv1d(Tensor.Randn(5, 6), Tensor.Randn(6, 1, 3))).Message);
        Assert.Contains("(6, 1, k)", Assert.Throws<ArgumentException>(() => F.CausalDepthwiseConv1d(x, Tensor.Randn(5, 1, 3))).Message);
        Assert.Contains("bias must be (6,)", Assert.Throws<ArgumentException>(() => F.CausalDepthwiseConv1d(x, Tensor.Randn(6, 1, 3), Tensor.Randn(5))).Message);
        Assert.Contains("one dtype", Assert.Throws<ArgumentException>(() => F.CausalDepthwiseConv1d(x, Tensor.Randn([6, 1, 3], DType.Float64))).Message);
    }
}
