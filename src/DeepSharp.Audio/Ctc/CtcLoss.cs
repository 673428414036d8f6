namespace DeepSharp.Audio;

/// <summary>
/// Connectionist temporal classification loss (torch.nn.functional.ctc_loss): the negative log-likelihood of each
/// target under all alignments of the (T, N, C) log-probabilities, by the forward-backward recursions over the
/// blank-interleaved target, in float64 whatever the input dtype.
/// </summary>
public static class Ctc
{
    /// <summary>
    /// CTC loss (torch.nn.functional.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0,
    /// reduction="mean", zero_infinity=False)). <paramref name="logProbs"/> is (T, N, C) log-softmax output (or (T, C)
    /// for one sample); <paramref name="targets"/> is (N, S) padded or 1-D concatenated labels. "mean" divides each loss by
    /// its target length (at least 1) and averages over the batch; "sum" adds; "none" returns (N). Infeasible samples
    /// have infinite loss unless <paramref name="zeroInfinity"/> (then loss and gradient are 0). The gradient is PyTorch's:
    /// exp(log_probs) − posterior, the gradient with respect to the logits before log_softmax, which is what autograd
    /// through log_softmax turns into the true one.
    /// </summary>
    public static Tensor Loss(Tensor logProbs, Tensor targets, int[] inputLengths, int[] targetLengths, int blank = 0,
        string reduction = "mean", bool zeroInfinity = false)
    {
        ArgumentNullException.ThrowIfNull(logProbs); ArgumentNullException.ThrowIfNull(targets);
        bool unbatched = logProbs.Rank == 2;
        var lp = unbatched ? logProbs.Unsqueeze(1) : logProbs;
        if (lp.Rank != 3 || !lp.IsFloatingPoint)
            throw new ArgumentException($"CtcLoss: logProbs must be a floating point (T, N, C) or (T, C) tensor, got {lp.DType} of shape {Spectral.Shape(logProbs)}", nameof(logProbs));
        int maxT = lp.Size(0), n = lp.Size(1), classes = lp.Size(2);
        if (reduction is not ("mean" or "sum" or "none")) throw new ArgumentException($"CtcLoss: reduction must be mean, sum or none, got '{reduction}'", nameof(reduction));
        if (blank < 0 || blank >= classes) throw new ArgumentException($"CtcLoss: blank {blank} is outside [0, {classes})", nameof(blank));
        if (inputLengths.Length != n || targetLengths.Length != n)
            throw new ArgumentException($"CtcLoss: {n} samples need {n} input and target lengths, got {inputLengths.Length} and {targetLengths.Length}", nameof(inputLengths));
        var labels = Labels(targets, targetLengths, n, classes, blank, unbatched);
        var data = lp.Detach().To(DType.Float64).Contiguous().ToArray<double>();
        var nll = new double[n];
        var grad = new double[data.Length];
        for (int b = 0; b < n; b++)
        {
            if (inputLengths[b] < 0 || inputLengths[b] > maxT)
                throw new ArgumentException($"CtcLoss: input length {inputLengths[b]} of sample {b} is outside [0, {maxT}]", nameof(inputLengths));
            nll[b] = CtcKernel.Sample(data, grad, b, n, classes, inputLengths[b], labels[b], blank, zeroInfinity);
        }
        var gradTensor = Tensor.FromArray(grad, [maxT, n, classes]).To(lp.DType);
        var perSample = CustomFunction.Apply(Tensor.FromArray(nll, [n]).To(lp.DType), "CtcLossBackward", [lp],
            g => [gradTensor * g.Reshape(1, n, 1)]);
        if (unbatched) perSample = perSample.Reshape(n);
        return reduction switch
        {
            "sum" => perSample.Sum(),
            "mean" => (perSample / Tensor.FromArray(targetLengths.Select(l => (double)Math.Max(l, 1)).ToArray(), [n]).To(lp.DType)).Mean(),
            _ => unbatched ? perSample.Reshape() : perSample,
        };
    }

    static int[][] Labels(Tensor targets, int[] targetLengths, int n, int classes, int blank, bool unbatched)
    {
        var t = targets.To(DType.Int64).Contiguous().ToArray<long>();
        var result = new int[n][];
        bool concatenated = targets.Rank == 1 && !unbatched;
        int offset = 0;
        for (int b = 0; b < n; b++)
        {
            int len = targetLengths[b];
            int start = concatenated ? offset : b * (targets.Rank == 2 ? targets.Size(1) : 0);
            int available = concatenated ? t.Length - offset : targets.Rank == 2 ? targets.Size(1) : t.Length;
            if (len < 0 || len > available)
                throw new ArgumentException($"CtcLoss: target length {len} of sample {b} exceeds the {available} labels available in targets of shape {Spectral.Shape(targets)}", nameof(targetLengths));
            result[b] = new int[len];
            for (int i = 0; i < len; i++)
            {
                long label = t[start + i];
                if (label < 0 || label >= classes || label == blank)
                    throw new ArgumentException($"CtcLoss: target label {label} of sample {b} must be in [0, {classes}) and not the blank {blank}", nameof(targets));
                result[b][i] = (int)label;
            }
            offset += len;
        }
        return result;
    }
}
