namespace DeepSharp.Graphs;

/// <summary>
/// Several graphs as one disconnected graph (torch_geometric.data.Batch): node features stacked, edge indices shifted
/// by each graph's node offset (a block-diagonal adjacency), and <see cref="Batch"/> giving each node's graph.
/// </summary>
public sealed class GraphBatch
{
    /// <summary>Stacked node features (ΣN, F) (Batch.x).</summary>
    public required Tensor X { get; init; }
    /// <summary>Shifted edges (2, ΣE) (Batch.edge_index).</summary>
    public required Tensor EdgeIndex { get; init; }
    /// <summary>Graph of each node, int64 (ΣN,), sorted (Batch.batch).</summary>
    public required Tensor Batch { get; init; }
    /// <summary>Concatenated labels, or null when the graphs have none (Batch.y).</summary>
    public Tensor? Y { get; init; }
    /// <summary>Number of graphs (Batch.num_graphs).</summary>
    public required int NumGraphs { get; init; }
    /// <summary>First node of each graph, length NumGraphs + 1 (Batch.ptr).</summary>
    public required long[] Ptr { get; init; }

    /// <summary>Total number of nodes.</summary>
    public int NumNodes => X.Shape[0];

    /// <summary>Collates graphs into one batch (torch_geometric.data.Batch.from_data_list).</summary>
    public static GraphBatch FromGraphs(IReadOnlyList<GraphData> graphs)
    {
        ArgumentNullException.ThrowIfNull(graphs);
        if (graphs.Count == 0) throw new ArgumentException("GraphBatch.FromGraphs: the list of graphs is empty", nameof(graphs));
        int features = graphs[0].NumFeatures;
        var ptr = new long[graphs.Count + 1];
        var batch = new List<long>(); var edges = new List<Tensor>();
        for (int g = 0; g < graphs.Count; g++)
        {
            var graph = graphs[g];
            if (graph.NumFeatures != features)
                throw new ArgumentException($"GraphBatch.FromGraphs: graph {g} has {graph.NumFeatures} node features but graph 0 has {features}", nameof(graphs));
            edges.Add(graph.EdgeIndex.Add((double)ptr[g]));
            for (int n = 0; n < graph.NumNodes; n++) batch.Add(g);
            ptr[g + 1] = ptr[g] + graph.NumNodes;
        }
        bool labelled = graphs.All(g => g.Y != null);
        return new GraphBatch
        {
            X = Tensor.Cat(graphs.Select((g, i) => !g.IsSparse ? g.X : throw new ArgumentException($"GraphBatch: graph {i} has sparse node features {GraphData.Fmt(g.SparseX!.Shape)}; batching needs dense ones", nameof(graphs))).ToArray()),
            EdgeIndex = Tensor.Cat(edges.ToArray(), 1),
            Batch = Tensor.FromArray(batch.ToArray(), batch.Count),
            Y = labelled ? Tensor.Cat(graphs.Select(g => g.Y!.Reshape(-1)).ToArray()) : null,
            NumGraphs = graphs.Count,
            Ptr = ptr,
        };
    }
}

/// <summary>
/// Mini-batches of graphs (torch_geometric.loader.DataLoader(dataset, batch_size, shuffle)): each enumeration yields
/// <see cref="GraphBatch"/>es; with shuffle a seeded permutation per epoch.
/// </summary>
public sealed class GraphLoader(IReadOnlyList<GraphData> graphs, int batchSize, bool shuffle = false, int seed = 0) : IEnumerable<GraphBatch>
{
    int epoch;

    /// <summary>Number of batches per pass (len(loader)).</summary>
    public int Count => (graphs.Count + batchSize - 1) / batchSize;

    /// <inheritdoc/>
    public IEnumerator<GraphBatch> GetEnumerator()
    {
        if (batchSize < 1) throw new ArgumentException($"GraphLoader: batchSize must be positive, got {batchSize}");
        var order = Enumerable.Range(0, graphs.Count).ToArray();
        if (shuffle) new System.Random(seed + epoch++).Shuffle(order);
        for (int start = 0; start < order.Length; start += batchSize)
            yield return GraphBatch.FromGraphs(order.Skip(start).Take(batchSize).Select(i => graphs[i]).ToArray());
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
