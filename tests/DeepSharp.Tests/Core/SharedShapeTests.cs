namespace DeepSharp.Tests.Core;

/// <summary>
/// Tensors share shape and strides arrays (a result of its input's shape takes the input's array; computed shapes come
/// from a per-thread table), which is safe only while no tensor's array is ever written and no array a caller passes in
/// becomes a tensor's own: a caller may reuse it.
/// </summary>
public class SharedShapeTests
{
    [Fact]
    public void AShapeArrayACallerPassesInIsNeverKept()
    {
        int[] shape = [2, 3];
        var zeros = Tensor.Zeros(shape);
        var randn = Tensor.Randn(shape);
        var full = Tensor.Full(shape, 1.5);
        var fromArray = Tensor.FromArray(new float[6], shape);
        int[] target = [3, 2];
        var reshaped = randn.Reshape(target);
        var viewed = randn.View(target);
        int[] sizes = [4, 2, 3];
        var expanded = randn.Expand(sizes);
        int[] perm = [1, 0];
        var permuted = randn.Permute(perm);

        shape[0] = 7; target[0] = 7; sizes[0] = 7; perm[0] = 0;

        foreach (var t in new[] { zeros, randn, full, fromArray }) Assert.Equal([2, 3], t.Shape);
        Assert.Equal([3, 2], reshaped.Shape);
        Assert.Equal([3, 2], viewed.Shape);
        Assert.Equal([4, 2, 3], expanded.Shape);
        Assert.Equal([3, 2], permuted.Shape);
        Assert.Equal([1, 3], permuted.Strides);
    }

    [Fact]
    public void ResultsSharingAShapeKeepTheirOwnSizesThroughViewsAndReshapes()
    {
        var x = Tensor.Randn(4, 6);
        var y = x.Relu();                 // same shape: shares x's array
        var z = x.Add(Tensor.Randn(6));   // a broadcast row: the result takes x's shape
        var narrowed = y.Narrow(1, 2, 3);
        var selected = z.Select(0, 1);
        var flat = y.Reshape(-1);
        var transposed = z.T;
        Assert.Equal([4, 6], x.Shape);
        Assert.Equal([4, 6], y.Shape);
        Assert.Equal([4, 6], z.Shape);
        Assert.Equal([4, 3], narrowed.Shape);
        Assert.Equal([6], selected.Shape);
        Assert.Equal([24], flat.Shape);
        Assert.Equal([6, 4], transposed.Shape);
        Assert.Equal([1, 6], transposed.Strides);
        Assert.Equal([6, 1], x.Strides);
        // and the values went where the shapes say
        Assert.Equal(x.Relu().ToArray<float>(), flat.ToArray<float>());
        Assert.Equal(z.ToArray<float>().Skip(6).Take(6), selected.ToArray<float>());
    }

    [Fact]
    public void ManyDistinctShapesStillGiveEachTensorItsOwnSizes()
    {
        // more distinct shapes than the per-thread table keeps (it starts over past 1024): arrays handed out before stay valid
        var tensors = new List<(Tensor T, int Rows)>();
        for (int rows = 1; rows <= 1500; rows++) tensors.Add((Tensor.Zeros(rows, 2).Reshape(2, rows), rows));
        foreach (var (t, rows) in tensors) Assert.Equal([2, rows], t.Shape);
    }
}
