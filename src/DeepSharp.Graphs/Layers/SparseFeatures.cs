using DeepSharp.NN;

namespace DeepSharp.Graphs;

/// <summary>
/// A first layer that also takes sparse node features: a (N, in) CSR matrix whose product with the layer's dense
/// weights is computed as sparse × dense (PyG layers fed a torch.sparse x, where the linear map runs as
/// torch.sparse.mm). The result equals the dense call on x.ToDense().
/// </summary>
public interface ISparseInputLayer
{
    /// <summary>The layer on sparse node features <paramref name="x"/> (N, in) and edges (2, E).</summary>
    Tensor Forward(SparseCsrTensor x, Tensor edgeIndex);
}

/// <summary>Helpers for sparse node features (bag-of-words rows with a few ones each).</summary>
public static class SparseFeatures
{
    /// <summary>
    /// x Wᵀ + b for sparse x (N, in) and a <see cref="NN.Linear"/> (torch.sparse.mm(x, linear.weight.t()) + linear.bias):
    /// cost proportional to the stored entries, differentiable in the weight and the bias (and in x's values).
    /// </summary>
    public static Tensor Linear(Linear linear, SparseCsrTensor x)
    {
        ArgumentNullException.ThrowIfNull(linear); ArgumentNullException.ThrowIfNull(x);
        if (x.Cols != linear.InFeatures)
            throw new ArgumentException($"SparseFeatures.Linear: sparse x {GraphData.Fmt(x.Shape)} does not fit a Linear of {linear.InFeatures} inputs (weight {GraphData.Fmt(linear.Weight.Shape)})", nameof(x));
        var output = x.MatMul(linear.Weight.T);
        return linear.Bias == null ? output : output.Add(linear.Bias);
    }

    /// <summary>Dropout of the stored values (F.dropout on a sparse tensor's values); the zeros stay zero, as in dense dropout.</summary>
    public static SparseCsrTensor Dropout(SparseCsrTensor x, double p, bool training)
    {
        ArgumentNullException.ThrowIfNull(x);
        return !training || p == 0 ? x : x.WithValues(F.Dropout(x.Values, p, training));
    }

    internal static void CheckInput(SparseCsrTensor x, Tensor edgeIndex, int inChannels, string op)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Cols != inChannels)
            throw new ArgumentException($"{op}: sparse x must be (num_nodes, {inChannels}), got {GraphData.Fmt(x.Shape)}", nameof(x));
        GraphData.CheckEdgeIndex(edgeIndex, x.Rows, op);
    }
}
