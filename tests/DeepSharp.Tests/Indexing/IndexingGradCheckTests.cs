using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Indexing;

/// <summary>float64 finite-difference checks of every differentiable indexing op, incl. non-contiguous inputs.</summary>
public class IndexingGradCheckTests
{
    static Tensor L(params long[] v) => Tensor.FromArray(v, v.Length);
    static Tensor L2(long[] v, int rows, int cols) => Tensor.FromArray(v, rows, cols);

    [Fact]
    public void JoinSplitRepeat()
    {
        GradCheck(x => Tensor.Cat([x[0], x[1], x[2]], 1), RT(3, 2), R(3, 1), RT(3, 4));
        GradCheck(x => Tensor.Cat([x[0], x[1]], 0), RT(2, 3), R(1, 3));
        GradCheck(x => Tensor.Stack([x[0], x[1], x[0]], 2), RT(3, 4), R(3, 4));
        GradCheck(x => Tensor.Cat(x[0].Split(2, 1).Select((p, i) => p * (i + 2)).ToArray(), 1), RT(3, 5));
        GradCheck(x => Tensor.Stack(x[0].Chunk(2, 0).Select((p, i) => p.Sum(0) * (i + 2)).ToArray()), RT(4, 3));
        GradCheck(x => x[0].Unbind(1)[2] * x[0].Unbind(1)[0], RT(3, 4));
        GradCheck(x => x[0].Repeat(2, 3), RT(2, 3));
        GradCheck(x => x[0].Repeat(2, 1, 2), R(3, 2));
    }

    [Fact]
    public void IndexSelectGatherScatterIndexAdd()
    {
        GradCheck(x => x[0].IndexSelect(0, L(2, 0, 2)), RT(3, 4));
        GradCheck(x => x[0].IndexSelect(1, L(3, 1)), RT(3, 4));
        GradCheck(x => x[0].Gather(1, L2([0, 2, 2, 1, 0, 0], 3, 2)), RT(3, 4));
        GradCheck(x => x[0].Gather(0, L2([2, 0, 1, 1], 1, 4)), RT(3, 4));
        var cols = L2([0, 2, 1, 0, 1, 0, 2, 2], 2, 4);   // distinct per column
        GradCheck(x => x[0].Scatter(0, cols, x[1]), RT(3, 4), RT(2, 4));
        GradCheck(x => x[0].Scatter(0, cols, x[1]), RT(3, 4), R(3, 5));   // src larger than index
        GradCheck(x => x[0].Scatter(1, L2([3, 0], 2, 1), -2.0), RT(2, 4));
        GradCheck(x => x[0].ScatterAdd(1, L2([0, 0, 3, 1, 1, 1], 2, 3), x[1]), RT(2, 4), RT(2, 3));
        GradCheck(x => x[0].IndexAdd(0, L(1, 1, 3), x[1], alpha: -0.5), RT(4, 3), RT(3, 3));
        GradCheck(x => x[0].IndexAdd(1, L(2, 0), x[1]), R(3, 4), R(3, 2));
    }

    [Fact]
    public void WhereMaskedFillMaskedSelect()
    {
        var cond = Tensor.FromArray(new[] { true, false, true }, 3, 1);
        GradCheck(x => Tensor.Where(cond, x[0], x[1]), RT(3, 4), R(4));
        GradCheck(x => Tensor.Where(cond, x[0], 0.5), RT(3, 2));
        var mask = Tensor.FromArray(new[] { false, true, true, false }, 4);
        GradCheck(x => x[0].MaskedFill(mask, 3.0), RT(2, 4));
        GradCheck(x => x[0].MaskedSelect(mask), RT(3, 4));
        GradCheck(x => x[0].MaskedSelect(x[0].Gt(0)), R(3, 3));
    }

    [Fact]
    public void Subscript()
    {
        GradCheck(x => x[0][1..3, TensorIndex.Slice(0, null, 2)], RT(4, 5));
        GradCheck(x => x[0][^1, ..], RT(3, 4));
        GradCheck(x => x[0][TensorIndex.Ellipsis, 1], R(2, 3, 4));
        GradCheck(x => x[0][TensorIndex.NewAxis, .., 2], RT(3, 4));
        GradCheck(x => x[0][L(2, -1, 0, 2)], RT(4, 3));
        GradCheck(x => x[0][.., L2([0, 1, 1, 3], 2, 2)], RT(3, 4));
        GradCheck(x => x[0][x[0].Detach().Gt(0)], RT(3, 4));
    }

    [Fact]
    public void Reductions()
    {
        var tied = Tensor.FromArray(new[] { 1.0, 3, 3, -2, 0.5, -2, 1, 0 }, [2, 4], requiresGrad: true);
        GradCheck(x => x[0].Max(1).Values, RT(3, 4));
        GradCheck(x => x[0].Min(0, keepDim: true).Values, RT(3, 4));
        GradCheck(x => x[0].Max(1).Values, R(2, 3, 2));
        GradCheck(x => x[0].Max(), RT(3, 4));
        GradCheck(x => x[0].Amax([0, 2]), R(2, 3, 2));
        GradCheck(x => x[0].Amin(1, keepDim: true), RT(3, 4));
        GradCheck(x => x[0].Sort(1, descending: true).Values, RT(3, 4));
        GradCheck(x => x[0].TopK(2, 0).Values, RT(4, 3));
        GradCheck(x => x[0].CumSum(0), RT(3, 4));
        GradCheck(x => x[0].CumSum(-1), R(2, 3, 2));
        // ties: the finite difference of amax with exact ties is not defined, so check the even split directly
        var g = Autograd.Grad(tied.Amax(1).Sum(), tied);
        AssertClose(new[] { 0, 0.5, 0.5, 0, 0, 0, 1, 0 }, g);
        var gm = Autograd.Grad(tied.Max(1).Values.Sum(), tied);
        AssertClose(new double[] { 0, 1, 0, 0, 0, 0, 1, 0 }, gm);
    }

    [Fact]
    public void VarStdNorm()
    {
        GradCheck(x => x[0].Var(), RT(3, 4));
        GradCheck(x => x[0].Var([0, 2], unbiased: false, keepDim: true), R(2, 3, 2));
        GradCheck(x => x[0].Std(1), RT(3, 4));
        GradCheck(x => x[0].Std(), R(5));
        GradCheck(x => x[0].Norm(), RT(3, 4));
        GradCheck(x => x[0].Norm(2, 0, keepDim: true), RT(3, 4));
        GradCheck(x => x[0].Norm(1, 1), RT(3, 4));
        GradCheck(x => x[0].Norm(double.PositiveInfinity, 1), RT(3, 4));
        GradCheck(x => x[0].Norm(double.NegativeInfinity, 1), RT(3, 4));
        GradCheck(x => x[0].Norm(3, [0, 1]), RT(3, 4));
        GradCheck(x => x[0].Norm(1.5, 0), RT(3, 4));
    }

    [Fact]
    public void ZeroNormAndZeroStdHaveZeroGradient()
    {
        var z = Tensor.Zeros([2, 3], DType.Float64, requiresGrad: true);
        Assert.Equal(0.0, Autograd.Grad(z.Norm(), z).Abs2Sum());
        Assert.Equal(0.0, Autograd.Grad(z.Norm(3, 1).Sum(), z).Abs2Sum());
        Assert.Equal(0.0, Autograd.Grad(z.Std(1).Sum(), z).Abs2Sum());
        Assert.DoesNotContain(Autograd.Grad(z.Norm(double.PositiveInfinity), z).ToArray<double>(), double.IsNaN);
    }

    [Fact]
    public void DoubleBackwardThroughGatherIndexSelectAndNorm()
    {
        // d/dx of sum(grad(f)²) where the inner gradient goes through scatter_add / index_add / norm / max backwards.
        // GradCheck evaluates under NoGrad for its finite differences, so the inner Grad re-enables recording.
        static Func<Tensor[], Tensor> Twice(Func<Tensor, Tensor> f) => x =>
        {
            using var on = Autograd.EnableGrad();
            var leaf = x[0].RequiresGrad ? x[0] : x[0].Detach().RequiresGrad_();
            var g = Autograd.Grad(f(leaf), leaf, createGraph: true);
            return ReferenceEquals(leaf, x[0]) ? g.Pow2Sum() : g.Pow2Sum().Detach();
        };
        GradCheck(Twice(x => x.Gather(1, L2([0, 2, 2, 1], 2, 2)).Pow2Sum()), R(2, 3));
        GradCheck(Twice(x => x.IndexSelect(0, L(1, 1, 0)).Pow2Sum()), R(2, 3));
        GradCheck(Twice(x => x.Norm().Mul(x.Sum())), R(2, 3));
        GradCheck(Twice(x => x.Max(1).Values.Pow2Sum()), R(2, 3));
        GradCheck(Twice(x => x.Std(1).Sum()), R(2, 3));
    }
}

static class GradTestExtensions
{
    public static Tensor Pow2Sum(this Tensor t) => t.Mul(t).Sum();
    public static double Abs2Sum(this Tensor t) => t.Mul(t).Sum().Item();
}
