using DeepSharp.Tests.Golden;
using static DeepSharp.Tests.TestUtil;

namespace DeepSharp.Tests.Indexing;

/// <summary>Forward values and gradients against PyTorch 1.13 (tools/golden/indexing_ops.py).</summary>
public class IndexingGoldenTests
{
    static GoldenCase Case(string name) => Golden.Golden.Case("indexing_ops", name);

    /// <summary>Runs f on the case's inputs and checks output and gradients of the float inputs.</summary>
    static void Check(string name, Func<Tensor[], Tensor> f)
    {
        var c = Case(name);
        var inputs = Enumerable.Range(0, c.Inputs.Length).Select(i => c.Input(i)).ToArray();
        var leaves = inputs.Where(t => t.RequiresGrad).ToArray();
        c.Check(f(inputs), leaves);
    }

    static Tensor Scaled(Tensor[] parts, int dim) => Tensor.Cat(parts.Select((p, i) => p * (i + 1)).ToArray(), dim);

    [Fact]
    public void JoiningAndSplitting()
    {
        Check("cat_dim1", x => Tensor.Cat([x[0], x[1], x[2]], 1));
        Check("cat_dim0_3d", x => Tensor.Cat([x[0], x[1]]));
        Check("stack_dim1", x => Tensor.Stack([x[0], x[1]], 1));
        Check("split_sizes", x => Scaled(x[0].Split([1, 3, 2], 1), 1));
        Check("chunk", x => Scaled(x[0].Chunk(3, 0), 0));
        Check("unbind", x => Tensor.Stack(x[0].Unbind(1).Select((p, i) => p * (i + 1)).ToArray()));
        Check("repeat", x => x[0].Repeat(2, 1, 2));
    }

    [Fact]
    public void IndexDrivenOps()
    {
        Check("index_select_dim0", x => x[0].IndexSelect(0, x[1]));
        Check("index_select_dim1", x => x[0].IndexSelect(1, x[1]));
        Check("gather_dim1", x => x[0].Gather(1, x[1]));
        Check("gather_dim0", x => x[0].Gather(0, x[1]));
        Check("scatter_dim0", x => x[0].Scatter(0, x[1], x[2]));
        Check("scatter_value", x => x[0].Scatter(0, x[1], 2.5));
        Check("scatter_add_dim1", x => x[0].ScatterAdd(1, x[1], x[2]));
        Check("index_add", x => x[0].IndexAdd(0, x[1], x[2], alpha: 2));
    }

    [Fact]
    public void Masks()
    {
        Check("masked_fill", x => x[0].MaskedFill(x[1], -1.5));
        Check("where_broadcast", x => Tensor.Where(x[0], x[1], x[2]));
        Check("masked_select", x => x[0].MaskedSelect(x[1]));
    }

    [Fact]
    public void Subscript()
    {
        Check("sub_slices", x => x[0][1..3, TensorIndex.Slice(step: 2)] * 2);
        Check("sub_ellipsis_select", x => x[0][TensorIndex.Ellipsis, 0] * 2);
        Check("sub_last", x => x[0][^1] * 2);
        Check("sub_newaxis", x => x[0][.., TensorIndex.NewAxis, 1] * 2);
        Check("sub_tensor", x => x[0][x[1]] * 2);
        Check("sub_tensor_middle", x => x[0][.., x[1], 1..] * 2);
        Check("sub_mask", x => x[0][x[1]] * 2);
        Check("sub_mask_rows", x => x[0][x[1]] * 2);
    }

    [Fact]
    public void Comparisons()
    {
        Check("eq", x => x[0].Eq(x[1]));
        Check("lt", x => x[0] < x[1]);
        Check("ge_scalar", x => x[0] >= 1);
        Check("isclose", x => x[0].IsClose(x[1], rtol: 1e-3, atol: 1e-2));
    }

    /// <summary>Checks a (values, indices) case: values and gradients through Check, indices exactly.</summary>
    static void CheckPair(string name, Func<Tensor, ValuesIndices> f)
    {
        var c = Case(name);
        var a = c.Input(0);
        var (values, indices) = f(a);
        Assert.Equal(DType.Int64, indices.DType);
        AssertClose(c.Outputs[1]!, indices, 0, 0, $"{name}: indices");
        c.Check(values, [a]);
    }

    [Fact]
    public void MinMaxSortTopK()
    {
        CheckPair("max_dim_ties", a => a.Max(1));
        CheckPair("min_dim0_keep", a => a.Min(0, keepDim: true));
        CheckPair("max_dim_inner", a => a.Max(1));
        CheckPair("sort_desc", a => a.Sort(1, descending: true));
        CheckPair("sort_dim0_ties", a => a.Sort(0));
        CheckPair("topk", a => a.TopK(2, dim: 1));
        CheckPair("topk_smallest_dim0", a => a.TopK(3, dim: 0, largest: false));
        Check("max_all_ties", x => x[0].Max());
        Check("amax_ties", x => x[0].Amax([0, 2]));
        Check("amin_keep", x => x[0].Amin(1, keepDim: true));
        Check("argmax_dim", x => x[0].ArgMax(1));
        Check("argmin_all", x => x[0].ArgMin());
        Check("cumsum", x => x[0].CumSum(1));
    }

    [Fact]
    public void VarStdNorm()
    {
        Check("var_dims", x => x[0].Var([0, 2]));
        Check("var_all_biased", x => x[0].Var(unbiased: false));
        Check("std_dim_keep", x => x[0].Std(1, keepDim: true));
        Check("std_all", x => x[0].Std());
        Check("norm2_dim", x => x[0].Norm(2, 1));
        Check("norm2_zero_row", x => x[0].Norm(2, 1));
        Check("norm1_all", x => x[0].Norm(1));
        Check("norm_inf_ties", x => x[0].Norm(double.PositiveInfinity, 1));
        Check("norm3_keep", x => x[0].Norm(3, 0, keepDim: true));
        Check("norm_half", x => x[0].Norm(0.5, 1));
    }
}
