namespace DeepSharp.NN;

/// <summary>Functional forms of the layers (torch.nn.functional): stateless functions of tensors.</summary>
public static partial class F
{
    static void CheckAffine(string op, Tensor input, Tensor? t, string argName, ReadOnlySpan<int> expected)
    {
        if (t == null) return;
        if (!ShapeUtil.SameShape(t.shape, expected))
            throw new ArgumentException($"{op}: {argName} of shape {ShapeUtil.Format(t.shape)} does not match the expected shape {ShapeUtil.Format(expected)} for input {ShapeUtil.Format(input.shape)}", argName);
        if (t.DType != input.DType)
            throw new ArgumentException($"{op}: {argName} has dtype {t.DType.TorchName()} but the input has {input.DType.TorchName()}", argName);
    }

    static void CheckFloatInput(string op, Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (!input.IsFloatingPoint) throw new ArgumentException($"{op}: expected a floating point input, got {input.DType.TorchName()}", nameof(input));
    }

    /// <summary>
    /// A norm on a 16-bit input: in float32 and rounded once to the input's dtype. The affine parameters may be 16-bit like
    /// the input, or float32 (PyTorch's CPU mixed-type norm, which is what a float32 model's BatchNorm gets under
    /// torch.autocast); the statistics are float32 either way.
    /// </summary>
    static Tensor ReducedNorm(string op, Tensor input, Tensor? weight, Tensor? bias, Func<Tensor, Tensor?, Tensor?, Tensor> norm,
        Func<Tensor, Tensor?, Tensor?, Tensor>? recompute = null)
    {
        bool floatParameters = input.DType.IsReducedPrecision() && (weight ?? bias) != null
            && (weight == null || weight.DType == DType.Float32) && (bias == null || bias.DType == DType.Float32);
        // mixed: only the 16-bit input is kept for backward, which recomputes the float32 norm from it
        return floatParameters
            ? ReducedFloat.Recomputed(op + "Backward", input, [weight, bias], x => norm(x, weight, bias), x => (recompute ?? norm)(x, weight, bias))
            : ReducedFloat.Apply(op, [input, weight, bias], t => norm(t[0]!, t[1], t[2]));
    }

    /// <summary>
    /// Batch normalisation over dimension 1 of an (N, C, *) input (torch.nn.functional.batch_norm). In training mode the
    /// batch statistics normalise the input (biased variance) and, when running statistics are given, update them in place:
    /// running = (1 − momentum)·running + momentum·batch, with the unbiased variance. Otherwise the running statistics
    /// normalise the input. <paramref name="weight"/> (γ) and <paramref name="bias"/> (β) have shape (C,).
    /// </summary>
    public static Tensor BatchNorm(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight = null, Tensor? bias = null,
        bool training = false, double momentum = 0.1, double eps = 1e-5)
    {
        if (ReducedFloat.Any(input, weight, bias)) // statistics in float32; the running buffers keep their own dtype
            return BatchNormReduced(input, runningMean, runningVar, weight, bias, training, momentum, eps);
        CheckFloatInput("BatchNorm", input);
        if (input.Rank < 2) throw new ArgumentException($"BatchNorm: expected an input with at least 2 dimensions (N, C, *), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        int c = input.shape[1];
        CheckAffine("BatchNorm", input, weight, nameof(weight), [c]);
        CheckAffine("BatchNorm", input, bias, nameof(bias), [c]);
        CheckRunningStatistic(runningMean, nameof(runningMean), c, input);
        CheckRunningStatistic(runningVar, nameof(runningVar), c, input);
        if (eps < 0) throw new ArgumentOutOfRangeException(nameof(eps), $"BatchNorm: eps must be non-negative, got {eps}");

        if (training)
        {
            long perChannel = input.NumEl / Math.Max(c, 1);
            if (perChannel <= 1)
                throw new ArgumentException($"BatchNorm: expected more than 1 value per channel when training, got input of shape {ShapeUtil.Format(input.shape)}", nameof(input));
            var (y, mean, variance) = Normalization.BatchNormTrain(input, weight, bias, eps);
            using (Autograd.NoGrad())
            {
                if (runningMean != null) runningMean.MulInPlace(1 - momentum).AddInPlace(mean.To(runningMean.DType), momentum);
                if (runningVar != null)
                    runningVar.MulInPlace(1 - momentum).AddInPlace(variance.To(runningVar.DType), momentum * perChannel / (perChannel - 1));
            }
            return y;
        }
        if (runningMean == null || runningVar == null)
            throw new ArgumentException("BatchNorm: running_mean and running_var are needed when training is false", runningMean == null ? nameof(runningMean) : nameof(runningVar));
        // Evaluation is an affine map per channel: y = x·scale + shift, written with differentiable ops.
        var invStd = InverseStd(runningVar, eps, input.DType);
        var scale = weight != null ? weight.Mul(invStd) : invStd;
        var shift = runningMean.To(input.DType).Mul(scale).Neg();
        if (bias != null) shift = shift.Add(bias);
        var view = new int[input.Rank];
        Array.Fill(view, 1); view[1] = c;
        return input.Mul(scale.Reshape(view)).Add(shift.Reshape(view));
    }

    // a method of its own: lambdas capturing parameters are allocated on entry to the method that declares them
    static Tensor BatchNormReduced(Tensor input, Tensor? runningMean, Tensor? runningVar, Tensor? weight, Tensor? bias, bool training,
        double momentum, double eps)
        => ReducedNorm("BatchNorm", input, weight, bias, (x, w, b) => BatchNorm(x, runningMean, runningVar, w, b, training, momentum, eps),
            (x, w, b) => training ? BatchNorm(x, null, null, w, b, true, momentum, eps) : BatchNorm(x, runningMean, runningVar, w, b, false, momentum, eps));

    static Tensor LayerNormReduced(Tensor input, int[] normalizedShape, Tensor? weight, Tensor? bias, double eps)
        => ReducedNorm("LayerNorm", input, weight, bias, (x, w, b) => LayerNorm(x, normalizedShape, w, b, eps));

    static void CheckRunningStatistic(Tensor? t, string argName, int c, Tensor input)
    {
        if (t != null && (t.Rank != 1 || t.shape[0] != c))
            throw new ArgumentException($"BatchNorm: {argName} of shape {ShapeUtil.Format(t.shape)} does not match the {c} channels of input {ShapeUtil.Format(input.shape)}", argName);
    }

    static Tensor InverseStd(Tensor variance, double eps, DType dtype)
    {
        var v = variance.To(DType.Float64).ToArray<double>();
        for (int i = 0; i < v.Length; i++) v[i] = 1 / Math.Sqrt(v[i] + eps);
        return Tensor.FromArray(v, v.Length).To(dtype);
    }

    /// <summary>
    /// Layer normalisation over the trailing <paramref name="normalizedShape"/> dimensions (torch.nn.functional.layer_norm):
    /// each sample is normalised by its own mean and biased variance, then scaled by <paramref name="weight"/> and shifted by
    /// <paramref name="bias"/> (both of shape <paramref name="normalizedShape"/>).
    /// </summary>
    public static Tensor LayerNorm(Tensor input, int[] normalizedShape, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        if (ReducedFloat.Any(input, weight, bias)) return LayerNormReduced(input, normalizedShape, weight, bias, eps);
        CheckFloatInput("LayerNorm", input);
        ArgumentNullException.ThrowIfNull(normalizedShape);
        int m = normalizedShape.Length;
        if (m == 0) throw new ArgumentException("LayerNorm: normalizedShape must have at least one dimension", nameof(normalizedShape));
        if (input.Rank < m || !ShapeUtil.SameShape(input.shape.AsSpan(input.Rank - m), normalizedShape))
            throw new ArgumentException($"LayerNorm: input of shape {ShapeUtil.Format(input.shape)} does not end with the normalized shape {ShapeUtil.Format(normalizedShape)}", nameof(input));
        CheckAffine("LayerNorm", input, weight, nameof(weight), normalizedShape);
        CheckAffine("LayerNorm", input, bias, nameof(bias), normalizedShape);
        int d = ShapeUtil.Numel(normalizedShape);
        int rows = d == 0 ? 0 : input.NumEl / d;
        return Normalization.RowNorm(input, rows, 1, d, 1, weight, bias, eps, "NativeLayerNormBackward");
    }

    /// <summary>
    /// Group normalisation of an (N, C, *) input (torch.nn.functional.group_norm): the C channels are split into
    /// <paramref name="numGroups"/> groups, each (sample, group) is normalised by its own statistics, then a per-channel
    /// <paramref name="weight"/> and <paramref name="bias"/> of shape (C,) are applied.
    /// </summary>
    public static Tensor GroupNorm(Tensor input, int numGroups, Tensor? weight = null, Tensor? bias = null, double eps = 1e-5)
    {
        if (ReducedFloat.Any(input, weight, bias))
            return ReducedNorm("GroupNorm", input, weight, bias, (x, w, b) => GroupNorm(x, numGroups, w, b, eps));
        CheckFloatInput("GroupNorm", input);
        if (input.Rank < 2) throw new ArgumentException($"GroupNorm: expected an input with at least 2 dimensions (N, C, *), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        int n = input.shape[0], c = input.shape[1];
        if (numGroups <= 0 || c % numGroups != 0)
            throw new ArgumentException($"GroupNorm: {c} channels of input {ShapeUtil.Format(input.shape)} cannot be split into {numGroups} groups", nameof(numGroups));
        CheckAffine("GroupNorm", input, weight, nameof(weight), [c]);
        CheckAffine("GroupNorm", input, bias, nameof(bias), [c]);
        int s = n * c == 0 ? 0 : input.NumEl / (n * c);
        return Normalization.RowNorm(input, n * numGroups, numGroups, c / numGroups, s, weight, bias, eps, "NativeGroupNormBackward");
    }
}
