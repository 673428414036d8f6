using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Core;

public class CoreOpsTests
{
    [Theory]
    [InlineData("add_broadcast")] [InlineData("sub_broadcast")] [InlineData("mul_broadcast")] [InlineData("div_broadcast")]
    [InlineData("matmul_2d")] [InlineData("matmul_batched_broadcast")] [InlineData("matmul_vec_mat")] [InlineData("matmul_mat_vec")]
    public void BinaryOpsMatchPyTorch(string name)
    {
        var c = Golden.Golden.Case("core_ops", name);
        var a = c.Input(0); var b = c.Input(1);
        Tensor y = name.Split('_')[0] switch
        {
            "add" => a + b, "sub" => a - b, "mul" => a * b, "div" => a / b, "matmul" => a.MatMul(b),
            _ => throw new InvalidOperationException(),
        };
        c.Check(y, [a, b]);
    }

    [Fact]
    public void UnaryReductionAndViewOpsMatchPyTorch()
    {
        void One(string name, Func<Tensor, Tensor> f)
        {
            var c = Golden.Golden.Case("core_ops", name);
            var a = c.Input(0);
            c.Check(f(a), [a]);
        }
        One("neg", a => -a);
        One("exp", a => a.Exp());
        One("log", a => a.Log());
        One("sum_all", a => a.Sum());
        One("sum_dims_keep", a => a.Sum([0, 2], keepDim: true));
        One("mean_dim", a => a.Mean(1));
        One("permute_reshape", a => a.Permute(2, 0, 1).Reshape(4, -1) * 2);
        One("narrow_select", a => a.Narrow(1, 1, 2).Select(0, 1) * 3);
        One("expand_mul", a => a.Expand(3, 2, 4) * Tensor.Arange(24, DType.Float64).Reshape(3, 2, 4));
        var t = Golden.Golden.Case("core_ops", "matmul_transposed");
        var x = t.Input(0); var w = t.Input(1);
        t.Check(x.T.MatMul(w.T), [x, w]);
    }

    [Fact]
    public void GradChecksOverBroadcastAndNonContiguousInputs()
    {
        GradCheck(x => x[0] + x[1], R(2, 3), R(3));
        GradCheck(x => x[0] - x[1], RT(3, 4), R(4, 1, 1));
        GradCheck(x => x[0] * x[1], RT(3, 4), RT(3, 4));
        GradCheck(x => x[0] / (x[1] * x[1] + 1), R(2, 3), RT(2, 3));
        GradCheck(x => x[0].MatMul(x[1]), RT(3, 4), RT(4, 5));
        GradCheck(x => x[0].MatMul(x[1]), R(2, 3, 4), R(4, 5));
        GradCheck(x => x[0].MatMul(x[1]), R(2, 1, 3, 4), R(5, 4, 2));
        GradCheck(x => x[0].Sum([0, 2]), R(2, 3, 4));
        GradCheck(x => x[0].Mean(1, keepDim: true), RT(3, 4));
        GradCheck(x => x[0].Exp(), RT(3, 4));
        GradCheck(x => (x[0] * x[0] + 1).Log(), R(3, 4));
        GradCheck(x => x[0].Permute(1, 0).Reshape(-1).Narrow(0, 2, 5), RT(3, 4));
        GradCheck(x => x[0].Select(1, 2).Unsqueeze(0).Expand(3, 3), R(3, 4));
        GradCheck(x => x[0].Slice(1, 0, 4, step: 2), R(3, 5));
        GradCheck(x => x[0].Squeeze().Flatten(), R(3, 1, 2));
    }

    [Fact]
    public void SecondOrderGradient()
    {
        var x = Tensor.FromArray(new[] { 1.5, -2.0 }, [2], requiresGrad: true);
        var y = (x * x * x).Sum();                                   // y = Σ x³
        var g = Autograd.Grad(y, x, createGraph: true);               // 3x²
        AssertClose(new[] { 6.75, 12.0 }, g);
        var gg = Autograd.Grad(g.Sum(), x);                           // 6x
        AssertClose(new[] { 9.0, -12.0 }, gg);
    }

    [Fact]
    public void GradientsAccumulateAndRetainGraphWorks()
    {
        var w = Tensor.FromArray(new[] { 2.0 }, [1], requiresGrad: true);
        var loss = (w * w).Sum();
        loss.Backward(retainGraph: true);
        loss.Backward();
        AssertClose(new[] { 8.0 }, w.Grad!);
        var ex = Assert.Throws<InvalidOperationException>(() => loss.Backward());
        Assert.Contains("second time", ex.Message);
    }

    [Fact]
    public void InPlaceModificationOfSavedTensorIsDetected()
    {
        var a = Tensor.Randn([3], DType.Float64, requiresGrad: true);
        var b = Tensor.Randn(3).Double();
        var y = (a * b).Sum();
        b.AddInPlace(1.0);
        var ex = Assert.Throws<InvalidOperationException>(() => y.Backward());
        Assert.Contains("in-place", ex.Message);
        Assert.Throws<InvalidOperationException>(() => a.AddInPlace(1.0));
        using (Autograd.NoGrad()) a.AddInPlace(1.0);
    }

    [Fact]
    public void ClearErrorsForBadShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(64, 784).MatMul(Tensor.Zeros(10, 784)));
        Assert.Contains("(64, 784)", ex.Message); Assert.Contains("(10, 784)", ex.Message);
        var ex2 = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3) + Tensor.Zeros(4));
        Assert.Contains("(2, 3)", ex2.Message);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).Reshape(4, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).Sum(2));
        Assert.Throws<IndexOutOfRangeException>(() => Tensor.Zeros(2, 3).Select(0, 5));
    }

    [Fact]
    public void ToStringLooksLikePyTorch()
    {
        Assert.Equal("tensor([[1., 2.],\n        [3., 4.]])", Tensor.FromArray(new float[] { 1, 2, 3, 4 }, 2, 2).ToString());
        Assert.Equal("tensor([ 0.5000, -1.2500], requires_grad=True)", Tensor.FromArray(new float[] { 0.5f, -1.25f }, [2], requiresGrad: true).ToString());
        Assert.Equal("tensor([0, 1, 2])", Tensor.Arange(3).ToString());
        Assert.Equal("tensor(3.5000, dtype=torch.float64)", Tensor.Scalar(3.5, DType.Float64).ToString());
        var big = Tensor.Arange(2000).ToString();
        Assert.Contains("...", big);
    }

    [Fact]
    public void SeedMakesRandomOpsReproducible()
    {
        DeepSharp.Random.Seed(7); var a = Tensor.Randn(5, 5).ToArray<float>();
        DeepSharp.Random.Seed(7); var b = Tensor.Randn(5, 5).ToArray<float>();
        Assert.Equal(a, b);
        var g1 = new Generator(3); var g2 = new Generator(3);
        Assert.Equal(Tensor.Rand([4], generator: g1).ToArray<float>(), Tensor.Rand([4], generator: g2).ToArray<float>());
    }

    [Fact]
    public void CreationFromMultiDimensionalArrays()
    {
        var t = Tensor.FromArray(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } });
        Assert.Equal([2, 3], t.Shape);
        Assert.Equal(6.0, t.At(1, 2));
        Assert.Equal(DType.Float32, t.DType);
        var w = Tensor.Randn(784, 10, requiresGrad: true);
        Assert.True(w.RequiresGrad);
        Assert.Equal([0.0, 0.25, 0.5, 0.75, 1.0], Tensor.Linspace(0, 1, 5, DType.Float64).ToArray<double>());
    }
}
