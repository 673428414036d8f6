namespace DeepSharp.NN;

// Rotary position embeddings (RoPE), "rotate half" convention.
public static partial class F
{
    /// <summary>
    /// The cos and sin tables of rotary embeddings for positions <paramref name="start"/> … start + length − 1, each
    /// (length, <paramref name="dim"/>): angle(p, i) = p·base^(−2i/dim) for i &lt; dim/2, repeated for the second half
    /// (the GPT-NeoX / LLaMA layout, as in Hugging Face's rotary embeddings).
    /// </summary>
    public static (Tensor Cos, Tensor Sin) RotaryTables(int length, int dim, int start = 0, double theta = 10000.0, DType dtype = DType.Float32)
    {
        if (dim <= 0 || dim % 2 != 0) throw new ArgumentException($"RotaryTables: dim must be a positive even number, got {dim}", nameof(dim));
        if (length < 0 || start < 0) throw new ArgumentOutOfRangeException(nameof(length), $"RotaryTables: length ({length}) and start ({start}) must be non-negative");
        int half = dim / 2;
        var cos = new double[length * dim]; var sin = new double[length * dim];
        for (int p = 0; p < length; p++)
            for (int i = 0; i < half; i++)
            {
                double angle = (start + p) * Math.Pow(theta, -2.0 * i / dim);
                cos[p * dim + i] = cos[p * dim + half + i] = Math.Cos(angle);
                sin[p * dim + i] = sin[p * dim + half + i] = Math.Sin(angle);
            }
        return (Tensor.FromArray(cos, length, dim).To(dtype), Tensor.FromArray(sin, length, dim).To(dtype));
    }

    /// <summary>
    /// Applies rotary position embeddings to queries or keys <paramref name="x"/> (..., T, D) with tables (T, d) from
    /// <see cref="RotaryTables"/>, d ≤ D even: the first d features become x·cos + rotate_half(x)·sin with
    /// rotate_half([x₁, x₂]) = [−x₂, x₁] (halves, not interleaved pairs — the GPT-NeoX / LLaMA convention); the remaining
    /// D − d features pass through (partial rotary). Differentiable. No PyTorch core equivalent (torchtune's RotaryPositionalEmbeddings,
    /// Hugging Face's apply_rotary_pos_emb).
    /// </summary>
    public static Tensor ApplyRotaryEmbedding(Tensor x, Tensor cos, Tensor sin)
    {
        const string op = "ApplyRotaryEmbedding";
        ArgumentNullException.ThrowIfNull(x); ArgumentNullException.ThrowIfNull(cos); ArgumentNullException.ThrowIfNull(sin);
        if (!x.IsFloatingPoint) throw new ArgumentException($"{op}: x must be floating point, got {x.DType.TorchName()}", nameof(x));
        if (x.Rank < 2) throw new ArgumentException($"{op}: x must be (..., T, D), got shape {ShapeUtil.Format(x.shape)}", nameof(x));
        int t = x.shape[^2], dFull = x.shape[^1];
        if (cos.Rank != 2 || !cos.Shape.SequenceEqual(sin.Shape))
            throw new ArgumentException($"{op}: cos and sin must be (T, d) tables of one shape, got {ShapeUtil.Format(cos.shape)} and {ShapeUtil.Format(sin.shape)}", nameof(cos));
        int d = cos.shape[1];
        if (cos.shape[0] != t || d > dFull || d % 2 != 0)
            throw new ArgumentException($"{op}: tables of shape {ShapeUtil.Format(cos.shape)} do not fit x of shape {ShapeUtil.Format(x.shape)} (need ({t}, d) with d even and d ≤ {dFull})", nameof(cos));
        var c = cos.To(x.DType); var s = sin.To(x.DType);
        if (!((c.RequiresGrad || s.RequiresGrad) && Autograd.IsGradEnabled))
            return RotaryOp.Apply(x, c.IsContiguous ? c : c.Contiguous(), s.IsContiguous ? s : s.Contiguous(), adjoint: false);
        // learnable tables: the composed form, which also differentiates with respect to cos and sin
        var rotated = d == dFull ? x : x.Narrow(-1, 0, d);
        int half = d / 2;
        var x1 = rotated.Narrow(-1, 0, half); var x2 = rotated.Narrow(-1, half, half);
        var rotateHalf = Tensor.Cat([x2.Neg(), x1], -1);
        var result = rotated.Mul(c).Add(rotateHalf.Mul(s));
        return d == dFull ? result : Tensor.Cat([result, x.Narrow(-1, d, dFull - d)], -1);
    }
}
