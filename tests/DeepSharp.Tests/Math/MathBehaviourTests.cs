using DeepSharp.NN;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.MathOps;

/// <summary>Numerical stability, float32 against float64, dtype rules, in-place forms and error messages.</summary>
public class MathBehaviourTests
{
    static bool AllFinite(Tensor t) => t.ToArray<double>().All(double.IsFinite);

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void SoftmaxOfLargeValuesHasNoNaN(DType dtype)
    {
        var x = Tensor.FromArray(new[] { 1000.0, 1001.0 }, [2], dtype: dtype, requiresGrad: true);
        var y = x.Softmax(0);
        AssertClose(new[] { 0.2689414213699951, 0.7310585786300049 }, y, 1e-6, 1e-7);
        (y * Tensor.FromArray(new[] { 1.0, 3.0 }, [2], dtype: dtype)).Sum().Backward();
        Assert.True(AllFinite(x.Grad!));
        var columns = Tensor.FromArray(new[] { 1000.0, -1000.0, 1001.0, -1001.0 }, [2, 2], dtype: dtype);
        AssertClose(new[] { 0.2689414213699951, 0.7310585786300049, 0.7310585786300049, 0.2689414213699951 }, columns.Softmax(0), 1e-6, 1e-7);
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void LogSoftmaxOfLargeNegativesIsFinite(DType dtype)
    {
        var x = Tensor.FromArray(new[] { -1000.0, -1001.0, -1e4, -3000.0 }, [1, 4], dtype: dtype, requiresGrad: true);
        var y = x.LogSoftmax(-1);
        Assert.True(AllFinite(y));
        // log(1 + e^-1) = 0.31326168751822286
        AssertClose(new[] { -0.31326168751822286, -1.31326168751822286, -9000.31326168751822286, -2000.31326168751822286 }, y, 1e-6, 1e-4);
        y.Sum().Backward();
        Assert.True(AllFinite(x.Grad!));
        var lse = Tensor.FromArray(new[] { -1000.0, -1000.0 }, [2], dtype: dtype).LogSumExp(0);
        AssertClose(new[] { -1000 + Math.Log(2) }, lse.Reshape(1), 1e-6, 1e-3);
    }

    [Fact]
    public void LogSumExpOfInfinitiesFollowsPyTorch()
    {
        var x = Tensor.FromArray(new[] { double.NegativeInfinity, double.NegativeInfinity, double.PositiveInfinity, 1.0 }, 2, 2);
        var y = x.LogSumExp(1);
        Assert.Equal(double.NegativeInfinity, y.At(0));
        Assert.Equal(double.PositiveInfinity, y.At(1));
    }

    [Fact]
    public void ActivationsStayFiniteAtTheExtremes()
    {
        var x = Tensor.FromArray(new[] { -1e4, -100.0, 100.0, 1e4 }, [4], dtype: DType.Float32);
        foreach (var y in new[] { x.Sigmoid(), x.Tanh(), x.Softplus(), x.LogSigmoid(), x.Silu(), x.Gelu(), x.Gelu("tanh"), x.Elu(), x.Mish() })
            Assert.True(AllFinite(y));
        AssertClose(new[] { -1e4, -100.0, 0.0, 0.0 }, x.LogSigmoid(), 1e-6, 1e-6);
        AssertClose(new[] { 0.0, 0.0, 100.0, 1e4 }, x.Softplus(), 1e-6, 1e-6);
    }

    public static IEnumerable<object[]> Float32Ops() => new (string, Func<Tensor, Tensor>)[]
    {
        ("sqrt", a => a.Abs().Sqrt()), ("rsqrt", a => (a.Abs() + 0.1).Rsqrt()), ("sin", a => a.Sin()), ("cos", a => a.Cos()),
        ("tanh", a => a.Tanh()), ("sigmoid", a => a.Sigmoid()), ("log1p", a => a.Abs().Log1p()), ("expm1", a => a.Expm1()),
        ("erf", a => a.Erf()), ("pow", a => a.Abs().Pow(1.7)), ("powt", a => a.Abs().Pow(a * 0.3)), ("clamp", a => a.Clamp(-0.5, 0.5)),
        ("relu", a => a.Relu()), ("leaky", a => a.LeakyRelu()), ("elu", a => a.Elu()), ("gelu", a => a.Gelu()),
        ("gelutanh", a => a.Gelu("tanh")), ("silu", a => a.Silu()), ("softplus", a => a.Softplus()), ("mish", a => a.Mish()),
        ("softmax0", a => a.Softmax(0)), ("softmax1", a => a.Softmax(-1)), ("logsoftmax0", a => a.LogSoftmax(0)),
        ("logsoftmax1", a => a.LogSoftmax(1)), ("lse", a => a.LogSumExp(0)),
    }.Select(p => new object[] { p.Item1, p.Item2 });

    [Theory]
    [MemberData(nameof(Float32Ops))]
    public void Float32IsCloseToFloat64(string name, Func<Tensor, Tensor> op)
    {
        var x64 = (Tensor.Randn([37, 19], DType.Float64, generator: new Generator(7)) * 3).RequiresGrad_();
        var x32 = x64.Detach().Float().RequiresGrad_();
        var y64 = op(x64); var y32 = op(x32);
        Assert.Equal(DType.Float32, y32.DType);
        AssertClose(y64, y32.Double(), 2e-5, 2e-5, name);
        var upstream = Tensor.RandnLike(y64.Detach());
        y64.Backward(upstream); y32.Backward(upstream.Float());
        AssertClose(x64.Grad!, x32.Grad!.Double(), 1e-4, 1e-4, name + " gradient");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void LargeSoftmaxRunsInParallelChunksAndMatchesTheComposedFormula(int dim)
    {
        var x = Tensor.Randn([40, 50, 60], DType.Float64, generator: new Generator(3)) * 4;   // 120k elements: several tasks
        var reference = (x - x.LogSumExp(dim, keepDim: true)).Exp();
        AssertClose(reference, x.Softmax(dim), 1e-12, 1e-15);
        AssertClose(reference.Log(), x.LogSoftmax(dim), 1e-12, 1e-12);
        var xg = x.Float().RequiresGrad_();
        var g = Tensor.RandnLike(xg.Detach(), new Generator(4));
        xg.Softmax(dim).Backward(g);
        var p = reference.Float();
        // float32 against a float64-derived reference: g − Σ g·p cancels, so the absolute error reaches about
        // p·|g|·1e-6 (an atol of 1e-6 failed now and then, depending on g); 1e-5 still catches any wrong term
        AssertClose(p * (g - (g * p).Sum(dim, keepDim: true)), xg.Grad!, 1e-4, 1e-5);
    }

    [Fact]
    public void ErfIsAccurateInFloat64()
    {
        var x = Tensor.FromArray(new[] { 0.0, 1e-10, 0.5, 1.0, 2.9, 3.1, 6.0, -2.0 }, 8);
        // reference values from mpmath / Python's math.erf
        AssertClose(new[] { 0.0, 1.1283791670955126e-10, 0.5204998778130465, 0.8427007929497149, 0.9999589021219005,
            0.9999883513426328, 1.0, -0.9953222650189527 }, x.Erf(), 1e-14, 1e-16);
    }

    [Fact]
    public void IntegerInputsFollowPyTorchDtypeRules()
    {
        var i = Tensor.FromArray(new long[] { -2, 0, 3 }, 3);
        Assert.Equal(DType.Float32, i.Sqrt().DType);
        Assert.Equal(DType.Float32, i.Sigmoid().DType);
        Assert.Equal(DType.Float32, i.Softmax(0).DType);
        Assert.Equal(DType.Float32, i.Gelu().DType);
        Assert.Equal(DType.Int64, i.Relu().DType);
        Assert.Equal(new long[] { 0, 0, 3 }, i.Relu().ToArray<long>());
        Assert.Equal(new long[] { 2, 0, 3 }, i.Abs().ToArray<long>());
        Assert.Equal(new long[] { -1, 0, 1 }, i.Sign().ToArray<long>());
        Assert.Equal(new long[] { -1, 0, 1 }, i.Clamp(-1, 1).ToArray<long>());
        Assert.Equal(DType.Float32, i.Clamp(-0.5, 1).DType);
        Assert.Equal(new long[] { 4, 0, 9 }, i.Pow(2).ToArray<long>());
        Assert.Equal(DType.Float32, i.Pow(0.5).DType);
        Assert.Equal(new long[] { 4, 1, 9 }, i.Square().Add(Tensor.FromArray(new long[] { 0, 1, 0 }, 3)).ToArray<long>());
        var f32 = Tensor.FromArray(new float[] { 1, 2 }, 2);
        Assert.Equal(DType.Float32, f32.Pow(Tensor.FromArray(new long[] { 2, 3 }, 2)).DType);
        AssertClose(new[] { 1.0, 8.0 }, f32.Pow(Tensor.FromArray(new long[] { 2, 3 }, 2)));
    }

    [Fact]
    public void SignAndClampEdgeCases()
    {
        var x = Tensor.FromArray(new[] { -2.0, 0.0, double.NaN, 5.0 }, 4);
        Assert.Equal(new[] { -1.0, 0.0, 0.0, 1.0 }, x.Sign().ToArray<double>());
        var c = x.Clamp(-1, 1).ToArray<double>();
        Assert.Equal(-1.0, c[0]); Assert.Equal(0.0, c[1]); Assert.True(double.IsNaN(c[2])); Assert.Equal(1.0, c[3]);
        Assert.Equal(new[] { 0.5, 0.5 }, Tensor.FromArray(new[] { -3.0, 3.0 }, 2).Clamp(1.0, 0.5).ToArray<double>()); // min > max -> max
        Assert.False(R(3).Sign().RequiresGrad);
        // the gradient passes at the bounds themselves, as in PyTorch (Hardtanh's does not)
        var b = Tensor.FromArray(new[] { -1.0, 0.0, 1.0, 2.0 }, [4], requiresGrad: true);
        b.Clamp(-1, 1).Sum().Backward();
        Assert.Equal(new[] { 1.0, 1.0, 1.0, 0.0 }, b.Grad!.ToArray<double>());
        var h = Tensor.FromArray(new[] { -1.0, 0.0, 1.0, 2.0 }, [4], requiresGrad: true);
        h.Hardtanh().Sum().Backward();
        Assert.Equal(new[] { 0.0, 1.0, 0.0, 0.0 }, h.Grad!.ToArray<double>());
        var r = Tensor.FromArray(new[] { -1.0, 0.0, 2.0 }, [3], requiresGrad: true);
        r.Relu().Sum().Backward();
        Assert.Equal(new[] { 0.0, 0.0, 1.0 }, r.Grad!.ToArray<double>());
    }

    [Fact]
    public void InPlaceForms()
    {
        var x = Tensor.FromArray(new[] { -1.0, 2.0, -3.0, 4.0 }, 2, 2);
        int v = x.Version;
        Assert.Same(x, x.ReluInPlace());
        Assert.Equal(new[] { 0.0, 2.0, 0.0, 4.0 }, x.ToArray<double>());
        Assert.True(x.Version > v);
        Assert.Same(x, F.Relu(x, inplace: true));

        var b = Tensor.FromArray(new[] { -1.0, 2.0, -3.0, 4.0 }, 2, 2);
        b.T.ReluInPlace();                                            // non-contiguous view writes through to the base
        Assert.Equal(new[] { 0.0, 2.0, 0.0, 4.0 }, b.ToArray<double>());

        var w = Tensor.FromArray(new[] { -5.0, 0.3, 7.0 }, [3], requiresGrad: true);
        Assert.Throws<InvalidOperationException>(() => w.ClampInPlace(-1, 1));
        Assert.Throws<InvalidOperationException>(() => w.ReluInPlace());
        using (Autograd.NoGrad()) w.ClampInPlace(-1, 1);
        Assert.Equal(new[] { -1.0, 0.3, 1.0 }, w.ToArray<double>());
        var q = Tensor.FromArray(new[] { -5f, 0.3f, 7f }, 3);
        q.ClampMinInPlace(0).ClampMaxInPlace(1);
        AssertClose(new[] { 0.0, 0.3, 1.0 }, q, 1e-6);
        var ints = Tensor.FromArray(new[] { -5, 3, 7 }, 3);
        ints.ClampInPlace(0, 5);
        Assert.Equal(new[] { 0, 3, 5 }, ints.ToArray<int>());

        // a tensor saved for backward and then modified in place is detected
        var p = R(3);
        var y = p.Sigmoid();
        using (Autograd.NoGrad()) y.ReluInPlace();
        Assert.Throws<InvalidOperationException>(() => y.Sum().Backward());
    }

    [Fact]
    public void PowGradientsAreMaskedLikePyTorch()
    {
        var a = Tensor.FromArray(new[] { 0.0, 0.0, 2.0 }, [3], requiresGrad: true);
        var b = Tensor.FromArray(new[] { 0.0, 2.0, 0.0 }, [3], requiresGrad: true);
        a.Pow(b).Sum().Backward();
        Assert.True(AllFinite(a.Grad!) && AllFinite(b.Grad!));
        Assert.Equal(new[] { 0.0, 0.0, 0.0 }, a.Grad!.ToArray<double>());
        Assert.Equal(new[] { 0.0, 0.0, Math.Log(2) }, b.Grad!.ToArray<double>());
        var c = Tensor.FromArray(new[] { 0.0, 3.0 }, [2], requiresGrad: true);
        c.Pow(0).Sum().Backward();
        Assert.Equal(new[] { 0.0, 0.0 }, c.Grad!.ToArray<double>());
    }

    [Fact]
    public void ScalarAndEmptyInputs()
    {
        AssertClose(new[] { 1.0 }, Tensor.Scalar(3.0, DType.Float64).Softmax(0).Reshape(1));
        AssertClose(new[] { 0.0 }, Tensor.Scalar(3.0, DType.Float64).LogSoftmax(-1).Reshape(1));
        Assert.Equal([0, 3], Tensor.Zeros(0, 3).Softmax(1).Shape);
        Assert.Equal([2, 0], Tensor.Zeros(2, 0).LogSoftmax(1).Shape);
        Assert.Equal([2], Tensor.Zeros(2, 0).LogSumExp(1).Shape);
        Assert.Equal(float.NegativeInfinity, Tensor.Zeros(2, 0).LogSumExp(1).At(0));
    }

    [Fact]
    public void BadArgumentsGiveClearErrors()
    {
        var x = Tensor.Randn(2, 3, 4);
        var e1 = Assert.Throws<ArgumentOutOfRangeException>(() => x.Softmax(3));
        Assert.Contains("Softmax", e1.Message); Assert.Contains("rank 3", e1.Message);
        Assert.Contains("LogSoftmax", Assert.Throws<ArgumentOutOfRangeException>(() => x.LogSoftmax(-4)).Message);
        Assert.Contains("LogSumExp", Assert.Throws<ArgumentOutOfRangeException>(() => x.LogSumExp(5)).Message);
        Assert.Contains("more than once", Assert.Throws<ArgumentException>(() => x.LogSumExp([1, -2])).Message);
        Assert.Contains("approximate", Assert.Throws<ArgumentException>(() => x.Gelu("exact")).Message);
        Assert.Contains("Clamp", Assert.Throws<ArgumentException>(() => x.Clamp()).Message);
        Assert.Contains("Hardtanh", Assert.Throws<ArgumentException>(() => x.Hardtanh(1, -1)).Message);
        var pe = Assert.Throws<ArgumentException>(() => x.Pow(Tensor.Randn(5)));
        Assert.Contains("Pow", pe.Message);
    }
}
