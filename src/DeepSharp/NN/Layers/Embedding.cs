namespace DeepSharp.NN;

/// <summary>
/// A lookup table of <see cref="NumEmbeddings"/> vectors of size <see cref="EmbeddingDim"/> (torch.nn.Embedding).
/// Input: int64 indices of any shape; output: that shape + (embedding_dim,). Parameter "weight" initialised N(0, 1),
/// with the padding row zeroed; the padding row gets no gradient.
/// </summary>
public class Embedding : Module<Tensor, Tensor>
{
    /// <summary>Size of the table (num_embeddings).</summary>
    public int NumEmbeddings { get; }
    /// <summary>Size of each vector (embedding_dim).</summary>
    public int EmbeddingDim { get; }
    /// <summary>Index whose vector stays zero and gets no gradient, normalised to be non-negative (padding_idx).</summary>
    public int? PaddingIdx { get; }

    /// <summary>The table of shape (num_embeddings, embedding_dim) (weight).</summary>
    [TorchName("weight")] public Tensor Weight { get; private set; }

    /// <summary>Creates the table (torch.nn.Embedding(num_embeddings, embedding_dim, padding_idx)).</summary>
    public Embedding(int numEmbeddings, int embeddingDim, int? paddingIdx = null, DType dtype = DType.Float32)
    {
        if (numEmbeddings <= 0 || embeddingDim <= 0)
            throw new ArgumentOutOfRangeException(nameof(numEmbeddings), $"Embedding: sizes must be positive, got ({numEmbeddings}, {embeddingDim})");
        if (paddingIdx is { } p && (p >= numEmbeddings || p < -numEmbeddings))
            throw new ArgumentOutOfRangeException(nameof(paddingIdx), $"Embedding: paddingIdx {p} must be within [-{numEmbeddings}, {numEmbeddings - 1}]");
        NumEmbeddings = numEmbeddings; EmbeddingDim = embeddingDim;
        PaddingIdx = paddingIdx is { } q && q < 0 ? q + numEmbeddings : paddingIdx;
        Weight = Parameter(Tensor.Empty([numEmbeddings, embeddingDim], dtype));
        if (!Init.DefaultInitSkipped(Weight)) ResetParameters();
    }

    /// <summary>Creates a table from existing vectors (torch.nn.Embedding.from_pretrained); frozen by default.</summary>
    public static Embedding FromPretrained(Tensor embeddings, bool freeze = true, int? paddingIdx = null)
    {
        ArgumentNullException.ThrowIfNull(embeddings);
        if (embeddings.Rank != 2) throw new ArgumentException($"Embedding.FromPretrained: embeddings must be 2-D, got shape {ShapeUtil.Format(embeddings.shape)}", nameof(embeddings));
        var e = new Embedding(embeddings.Shape[0], embeddings.Shape[1], paddingIdx, embeddings.DType);
        using (Autograd.NoGrad()) e.Weight.CopyFrom(embeddings);
        e.Weight.RequiresGrad = !freeze;
        return e;
    }

    /// <summary>Fills the table from N(0, 1) and zeroes the padding row (Embedding.reset_parameters).</summary>
    public void ResetParameters(Generator? generator = null)
    {
        Init.Normal(Weight, generator: generator);
        if (PaddingIdx is { } p)
            using (Autograd.NoGrad()) Weight.Select(0, p).ZeroInPlace();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Embedding(input, Weight, PaddingIdx);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"{NumEmbeddings}, {EmbeddingDim}" + (PaddingIdx is { } p ? $", padding_idx={p}" : "");
}
