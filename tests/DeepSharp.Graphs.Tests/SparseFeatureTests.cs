using DeepSharp.Graphs;
using DeepSharp.Graphs.Datasets;
using DeepSharp.NN;

namespace DeepSharp.Graphs.Tests;

/// <summary>
/// Sparse node features (GraphData.SparseX): sparse × dense in the first layers gives the dense layers' values and
/// gradients, is differentiable in the dense weights (float64 gradcheck; golden values against torch.sparse.mm are in
/// LayerGoldenTests), and bad input is refused by name.
/// </summary>
public class SparseFeatureTests
{
    static Tensor Edges => GraphUtil.EdgeIndex([0, 1, 1, 2, 3, 4, 5, 2], [1, 0, 2, 1, 4, 3, 3, 0]);

    /// <summary>A (6, 8) float64 binary bag of words with an empty row.</summary>
    static Tensor Words()
    {
        var data = new double[48];
        var rng = new System.Random(3);
        for (int i = 0; i < data.Length; i++) data[i] = i / 8 != 3 && rng.NextDouble() < 0.35 ? 1 : 0;
        return Tensor.FromArray(data, 6, 8);
    }

    public static IEnumerable<object[]> Layers() => new[] { "gcn", "sage", "gat" }.Select(n => new object[] { n });

    static Module<Tensor, Tensor, Tensor> Make(string name) => name switch
    {
        "gcn" => new GcnConv(8, 4),
        "sage" => new SageConv(8, 4),
        _ => new GatConv(8, 2, heads: 2),
    };

    [Theory]
    [MemberData(nameof(Layers))]
    public void SparseInputGivesTheDenseValuesAndGradients(string name)
    {
        var layer = Make(name); layer.To(DType.Float64);
        var x = Words();
        var dense = layer.Call(x, Edges);
        var denseGrads = Autograd.Grad([dense.Sum()], layer.Parameters().ToArray());
        var sparse = ((ISparseInputLayer)layer).Forward(SparseCsrTensor.FromDense(x), Edges);
        var sparseGrads = Autograd.Grad([sparse.Sum()], layer.Parameters().ToArray());
        Close(dense, sparse, name);
        for (int i = 0; i < denseGrads.Length; i++) Close(denseGrads[i]!, sparseGrads[i]!, $"{name} gradient {i}");
    }

    [Fact]
    public void SparseTimesDenseGradCheckInTheWeights()
    {
        var x = SparseCsrTensor.FromDense(Words());
        var w = Tensor.Randn([3, 8], DType.Float64, requiresGrad: true); var b = Tensor.Randn([3], DType.Float64, requiresGrad: true);
        Assert.True(GradCheck.Check(t => x.MatMul(t[0].T).Add(t[1]), [w, b]));
        // the values after dropout (WithValues) stay differentiable too
        var v = x.Values.Detach().Clone().RequiresGrad_();
        Assert.True(GradCheck.Check(t => x.WithValues(t[0]).MatMul(t[1].T), [v, w]));
        // and the first layer of each kind, through its weight
        var gcn = new GcnConv(8, 3); gcn.To(DType.Float64);
        Assert.True(GradCheck.Check(t => gcn.Forward(x, Edges).Mul(t[0]), [Tensor.Randn([6, 3], DType.Float64, requiresGrad: true)]));
        var linear = new Linear(8, 3, dtype: DType.Float64);
        var weight = linear.Weight;
        var output = SparseFeatures.Linear(linear, x);
        var g = Autograd.Grad([output.Sum()], [weight])[0]!;
        Close(Words().Sum(0).Unsqueeze(0).Expand(3, 8), g, "d sum(x W^T) / dW = column sums of x");
    }

    [Fact]
    public void FromDenseAndWithValuesKeepTheStructure()
    {
        var dense = Words();
        var x = SparseCsrTensor.FromDense(dense);
        Assert.Equal([6, 8], x.Shape);
        Assert.Equal(DType.Float64, x.DType);
        Assert.Equal((int)dense.Sum().Item<double>(), x.Nnz);
        Assert.Equal(x.CrowIndices[3], x.CrowIndices[4]);                      // the empty row
        Close(dense, x.ToDense(), "round trip");
        var halved = x.WithValues(x.Values.Mul(0.5));
        Close(dense.Mul(0.5), halved.ToDense(), "WithValues");
        Close(dense.T.Contiguous(), halved.Transpose().ToDense().Mul(2.0), "transpose of WithValues");
        var ex = Assert.Throws<ArgumentException>(() => x.WithValues(Tensor.Ones([x.Nnz + 1], DType.Float64)));
        Assert.Contains($"nnz = {x.Nnz}", ex.Message);
        Assert.Throws<ArgumentException>(() => SparseCsrTensor.FromDense(Tensor.Ones(2, 3, 4)));
    }

    [Fact]
    public void BadSparseInputIsAClearError()
    {
        var x = SparseCsrTensor.FromDense(Words());
        var ex = Assert.Throws<ArgumentException>(() => new GcnConv(5, 3).Forward(x, Edges));
        Assert.Contains("sparse x must be (num_nodes, 5), got (6, 8)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => SparseFeatures.Linear(new Linear(7, 2), x));
        Assert.Contains("(6, 8)", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new SageConv(8, 3, SageAggregation.Max).Forward(x, Edges));
        Assert.Contains("mean aggregator", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => new GatConv(8, 3).Forward(x, GraphUtil.EdgeIndex([0], [6])));
        Assert.Contains("outside the node range [0, 6)", ex.Message);
        var graph = new GraphData(x, Edges);
        Assert.True(graph.IsSparse);
        Assert.Equal(Words().ToArray<double>(), graph.X.ToArray<double>());   // Data.x: the dense copy, made on demand
        Assert.Equal([6, 8], graph.X.Shape);
        Assert.Equal((6, 8), (graph.NumNodes, graph.NumFeatures));
        ex = Assert.Throws<ArgumentException>(() => GraphBatch.FromGraphs([graph]));
        Assert.Contains("sparse node features (6, 8)", ex.Message);
    }

    [Theory]
    [InlineData(NodeModelKind.Gcn)]
    [InlineData(NodeModelKind.Sage)]
    [InlineData(NodeModelKind.Gat)]
    [InlineData(NodeModelKind.Mlp)]
    public void NodeClassifierOnSparseFeaturesMatchesDense(NodeModelKind kind)
    {
        var karate = KarateClub.Load();
        var sparse = new GraphData(SparseCsrTensor.FromDense(karate.X!), karate.EdgeIndex);
        DeepSharp.Random.Seed(5); var a = new NodeClassifier(karate, kind, 2, hidden: 16);
        DeepSharp.Random.Seed(5); var b = new NodeClassifier(sparse, kind, 2, hidden: 16);
        a.Eval(); b.Eval();
        Close(a.AllLogits(), b.AllLogits(), kind.ToString());
        b.Train();
        var loss = b.AllLogits().Sum();                                        // dropout on the sparse values runs
        var grads = Autograd.Grad([loss], b.Parameters().ToArray());
        Assert.All(grads, g => Assert.NotNull(g));
    }

    static void Close(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.To(DType.Float64).Contiguous().ToArray<double>(); var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-5 + 1e-5 * Math.Abs(e[i]), $"{what}[{i}]: expected {e[i]:G10}, got {a[i]:G10}");
    }
}
