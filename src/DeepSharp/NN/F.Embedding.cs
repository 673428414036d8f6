namespace DeepSharp.NN;

// Embedding lookup.
public static partial class F
{
    /// <summary>
    /// Looks up rows of <paramref name="weight"/> (V, D) for integer <paramref name="indices"/> of any shape (int64 or int32),
    /// giving indices.shape + (D) (torch.nn.functional.embedding). The gradient of weight is the scatter-add of the output
    /// gradient rows; the row <paramref name="paddingIdx"/> (negative counts from the end) receives no gradient.
    /// </summary>
    /// <exception cref="IndexOutOfRangeException">An index is negative or not below V.</exception>
    public static Tensor Embedding(Tensor indices, Tensor weight, int? paddingIdx = null)
    {
        const string op = "Embedding";
        if (indices.DType is not (DType.Int64 or DType.Int32))
            throw new ArgumentException($"{op}: indices must be an int64 or int32 tensor, got {indices.DType.TorchName()} of shape {ShapeUtil.Format(indices.shape)}", nameof(indices));
        AdjointOp.CheckFloat(weight, op, nameof(weight));
        if (weight.Rank != 2)
            throw new ArgumentException($"{op}: weight must be 2-D (num_embeddings, embedding_dim), got shape {ShapeUtil.Format(weight.shape)}", nameof(weight));
        int vocabulary = weight.shape[0];
        long pad = -1;
        if (paddingIdx is int p)
        {
            if (p < -vocabulary || p >= vocabulary)
                throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"{op}: paddingIdx {p} is out of range for a vocabulary of {vocabulary} rows (weight {ShapeUtil.Format(weight.shape)})");
            pad = p < 0 ? p + vocabulary : p;
        }
        var idx = indices.DType == DType.Int64 ? AdjointOp.Dense(indices) : indices.To(DType.Int64);
        idx = AdjointOp.Dense(idx);
        int bad = Kernels.Embedding.FindInvalid(idx.Span<long>(), vocabulary);
        if (bad >= 0)
            throw new IndexOutOfRangeException($"{op}: index {idx.Span<long>()[bad]} (at flat position {bad} of indices {ShapeUtil.Format(indices.shape)}) is out of range for a vocabulary of {vocabulary} rows (weight {ShapeUtil.Format(weight.shape)})");
        return EmbeddingOps.Lookup(idx, weight, pad);
    }
}
