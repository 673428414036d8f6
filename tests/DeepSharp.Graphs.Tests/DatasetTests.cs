using DeepSharp.Graphs.Datasets;

namespace DeepSharp.Graphs.Tests;

/// <summary>The karate club facts, the generated cycle set, the Debian package graph and the example on small budgets.</summary>
public class DatasetTests
{
    [Fact]
    public void KarateClubHas34Members78TiesTwoFactions()
    {
        var g = KarateClub.Load();
        Assert.Equal(34, g.NumNodes);
        Assert.Equal(156, g.NumEdges);
        Assert.Equal(78, KarateClub.Edges().Distinct().Count());
        var y = g.Y!.ToArray<long>();
        Assert.Equal(17, y.Count(v => v == 0));
        Assert.Equal(0, y[0]); Assert.Equal(1, y[33]);
        var degree = new int[34];
        foreach (var (a, b) in KarateClub.Edges()) { degree[a]++; degree[b]++; }
        Assert.Equal(16, degree[0]); Assert.Equal(17, degree[33]); Assert.Equal(12, degree[32]);   // the published degrees of the leaders
        Assert.Equal(2, g.TrainMask!.ToArray<bool>().Count(t => t));
    }

    [Fact]
    public void CycleGraphsAreTreesOrHaveExactlyOneExtraEdge()
    {
        var graphs = CycleGraphs.Generate(40, seed: 3);
        Assert.Equal(20, graphs.Count(g => g.Y!.Item<long>() == 1));
        foreach (var g in graphs)
            Assert.Equal(g.NumNodes - 1 + g.Y!.Item<long>(), g.NumEdges / 2);
    }

    [Fact]
    public void ExampleKarateGcnSeparatesTheFactions()
    {
        Assert.True(GraphNodes.Karate(NodeModelKind.Gcn, epochs: 60) >= 0.8);
        Assert.True(GraphNodes.Karate(NodeModelKind.Gat, epochs: 60) >= 0.7);
    }

    [Fact]
    public void ExampleGinBeatsBagOfNodesOnCycles()
    {
        var (gin, bag) = GraphNodes.Cycles(graphs: 300, epochs: 15);
        Assert.True(gin >= 0.7 && gin >= bag + 0.1, $"GIN {gin}, bag of nodes {bag}");
    }

    [Fact]
    public void DebianPackageGraphFromAptLists()
    {
        if (AptLists.IndexFiles(DebianPackageGraph.DefaultListsDir).Length == 0)
        {
            const string why = "no apt lists in /var/lib/apt/lists: run apt-get update";
            if (Requires.InCi) Assert.Fail(why);
            Assert.Skip(why);
        }
        var cache = Path.Combine(Path.GetTempPath(), "deepsharp-debian-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var data = DebianPackageGraph.Load(cacheDir: cache, seed: 1);
            Assert.True(data.Graph.NumNodes > 1000, data.ToString());
            Assert.Equal(DebianPackageGraph.TopSections + 1, data.ClassNames.Length);
            Assert.Equal("other", data.ClassNames[^1]);
            // sparse bag-of-words features: CSR (N, vocabulary) with only ones stored, a few per package
            Assert.True(data.Graph.IsSparse);
            var x = data.Graph.SparseX!;
            Assert.Equal([data.Graph.NumNodes, DebianPackageGraph.VocabularySize], x.Shape);
            Assert.Equal(DType.Float32, x.DType);
            Assert.InRange(x.Nnz / (double)data.Graph.NumNodes, 1.0, 30.0);
            Assert.All(x.Values.ToArray<float>(), v => Assert.Equal(1f, v));
            Assert.True(data.Graph.NumEdges > data.Graph.NumNodes, data.ToString());
            Assert.Equal(data.Graph.NumNodes, data.Graph.Y!.Shape[0]);
            var train = data.Graph.TrainMask!.ToArray<bool>(); var test = data.Graph.TestMask!.ToArray<bool>();
            Assert.InRange(train.Count(t => t) / (double)train.Length, 0.58, 0.62);
            Assert.DoesNotContain(Enumerable.Range(0, train.Length), i => train[i] && test[i]);
            var again = DebianPackageGraph.Load(cacheDir: cache, seed: 1);   // from the cache
            Assert.Equal(data.Graph.NumEdges, again.Graph.NumEdges);
            Assert.Equal(data.Graph.Y!.ToArray<long>(), again.Graph.Y!.ToArray<long>());
            Assert.Single(Directory.GetFiles(cache));
        }
        finally { Directory.Delete(cache, recursive: true); }
    }
}
