using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.MathOps;

/// <summary>Finite-difference gradient checks (float64) for every math op, over contiguous, transposed and broadcast inputs.</summary>
public class MathGradTests
{
    /// <summary>A transposed (non-contiguous) float64 leaf with values in [0.5, ∞), for ops with a restricted domain.</summary>
    static Tensor PosT(int rows, int cols) => (Tensor.Randn(cols, rows, DType.Float64).Abs() + 0.5).T.Detach().RequiresGrad_();

    static Tensor Pos(params int[] shape) => (Tensor.Randn(shape, DType.Float64).Abs() + 0.5).RequiresGrad_();

    [Fact]
    public void UnaryMaths()
    {
        GradCheck(x => x[0].Sqrt(), PosT(3, 4));
        GradCheck(x => x[0].Rsqrt(), PosT(3, 4));
        GradCheck(x => x[0].Abs(), RT(3, 4));
        GradCheck(x => x[0].Sin(), RT(3, 4));
        GradCheck(x => x[0].Cos(), RT(3, 4));
        GradCheck(x => x[0].Tanh(), RT(3, 4));
        GradCheck(x => x[0].Sigmoid(), RT(3, 4));
        GradCheck(x => x[0].Reciprocal(), PosT(3, 4));
        GradCheck(x => x[0].Log1p(), PosT(3, 4));
        GradCheck(x => x[0].Expm1(), RT(3, 4));
        GradCheck(x => x[0].Erf(), RT(3, 4));
        GradCheck(x => x[0].Square(), RT(3, 4));
    }

    [Fact]
    public void PowScalarAndTensorExponents()
    {
        foreach (var p in new[] { 2.5, 3.0, -1.5, 0.5, 2.0, -1.0, 1.0 })
            GradCheck(x => x[0].Pow(p), PosT(3, 4));
        GradCheck(x => x[0].Pow(3), RT(3, 4));                       // negative bases, integral exponent
        GradCheck(x => x[0].Pow(x[1]), Pos(2, 3, 4), R(3, 1));        // exponent broadcast
        GradCheck(x => x[0].Pow(x[1]), Pos(4), R(2, 3, 1));           // base broadcast
        GradCheck(x => x[0].Pow(x[1]), PosT(3, 4), RT(3, 4));         // both transposed
        GradCheck(x => Tensor.Pow(2.0, x[0]), RT(3, 4));               // scalar base
    }

    [Fact]
    public void ClampAndPiecewiseActivations()
    {
        GradCheck(x => x[0].Clamp(-0.5, 0.7), RT(4, 5));
        GradCheck(x => x[0].ClampMin(-0.3), RT(4, 5));
        GradCheck(x => x[0].ClampMax(0.2), RT(4, 5));
        GradCheck(x => x[0].Relu(), RT(4, 5));
        GradCheck(x => x[0].LeakyRelu(0.2), RT(4, 5));
        GradCheck(x => x[0].Hardtanh(-0.5, 0.5), RT(4, 5));
        GradCheck(x => (x[0] * 4).Relu6(), RT(4, 5));
        GradCheck(x => (x[0] * 3).Hardsigmoid(), RT(4, 5));
        GradCheck(x => (x[0] * 3).Hardswish(), RT(4, 5));
    }

    [Fact]
    public void SmoothActivations()
    {
        GradCheck(x => x[0].Elu(1.5), RT(4, 5));
        GradCheck(x => x[0].Selu(), RT(4, 5));
        GradCheck(x => (x[0] * 3).Gelu(), RT(4, 5));
        GradCheck(x => (x[0] * 3).Gelu("tanh"), RT(4, 5));
        GradCheck(x => x[0].Silu(), RT(4, 5));
        GradCheck(x => x[0].Softplus(), RT(4, 5));
        GradCheck(x => (x[0] * 3).Softplus(beta: 2, threshold: 1), RT(4, 5));   // both regions
        GradCheck(x => x[0].LogSigmoid(), RT(4, 5));
        GradCheck(x => x[0].Mish(), RT(4, 5));
    }

    [Fact]
    public void SoftmaxFamilyOverEveryDim()
    {
        foreach (var d in new[] { 0, 1, 2, -1 })
        {
            GradCheck(x => x[0].Softmax(d), R(2, 3, 4));
            GradCheck(x => x[0].LogSoftmax(d), R(2, 3, 4));
            GradCheck(x => x[0].LogSumExp(d, keepDim: d == 1), R(2, 3, 4));
        }
        GradCheck(x => x[0].Softmax(0), RT(3, 4));
        GradCheck(x => x[0].LogSoftmax(-1), RT(3, 4));
        GradCheck(x => x[0].LogSumExp([0, 2]), R(2, 3, 4));
        GradCheck(x => x[0].LogSumExp(null), RT(3, 4));
        // upstream gradients that are broadcast views (non-contiguous g reaching the backward kernels)
        GradCheck(x => x[0].Softmax(1).Sum(1), R(3, 4));
        GradCheck(x => x[0].LogSoftmax(0) * x[1], R(3, 4), R(4));
    }

    /// <summary>Checks the gradient of f (taken with createGraph) by finite differences: the second derivatives.</summary>
    static void SecondOrder(Func<Tensor, Tensor> f, Tensor input)
    {
        var projection = Tensor.RandnLike(f(input.Detach()));
        GradCheck(x =>
        {
            using (Autograd.EnableGrad())
                return Autograd.Grad(f(x[0]).Mul(projection).Sum(), x[0], createGraph: true);
        }, input);
    }

    [Fact]
    public void SecondDerivatives()
    {
        SecondOrder(x => x.Softmax(1), R(3, 4));
        SecondOrder(x => x.Softmax(0), R(3, 4));
        SecondOrder(x => x.LogSoftmax(-1), R(3, 4));
        SecondOrder(x => x.LogSoftmax(0), RT(3, 4));
        SecondOrder(x => x.LogSumExp(1), R(3, 4));
        SecondOrder(x => (x * 2).Gelu(), R(3, 4));
        SecondOrder(x => (x * 2).Gelu("tanh"), R(3, 4));
        SecondOrder(x => x.Silu(), R(3, 4));
        SecondOrder(x => x.Elu(), R(3, 4));
        SecondOrder(x => (x * 3).Softplus(threshold: 2), R(3, 4));
        SecondOrder(x => x.Sigmoid(), R(3, 4));
        SecondOrder(x => x.Tanh(), R(3, 4));
        SecondOrder(x => x.Erf(), R(3, 4));
        SecondOrder(x => x.Sin() * x.Cos(), R(3, 4));
        SecondOrder(x => x.Pow(2.5), PosT(3, 4));
        SecondOrder(x => x.Sqrt() + x.Rsqrt() + x.Reciprocal() + x.Log1p() + x.Expm1(), PosT(3, 4));
    }
}
