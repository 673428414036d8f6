using System.Text.Json;
using DeepSharp.Tests.Golden;

namespace DeepSharp.Tests.Graph;

/// <summary>maximum/minimum, scatter_reduce, segment reductions and CSR products against PyTorch 1.13 (tools/golden/graph_ops.py).</summary>
public class GraphOpsGoldenTests
{
    static Tensor Seg => Tensor.FromArray(new long[] { 0, 2, 0, 4, 2, 2, 0 }, 7);

    static readonly Dictionary<string, Func<Tensor[], GoldenCase, Tensor>> Cases = BuildCases();

    static Dictionary<string, Func<Tensor[], GoldenCase, Tensor>> BuildCases()
    {
        var cases = new Dictionary<string, Func<Tensor[], GoldenCase, Tensor>>
        {
            ["maximum_broadcast"] = (x, _) => x[0].Maximum(x[1]),
            ["minimum_broadcast"] = (x, _) => Tensor.Minimum(x[0], x[1]),
            ["maximum_ties"] = (x, _) => x[0].Maximum(x[1]),
            ["minimum_ties"] = (x, _) => x[0].Minimum(x[1]),
            ["scatter_reduce_amax_ties"] = (x, _) => x[0].ScatterReduce(1, x[1], x[2], ScatterReduction.Amax),
            ["scatter_reduce_amin_ties_noself"] = (x, _) => x[0].ScatterReduce(1, x[1], x[2], ScatterReduction.Amin, includeSelf: false),
            ["scatter_reduce_prod_zero"] = (x, _) => x[0].ScatterReduce(0, x[1], x[2], ScatterReduction.Prod),
            ["scatter_reduce_src_larger"] = (x, _) => x[0].ScatterReduce(0, x[1], x[2], ScatterReduction.Mean),
            ["segment_sum"] = (x, _) => Tensor.SegmentSum(x[0], Seg, 5),
            ["segment_mean"] = (x, _) => Tensor.SegmentMean(x[0], Seg, 5),
            ["segment_max"] = (x, _) => Tensor.SegmentMax(x[0], Seg, 5),
            ["segment_min"] = (x, _) => Tensor.SegmentMin(x[0], Seg, 5),
            ["segment_max_ties"] = (x, _) => Tensor.SegmentMax(x[0], Seg, 5),
            ["segment_softmax"] = (x, _) => Tensor.SegmentSoftmax(x[0], Seg, 5),
            ["csr_matmul"] = (x, c) => Csr(c, x[0]).MatMul(x[1]),
        };
        foreach (var red in Enum.GetValues<ScatterReduction>())
            foreach (var inc in new[] { true, false })
            {
                var name = $"scatter_reduce_{red.ToString().ToLowerInvariant()}_{(inc ? "self" : "noself")}";
                cases[name] = (x, _) => x[0].ScatterReduce(1, x[1], x[2], red, inc);
            }
        return cases;
    }

    static SparseCsrTensor Csr(GoldenCase c, Tensor values)
    {
        var e = c.Extra!.Value;
        long[] Longs(string key) => e.GetProperty(key).EnumerateArray().Select(v => v.GetInt64()).ToArray();
        var row = Longs("row"); var col = Longs("col");
        return SparseCsrTensor.FromCoo(Tensor.FromArray(row, row.Length), Tensor.FromArray(col, col.Length), values,
            e.GetProperty("rows").GetInt32(), e.GetProperty("cols").GetInt32());
    }

    public static IEnumerable<object[]> Names() => Golden.Golden.CaseNames("graph_ops").Select(n => new object[] { n });

    [Theory]
    [MemberData(nameof(Names))]
    public void MatchesPyTorch(string name)
    {
        Assert.True(Cases.ContainsKey(name), $"fixture case {name} has no test");
        var c = Golden.Golden.Case("graph_ops", name);
        var inputs = Enumerable.Range(0, c.Inputs.Length).Select(i => c.Input(i)).ToArray();
        var leaves = inputs.Where(t => t.RequiresGrad).ToArray();
        c.Check(Cases[name](inputs, c), leaves);
    }

    [Fact]
    public void EveryTestHasAFixture() => Assert.Empty(Cases.Keys.Except(Golden.Golden.CaseNames("graph_ops")));
}
