namespace DeepSharp.Graphs;

/// <summary>Readouts that turn node features (ΣN, F) into one row per graph (numGraphs, F) using the batch vector.</summary>
public static class GlobalPool
{
    /// <summary>Sum of each graph's nodes (torch_geometric.nn.global_add_pool(x, batch, size)).</summary>
    public static Tensor Add(Tensor x, Tensor batch, int numGraphs) => Tensor.SegmentSum(x, batch, numGraphs);

    /// <summary>Mean of each graph's nodes (torch_geometric.nn.global_mean_pool).</summary>
    public static Tensor Mean(Tensor x, Tensor batch, int numGraphs) => Tensor.SegmentMean(x, batch, numGraphs);

    /// <summary>Elementwise maximum over each graph's nodes (torch_geometric.nn.global_max_pool).</summary>
    public static Tensor Max(Tensor x, Tensor batch, int numGraphs) => Tensor.SegmentMax(x, batch, numGraphs);
}
