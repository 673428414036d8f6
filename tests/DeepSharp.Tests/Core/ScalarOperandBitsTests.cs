namespace DeepSharp.Tests.Core;

/// <summary>
/// The scalar ops that skip their 0-d operand tensor (an unrecorded x·s, x + s, x − s, x / s, −x, the in-place forms and
/// AddInPlace(other, alpha)) give the bits of the same op with <c>Tensor.Scalar(s, dtype)</c>, on contiguous, strided,
/// 0-d and chunked (multi-threaded) inputs of every dtype they take.
/// </summary>
[Collection(SerialCollection.Name)]
public class ScalarOperandBitsTests
{
    static Tensor Input(DType dtype, int n, bool strided, int seed)
    {
        DeepSharp.Random.Seed(seed);
        var x = strided ? (Tensor.Randn(n, 3) * 50).T : (Tensor.Randn(3, n) * 50);
        return x.To(dtype);
    }

    static void AssertSameBits(Tensor expected, Tensor actual)
    {
        Assert.Equal(expected.DType, actual.DType);
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).ToArray<double>(); var a = actual.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < e.Length; i++) Assert.True(BitConverter.DoubleToInt64Bits(e[i]) == BitConverter.DoubleToInt64Bits(a[i]), $"element {i}: {e[i]:R} vs {a[i]:R}");
    }

    public static TheoryData<DType, int, bool> Cases()
    {
        var data = new TheoryData<DType, int, bool>();
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32 })
            foreach (var (n, strided) in new[] { (1, false), (37, false), (37, true), (20_000, false) })
                data.Add(dtype, n, strided);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void UnrecordedScalarOpsAreBitwiseTheTensorRoute(DType dtype, int n, bool strided)
    {
        int threads = Kernels.KernelThreadPool.ThreadCount;
        try
        {
            Kernels.KernelThreadPool.SetThreadCount(2);
            var x = Input(dtype, n, strided, n);
            bool floating = x.IsFloatingPoint;
            foreach (double s in floating ? new[] { 0.1, -1.0, 3.0, 1e-7 } : new[] { -1.0, 3.0, 7.0 })
            {
                var scalar = Tensor.Scalar(s, dtype);
                AssertSameBits(x.Mul(scalar), x.Mul(s));
                AssertSameBits(x.Add(scalar), x.Add(s));
                AssertSameBits(x.Sub(scalar), x.Sub(s));
                if (floating) AssertSameBits(x.Div(scalar), x.Div(s));
                var a = x.Contiguous().Clone(); var b = x.Contiguous().Clone();
                a.MulInPlace(scalar).AddInPlace(scalar).SubInPlace(scalar); b.MulInPlace(s).AddInPlace(s).SubInPlace(s);
                if (floating) { a.DivInPlace(scalar); b.DivInPlace(s); }
                AssertSameBits(a, b);
            }
            AssertSameBits(x.Mul(Tensor.Scalar(-1, dtype)), x.Neg());
        }
        finally { Kernels.KernelThreadPool.SetThreadCount(threads); }
    }

    [Theory]
    [InlineData(DType.Float32, 5)]
    [InlineData(DType.Float32, 64)]
    [InlineData(DType.Float64, 129)]
    [InlineData(DType.Float32, 40_000)]
    public void AddInPlaceWithAlphaIsBitwiseAddingTheScaledTensor(DType dtype, int n)
    {
        var x = Input(dtype, n, false, 1).Contiguous(); var other = Input(dtype, n, false, 2).Contiguous();
        foreach (double alpha in new[] { 0.1, 0.9, -2.5 })
        {
            var fused = x.Clone().AddInPlace(other, alpha);
            var composed = x.Clone().AddInPlace(other.Mul(Tensor.Scalar(alpha, dtype)));
            AssertSameBits(composed, fused);
        }
    }

    [Fact]
    public void RecordedScalarOpsKeepTheirGradients()
    {
        var x = Tensor.FromArray(new[] { 1.0, -2.0, 4.0 }, 3).RequiresGrad_();
        var y = (x.Mul(3.0).Add(1.0).Sub(0.5).Div(2.0).Neg()).Sum();
        y.Backward();
        Assert.Equal(new[] { -1.5, -1.5, -1.5 }, x.Grad!.ToArray<double>());
    }
}
