namespace DeepSharp.Tests.Graph;

/// <summary>Values, NaN handling and the errors of the graph ops.</summary>
public class GraphOpsBehaviourTests
{
    static Tensor L(params long[] v) => Tensor.FromArray(v, v.Length);

    [Fact]
    public void MaximumPropagatesNaNAndWorksOnIntegers()
    {
        var a = Tensor.FromArray(new[] { 1.0, double.NaN, 3.0 }, 3);
        var b = Tensor.FromArray(new[] { 2.0, 0.0, double.NaN }, 3);
        var m = a.Maximum(b).ToArray<double>();
        Assert.Equal(2.0, m[0]); Assert.True(double.IsNaN(m[1])); Assert.True(double.IsNaN(m[2]));
        var i = Tensor.FromArray(new long[] { 1, 5 }, 2).Minimum(Tensor.FromArray(new long[] { 3, 2 }, 2));
        Assert.Equal(DType.Int64, i.DType);
        Assert.Equal(new long[] { 1, 2 }, i.ToArray<long>());
    }

    [Fact]
    public void IntegerScatterMeanRoundsDown()
    {
        var self = Tensor.FromArray(new long[] { 0, 10 }, 2);
        var result = self.ScatterReduce(0, L(0, 0, 1), Tensor.FromArray(new long[] { -3, 0, 1 }, 3), ScatterReduction.Mean);
        Assert.Equal(new long[] { -1, 5 }, result.ToArray<long>());   // floor(-3/3) = -1, floor(11/2) = 5
    }

    [Fact]
    public void CsrMatMulMatchesDense()
    {
        var row = L(2, 0, 0, 1, 2); var col = L(1, 0, 2, 1, 1);
        var values = Tensor.FromArray(new[] { 1.0, 2.0, 3.0, 4.0, 5.0 }, 5);
        var a = SparseCsrTensor.FromCoo(row, col, values, 3, 3);
        Assert.Equal(new long[] { 0, 2, 3, 5 }, a.CrowIndices.ToArray());
        var x = Tensor.Randn([3, 4], DType.Float64);
        TestUtil.AssertClose(a.ToDense().MatMul(x), a.MatMul(x), 1e-12, 1e-12, "spmm");
        TestUtil.AssertClose(a.ToDense().T.MatMul(x), a.Transpose().MatMul(x), 1e-12, 1e-12, "spmm of the transpose");
        Assert.Equal(6.0, a.ToDense()[2, 1].Item<double>());   // repeated (2, 1) adds up
    }

    [Fact]
    public void OutOfRangeIndicesAreArgumentErrorsNamingShapes()
    {
        var ex = Assert.Throws<ArgumentException>(() => Tensor.SegmentSum(Tensor.Ones(3, 2), L(0, 5, 1), 4));
        Assert.Contains("index[1] = 5", ex.Message); Assert.Contains("(3, 2)", ex.Message);
        Assert.Throws<ArgumentException>(() => Tensor.SegmentMax(Tensor.Ones(3, 2), L(0, -1, 1), 4));
        Assert.Throws<ArgumentException>(() => Tensor.SegmentSum(Tensor.Ones(3, 2), L(0, 1), 4));
        ex = Assert.Throws<ArgumentException>(() => Tensor.Zeros(2, 3).ScatterReduce(1, Tensor.FromArray(new long[] { 0, 3 }, 1, 2), Tensor.Ones(1, 2), ScatterReduction.Sum));
        Assert.Contains("index value 3", ex.Message); Assert.Contains("(2, 3)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => SparseCsrTensor.FromCoo(L(0, 4), L(0, 1), Tensor.Ones(2), 3, 3));
        Assert.Contains("row index 4", ex.Message);
        Assert.Throws<ArgumentException>(() => SparseCsrTensor.FromCoo(L(0, 1), L(0, 3), Tensor.Ones(2), 3, 3));
        ex = Assert.Throws<ArgumentException>(() => SparseCsrTensor.FromCoo(L(0), L(0), Tensor.Ones(1), 3, 3).MatMul(Tensor.Ones(4, 2)));
        Assert.Contains("(4, 2)", ex.Message);
    }
}
