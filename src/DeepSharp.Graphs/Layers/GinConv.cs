using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>
/// Graph isomorphism network layer of Xu et al. (2019): x'_i = h_Θ((1 + ε) x_i + Σ_{j → i} x_j)
/// (torch_geometric.nn.GINConv(nn, eps=0, train_eps=False)). The MLP h_Θ is registered as "nn"; with trainEps, ε is
/// the parameter "eps".
/// </summary>
public sealed class GinConv : Module<Tensor, Tensor, Tensor>
{
    /// <summary>The network h_Θ applied after the sum (GINConv.nn).</summary>
    [TorchName("nn")] public Module<Tensor, Tensor> Network { get; }
    /// <summary>ε as a 1-element tensor (GINConv.eps): a parameter with trainEps, else a buffer.</summary>
    [TorchName("eps")] public Tensor Eps { get; private set; }

    /// <summary>Creates the layer (GINConv(nn, eps, train_eps)).</summary>
    public GinConv(Module<Tensor, Tensor> network, double eps = 0, bool trainEps = false)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        Eps = Tensor.Full([1], eps);
        if (trainEps) RegisterParameter("eps", Parameter(Eps));
        else RegisterBuffer("eps", Eps);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, Tensor edgeIndex)
    {
        if (x.Rank != 2) throw new ArgumentException($"GinConv: x must be (num_nodes, features), got {GraphData.Fmt(x.Shape)}", nameof(x));
        GraphData.CheckEdgeIndex(edgeIndex, x.Shape[0], "GinConv");
        var neighbours = GraphUtil.SumAdjacency(edgeIndex, x.Shape[0], x.DType).MatMul(x);
        var eps = Eps.DType == x.DType ? Eps : Eps.To(x.DType);
        return Network.Call(x.Mul(eps.Add(1.0)).Add(neighbours));
    }
}
