using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Indexing;

/// <summary>Forward semantics that the golden fixtures do not cover: views, setters, in-place forms, dtypes, NaN.</summary>
public class IndexingBehaviourTests
{
    static Tensor A(int rows, int cols) => Tensor.Arange(rows * cols, DType.Float64).Reshape(rows, cols);
    static Tensor L(params long[] v) => Tensor.FromArray(v, v.Length);

    [Fact]
    public void SubscriptReturnsViewsWithPythonSemantics()
    {
        var x = A(4, 5);
        var v = x[.., 1..3];
        Assert.Equal([4, 2], v.Shape);
        Assert.True(v.IsView);
        AssertClose(new double[] { 1, 2, 6, 7, 11, 12, 16, 17 }, v);
        AssertClose(new double[] { 15, 16, 17, 18, 19 }, x[^1, ..]);
        AssertClose(new double[] { 0, 5, 10, 15 }, x[TensorIndex.Ellipsis, 0]);
        Assert.Equal(7.0, x[1, 2].Item());
        Assert.Equal([1, 4, 5], x[TensorIndex.NewAxis].Shape);
        Assert.Equal([4, 1, 5], x[.., TensorIndex.None].Shape);
        AssertClose(new double[] { 1, 3 }, x[0, TensorIndex.Slice(1, null, 2)]);
        AssertClose(new double[] { 4, 3 }, x[0, 3..].Flip1());
        Assert.Equal([4, 0], x[.., 7..9].Shape);                // clamped like Python
        Assert.Equal([2, 5], x[^9..2].Shape);                   // ^9 clamps to 0
        AssertClose(new double[] { 5, 6, 7, 8, 9 }, x[^3][TensorIndex.All]);
        // advanced: int and bool tensors
        AssertClose(new double[] { 10, 11, 12, 13, 14, 0, 1, 2, 3, 4 }, x[L(2, 0)].Reshape(-1));
        var rows = x[x.Select(1, 0).Gt(4)];                     // rows whose first entry > 4
        Assert.Equal([3, 5], rows.Shape);
        Assert.Equal(5.0, rows.At(0, 0));
        Assert.Equal([3], x[x.Gt(16)].Shape);
        Assert.Equal(14.0, x[Tensor.Scalar(2, DType.Int64), ^1].Item());
    }

    [Fact]
    public void SubscriptSetterWritesThroughViews()
    {
        var x = Tensor.Zeros([3, 4], DType.Float64);
        x[1] = Tensor.Scalar(5, DType.Float64);
        x[.., 0] = Tensor.FromArray(new[] { 1.0, 2, 3 }, 3);
        x[^1, 2..] = Tensor.FromArray(new[] { 7, 8 }, 2);          // int32 value converted
        AssertClose(new double[] { 1, 0, 0, 0, 2, 5, 5, 5, 3, 0, 7, 8 }, x);
        x[x.Gt(4)] = Tensor.Scalar(-1, DType.Float64);            // boolean mask, scalar fill
        AssertClose(new double[] { 1, 0, 0, 0, 2, -1, -1, -1, 3, 0, -1, -1 }, x);
        x[L(0, 2), 1] = Tensor.FromArray(new[] { 10.0, 20 }, 2);   // int index
        AssertClose(new double[] { 1, 10, 0, 0, 2, -1, -1, -1, 3, 20, -1, -1 }, x);
        x[x.Lt(0)] = Tensor.Arange(5, DType.Float64);             // boolean mask, one value per true element
        AssertClose(new double[] { 1, 10, 0, 0, 2, 0, 1, 2, 3, 20, 3, 4 }, x);
        var before = x.Version;
        x[0, 0] = Tensor.Scalar(9, DType.Float64);
        Assert.True(x.Version > before);
    }

    [Fact]
    public void JoinSplitShapesAndViews()
    {
        var x = A(3, 7);
        var parts = x.Split(3, 1);
        Assert.Equal([3, 3, 1], parts.Select(p => p.Size(1)).ToArray());
        Assert.True(parts[1].IsView);
        Assert.Equal([3, 3, 1], x.Chunk(3, 1).Select(p => p.Size(1)).ToArray());
        Assert.Equal(3, x.Chunk(5, 0).Length);                  // as torch.chunk: at most `chunks` pieces
        Assert.Equal([7, 7, 7], x.Unbind(0).Select(p => p.NumEl).ToArray());
        Assert.True(Tensor.Cat(x.Split([2, 0, 5], 1), 1).Equal(x));
        Assert.True(Tensor.Cat([Tensor.Zeros([0], DType.Float64), x.Reshape(-1)]).Equal(x.Reshape(-1)));   // legacy empty 1-D skipped
        Assert.Equal([2, 3, 7], Tensor.Stack([x, x]).Shape);
        Assert.Equal([3, 7, 2], Tensor.Stack([x, x], -1).Shape);
        var bools = Tensor.Cat([Tensor.Ones([2], DType.Bool), Tensor.Zeros([1], DType.Bool)]);
        Assert.Equal(DType.Bool, bools.DType);
        AssertClose(new double[] { 0, 1, 0, 1, 0, 1 }, Tensor.Arange(2, DType.Int64).Repeat(3));
        Assert.Equal([2, 6, 7], x.Repeat(2, 2, 1).Shape);
    }

    [Fact]
    public void InPlaceScatterAndIndexAdd()
    {
        var x = Tensor.Zeros([2, 4], DType.Int64);
        x.ScatterAddInPlace(1, Tensor.FromArray(new long[] { 1, 1, 3, 0, 0, 0 }, 2, 3), Tensor.Ones([2, 3], DType.Int64));
        AssertClose(new double[] { 0, 2, 0, 1, 3, 0, 0, 0 }, x);
        x.ScatterInPlace(0, Tensor.FromArray(new long[] { 1, 0 }, 1, 2), 9.0);
        AssertClose(new double[] { 0, 9, 0, 1, 9, 0, 0, 0 }, x);
        var t = Tensor.Zeros([4, 3]).T;                          // non-contiguous destination
        t.IndexAddInPlace(1, L(0, 0, 3), Tensor.Ones(3, 3));
        AssertClose(new double[] { 2, 0, 0, 1, 2, 0, 0, 1, 2, 0, 0, 1 }, t);
        var m = Tensor.Zeros(2, 3).T;
        m.MaskedFillInPlace(Tensor.FromArray(new[] { true, false }, 2), 4);
        AssertClose(new double[] { 4, 0, 4, 0, 4, 0 }, m);
        var b = Tensor.Zeros([3], DType.Bool).Scatter(0, L(2), 1.0);
        Assert.Equal([false, false, true], b.ToArray<bool>());
    }

    [Fact]
    public void ComparisonsLogicalAndPredicates()
    {
        var a = Tensor.FromArray(new[] { 1, 2, 3 }, 3);           // int32
        var f = Tensor.FromArray(new[] { 1.5, 2.0, 2.5 }, 3);
        Assert.Equal([false, true, false], a.Eq(f).ToArray<bool>());
        Assert.Equal([true, false, false], a.Lt(1.5).ToArray<bool>());
        Assert.Equal([false, true, true], (a >= 2).ToArray<bool>());
        Assert.Equal([true, true, false], (2.5 > f).ToArray<bool>());
        var p = a.Gt(1); var q = a.Lt(3);
        Assert.Equal([false, true, false], (p & q).ToArray<bool>());
        Assert.Equal([true, true, true], (p | q).ToArray<bool>());
        Assert.Equal([true, false, true], (p ^ q).ToArray<bool>());
        Assert.Equal([true, false, false], (~p).ToArray<bool>());
        Assert.Equal([true, false, false], (!p).ToArray<bool>());
        Assert.True(p.Any().Item<bool>());
        Assert.False(p.All().Item<bool>());
        Assert.True(Tensor.Zeros([0], DType.Bool).All().Item<bool>());
        Assert.Equal([true, false], Tensor.FromArray(new[] { 1, 0, 0, 0 }, 2, 2).Any(1).ToArray<bool>());
        Assert.Equal([true, false], Tensor.FromArray(new[] { 1, 0, 1, 1 }, 2, 2).All(0).ToArray<bool>());
        Assert.True(a.Equal(Tensor.FromArray(new long[] { 1, 2, 3 }, 3)));
        Assert.False(a.Equal(a.Reshape(1, 3)));
        Assert.True(f.AllClose(f + 1e-9));
        Assert.False(f.AllClose(f + 1e-3));
        var nan = Tensor.FromArray(new[] { double.NaN, double.PositiveInfinity }, 2);
        Assert.False(nan.AllClose(nan));
        Assert.True(nan.AllClose(nan, equalNan: true));
        Assert.True(a.Equal(a + 0));                            // Equal is value equality; == stays reference equality
#pragma warning disable CS1718
        Assert.True(a == a);
#pragma warning restore CS1718
        Assert.Equal(DType.Bool, Tensor.Zeros(2).Eq(Tensor.Zeros([2], DType.Bool)).DType);
    }

    [Fact]
    public void MaxMinHandleNaNIntsAndArgs()
    {
        var x = Tensor.FromArray(new[] { 1.0, double.NaN, 3, 5, 2, 5 }, 2, 3);
        var (v, i) = x.Max(1);
        Assert.True(double.IsNaN(v.At(0)));
        Assert.Equal(1L, i.ToArray<long>()[0]);
        Assert.Equal(5.0, v.At(1));
        Assert.Equal(0L, i.ToArray<long>()[1]);                 // first of the tied maxima
        Assert.True(double.IsNaN(x.Max().Item()));
        Assert.True(double.IsNaN(x.Amin(1).At(0)));
        var cols = x.T.Max(0);                                  // reduction over a non-last dim of a transposed view
        Assert.Equal(i.ToArray<long>(), cols.Indices.ToArray<long>());
        var ints = Tensor.FromArray(new long[] { 4, -2, 9, 9 }, 4);
        Assert.Equal(9L, ints.Max().Item<long>());
        Assert.Equal(DType.Int64, ints.Max().DType);
        Assert.Equal(2L, ints.ArgMax().Item<long>());
        Assert.Equal(1L, ints.ArgMin().Item<long>());
        Assert.Equal(new long[] { 9, 9, 4, -2 }, ints.Sort(descending: true).Values.ToArray<long>());
        Assert.Equal(new long[] { 2, 3, 0, 1 }, ints.Sort(descending: true).Indices.ToArray<long>());
        Assert.Equal(new long[] { 1, 0, 2, 3 }, ints.Sort().Indices.ToArray<long>());
        Assert.Equal(new long[] { 2, 3 }, ints.TopK(2).Indices.ToArray<long>());
        AssertClose(new double[] { 4, 2, 11, 20 }, ints.CumSum(0));
        Assert.Equal(DType.Int64, Tensor.Ones([3], DType.Bool).CumSum(0).DType);
        Assert.Equal([2, 1], x.Max(1, keepDim: true).Values.Shape);
        var z = Tensor.FromArray(new[] { 3.0, 1, 2 }, 3);
        Assert.Equal(0L, z.ArgMax().Item<long>());
        Assert.Equal(new long[] { 0, 1 }, Tensor.FromArray(new[] { 3.0, 1, 2, 5 }, 2, 2).ArgMax(1).ToArray<long>());
    }

    [Fact]
    public void NormVarianceEdgeCases()
    {
        var x = Tensor.FromArray(new[] { 3.0, -4, 0 }, 3);
        Assert.Equal(5.0, x.Norm().Item(), 12);
        Assert.Equal(7.0, x.Norm(1).Item(), 12);
        Assert.Equal(4.0, x.Norm(double.PositiveInfinity).Item(), 12);
        Assert.Equal(0.0, x.Norm(double.NegativeInfinity).Item(), 12);
        Assert.Equal(2.0, x.Norm(0).Item(), 12);
        Assert.True(double.IsNaN(Tensor.Ones([1], DType.Float64).Var().Item()));   // N - 1 = 0, as PyTorch
        Assert.Equal(0.0, Tensor.Ones([1], DType.Float64).Var(unbiased: false).Item());
        Assert.Equal(DType.Float32, Tensor.Ones(3).Std().DType);
    }

    [Fact]
    public void WhereAndMaskedOpsBroadcastAndPromote()
    {
        var cond = Tensor.FromArray(new[] { true, false }, 2, 1);
        var r = Tensor.Where(cond, Tensor.Ones([1, 3], DType.Int64), Tensor.Zeros([3], DType.Float64));
        Assert.Equal(DType.Float64, r.DType);
        AssertClose(new double[] { 1, 1, 1, 0, 0, 0 }, r);
        AssertClose(new double[] { 2, 2, 2, 5, 6, 7 }, Tensor.Where(cond, 2.0, Tensor.FromArray(new[] { 5.0, 6, 7 }, 3)));
        var x = A(2, 3);
        AssertClose(new double[] { -1, -1, -1, 3, 4, 5 }, x.MaskedFill(cond, -1));
        AssertClose(new double[] { 0, 1, 2 }, x.MaskedSelect(cond));
        Assert.Equal([4, 2], Tensor.FromArray(new[] { 0, 1, 1, 0, 1, 1 }, 2, 3).Nonzero().Shape);
        AssertClose(new double[] { 0, 1, 0, 2, 1, 0, 1, 2 }, Tensor.FromArray(new[] { 0, 1, 1, 1, 0, 1 }, 2, 3).Nonzero());
    }
}

static class BehaviourTestExtensions
{
    public static Tensor Flip1(this Tensor t) => t.IndexSelect(0, Tensor.Arange(t.Size(0) - 1, -1, -1, DType.Int64));
}
