namespace DeepSharp.NN;

/// <summary>
/// Fixed sinusoidal position encodings added to a sequence of embeddings ("Attention Is All You Need"; the
/// PositionalEncoding module of PyTorch's transformer tutorial): pe[p, 2i] = sin(p·10000^(−2i/d)),
/// pe[p, 2i+1] = cos(p·10000^(−2i/d)). The table is the non-persistent buffer "pe" of shape (max_len, d_model), so
/// it is not saved in the state dict. Input (N, T, d_model) with <see cref="BatchFirst"/>, else (T, N, d_model), or
/// unbatched (T, d_model); dropout is applied to the sum.
/// </summary>
public class SinusoidalPositionalEncoding : Module<Tensor, Tensor>
{
    /// <summary>Embedding size (d_model).</summary>
    public int DModel { get; }
    /// <summary>Longest supported sequence (max_len).</summary>
    public int MaxLen { get; }
    /// <summary>Whether batched input is (N, T, d_model) rather than (T, N, d_model).</summary>
    public bool BatchFirst { get; }

    /// <summary>The (max_len, d_model) table (buffer "pe", not persistent).</summary>
    [TorchName("pe"), Buffer(Persistent = false)] public Tensor Pe { get; private set; }

    readonly Dropout dropout;

    /// <summary>Builds the table (PositionalEncoding(d_model, dropout, max_len) of the PyTorch tutorial, with batch_first).</summary>
    public SinusoidalPositionalEncoding(int dModel, int maxLen = 5000, double dropout = 0.0, bool batchFirst = true, DType dtype = DType.Float32)
    {
        if (dModel <= 0 || dModel % 2 != 0) throw new ArgumentException($"SinusoidalPositionalEncoding: dModel must be a positive even number, got {dModel}", nameof(dModel));
        if (maxLen <= 0) throw new ArgumentOutOfRangeException(nameof(maxLen), $"SinusoidalPositionalEncoding: maxLen must be positive, got {maxLen}");
        DModel = dModel; MaxLen = maxLen; BatchFirst = batchFirst;
        this.dropout = new Dropout(dropout);
        var pe = new double[maxLen * dModel];
        for (int p = 0; p < maxLen; p++)
            for (int i = 0; i < dModel; i += 2)
            {
                double angle = p * Math.Exp(-Math.Log(10000.0) * i / dModel);
                pe[p * dModel + i] = Math.Sin(angle);
                pe[p * dModel + i + 1] = Math.Cos(angle);
            }
        Pe = Tensor.FromArray(pe, maxLen, dModel).To(dtype);
    }

    /// <summary>Adds the encodings of positions 0 … T − 1 (PositionalEncoding.forward).</summary>
    public override Tensor Forward(Tensor input) => Forward(input, 0);

    /// <summary>Adds the encodings of positions <paramref name="startPosition"/> … through the hooks, as <see cref="Forward(Tensor, int)"/>.</summary>
    public Tensor Call(Tensor input, int startPosition) =>
        Invoke(this, (input, startPosition), static (m, a) => m.Forward(a.input, a.startPosition));

    /// <summary>Adds the encodings of positions <paramref name="startPosition"/> … startPosition + T − 1 (for incremental decoding).</summary>
    public Tensor Forward(Tensor input, int startPosition)
    {
        ArgumentNullException.ThrowIfNull(input);
        var table = PositionTable(GetType().Name, Pe, input, startPosition, BatchFirst, DModel);
        return dropout.Call(input.Add(table));
    }

    /// <summary>Rows start … start + T − 1 of a (max, d) table, shaped to broadcast against (N, T, d), (T, N, d) or (T, d) input.</summary>
    internal static Tensor PositionTable(string op, Tensor table, Tensor input, int start, bool batchFirst, int d)
    {
        if (input.Rank is not (2 or 3) || input.shape[^1] != d)
            throw new ArgumentException($"{op}: expected input (N, T, {d}), (T, N, {d}) or (T, {d}), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        int t = input.Rank == 2 || batchFirst ? input.shape[^2] : input.shape[0];
        if (start < 0 || start + t > table.shape[0])
            throw new ArgumentOutOfRangeException(nameof(start), $"{op}: positions {start} … {start + t - 1} exceed the table of {table.shape[0]} positions (input {ShapeUtil.Format(input.shape)})");
        var rows = table.Narrow(0, start, t).To(input.DType);                       // (T, d)
        return input.Rank == 3 && !batchFirst ? rows.Unsqueeze(1) : rows;
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"d_model={DModel}, max_len={MaxLen}, batch_first={PyBool(BatchFirst)}";
}

/// <summary>
/// Learned absolute position embeddings (GPT-2's "wpe"): an <see cref="Embedding"/> of <c>maxPositions</c> rows whose
/// rows 0 … T − 1 are added to the input. Parameter "weight" (max_positions, embedding_dim), initialised N(0, 1) like
/// nn.Embedding. Input (N, T, d) with <see cref="BatchFirst"/>, else (T, N, d), or unbatched (T, d).
/// </summary>
public class LearnedPositionalEmbedding : Embedding
{
    /// <summary>Whether batched input is (N, T, d) rather than (T, N, d).</summary>
    public bool BatchFirst { get; }

    /// <summary>Creates the table (nn.Embedding(max_positions, embedding_dim) used for positions).</summary>
    public LearnedPositionalEmbedding(int maxPositions, int embeddingDim, bool batchFirst = true, DType dtype = DType.Float32)
        : base(maxPositions, embeddingDim, dtype: dtype) => BatchFirst = batchFirst;

    /// <summary>Adds the embeddings of positions 0 … T − 1 to <paramref name="input"/> (x + wpe(arange(T))).</summary>
    public override Tensor Forward(Tensor input) => Forward(input, 0);

    /// <summary>Adds the embeddings of positions <paramref name="startPosition"/> … through the hooks, as <see cref="Forward(Tensor, int)"/>.</summary>
    public Tensor Call(Tensor input, int startPosition) =>
        Invoke(this, (input, startPosition), static (m, a) => m.Forward(a.input, a.startPosition));

    /// <summary>Adds the embeddings of positions <paramref name="startPosition"/> … startPosition + T − 1 (for incremental decoding).</summary>
    public Tensor Forward(Tensor input, int startPosition)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.IsFloatingPoint)
            throw new ArgumentException($"LearnedPositionalEmbedding: input must be the (floating point) token embeddings, got {input.DType.TorchName()} of shape {ShapeUtil.Format(input.shape)}; look tokens up with an Embedding first", nameof(input));
        return input.Add(SinusoidalPositionalEncoding.PositionTable(GetType().Name, Weight, input, startPosition, BatchFirst, EmbeddingDim));
    }
}

/// <summary>
/// Rotary position embeddings (RoPE, Su et al. 2021) for queries and keys of shape (..., T, head_dim), in the
/// "rotate half" convention of GPT-NeoX and LLaMA: feature i is paired with feature i + d/2 (not with its neighbour
/// as in the original interleaved formulation), each pair rotated by angle p·θ^(−2i/d). Checkpoints from models using
/// the interleaved convention (GPT-J, the original RoFormer) need their q/k projection rows permuted.
/// The cos/sin tables are cached as non-persistent buffers ("cos_cached", "sin_cached"), grown on demand.
/// Use it inside an attention block, after the query and key projections (as the GPT's CausalSelfAttention in DeepSharp.Text does).
/// </summary>
public class RotaryEmbedding : Module<Tensor, Tensor>
{
    /// <summary>Number of rotated features per head (≤ head_dim, even); the rest pass through.</summary>
    public int Dim { get; }
    /// <summary>The base θ of the angle frequencies (rope_theta, 10000 by default).</summary>
    public double Theta { get; }

    /// <summary>Cached cos table (positions, dim) (buffer "cos_cached", not persistent).</summary>
    [TorchName("cos_cached"), Buffer(Persistent = false)] public Tensor CosCached { get; private set; }
    /// <summary>Cached sin table (positions, dim) (buffer "sin_cached", not persistent).</summary>
    [TorchName("sin_cached"), Buffer(Persistent = false)] public Tensor SinCached { get; private set; }

    /// <summary>Creates the embedding for <paramref name="dim"/> rotated features, with tables for <paramref name="maxPositions"/> positions to start.</summary>
    public RotaryEmbedding(int dim, double theta = 10000.0, int maxPositions = 2048)
    {
        if (dim <= 0 || dim % 2 != 0) throw new ArgumentException($"RotaryEmbedding: dim must be a positive even number, got {dim}", nameof(dim));
        if (maxPositions < 0) throw new ArgumentOutOfRangeException(nameof(maxPositions), $"RotaryEmbedding: maxPositions must be non-negative, got {maxPositions}");
        Dim = dim; Theta = theta;
        (CosCached, SinCached) = F.RotaryTables(maxPositions, dim, 0, theta, DType.Float64);
    }

    /// <summary>The (T, dim) cos and sin tables for positions start … start + T − 1, in <paramref name="dtype"/>.</summary>
    public (Tensor Cos, Tensor Sin) Tables(int length, int start, DType dtype)
    {
        if (start < 0 || length < 0) throw new ArgumentOutOfRangeException(nameof(start), $"RotaryEmbedding: start ({start}) and length ({length}) must be non-negative");
        if (start + length > CosCached.Shape[0])
            TensorScope.Suspend(() =>
            {
                int size = Math.Max(start + length, 2 * CosCached.Shape[0]);
                (CosCached, SinCached) = F.RotaryTables(size, Dim, 0, Theta, DType.Float64);
                return 0;
            });
        return (CosCached.Narrow(0, start, length).To(dtype), SinCached.Narrow(0, start, length).To(dtype));
    }

    /// <summary>Rotates <paramref name="x"/> (..., T, head_dim) as positions 0 … T − 1.</summary>
    public override Tensor Forward(Tensor x) => Forward(x, 0);

    /// <summary>Rotates <paramref name="x"/> as positions <paramref name="startPosition"/> … through the hooks, as <see cref="Forward(Tensor, int)"/>.</summary>
    public Tensor Call(Tensor x, int startPosition) =>
        Invoke(this, (x, startPosition), static (m, a) => m.Forward(a.x, a.startPosition));

    /// <summary>Rotates <paramref name="x"/> (..., T, head_dim) as positions <paramref name="startPosition"/> … startPosition + T − 1.</summary>
    public Tensor Forward(Tensor x, int startPosition)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank < 2) throw new ArgumentException($"RotaryEmbedding: x must be (..., T, head_dim), got shape {ShapeUtil.Format(x.shape)}", nameof(x));
        var (cos, sin) = Tables(x.shape[^2], startPosition, x.DType);
        return F.ApplyRotaryEmbedding(x, cos, sin);
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"dim={Dim}, theta={PyFloat(Theta)}";
}
