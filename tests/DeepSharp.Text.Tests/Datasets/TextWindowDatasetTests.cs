using DeepSharp.Data;
using DeepSharp.Text.Datasets;

namespace DeepSharp.Text.Tests.Datasets;

public class TextWindowDatasetTests
{
    static readonly int[] Tokens = Enumerable.Range(100, 23).ToArray();     // 100..122

    [Fact]
    public void WindowsAndTargetsShiftedByOne()
    {
        var dataset = new TextWindowDataset(Tokens, blockSize: 5);
        Assert.Equal(4, dataset.Count);                                      // (23 - 5 - 1) / 5 + 1
        var (x, y) = (dataset.Get(2)[0], dataset.Get(2)[1]);
        Assert.Equal(DType.Int64, x.DType);
        Assert.Equal([5], x.Shape);
        Assert.Equal([110L, 111, 112, 113, 114], x.ToArray<long>());
        Assert.Equal([111L, 112, 113, 114, 115], y.ToArray<long>());
        var last = dataset.Get(3);
        Assert.Equal(120L, last[1].ToArray<long>()[^1]);                     // tokens 121, 122 are left over
    }

    [Theory]
    [InlineData(23, 5, 1, 18)]
    [InlineData(23, 5, 2, 9)]
    [InlineData(23, 5, 7, 3)]
    [InlineData(6, 5, 5, 1)]
    [InlineData(5, 5, 5, 0)]
    [InlineData(0, 3, 1, 0)]
    public void CountFollowsTheStride(int tokens, int blockSize, int stride, int expected)
    {
        var dataset = new TextWindowDataset(Enumerable.Range(0, tokens).ToArray(), blockSize, stride);
        Assert.Equal(expected, dataset.Count);
        for (int i = 0; i < dataset.Count; i++)
        {
            var item = dataset.Get(i);
            Assert.Equal((long)(i * stride), item[0].ToArray<long>()[0]);
            Assert.Equal(item[0].ToArray<long>().Skip(1), item[1].ToArray<long>().Take(blockSize - 1));
        }
    }

    [Fact]
    public void DataLoaderBatchesMatchItems()
    {
        var dataset = new TextWindowDataset(Tokens, blockSize: 4, stride: 2);
        var loader = new DataLoader(dataset, batchSize: 3, shuffle: true, generator: new Generator(3));
        int seen = 0;
        foreach (var (xb, yb) in loader)
        {
            Assert.Equal(2, xb.Rank);
            Assert.Equal(4, xb.Shape[1]);
            Assert.Equal(xb.Shape, yb.Shape);
            var x = xb.ToArray<long>();
            var y = yb.ToArray<long>();
            for (int b = 0; b < xb.Shape[0]; b++)
            {
                long start = x[b * 4];
                Assert.Equal(0, (start - 100) % 2);
                for (int t = 0; t < 4; t++) { Assert.Equal(start + t, x[b * 4 + t]); Assert.Equal(start + t + 1, y[b * 4 + t]); }
            }
            seen += xb.Shape[0];
        }
        Assert.Equal(dataset.Count, seen);
        var batch = dataset.GetBatch([3, 0]);
        Assert.Equal(dataset.Get(3)[0].ToArray<long>(), batch[0].Select(0, 0).ToArray<long>());
        Assert.Equal(dataset.Get(0)[1].ToArray<long>(), batch[1].Select(0, 1).ToArray<long>());
    }

    [Fact]
    public void BuildsFromTextFilesAndTensors()
    {
        var tokenizer = CharTokenizer.FromCorpus("abcdefgh");
        var path = Path.Combine(Path.GetTempPath(), $"windows-{Guid.NewGuid():N}.txt");
        try
        {
            File.WriteAllText(path, "abcdefgh");
            var fromFile = TextWindowDataset.FromFile(path, tokenizer, blockSize: 3, stride: 1);
            Assert.Equal(5, fromFile.Count);
            Assert.Equal("bcd", tokenizer.Decode(fromFile.Get(1)[0]));
            Assert.Equal("cde", tokenizer.Decode(fromFile.Get(1)[1]));
        }
        finally { File.Delete(path); }
        var fromTensor = new TextWindowDataset(Tensor.Arange(10).To(DType.Int64), blockSize: 3);
        Assert.Equal(3, fromTensor.Count);
        Assert.Equal([6L, 7, 8], fromTensor.Get(2)[0].ToArray<long>());
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextWindowDataset(Tokens, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new TextWindowDataset(Tokens, 4, 0));
        Assert.Throws<ArgumentException>(() => new TextWindowDataset([1, -2, 3], 1));
        var e = Assert.Throws<ArgumentException>(() => new TextWindowDataset(Tensor.Zeros(2, 3), 2));
        Assert.Contains("(2, 3)", e.Message);
        var dataset = new TextWindowDataset(Tokens, 5);
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Get(4));
        Assert.Contains("4 windows", range.Message);
        Assert.Throws<FileNotFoundException>(() => TextWindowDataset.FromFile("/nonexistent.txt", CharTokenizer.FromCorpus("a"), 2));
    }
}
