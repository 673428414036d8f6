using System.Text.Json;
using DeepSharp.Graphs;
using DeepSharp.NN;

namespace DeepSharp.Graphs.Tests;

/// <summary>Every layer against the papers' formulas written with torch scatter ops (tools/golden/graph_layers.py).</summary>
public class LayerGoldenTests
{
    static readonly Lazy<JsonElement> root = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Golden", "graph_layers.json"))).RootElement);

    static Tensor Read(JsonElement e)
    {
        var shape = e.GetProperty("shape").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var data = e.GetProperty("data").EnumerateArray().Select(v => v.GetDouble()).ToArray();
        return Tensor.FromArray(data, data.Length).Reshape(shape);
    }

    static Tensor EdgeIndex => Read(root.Value.GetProperty("edge_index")).To(DType.Int64);
    static Tensor Batch => Read(root.Value.GetProperty("batch")).To(DType.Int64);

    static SparseCsrTensor Sparse(Tensor x) => SparseCsrTensor.FromDense(x.Detach());

    static Sequential Mlp() => new(new Linear(4, 5, dtype: DType.Float64), new ReLU(), new Linear(5, 3, dtype: DType.Float64));

    static readonly Dictionary<string, (Func<Module> Make, Func<Module, Tensor, Tensor> Run)> Cases = new()
    {
        ["gcn"] = (() => new GcnConv(4, 3), (m, x) => ((GcnConv)m).Call(x, EdgeIndex)),
        ["sage_mean"] = (() => new SageConv(4, 3), (m, x) => ((SageConv)m).Call(x, EdgeIndex)),
        ["sage_max"] = (() => new SageConv(4, 3, SageAggregation.Max), (m, x) => ((SageConv)m).Call(x, EdgeIndex)),
        ["gat_concat"] = (() => new GatConv(4, 3, heads: 2), (m, x) => ((GatConv)m).Call(x, EdgeIndex)),
        ["gat_mean"] = (() => new GatConv(4, 3, heads: 2, concat: false), (m, x) => ((GatConv)m).Call(x, EdgeIndex)),
        ["gin"] = (() => new GinConv(Mlp()), (m, x) => ((GinConv)m).Call(x, EdgeIndex)),
        ["gin_train_eps"] = (() => new GinConv(Mlp(), eps: 0.3, trainEps: true), (m, x) => ((GinConv)m).Call(x, EdgeIndex)),
        // sparse node features: the fixture's products with the weights are torch.sparse.mm on a sparse x
        ["linear_sparse_x"] = (() => new Linear(8, 3), (m, x) => SparseFeatures.Linear((Linear)m, Sparse(x))),
        ["gcn_sparse_x"] = (() => new GcnConv(8, 3), (m, x) => ((GcnConv)m).Forward(Sparse(x), EdgeIndex)),
        ["sage_mean_sparse_x"] = (() => new SageConv(8, 3), (m, x) => ((SageConv)m).Forward(Sparse(x), EdgeIndex)),
        ["gat_sparse_x"] = (() => new GatConv(8, 3, heads: 2), (m, x) => ((GatConv)m).Forward(Sparse(x), EdgeIndex)),
        ["pool_add"] = (() => new Sequential(), (_, x) => GlobalPool.Add(x, Batch, 3)),
        ["pool_mean"] = (() => new Sequential(), (_, x) => GlobalPool.Mean(x, Batch, 3)),
        ["pool_max"] = (() => new Sequential(), (_, x) => GlobalPool.Max(x, Batch, 3)),
    };

    public static IEnumerable<object[]> Names() => root.Value.GetProperty("cases").EnumerateObject().Select(c => new object[] { c.Name });

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesTorchFormula(string name)
    {
        Assert.True(Cases.ContainsKey(name), $"fixture case {name} has no test");
        var c = root.Value.GetProperty("cases").GetProperty(name);
        var module = Cases[name].Make();
        module.To(DType.Float64);
        var state = c.GetProperty("params").EnumerateObject().ToDictionary(p => p.Name, p => Read(p.Value));
        if (state.Count > 0) module.LoadStateDict(state);
        var x = Read(c.GetProperty("x")).RequiresGrad_();
        var output = Cases[name].Run(module, x);
        AssertClose(Read(c.GetProperty("out")), output, $"{name} output");
        var named = module.NamedParameters().ToDictionary(p => p.Name, p => p.Tensor);
        var gradNames = c.GetProperty("grads").EnumerateObject().Select(g => g.Name).ToArray();
        var leaves = gradNames.Select(n => n == "x" ? x : named[n]).ToArray();
        var grads = Autograd.Grad([output], leaves, [Read(c.GetProperty("upstream"))]);
        for (int i = 0; i < leaves.Length; i++)
            AssertClose(Read(c.GetProperty("grads").GetProperty(gradNames[i])), grads[i]!, $"{name} gradient of {gradNames[i]}");
    }

    static void AssertClose(Tensor expected, Tensor actual, string what)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.ToArray<double>(); var a = actual.To(DType.Float64).Contiguous().ToArray<double>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= 1e-9 + 1e-7 * Math.Abs(e[i]), $"{what}[{i}]: expected {e[i]:G12}, got {a[i]:G12}");
    }
}
