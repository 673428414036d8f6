using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>
/// Graph convolution of Kipf &amp; Welling (2017), X' = D̂^-1/2 Â D̂^-1/2 X Θ + b with Â = A + I
/// (torch_geometric.nn.GCNConv with its defaults: add_self_loops=True, normalize=True, bias=True).
/// Call with (x (N, in), edgeIndex (2, E)); output (N, out). State-dict keys "lin.weight" and "bias" as in PyG.
/// The normalised adjacency is built once per edge-index tensor and kept.
/// </summary>
public sealed class GcnConv : Module<Tensor, Tensor, Tensor>, ISparseInputLayer
{
    readonly AdjacencyCache cache = new();

    /// <summary>The linear map Θ without bias (GCNConv.lin).</summary>
    [TorchName("lin")] public Linear Lin { get; }
    /// <summary>The bias b (out,), or null (GCNConv.bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; }
    /// <summary>Whether Â = A + I (GCNConv.add_self_loops).</summary>
    public bool AddSelfLoops { get; }

    /// <summary>Creates the layer (GCNConv(in_channels, out_channels, add_self_loops, bias)); glorot weight, zero bias.</summary>
    public GcnConv(int inChannels, int outChannels, bool addSelfLoops = true, bool bias = true)
    {
        Lin = new Linear(inChannels, outChannels, bias: false);
        Bias = bias ? Parameter(Tensor.Zeros([outChannels])) : null;
        AddSelfLoops = addSelfLoops;
        ResetParameters();
    }

    /// <summary>Glorot-uniform weight, zero bias (GCNConv.reset_parameters).</summary>
    public void ResetParameters()
    {
        GraphInit.Glorot(Lin.Weight);
        if (Bias != null) Init.Zeros(Bias);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, Tensor edgeIndex)
    {
        CheckInput(x, edgeIndex, Lin.InFeatures, "GcnConv");
        return Propagate(Lin.Call(x), edgeIndex, x.Shape[0]);
    }

    /// <summary>The layer on sparse node features: X Θ as sparse × dense, then the normalised adjacency.</summary>
    public Tensor Forward(SparseCsrTensor x, Tensor edgeIndex)
    {
        SparseFeatures.CheckInput(x, edgeIndex, Lin.InFeatures, "GcnConv");
        return Propagate(SparseFeatures.Linear(Lin, x), edgeIndex, x.Rows);
    }

    Tensor Propagate(Tensor projected, Tensor edgeIndex, int n)
    {
        var adjacency = cache.Get(edgeIndex, n, projected.DType, () => GraphUtil.GcnNormalized(edgeIndex, n, projected.DType, AddSelfLoops));
        var output = adjacency.MatMul(projected);
        return Bias == null ? output : output.Add(Bias);
    }

    internal static void CheckInput(Tensor x, Tensor edgeIndex, int inChannels, string op)
    {
        if (x.Rank != 2 || x.Shape[1] != inChannels)
            throw new ArgumentException($"{op}: x must be (num_nodes, {inChannels}), got {GraphData.Fmt(x.Shape)}", nameof(x));
        GraphData.CheckEdgeIndex(edgeIndex, x.Shape[0], op);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{Lin.InFeatures}, {Lin.OutFeatures}";
}
