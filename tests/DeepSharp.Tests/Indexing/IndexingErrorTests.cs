namespace DeepSharp.Tests.Indexing;

/// <summary>Bad indices, dims, shapes and dtypes get clear exceptions that name the values involved.</summary>
public class IndexingErrorTests
{
    static Tensor L(params long[] v) => Tensor.FromArray(v, v.Length);

    static void Throws<TException>(Action action, params string[] fragments) where TException : Exception
    {
        var e = Assert.Throws<TException>(action);
        foreach (var f in fragments) Assert.Contains(f, e.Message);
    }

    [Fact]
    public void OutOfRangeIndexValuesNameValueDimAndSize()
    {
        var x = Tensor.Zeros(3, 4);
        Throws<IndexOutOfRangeException>(() => x.IndexSelect(1, L(0, 4)), "IndexSelect", "index 4", "dimension 1", "size 4");
        Throws<IndexOutOfRangeException>(() => x.IndexSelect(0, L(-1)), "index -1", "dimension 0", "size 3");
        Throws<IndexOutOfRangeException>(() => x.Gather(1, Tensor.FromArray(new long[] { 0, 7 }, 1, 2)), "Gather", "index 7", "dimension 1", "size 4");
        Throws<IndexOutOfRangeException>(() => x.Scatter(0, Tensor.FromArray(new long[] { 3 }, 1, 1), 1.0), "Scatter", "index 3", "dimension 0", "size 3");
        Throws<IndexOutOfRangeException>(() => x.ScatterAdd(0, Tensor.FromArray(new long[] { -4 }, 1, 1), Tensor.Ones(1, 1)), "ScatterAdd", "index -4");
        Throws<IndexOutOfRangeException>(() => x.IndexAdd(0, L(5), Tensor.Ones(1, 4)), "IndexAdd", "index 5", "size 3");
        Throws<IndexOutOfRangeException>(() => _ = x[3], "index 3", "dimension 0", "size 3");
        Throws<IndexOutOfRangeException>(() => _ = x[.., -5], "index -5", "dimension 1", "size 4");
        Throws<IndexOutOfRangeException>(() => _ = x[^0], "^0", "dimension 0");
        Throws<IndexOutOfRangeException>(() => _ = x[L(1, -3, 9)], "index 9", "size 3");
        Throws<IndexOutOfRangeException>(() => _ = x[0, 0, 0], "too many indices", "rank 2", "(3, 4)");
    }

    [Fact]
    public void BadDims()
    {
        var x = Tensor.Zeros(3, 4);
        Throws<ArgumentOutOfRangeException>(() => Tensor.Cat([x, x], 2), "Cat", "dimension 2");
        Throws<ArgumentOutOfRangeException>(() => Tensor.Stack([x, x], 3), "Stack", "dimension 3");
        Throws<ArgumentOutOfRangeException>(() => x.IndexSelect(-3, L(0)), "IndexSelect", "dimension -3");
        Throws<ArgumentOutOfRangeException>(() => x.Gather(2, Tensor.Zeros([3, 4], DType.Int64)), "Gather", "dimension 2");
        Throws<ArgumentOutOfRangeException>(() => x.Max(2), "Max", "dimension 2");
        Throws<ArgumentOutOfRangeException>(() => x.Var(5), "Var", "dimension 5");
        Throws<ArgumentOutOfRangeException>(() => x.Norm(2, -3), "Norm", "dimension -3");
        Throws<ArgumentOutOfRangeException>(() => x.TopK(5, 1), "TopK", "k (5)", "size 4");
        Throws<ArgumentOutOfRangeException>(() => x.Split(2, 2), "Split");
    }

    [Fact]
    public void ShapeAndDTypeMismatchesNameTheOffendingTensor()
    {
        var a = Tensor.Zeros(2, 3);
        Throws<ArgumentException>(() => Tensor.Cat([a, Tensor.Zeros(2, 3), Tensor.Zeros(3, 3)], 1), "tensor 2", "(3, 3)", "(2, 3)", "dimension 0");
        Throws<ArgumentException>(() => Tensor.Cat([a, Tensor.Zeros(2, 3, 1)]), "tensor 1", "(2, 3, 1)", "rank 3");
        Throws<ArgumentException>(() => Tensor.Cat([a, Tensor.Zeros([2, 3], DType.Float64)]), "tensor 1", "torch.float64", "torch.float32");
        Throws<ArgumentException>(() => Tensor.Cat(Array.Empty<Tensor>()), "non-empty");
        Throws<ArgumentException>(() => Tensor.Cat([Tensor.Scalar(1)]), "zero-dimensional");
        Throws<ArgumentException>(() => Tensor.Stack([a, a, Tensor.Zeros(3, 2)]), "tensor 2", "(3, 2)", "(2, 3)");
        Throws<ArgumentException>(() => Tensor.Where(Tensor.Zeros([2, 1], DType.Bool), a, Tensor.Zeros(4)), "Where", "(2, 1)", "(2, 3)", "(4,)");
        Throws<ArgumentException>(() => Tensor.Where(Tensor.Zeros(2, 3), a, a), "condition", "torch.float32");
        Throws<ArgumentException>(() => a.Gather(1, Tensor.Zeros([2], DType.Int64)), "Gather", "(2,)", "(2, 3)");
        Throws<ArgumentException>(() => a.Gather(1, Tensor.Zeros([3, 1], DType.Int64)), "Gather", "(3, 1)", "dimension 0");
        Throws<ArgumentException>(() => a.Gather(1, Tensor.Zeros([2, 1])), "index", "torch.float32");
        Throws<ArgumentException>(() => a.Scatter(1, Tensor.Zeros([2, 2], DType.Int64), Tensor.Zeros(2, 1)), "src", "(2, 1)");
        Throws<ArgumentException>(() => a.Scatter(1, Tensor.Zeros([2, 1], DType.Int64), Tensor.Zeros([2, 1], DType.Float64)), "src", "torch.float64");
        Throws<ArgumentException>(() => a.IndexAdd(0, L(0, 1), Tensor.Zeros(3, 3)), "IndexAdd", "(3, 3)", "(2, 3)");
        Throws<ArgumentException>(() => a.IndexSelect(0, Tensor.Zeros([1, 1], DType.Int64)), "1-D");
        Throws<ArgumentException>(() => a.MaskedFill(Tensor.Zeros(2, 3), 0), "mask", "torch.float32");
        Throws<ArgumentException>(() => a.MaskedFill(Tensor.Zeros([4], DType.Bool), 0), "MaskedFill", "(4,)");
        Throws<ArgumentException>(() => a.Split([1, 1], 1), "sum to 2", "size 3");
        Throws<ArgumentException>(() => a.Repeat(2), "Repeat", "rank (2)");
        Throws<ArgumentException>(() => a.Eq(Tensor.Zeros(2)), "Eq", "(2, 3)", "(2,)");
        Throws<ArgumentException>(() => Tensor.Zeros([2], DType.Int64).Var(), "Var", "torch.int64");
        Throws<ArgumentException>(() => Tensor.Zeros(0, 3).Max(0), "Max", "size 0");
        Throws<IndexOutOfRangeException>(() => _ = a[Tensor.Zeros([3], DType.Bool)], "mask", "(3,)", "dimension 0");
        Throws<ArgumentException>(() => _ = a[TensorIndex.Ellipsis, 0, TensorIndex.Ellipsis], "single ellipsis");
        Throws<ArgumentException>(() => _ = a[Tensor.Zeros(2)], "int64, int32 or bool", "torch.float32");
        Throws<ArgumentException>(() => a[0] = Tensor.Zeros(2), "(2,)");
    }

    [Fact]
    public void InPlaceRulesAreEnforced()
    {
        var leaf = Tensor.Zeros([3, 4], DType.Float64, requiresGrad: true);
        var idx = Tensor.Zeros([1, 4], DType.Int64);
        Throws<InvalidOperationException>(() => leaf.ScatterInPlace(0, idx, 1.0), "ScatterInPlace", "leaf");
        Throws<InvalidOperationException>(() => leaf.IndexAddInPlace(0, L(0), Tensor.Ones([1, 4], DType.Float64)), "IndexAddInPlace");
        Throws<InvalidOperationException>(() => leaf.MaskedFillInPlace(Tensor.Ones([4], DType.Bool), 1), "MaskedFillInPlace");
        Throws<InvalidOperationException>(() => leaf[0] = Tensor.Scalar(1, DType.Float64), "leaf");
        var plain = Tensor.Zeros([3, 4], DType.Float64);
        Throws<InvalidOperationException>(() => plain.ScatterAddInPlace(0, idx, Tensor.Ones([1, 4], DType.Float64, requiresGrad: true)), "requires grad");
        using (Autograd.NoGrad()) leaf[0] = Tensor.Scalar(1, DType.Float64);   // allowed under NoGrad
        Assert.Equal(4.0, leaf.Detach().Sum().Item());
    }
}
