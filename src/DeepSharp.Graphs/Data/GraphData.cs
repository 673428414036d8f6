namespace DeepSharp.Graphs;

/// <summary>
/// One graph (torch_geometric.data.Data): node features (N, F), dense in <see cref="X"/> or sparse in
/// <see cref="SparseX"/> (a CSR matrix, for bag-of-words features of large graphs), a (2, E) int64 <see cref="EdgeIndex"/>
/// whose column (source, target) is a directed edge (messages flow source → target, PyG's "source_to_target"),
/// optional labels <see cref="Y"/> (per node (N,) or per graph (1,)) and node masks for the split. Construction checks
/// every edge against the node range and refuses a graph without edges.
/// </summary>
public sealed class GraphData
{
    readonly Tensor? dense;
    Tensor? densified;

    /// <summary>
    /// Node feature matrix (N, F) (Data.x), always dense. For a graph with sparse features (<see cref="IsSparse"/>) it is a
    /// dense copy of <see cref="SparseX"/> made on first access and kept (N × F values: 255 MB for the Debian package
    /// graph); the models read <see cref="SparseX"/> directly and never make it.
    /// </summary>
    public Tensor X => dense ?? (densified ??= SparseX!.ToDense());
    /// <summary>Sparse node feature matrix (N, F) in CSR form (Data.x as a torch sparse tensor), or null when dense.</summary>
    public SparseCsrTensor? SparseX { get; }
    /// <summary>Whether the node features are the sparse <see cref="SparseX"/>.</summary>
    public bool IsSparse => SparseX != null;
    /// <summary>Edges as a (2, E) int64 tensor: row 0 sources, row 1 targets (Data.edge_index).</summary>
    public Tensor EdgeIndex { get; }
    /// <summary>Labels: (N,) for node tasks, (1,) for a graph label, or null (Data.y).</summary>
    public Tensor? Y { get; init; }
    /// <summary>Nodes of the training split, a bool (N,) tensor (Data.train_mask).</summary>
    public Tensor? TrainMask { get; init; }
    /// <summary>Nodes of the validation split (Data.val_mask).</summary>
    public Tensor? ValMask { get; init; }
    /// <summary>Nodes of the test split (Data.test_mask).</summary>
    public Tensor? TestMask { get; init; }

    /// <summary>Number of nodes N (Data.num_nodes).</summary>
    public int NumNodes => dense?.Shape[0] ?? SparseX!.Rows;
    /// <summary>Number of directed edges E (Data.num_edges).</summary>
    public int NumEdges => EdgeIndex.Shape[1];
    /// <summary>Features per node F (Data.num_node_features).</summary>
    public int NumFeatures => dense?.Shape[1] ?? SparseX!.Cols;

    /// <summary>Checks and wraps a graph (torch_geometric.data.Data(x=, edge_index=)).</summary>
    public GraphData(Tensor x, Tensor edgeIndex)
    {
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(edgeIndex);
        if (x.Rank != 2) throw new ArgumentException($"GraphData: x must be (num_nodes, num_features), got shape {Fmt(x.Shape)}", nameof(x));
        CheckEdgeIndex(edgeIndex, x.Shape[0], "GraphData");
        dense = x; EdgeIndex = edgeIndex.DType == DType.Int64 ? edgeIndex : edgeIndex.To(DType.Int64);
    }

    /// <summary>Checks and wraps a graph with sparse node features (Data(x=x.to_sparse_csr(), edge_index=)).</summary>
    public GraphData(SparseCsrTensor x, Tensor edgeIndex)
    {
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(edgeIndex);
        CheckEdgeIndex(edgeIndex, x.Rows, "GraphData");
        SparseX = x; EdgeIndex = edgeIndex.DType == DType.Int64 ? edgeIndex : edgeIndex.To(DType.Int64);
    }

    /// <summary>
    /// Throws an <see cref="ArgumentException"/> unless <paramref name="edgeIndex"/> is a (2, E) integer tensor with E ≥ 1
    /// and every entry in [0, numNodes) (PyG's Data.validate()).
    /// </summary>
    public static void CheckEdgeIndex(Tensor edgeIndex, int numNodes, string op)
    {
        if (edgeIndex.Rank != 2 || edgeIndex.Shape[0] != 2)
            throw new ArgumentException($"{op}: edgeIndex must have shape (2, num_edges), got {Fmt(edgeIndex.Shape)}", nameof(edgeIndex));
        if (edgeIndex.DType != DType.Int64 && edgeIndex.DType != DType.Int32)
            throw new ArgumentException($"{op}: edgeIndex must be int64 or int32, got {edgeIndex.DType}", nameof(edgeIndex));
        if (edgeIndex.Shape[1] == 0)
            throw new ArgumentException($"{op}: the graph has no edges (edgeIndex of shape (2, 0) over {numNodes} nodes); message passing needs at least one edge", nameof(edgeIndex));
        var values = edgeIndex.To(DType.Int64).Contiguous().ToArray<long>();
        int e = edgeIndex.Shape[1];
        for (int k = 0; k < values.Length; k++)
            if ((ulong)values[k] >= (ulong)numNodes)
                throw new ArgumentException($"{op}: edgeIndex[{k / e}, {k % e}] = {values[k]} is outside the node range [0, {numNodes}) (edgeIndex {Fmt(edgeIndex.Shape)}, {numNodes} nodes)", nameof(edgeIndex));
    }

    internal static string Fmt(IReadOnlyList<int> shape) => "(" + string.Join(", ", shape) + ")";
}
