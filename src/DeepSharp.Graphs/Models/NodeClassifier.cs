using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>The node classifiers of the PyG examples (gcn.py, graph_sage, gat.py) and a graph-free MLP baseline.</summary>
public enum NodeModelKind
{
    /// <summary>Two GCNConv layers, ReLU, dropout 0.5.</summary>
    Gcn,
    /// <summary>Two SAGEConv (mean) layers, ReLU, dropout 0.5.</summary>
    Sage,
    /// <summary>GATConv with 8 heads of 8 channels, ELU, then a 1-head GATConv; dropout 0.6 on features and attention.</summary>
    Gat,
    /// <summary>Two Linear layers on the node features alone (the baseline without the graph).</summary>
    Mlp,
}

/// <summary>
/// A two-layer node classifier on one fixed graph, shaped for the <see cref="Training.Trainer"/>: its input is a batch
/// of node ids and its output the logits of those nodes, computed by running the network over the whole graph
/// (full-batch training: one batch per epoch holding the training nodes).
/// </summary>
public sealed class NodeClassifier : Module<Tensor, Tensor>
{
    [NotRegistered] readonly Tensor? x;
    [NotRegistered] readonly Tensor edgeIndex;
    readonly SparseCsrTensor? sparseX;
    readonly Module<Tensor, Tensor, Tensor>? conv1, conv2;
    readonly Linear? lin1, lin2;
    readonly double dropout;

    /// <summary>Which architecture this is.</summary>
    public NodeModelKind Kind { get; }

    /// <summary>Builds the model for <paramref name="graph"/> with <paramref name="hidden"/> channels (GAT: 8 heads of hidden/8).</summary>
    public NodeClassifier(GraphData graph, NodeModelKind kind, int numClasses, int hidden = 64)
    {
        ArgumentNullException.ThrowIfNull(graph);
        (x, sparseX, edgeIndex, Kind) = (graph.IsSparse ? null : graph.X, graph.SparseX, graph.EdgeIndex, kind);
        int f = graph.NumFeatures;
        dropout = kind == NodeModelKind.Gat ? 0.6 : 0.5;
        switch (kind)
        {
            case NodeModelKind.Gcn: conv1 = new GcnConv(f, hidden); conv2 = new GcnConv(hidden, numClasses); break;
            case NodeModelKind.Sage: conv1 = new SageConv(f, hidden); conv2 = new SageConv(hidden, numClasses); break;
            case NodeModelKind.Gat:
                int heads = 8, perHead = Math.Max(1, hidden / heads);
                conv1 = new GatConv(f, perHead, heads, dropout: 0.6);
                conv2 = new GatConv(perHead * heads, numClasses, heads: 1, concat: false, dropout: 0.6);
                break;
            default: lin1 = new Linear(f, hidden); lin2 = new Linear(hidden, numClasses); break;
        }
    }

    /// <summary>Logits (N, classes) for every node of the graph.</summary>
    public Tensor AllLogits()
    {
        Tensor h;
        if (sparseX != null)
        {
            // sparse features (bag of words): dropout on the stored values, then sparse × dense in the first layer
            var xs = SparseFeatures.Dropout(sparseX, dropout, IsTraining);
            h = conv1 != null ? ((ISparseInputLayer)conv1).Forward(xs, edgeIndex) : SparseFeatures.Linear(lin1!, xs);
        }
        else
        {
            h = F.Dropout(x!, dropout, IsTraining);
            h = conv1 != null ? conv1.Call(h, edgeIndex) : lin1!.Call(h);
        }
        h = Kind == NodeModelKind.Gat ? F.Elu(h) : F.Relu(h);
        h = F.Dropout(h, dropout, IsTraining);
        return conv2 != null ? conv2.Call(h, edgeIndex) : lin2!.Call(h);
    }

    /// <summary>Logits of the nodes <paramref name="nodeIds"/> (an int64 (B,) tensor).</summary>
    public override Tensor Forward(Tensor nodeIds) => AllLogits().IndexSelect(0, nodeIds);
}
