using DeepSharp.Data;

namespace DeepSharp.Tests.Data;

public class DatasetTests
{
    [Fact]
    public void ByteImageDatasetScalesEachBatch()
    {
        var pixels = new byte[] { 0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40 };
        var ds = new ByteImageDataset(pixels, [7, 8, 9], [1, 2, 2]);
        Assert.Equal(3, ds.Count);
        var batch = ds.GetBatch([2, 0]);
        Assert.Equal([2, 1, 2, 2], batch[0].Shape);
        Assert.Equal(new[] { 10 * (1f / 255f), 20 * (1f / 255f), 30 * (1f / 255f), 40 * (1f / 255f), 0f, 1f, 51 * (1f / 255f), 102 * (1f / 255f) },
                     batch[0].ToArray<float>());
        Assert.Equal([9L, 7L], batch[1].ToArray<long>());
        var item = ds.Get(1);
        Assert.Equal([1, 2, 2], item[0].Shape);
        Assert.Equal(8L, item[1].Item<long>());
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch([3]));
        var ex = Assert.Throws<ArgumentException>(() => new ByteImageDataset(pixels, [1, 2], [1, 2, 2]));
        Assert.Contains("12 pixels", ex.Message);
    }

    [Fact]
    public void TensorDatasetItemsAndBatchGather()
    {
        var x = Tensor.Arange(0, 24, dtype: DType.Float64).Reshape(6, 2, 2);
        var y = Tensor.FromArray(new[] { true, false, true, true, false, false });
        var ds = new TensorDataset(x, y);
        Assert.Equal(6, ds.Count);
        var item = ds[4];
        Assert.Equal([2, 2], item[0].Shape);
        Assert.Equal([16.0, 17, 18, 19], item[0].ToArray<double>());
        Assert.False(item[1].Item<bool>());

        var batch = ds.GetBatch([5, 0, 1, 2, 4]);
        Assert.Equal([5, 2, 2], batch[0].Shape);
        Assert.Equal([20.0, 21, 22, 23, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 16, 17, 18, 19], batch[0].ToArray<double>());
        Assert.Equal([false, true, false, true, false], batch[1].ToArray<bool>());
        Assert.True(batch[0].IsContiguous);
    }

    [Fact]
    public void TensorDatasetAcceptsNonContiguousInputs()
    {
        var x = Tensor.Arange(0, 6, dtype: DType.Int32).Reshape(2, 3).T;   // (3, 2) transposed view
        var ds = new TensorDataset(x);
        Assert.Equal([1, 4], ds.GetBatch([1])[0].ToArray<int>());
        Assert.Equal([2, 5, 0, 3], ds.GetBatch([2, 0])[0].ToArray<int>());
    }

    [Fact]
    public void TensorDatasetErrors()
    {
        var e = Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Zeros(3, 2), Tensor.Zeros(4)));
        Assert.Contains("(3, 2)", e.Message); Assert.Contains("(4)", e.Message.Replace(",)", ")"));
        Assert.Throws<ArgumentException>(() => new TensorDataset(Tensor.Scalar(1)));
        Assert.Throws<ArgumentException>(() => new TensorDataset());
        var ds = new TensorDataset(Tensor.Zeros(3));
        Assert.Contains("index 3", Assert.Throws<ArgumentOutOfRangeException>(() => ds.Get(3)).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => ds.GetBatch([0, -1]));
    }

    [Fact]
    public void SubsetAndConcat()
    {
        var a = Dataset.From(3, i => i);
        var b = Dataset.From(0, i => 100 + i);
        var c = Dataset.From(2, i => 10 + i);
        var concat = new ConcatDataset<int>(a, b, c);
        Assert.Equal(5, concat.Count);
        Assert.Equal([0, 1, 2, 10, 11], Enumerable.Range(0, 5).Select(concat.Get));
        Assert.Throws<ArgumentOutOfRangeException>(() => concat.Get(5));

        var subset = new Subset<int>(concat, [4, 0]);
        Assert.Equal(11, subset[0]);
        Assert.Equal(0, subset[1]);
        Assert.Throws<ArgumentOutOfRangeException>(() => new Subset<int>(concat, [5]));
    }

    [Fact]
    public void RandomSplitSizesAreRightAndSubsetsDisjoint()
    {
        var ds = Dataset.From(103, i => i);
        var parts = Dataset.RandomSplit(ds, [0.7, 0.2, 0.1], new Generator(3));
        // floor: 72, 20, 10 = 102; the remaining item goes to the first subset
        Assert.Equal([73, 20, 10], parts.Select(p => p.Count));
        var all = parts.SelectMany(p => p.Indices).ToArray();
        Assert.Equal(Enumerable.Range(0, 103), all.Order());

        var again = Dataset.RandomSplit(ds, [0.7, 0.2, 0.1], new Generator(3));
        Assert.Equal(parts[1].Indices, again[1].Indices);

        var byLength = Dataset.RandomSplit(ds, [100, 3]);
        Assert.Equal([100, 3], byLength.Select(p => p.Count));
        Assert.Contains("add up to 104", Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [100, 4])).Message);
        Assert.Contains("not 1", Assert.Throws<ArgumentException>(() => Dataset.RandomSplit(ds, [0.5, 0.4])).Message);

        var (train, val, test) = Dataset.TrainValTestSplit(ds, 0.1, 0.2, new Generator(1));
        Assert.Equal((73, 10, 20), (train.Count, val.Count, test.Count));
        Assert.Empty(train.Indices.Intersect(val.Indices).Concat(train.Indices.Intersect(test.Indices)).Concat(val.Indices.Intersect(test.Indices)));
    }

    [Fact]
    public void MapAppliesTransformLazily()
    {
        int calls = 0;
        var ds = Dataset.From(4, i => i).Map(v => { calls++; return v * 10; });
        Assert.Equal(0, calls);
        Assert.Equal(30, ds.Get(3));
        Assert.Equal(1, calls);
    }
}
