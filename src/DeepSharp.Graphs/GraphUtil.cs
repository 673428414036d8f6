namespace DeepSharp.Graphs;

/// <summary>Edge-index helpers (torch_geometric.utils) and the normalised adjacency matrices the layers multiply by.</summary>
public static class GraphUtil
{
    /// <summary>Sources (row 0) and targets (row 1) of a (2, E) edge index as arrays.</summary>
    public static (long[] Source, long[] Target) Edges(Tensor edgeIndex)
    {
        var all = edgeIndex.To(DType.Int64).Contiguous().ToArray<long>();
        int e = all.Length / 2;
        return (all[..e], all[e..]);
    }

    /// <summary>Builds a (2, E) int64 edge index from sources and targets.</summary>
    public static Tensor EdgeIndex(long[] source, long[] target)
    {
        if (source.Length != target.Length) throw new ArgumentException($"EdgeIndex: {source.Length} sources but {target.Length} targets");
        return Tensor.FromArray([.. source, .. target], 2, source.Length);
    }

    /// <summary>
    /// Drops self loops and adds exactly one per node (torch_geometric.utils.remove_self_loops then add_self_loops;
    /// for unweighted graphs the same as add_remaining_self_loops).
    /// </summary>
    public static (long[] Source, long[] Target) WithSelfLoops(long[] source, long[] target, int numNodes)
    {
        var s = new List<long>(source.Length + numNodes); var t = new List<long>(source.Length + numNodes);
        for (int k = 0; k < source.Length; k++)
            if (source[k] != target[k]) { s.Add(source[k]); t.Add(target[k]); }
        for (int n = 0; n < numNodes; n++) { s.Add(n); t.Add(n); }
        return (s.ToArray(), t.ToArray());
    }

    /// <summary>Adds the reverse of every edge and drops duplicates (torch_geometric.utils.to_undirected).</summary>
    public static Tensor ToUndirected(Tensor edgeIndex)
    {
        var (s, t) = Edges(edgeIndex);
        var pairs = new SortedSet<(long, long)>();
        for (int k = 0; k < s.Length; k++) { pairs.Add((s[k], t[k])); pairs.Add((t[k], s[k])); }
        return EdgeIndex(pairs.Select(p => p.Item1).ToArray(), pairs.Select(p => p.Item2).ToArray());
    }

    /// <summary>In-degree of every node, counting edges by target (torch_geometric.utils.degree(edge_index[1], N)).</summary>
    public static double[] InDegree(long[] target, int numNodes)
    {
        var deg = new double[numNodes];
        foreach (var t in target) deg[t]++;
        return deg;
    }

    /// <summary>
    /// The matrix that sums messages into targets: A[target, source] = value per edge, as CSR with one row per node.
    /// Multiplying it by node features (N, F) gives Σ over incoming edges of value · x[source].
    /// </summary>
    public static SparseCsrTensor Adjacency(long[] source, long[] target, double[] values, int numNodes, DType dtype)
        => SparseCsrTensor.FromCoo(Tensor.FromArray(target, target.Length), Tensor.FromArray(source, source.Length),
            Tensor.FromArray(values, values.Length).To(dtype), numNodes, numNodes);

    /// <summary>
    /// GCN's D^-1/2 (A + I) D^-1/2 with the degree taken over targets after adding self loops
    /// (torch_geometric.nn.conv.gcn_conv.gcn_norm, add_self_loops=True, unit edge weights).
    /// </summary>
    public static SparseCsrTensor GcnNormalized(Tensor edgeIndex, int numNodes, DType dtype, bool addSelfLoops = true)
    {
        var (s, t) = Edges(edgeIndex);
        if (addSelfLoops) (s, t) = WithSelfLoops(s, t, numNodes);
        var deg = InDegree(t, numNodes);
        var norm = new double[s.Length];
        for (int k = 0; k < s.Length; k++)
            norm[k] = InvSqrt(deg[s[k]]) * InvSqrt(deg[t[k]]);
        return Adjacency(s, t, norm, numNodes, dtype);
    }

    static double InvSqrt(double d) => d == 0 ? 0 : 1 / Math.Sqrt(d);

    /// <summary>The mean over incoming edges: A[target, source] = 1 / in-degree(target) (SAGEConv's aggr="mean").</summary>
    public static SparseCsrTensor MeanAdjacency(Tensor edgeIndex, int numNodes, DType dtype)
    {
        var (s, t) = Edges(edgeIndex);
        var deg = InDegree(t, numNodes);
        return Adjacency(s, t, t.Select(x => 1 / deg[x]).ToArray(), numNodes, dtype);
    }

    /// <summary>The sum over incoming edges: A[target, source] = 1 (GINConv's aggr="add").</summary>
    public static SparseCsrTensor SumAdjacency(Tensor edgeIndex, int numNodes, DType dtype)
    {
        var (s, t) = Edges(edgeIndex);
        return Adjacency(s, t, Enumerable.Repeat(1.0, s.Length).ToArray(), numNodes, dtype);
    }
}
