using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>How <see cref="SageConv"/> aggregates neighbours (SAGEConv's aggr).</summary>
public enum SageAggregation
{
    /// <summary>"mean" (PyG's default).</summary>
    Mean,
    /// <summary>"max": elementwise maximum over neighbours, 0 for a node without any.</summary>
    Max,
}

/// <summary>
/// GraphSAGE of Hamilton et al. (2017): x'_i = W₁ x_i + W₂ · aggr_{j → i} x_j + b (torch_geometric.nn.SAGEConv with
/// root_weight=True, normalize=False). Keys "lin_l.weight", "lin_l.bias" (neighbours) and "lin_r.weight" (root) as in PyG.
/// </summary>
public sealed class SageConv : Module<Tensor, Tensor, Tensor>, ISparseInputLayer
{
    readonly AdjacencyCache cache = new();

    /// <summary>The map of the aggregated neighbours, with the bias (SAGEConv.lin_l).</summary>
    [TorchName("lin_l")] public Linear LinL { get; }
    /// <summary>The map of the node itself, no bias (SAGEConv.lin_r).</summary>
    [TorchName("lin_r")] public Linear LinR { get; }
    /// <summary>The neighbour aggregation (SAGEConv.aggr).</summary>
    public SageAggregation Aggregation { get; }

    /// <summary>Creates the layer (SAGEConv(in_channels, out_channels, aggr, bias)); PyTorch Linear initialisation.</summary>
    public SageConv(int inChannels, int outChannels, SageAggregation aggregation = SageAggregation.Mean, bool bias = true)
    {
        LinL = new Linear(inChannels, outChannels, bias);
        LinR = new Linear(inChannels, outChannels, bias: false);
        Aggregation = aggregation;
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, Tensor edgeIndex)
    {
        GcnConv.CheckInput(x, edgeIndex, LinL.InFeatures, "SageConv");
        int n = x.Shape[0];
        Tensor neighbours;
        if (Aggregation == SageAggregation.Mean)
            neighbours = cache.Get(edgeIndex, n, x.DType, () => GraphUtil.MeanAdjacency(edgeIndex, n, x.DType)).MatMul(x);
        else
            neighbours = Tensor.SegmentMax(x.IndexSelect(0, edgeIndex[0]), edgeIndex[1], n);
        return LinL.Call(neighbours).Add(LinR.Call(x));
    }

    /// <summary>
    /// The layer on sparse node features (mean aggregation only): the neighbours' mean of W₁ x_j equals W₁ times their
    /// mean, so both maps run as sparse × dense first and the mean is taken over (N, out) rows.
    /// </summary>
    public Tensor Forward(SparseCsrTensor x, Tensor edgeIndex)
    {
        SparseFeatures.CheckInput(x, edgeIndex, LinL.InFeatures, "SageConv");
        if (Aggregation != SageAggregation.Mean)
            throw new ArgumentException($"SageConv: sparse node features {GraphData.Fmt(x.Shape)} need the mean aggregator (the maximum over neighbours does not commute with the linear map); pass x.ToDense() for aggr=max", nameof(x));
        int n = x.Rows;
        var neighbours = cache.Get(edgeIndex, n, x.DType, () => GraphUtil.MeanAdjacency(edgeIndex, n, x.DType)).MatMul(x.MatMul(LinL.Weight.T));
        if (LinL.Bias != null) neighbours = neighbours.Add(LinL.Bias);
        return neighbours.Add(SparseFeatures.Linear(LinR, x));
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{LinL.InFeatures}, {LinL.OutFeatures}, aggr={Aggregation.ToString().ToLowerInvariant()}";
}
