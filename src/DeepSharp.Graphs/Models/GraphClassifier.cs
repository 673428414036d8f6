using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>
/// Graph classifier of Xu et al. (2019): GIN layers with two-layer MLPs, sum pooling per graph, a linear head
/// (the PyG gin example without batch norm). With <c>useEdges: false</c> it is the bag-of-nodes baseline: the same
/// MLPs on each node alone, sum pooled, so it sees only the multiset of node features.
/// </summary>
public sealed class GraphClassifier : Module<GraphBatch, Tensor>
{
    readonly ModuleList layers = new();
    readonly Linear head;
    readonly bool useEdges;

    /// <summary>Builds <paramref name="numLayers"/> GIN (or node-wise MLP) layers of <paramref name="hidden"/> channels.</summary>
    public GraphClassifier(int inFeatures, int hidden, int numClasses, int numLayers = 3, bool useEdges = true)
    {
        this.useEdges = useEdges;
        for (int l = 0; l < numLayers; l++)
        {
            var mlp = new Sequential(new Linear(l == 0 ? inFeatures : hidden, hidden), new ReLU(), new Linear(hidden, hidden), new ReLU());
            layers.Add(useEdges ? new GinConv(mlp) : mlp);
        }
        head = new Linear(hidden, numClasses);
    }

    /// <summary>Logits (numGraphs, classes) of a batch.</summary>
    public override Tensor Forward(GraphBatch batch)
    {
        var h = batch.X;
        foreach (var layer in layers)
            h = layer is GinConv gin ? gin.Call(h, batch.EdgeIndex) : ((Sequential)layer).Call(h);
        return head.Call(GlobalPool.Add(h, batch.Batch, batch.NumGraphs));
    }
}
