namespace DeepSharp.NN;

// Dropout: inverted dropout with a saved mask (the mask is an input of the recorded Mul, so backward is g * mask).
public static partial class F
{
    /// <summary>
    /// Inverted dropout (torch.nn.functional.dropout): while <paramref name="training"/>, zeroes each element with probability
    /// <paramref name="p"/> and scales the survivors by 1/(1-p). Returns <paramref name="input"/> itself when not training or p = 0,
    /// and zeros when p = 1. Draws from <paramref name="generator"/>, or the global stream (DeepSharp.Random.Seed).
    /// </summary>
    public static Tensor Dropout(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
        => FeatureDropout("Dropout", input, p, training, generator, null);

    /// <summary>
    /// Channel dropout (torch.nn.functional.dropout2d): zeroes whole channels of (N, C, H, W) or unbatched (C, H, W) input with
    /// probability <paramref name="p"/>, scaling the rest by 1/(1-p).
    /// </summary>
    public static Tensor Dropout2d(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
        => FeatureDropout("Dropout2d", input, p, training, generator, 2);

    /// <summary>Channel dropout for (N, C, L) or unbatched (C, L) input (torch.nn.functional.dropout1d).</summary>
    public static Tensor Dropout1d(Tensor input, double p = 0.5, bool training = true, Generator? generator = null)
        => FeatureDropout("Dropout1d", input, p, training, generator, 1);

    /// <summary>Dropout with a mask shared over the last <paramref name="spatialDims"/> dims (null: element-wise).</summary>
    static Tensor FeatureDropout(string op, Tensor input, double p, bool training, Generator? generator, int? spatialDims)
    {
        if (!(p >= 0 && p <= 1)) throw new ArgumentOutOfRangeException(nameof(p), $"{op}: dropout probability has to be between 0 and 1, got {p}");
        AdjointOp.CheckFloat(input, op, nameof(input));
        int[] maskShape = input.shape;
        if (spatialDims is int d)
        {
            if (input.Rank != d + 1 && input.Rank != d + 2)
            {
                string layout = d == 1 ? "(N, C, L) or (C, L)" : "(N, C, H, W) or (C, H, W)";
                throw new ArgumentException($"{op}: expected a {d + 1}-D or {d + 2}-D input {layout}, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
            }
            maskShape = ShapeUtil.Copy(input.shape);
            for (int i = input.Rank - d; i < input.Rank; i++) maskShape[i] = 1;
        }
        if (!training || p == 0) return input;
        if (p == 1) return input.Mul(0.0);
        var mask = Tensor.AllocUninit(input.DType.IsReducedPrecision() ? DType.Float32 : input.DType, maskShape);
        double keepScale = 1.0 / (1.0 - p);
        DeepSharp.Random.With(generator, (mask, p, keepScale), static (g, s) =>
        {
            var (mask, p, keepScale) = s;
            if (mask.DType == DType.Float32)
            {
                var m = mask.Span<float>(); float scale = (float)keepScale;
                for (int i = 0; i < m.Length; i++) m[i] = g.NextDouble() < p ? 0f : scale;
            }
            else
            {
                var m = mask.Span<double>();
                for (int i = 0; i < m.Length; i++) m[i] = g.NextDouble() < p ? 0.0 : keepScale;
            }
        });
        if (input.DType.IsReducedPrecision()) mask = ReducedFloat.Narrow(mask, input.DType);
        return input.Mul(mask);
    }
}
