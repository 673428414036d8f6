namespace DeepSharp.NN;

public static partial class F
{
    /// <summary>
    /// Affine map y = x·Wᵀ + b over the last dimension (torch.nn.functional.linear): input (*, in), weight (out, in),
    /// bias (out,) or null; result (*, out).
    /// </summary>
    public static Tensor Linear(Tensor input, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 2) throw new ArgumentException($"Linear: weight must be 2-D (out_features, in_features), got shape {ShapeUtil.Format(weight.shape)}", nameof(weight));
        if (input.Rank == 0 || input.shape[^1] != weight.shape[1])
            throw new ArgumentException($"Linear: input of shape {ShapeUtil.Format(input.shape)} has {(input.Rank == 0 ? 0 : input.shape[^1])} features but weight {ShapeUtil.Format(weight.shape)} expects {weight.shape[1]}", nameof(input));
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != weight.shape[0]))
            throw new ArgumentException($"Linear: bias of shape {ShapeUtil.Format(bias.shape)} does not match weight {ShapeUtil.Format(weight.shape)} (expected ({weight.shape[0]},))", nameof(bias));
        if (input.DType.IsReducedPrecision() && weight.DType == input.DType && (bias == null || bias.DType == input.DType))
            return Tensor.LinearReduced(input, weight, bias);   // float32 accumulation, one rounding, 16-bit saved tensors
        if (ReducedFloat.Any(input, weight, bias))
            return ReducedFloat.Apply("Linear", [input, weight, bias], t => Linear(t[0]!, t[1]!, t[2]));
        if (input.IsFloatingPoint && weight.DType == input.DType && (bias == null || bias.DType == input.DType))
            return Tensor.LinearFused(input, weight, bias);
        var y = input.MatMul(weight.T);
        return bias != null ? y.Add(bias) : y;
    }

    /// <summary>
    /// Bilinear map y[..., o] = Σᵢⱼ x1[..., i]·W[o, i, j]·x2[..., j] + b[o] (torch.nn.functional.bilinear): input1 (*, in1),
    /// input2 (*, in2) with the same leading dims, weight (out, in1, in2), bias (out,) or null.
    /// </summary>
    public static Tensor Bilinear(Tensor input1, Tensor input2, Tensor weight, Tensor? bias = null)
    {
        ArgumentNullException.ThrowIfNull(input1);
        ArgumentNullException.ThrowIfNull(input2);
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.Rank != 3) throw new ArgumentException($"Bilinear: weight must be 3-D (out, in1, in2), got shape {ShapeUtil.Format(weight.shape)}", nameof(weight));
        int o = weight.shape[0], i1 = weight.shape[1], i2 = weight.shape[2];
        if (input1.Rank == 0 || input1.shape[^1] != i1 || input2.Rank == 0 || input2.shape[^1] != i2 || !input1.Shape.SkipLast(1).SequenceEqual(input2.Shape.SkipLast(1)))
            throw new ArgumentException($"Bilinear: inputs of shapes {ShapeUtil.Format(input1.shape)} and {ShapeUtil.Format(input2.shape)} do not fit weight {ShapeUtil.Format(weight.shape)} (expected (*, {i1}) and (*, {i2}))");
        if (bias != null && !bias.Shape.SequenceEqual([o]))
            throw new ArgumentException($"Bilinear: bias of shape {ShapeUtil.Format(bias.shape)} does not match weight {ShapeUtil.Format(weight.shape)} (expected ({o},))", nameof(bias));
        var lead = input1.Shape.SkipLast(1).ToArray();
        var x1 = input1.Reshape(-1, i1);                                            // (B, in1)
        var x2 = input2.Reshape(-1, i2);                                            // (B, in2)
        var t = x1.MatMul(weight.Permute(1, 0, 2).Reshape(i1, o * i2));             // (B, out·in2)
        var y = t.Reshape(-1, o, i2).Mul(x2.Unsqueeze(1)).Sum(2);                  // (B, out)
        if (bias != null) y = y.Add(bias);
        return y.Reshape([.. lead, o]);
    }
}
