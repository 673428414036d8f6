namespace DeepSharp.Graphs.Datasets;

/// <summary>
/// A generated graph-classification set whose label needs the edges: random trees (label 0) against the same trees
/// with one extra edge closing a cycle (label 1), 8–16 nodes, every node with the same constant feature. A model that
/// only sees the bag of node features (the node count) is at chance; message passing can count edges and cycles.
/// </summary>
public static class CycleGraphs
{
    /// <summary>Makes <paramref name="count"/> graphs, half of each label, shuffled, from <paramref name="seed"/>.</summary>
    public static List<GraphData> Generate(int count, int seed = 0, int minNodes = 8, int maxNodes = 16)
    {
        var random = new System.Random(seed);
        var graphs = new List<GraphData>(count);
        for (int i = 0; i < count; i++)
        {
            int n = random.Next(minNodes, maxNodes + 1);
            var edges = new List<(long, long)>();
            for (int v = 1; v < n; v++) edges.Add((random.Next(v), v));                   // random recursive tree
            bool cyclic = i % 2 == 1;
            if (cyclic)
            {
                long a, b;
                do { a = random.Next(n); b = random.Next(n); } while (a == b || edges.Contains((a, b)) || edges.Contains((b, a)));
                edges.Add((a, b));
            }
            var source = edges.SelectMany(e => new[] { e.Item1, e.Item2 }).ToArray();
            var target = edges.SelectMany(e => new[] { e.Item2, e.Item1 }).ToArray();
            graphs.Add(new GraphData(Tensor.Ones(n, 1), GraphUtil.EdgeIndex(source, target)) { Y = Tensor.FromArray(new long[] { cyclic ? 1 : 0 }, 1) });
        }
        random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(graphs));
        return graphs;
    }
}
