using DeepSharp.Graphs;

namespace DeepSharp.Graphs.Tests;

/// <summary>Graph data checks, PyG-style batching and the layers' bad-input errors.</summary>
public class GraphDataTests
{
    static Tensor Edges(params long[][] pairs) => GraphUtil.EdgeIndex(pairs.Select(p => p[0]).ToArray(), pairs.Select(p => p[1]).ToArray());

    [Fact]
    public void BatchIsBlockDiagonalWithBatchVector()
    {
        var a = new GraphData(Tensor.Ones(2, 3), Edges([0, 1], [1, 0])) { Y = Tensor.FromArray(new long[] { 1 }, 1) };
        var b = new GraphData(Tensor.Zeros(3, 3), Edges([0, 2], [2, 1])) { Y = Tensor.FromArray(new long[] { 0 }, 1) };
        var batch = GraphBatch.FromGraphs([a, b, a]);
        Assert.Equal(3, batch.NumGraphs);
        Assert.Equal(new long[] { 0, 0, 1, 1, 1, 2, 2 }, batch.Batch.ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 5, 7 }, batch.Ptr);
        Assert.Equal(new long[] { 0, 1, 2, 4, 5, 6, 1, 0, 4, 3, 6, 5 }, batch.EdgeIndex.ToArray<long>());
        Assert.Equal(new long[] { 1, 0, 1 }, batch.Y!.ToArray<long>());
        Assert.Equal([7, 3], batch.X.Shape);
        var pooled = GlobalPool.Add(batch.X, batch.Batch, batch.NumGraphs);
        Assert.Equal(new float[] { 2, 2, 2, 0, 0, 0, 2, 2, 2 }, pooled.ToArray<float>());
    }

    [Fact]
    public void LoaderCoversEveryGraphOncePerEpoch()
    {
        var graphs = Enumerable.Range(0, 7).Select(i => new GraphData(Tensor.Full([i + 1, 1], i), Edges([0, 0]))).ToArray();
        var loader = new GraphLoader(graphs, batchSize: 3, shuffle: true, seed: 1);
        Assert.Equal(3, loader.Count);
        var seen = loader.SelectMany(b => b.X.ToArray<float>().Distinct()).OrderBy(v => v).ToArray();
        Assert.Equal(Enumerable.Range(0, 7).Select(i => (float)i), seen);
    }

    [Fact]
    public void EdgeOutsideNodeRangeIsAClearError()
    {
        var ex = Assert.Throws<ArgumentException>(() => new GraphData(Tensor.Ones(3, 2), Edges([0, 1], [1, 3])));
        Assert.Contains("edgeIndex[1, 1] = 3 is outside the node range [0, 3)", ex.Message);
        Assert.Contains("(2, 2)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new GcnConv(2, 4).Call(Tensor.Ones(3, 2), Edges([-1, 1])));
        Assert.Contains("GcnConv", ex.Message);
        Assert.Throws<ArgumentException>(() => new GatConv(2, 4).Call(Tensor.Ones(3, 2), Edges([0, 5])));
        Assert.Throws<ArgumentException>(() => new SageConv(2, 4).Call(Tensor.Ones(3, 2), Edges([7, 1])));
    }

    [Fact]
    public void GraphWithoutEdgesIsAClearError()
    {
        var empty = Tensor.Zeros([2, 0], DType.Int64);
        var ex = Assert.Throws<ArgumentException>(() => new GraphData(Tensor.Ones(4, 2), empty));
        Assert.Contains("no edges", ex.Message);
        Assert.Throws<ArgumentException>(() => new GcnConv(2, 4).Call(Tensor.Ones(4, 2), empty));
        ex = Assert.Throws<ArgumentException>(() => new GcnConv(2, 4).Call(Tensor.Ones(4, 3), Edges([0, 1])));
        Assert.Contains("(4, 3)", ex.Message);
    }

    [Fact]
    public void LayersGradCheckInFloat64()
    {
        var edges = Edges([0, 1], [1, 2], [2, 0], [3, 1], [1, 3]);
        var gcn = new GcnConv(3, 2); gcn.To(DType.Float64);
        var gat = new GatConv(3, 2, heads: 2); gat.To(DType.Float64);
        var sage = new SageConv(3, 2, SageAggregation.Max); sage.To(DType.Float64);
        var x = Tensor.Randn([4, 3], DType.Float64, requiresGrad: true);
        Assert.True(GradCheck.Check(t => gcn.Call(t[0], edges), [x]));
        Assert.True(GradCheck.Check(t => gat.Call(t[0], edges), [x]));
        Assert.True(GradCheck.Check(t => sage.Call(t[0], edges), [x]));
    }

    [Fact]
    public void GatAttentionDropoutOnlyInTraining()
    {
        var edges = Edges([0, 1], [1, 2], [2, 0]);
        var gat = new GatConv(3, 2, dropout: 0.9);
        var x = Tensor.Randn(3, 3);
        gat.Eval();
        var a = gat.Call(x, edges).ToArray<float>();
        Assert.Equal(a, gat.Call(x, edges).ToArray<float>());
        gat.Train();
        Assert.NotEqual(a, gat.Call(x, edges).ToArray<float>());
    }
}
