using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>
/// Graph attention of Veličković et al. (2018) (torch_geometric.nn.GATConv(in, out, heads=1, concat=True,
/// negative_slope=0.2, dropout=0.0, add_self_loops=True, bias=True)). Per head h:
/// α_ij = softmax_j(LeakyReLU(a_srcᵀ W x_j + a_dstᵀ W x_i)) over the edges into i (self loops added), dropout on α,
/// x'_i = Σ_j α_ij W x_j; heads concatenated (N, H·C) or averaged (N, C), then the bias.
/// Keys "lin_src.weight", "att_src", "att_dst", "bias" as in PyG.
/// </summary>
public sealed class GatConv : Module<Tensor, Tensor, Tensor>, ISparseInputLayer
{
    /// <summary>The shared linear map W (GATConv.lin_src), (H·C, in), no bias.</summary>
    [TorchName("lin_src")] public Linear Lin { get; }
    /// <summary>Source attention vectors a_src (1, H, C) (GATConv.att_src).</summary>
    [TorchName("att_src")] public Tensor AttSrc { get; }
    /// <summary>Target attention vectors a_dst (1, H, C) (GATConv.att_dst).</summary>
    [TorchName("att_dst")] public Tensor AttDst { get; }
    /// <summary>The bias (H·C when concatenating, else C) (GATConv.bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; }
    /// <summary>Number of heads H.</summary>
    public int Heads { get; }
    /// <summary>Channels per head C.</summary>
    public int OutChannels { get; }
    /// <summary>Concatenate heads (true) or average them (GATConv.concat).</summary>
    public bool Concat { get; }
    /// <summary>Slope of the LeakyReLU on attention logits (GATConv.negative_slope).</summary>
    public double NegativeSlope { get; }
    /// <summary>Dropout probability on the attention coefficients in training (GATConv.dropout).</summary>
    public double Dropout { get; }

    /// <summary>Creates the layer; glorot weights and attention vectors, zero bias (GATConv.reset_parameters).</summary>
    public GatConv(int inChannels, int outChannels, int heads = 1, bool concat = true, double negativeSlope = 0.2, double dropout = 0.0, bool bias = true)
    {
        if (heads < 1) throw new ArgumentOutOfRangeException(nameof(heads), $"GatConv: heads must be positive, got {heads}");
        (Heads, OutChannels, Concat, NegativeSlope, Dropout) = (heads, outChannels, concat, negativeSlope, dropout);
        Lin = new Linear(inChannels, heads * outChannels, bias: false);
        AttSrc = Parameter(Tensor.Empty([1, heads, outChannels]));
        AttDst = Parameter(Tensor.Empty([1, heads, outChannels]));
        Bias = bias ? Parameter(Tensor.Zeros([concat ? heads * outChannels : outChannels])) : null;
        GraphInit.Glorot(Lin.Weight); GraphInit.Glorot(AttSrc); GraphInit.Glorot(AttDst);
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor x, Tensor edgeIndex)
    {
        GcnConv.CheckInput(x, edgeIndex, Lin.InFeatures, "GatConv");
        return Attend(Lin.Call(x), edgeIndex, x.Shape[0]);
    }

    /// <summary>The layer on sparse node features: W x as sparse × dense, then attention as for dense features.</summary>
    public Tensor Forward(SparseCsrTensor x, Tensor edgeIndex)
    {
        SparseFeatures.CheckInput(x, edgeIndex, Lin.InFeatures, "GatConv");
        return Attend(SparseFeatures.Linear(Lin, x), edgeIndex, x.Rows);
    }

    Tensor Attend(Tensor projected, Tensor edgeIndex, int n)
    {
        var (s, t) = GraphUtil.Edges(edgeIndex);
        (s, t) = GraphUtil.WithSelfLoops(s, t, n);
        var source = Tensor.FromArray(s, s.Length); var target = Tensor.FromArray(t, t.Length);
        var h = projected.Reshape(n, Heads, OutChannels);                          // (N, H, C)
        var alphaSrc = h.Mul(AttSrc).Sum(-1);                                       // (N, H)
        var alphaDst = h.Mul(AttDst).Sum(-1);
        var logits = F.LeakyRelu(alphaSrc.IndexSelect(0, source).Add(alphaDst.IndexSelect(0, target)), NegativeSlope);   // (E, H)
        var alpha = F.Dropout(Tensor.SegmentSoftmax(logits, target, n), Dropout, IsTraining);
        var messages = h.IndexSelect(0, source).Mul(alpha.Unsqueeze(-1));          // (E, H, C)
        var output = Tensor.SegmentSum(messages, target, n);                        // (N, H, C)
        output = Concat ? output.Reshape(n, Heads * OutChannels) : output.Mean(1);
        return Bias == null ? output : output.Add(Bias);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{Lin.InFeatures}, {OutChannels}, heads={Heads}";
}
