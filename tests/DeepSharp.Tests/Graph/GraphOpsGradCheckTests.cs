using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Graph;

/// <summary>float64 finite-difference checks of maximum/minimum, scatter_reduce, segment ops and CSR products.</summary>
public class GraphOpsGradCheckTests
{
    static Tensor L(params long[] v) => Tensor.FromArray(v, v.Length);

    [Fact]
    public void MaximumMinimum()
    {
        GradCheck(x => x[0].Maximum(x[1]), RT(3, 4), R(4));
        GradCheck(x => x[0].Minimum(x[1]), R(3, 1), R(1, 5));
        GradCheck(x => Tensor.Maximum(x[0], x[1]) * Tensor.Minimum(x[1], x[0]), R(2, 3), RT(2, 3));
    }

    [Theory]
    [InlineData(ScatterReduction.Sum, true)]
    [InlineData(ScatterReduction.Sum, false)]
    [InlineData(ScatterReduction.Mean, true)]
    [InlineData(ScatterReduction.Mean, false)]
    [InlineData(ScatterReduction.Prod, true)]
    [InlineData(ScatterReduction.Prod, false)]
    [InlineData(ScatterReduction.Amax, true)]
    [InlineData(ScatterReduction.Amax, false)]
    [InlineData(ScatterReduction.Amin, true)]
    [InlineData(ScatterReduction.Amin, false)]
    public void ScatterReduceEveryReduction(ScatterReduction reduce, bool includeSelf)
    {
        var index = Tensor.FromArray(new long[] { 0, 2, 0, 1, 2, 0, 1, 1, 3, 3, 0, 1 }, 2, 6);
        GradCheck(x => x[0].ScatterReduce(1, index, x[1], reduce, includeSelf), R(2, 4), R(2, 6));
        GradCheck(x => x[0].ScatterReduce(0, index.T, x[1], reduce, includeSelf), RT(4, 2), RT(6, 2));
    }

    [Fact]
    public void SegmentReductionsAndSoftmax()
    {
        var seg = L(0, 2, 0, 3, 2, 2, 0);
        GradCheck(x => Tensor.SegmentSum(x[0], seg, 5), RT(7, 3));
        GradCheck(x => Tensor.SegmentMean(x[0], seg, 5), RT(7, 3));
        GradCheck(x => Tensor.SegmentMax(x[0], seg, 5), R(7, 3));
        GradCheck(x => Tensor.SegmentMin(x[0], seg, 5), RT(7, 3));
        GradCheck(x => Tensor.SegmentSoftmax(x[0], seg, 5), RT(7, 2));
        GradCheck(x => Tensor.SegmentSoftmax(x[0], seg, 4), R(7));
    }

    [Fact]
    public void CsrMatMulValuesAndDense()
    {
        var row = L(0, 0, 1, 3, 3, 3, 1, 0); var col = L(1, 4, 0, 2, 4, 1, 0, 3);
        GradCheck(x => SparseCsrTensor.FromCoo(row, col, x[0], 4, 5).MatMul(x[1]), R(8), RT(5, 3));
        GradCheck(x => SparseCsrTensor.FromCoo(row, col, x[0], 4, 5).Transpose().MatMul(x[1]), R(8), R(4, 2));
    }
}
