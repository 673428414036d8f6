namespace DeepSharp;

// Embedding lookup: a row gather whose backward is a scatter-add of gradient rows (skipping the padding row);
// the scatter's backward is the gather with the padding rows zeroed, so higher-order gradients work.
internal static class EmbeddingOps
{
    /// <summary>weight[indices] with shape indices.shape + (D). Indices are int64, contiguous and already range-checked.</summary>
    internal static Tensor Lookup(Tensor indices, Tensor weight, long paddingIdx)
    {
        int dim = weight.shape[1];
        Span<int> shape = indices.Rank < 16 ? stackalloc int[indices.Rank + 1] : new int[indices.Rank + 1];
        indices.shape.CopyTo(shape); shape[^1] = dim;
        var output = Gather(weight, indices, ShapeUtil.Interned(shape), -1);
        if (Autograd.ShouldRecord(weight))
            Autograd.Record(output, "EmbeddingBackward", [weight], static (n, g) =>
            {
                var (indices, paddingIdx) = (LookupState)n.State!;
                var weight = n.Input(0)!;   // the edge is the weight
                // a parameter's gradient: the rows added straight into its Grad when the engine allows it
                if (g.DType is DType.Float32 or DType.Float64 && Autograd.LeafGrad(weight) is { } wGrad)
                {
                    ScatterAdd(AdjointOp.Dense(g), indices, weight.shape[1], paddingIdx, wGrad);
                    return [Autograd.MarkAccumulated(wGrad)];
                }
                return [ScatterRows(g, indices, weight.shape, paddingIdx)];
            }, new LookupState(indices, paddingIdx));
        return output;
    }

    /// <summary>The indices and padding index an embedding backward needs, as its node's state.</summary>
    sealed record LookupState(Tensor Indices, long PaddingIdx);

    /// <summary>Rows of <paramref name="weight"/> picked by <paramref name="indices"/>; rows whose index is <paramref name="zeroIdx"/> read as zero.</summary>
    static Tensor Gather(Tensor weight, Tensor indices, int[] outShape, long zeroIdx)
    {
        int dim = weight.shape[1];
        var w = AdjointOp.Dense(weight);
        var output = Tensor.AllocUninit(weight.DType, outShape);
        var idx = indices.Span<long>();
        if (weight.DType == DType.Float32) Kernels.Embedding.Gather<float>(idx, w.Span<float>(), dim, output.Span<float>());
        else Kernels.Embedding.Gather<double>(idx, w.Span<double>(), dim, output.Span<double>());
        if (zeroIdx >= 0)
            for (int i = 0; i < idx.Length; i++)
                if (idx[i] == zeroIdx)
                {
                    if (weight.DType == DType.Float32) output.Span<float>().Slice(i * dim, dim).Clear();
                    else output.Span<double>().Slice(i * dim, dim).Clear();
                }
        return output;
    }

    /// <summary>A (V, D) tensor with each gradient row added at its index (the padding row gets none).</summary>
    static Tensor ScatterRows(Tensor g, Tensor indices, int[] weightShape, long paddingIdx)
    {
        int dim = weightShape[1];
        if (!Autograd.ShouldRecord(g) && g.DType is DType.Float32 or DType.Float64)
        {
            // not itself recorded: the kernel AdjointOp.Apply would run, on a zeroed result, without its two delegates
            var dst = Tensor.Alloc(g.DType, weightShape);
            ScatterAdd(AdjointOp.Dense(g), indices, dim, paddingIdx, dst);
            return dst;
        }
        return ScatterRowsRecorded(g, indices, weightShape, paddingIdx, dim);
    }

    /// <summary>Adds each row of the dense float <paramref name="src"/> into row indices[i] of <paramref name="dst"/> (contiguous (V, D)), skipping the padding index.</summary>
    static void ScatterAdd(Tensor src, Tensor indices, int dim, long paddingIdx, Tensor dst)
    {
        var idx = indices.Span<long>();
        if (src.DType == DType.Float32) Kernels.Embedding.ScatterAdd<float>(idx, src.Span<float>(), dim, paddingIdx, dst.Span<float>());
        else Kernels.Embedding.ScatterAdd<double>(idx, src.Span<double>(), dim, paddingIdx, dst.Span<double>());
    }

    static Tensor ScatterRowsRecorded(Tensor g, Tensor indices, int[] weightShape, long paddingIdx, int dim)
    {
        var outShape = g.shape;
        return AdjointOp.Apply(g, weightShape, "EmbeddingBackwardBackward", (src, dst) =>
        {
            var idx = indices.Span<long>();
            if (src.DType == DType.Float32) Kernels.Embedding.ScatterAdd<float>(idx, src.Span<float>(), dim, paddingIdx, dst.Span<float>());
            else Kernels.Embedding.ScatterAdd<double>(idx, src.Span<double>(), dim, paddingIdx, dst.Span<double>());
        }, gg => GatherRecorded(gg, indices, outShape, paddingIdx, weightShape), zeroed: true);
    }

    static Tensor GatherRecorded(Tensor weight, Tensor indices, int[] outShape, long paddingIdx, int[] weightShape)
    {
        var output = Gather(weight, indices, outShape, paddingIdx);
        if (Autograd.ShouldRecord(weight))
            Autograd.Record(output, "EmbeddingGatherBackward", [weight], g => [ScatterRows(g, indices, weightShape, paddingIdx)]);
        return output;
    }
}
