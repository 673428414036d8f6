namespace DeepSharp.Graphs;

/// <summary>
/// Remembers the last adjacency a layer built, keyed by the edge-index tensor's identity, the node count and dtype,
/// so full-batch training builds the normalised matrix once (PyG's cached=True, made safe for changing graphs).
/// </summary>
internal sealed class AdjacencyCache
{
    Tensor? edgeIndex; int numNodes; DType dtype; SparseCsrTensor? matrix;

    public SparseCsrTensor Get(Tensor edgeIndex, int numNodes, DType dtype, Func<SparseCsrTensor> build)
    {
        if (matrix == null || !ReferenceEquals(edgeIndex, this.edgeIndex) || numNodes != this.numNodes || dtype != this.dtype)
            (this.edgeIndex, this.numNodes, this.dtype, matrix) = (edgeIndex, numNodes, dtype, build());
        return matrix;
    }
}
