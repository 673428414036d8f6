namespace DeepSharp.Graphs;

/// <summary>PyG's initialisers (torch_geometric.nn.inits).</summary>
public static class GraphInit
{
    /// <summary>U(-a, a) with a = √(6 / (size(-2) + size(-1))) (torch_geometric.nn.inits.glorot).</summary>
    public static Tensor Glorot(Tensor tensor, Generator? generator = null)
    {
        int fanA = tensor.Shape[^2], fanB = tensor.Shape[^1];
        double a = Math.Sqrt(6.0 / (fanA + fanB));
        return NN.Init.Uniform(tensor, -a, a, generator);
    }
}
