// Graph neural networks in DeepSharp: semi-supervised node classification on Zachary's karate club (one labelled
// member per faction) with GCN, SAGE and GAT, then graph classification of generated graphs (cycle or tree) with GIN
// against a bag-of-nodes baseline that cannot see the edges. Run: dotnet run --project examples/GraphNodes
using DeepSharp.Graphs;

if (args is ["debian", ..])
{
    // the Debian package graph of the apt lists: dotnet run -c Release --project examples/GraphNodes -- debian [epochs] [models] [patience]
    int epochs = args.Length > 1 ? int.Parse(args[1]) : 100;
    var kinds = args.Length > 2 ? args[2].Split(',').Select(Enum.Parse<NodeModelKind>).ToArray() : Enum.GetValues<NodeModelKind>();
    int patience = args.Length > 3 ? int.Parse(args[3]) : 20;
    var data = DeepSharp.Graphs.Datasets.DebianPackageGraph.Load();
    Console.WriteLine(data);
    foreach (var kind in kinds)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var r = NodeClassification.Run(data.Graph, kind, new NodeTrainingOptions(Epochs: epochs, Patience: patience));
        Console.WriteLine($"debian-packages {kind,-4}: test accuracy {r.TestAccuracy:F4} (best val {r.BestValidationAccuracy:F4}, {r.Epochs} epochs, {clock.Elapsed.TotalSeconds:F0} s)");
    }
    return;
}
foreach (var kind in new[] { NodeModelKind.Gcn, NodeModelKind.Sage, NodeModelKind.Gat, NodeModelKind.Mlp })
    Console.WriteLine($"karate {kind,-4}: test accuracy {GraphNodes.Karate(kind, epochs: 100):F4}");
var (gin, bag) = GraphNodes.Cycles(graphs: 1000, epochs: 40);
Console.WriteLine($"cycles: GIN {gin:F4}, bag of nodes {bag:F4}");

/// <summary>The example's pieces, public so the test suite runs the same code on a smaller budget.</summary>
public static class GraphNodes
{
    /// <summary>Test accuracy on the 32 unlabelled karate members after training on the two leaders.</summary>
    public static double Karate(NodeModelKind kind, int epochs, int seed = 0)
        => NodeClassification.Run(DeepSharp.Graphs.Datasets.KarateClub.Load(), kind,
            new NodeTrainingOptions(Epochs: epochs, Hidden: 16, Seed: seed, LearningRate: kind == NodeModelKind.Gat ? 0.005 : 0.01)).TestAccuracy;

    /// <summary>Test accuracies (GIN, bag of nodes) on generated graphs, 80% train, 20% test.</summary>
    public static (double Gin, double BagOfNodes) Cycles(int graphs, int epochs, int seed = 0)
    {
        var data = DeepSharp.Graphs.Datasets.CycleGraphs.Generate(graphs, seed);
        int split = graphs * 4 / 5;
        return (GraphClassification.Run(data[..split], data[split..], useEdges: true, epochs, seed),
                GraphClassification.Run(data[..split], data[split..], useEdges: false, epochs, seed));
    }
}
