namespace DeepSharp.Tests;

public static class TestUtil
{
    /// <summary>Asserts same shape and |expected - actual| ≤ atol + rtol·|expected| elementwise.</summary>
    public static void AssertClose(Tensor expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
    {
        Assert.True(expected.Shape.SequenceEqual(actual.Shape),
            $"{what}: shape {Fmt(actual.Shape)} differs from expected {Fmt(expected.Shape)}");
        var e = expected.ToArray<double>(); var a = actual.ToArray<double>();
        for (int i = 0; i < e.Length; i++)
        {
            bool ok = (double.IsNaN(e[i]) && double.IsNaN(a[i])) || e[i] == a[i] || Math.Abs(e[i] - a[i]) <= atol + rtol * Math.Abs(e[i]);
            Assert.True(ok, $"{what}: element {i} is {a[i]:G10}, expected {e[i]:G10}");
        }
    }

    public static void AssertClose(double[] expected, Tensor actual, double rtol = 1e-5, double atol = 1e-6, string what = "")
        => AssertClose(Tensor.FromArray(expected, actual.Shape.ToArray()), actual, rtol, atol, what);

    public static string Fmt(IReadOnlyList<int> shape) => "(" + string.Join(", ", shape) + ")";

    /// <summary>A float64 leaf with random normal values.</summary>
    public static Tensor R(params int[] shape) => Tensor.Randn(shape, DType.Float64, requiresGrad: true);

    /// <summary>A float64 leaf that is a transposed (non-contiguous) view of random data.</summary>
    public static Tensor RT(int rows, int cols) => Tensor.Randn(cols, rows, DType.Float64).T.Detach().RequiresGrad_();

    public static void GradCheck(Func<Tensor[], Tensor> f, params Tensor[] inputs) => Assert.True(DeepSharp.GradCheck.Check(f, inputs));
}
