namespace DeepSharp.Reinforcement;

/// <summary>The loss terms of PPO (Schulman et al. 2017; PPO.train).</summary>
public static class PpoLoss
{
    /// <summary>
    /// The clipped surrogate policy loss −mean(min(ρ·A, clip(ρ, 1 − ε, 1 + ε)·A)) with ρ = exp(log π − log π_old)
    /// (PPO.train's policy_loss). Gradient flows into <paramref name="logProb"/> only.
    /// </summary>
    public static Tensor ClippedSurrogate(Tensor logProb, Tensor oldLogProb, Tensor advantages, double clipRange)
    {
        if (!logProb.Shape.SequenceEqual(oldLogProb.Shape) || !logProb.Shape.SequenceEqual(advantages.Shape))
            throw new ArgumentException($"PpoLoss.ClippedSurrogate: logProb ({string.Join(", ", logProb.Shape)}), oldLogProb ({string.Join(", ", oldLogProb.Shape)}) and advantages ({string.Join(", ", advantages.Shape)}) must have one shape", nameof(logProb));
        if (clipRange < 0) throw new ArgumentOutOfRangeException(nameof(clipRange), $"PpoLoss.ClippedSurrogate: clipRange must be non-negative, got {clipRange}");
        var ratio = (logProb - oldLogProb.Detach()).Exp();
        var unclipped = ratio * advantages;
        var clipped = ratio.Clamp(1 - clipRange, 1 + clipRange) * advantages;
        return -Minimum(unclipped, clipped).Mean();
    }

    /// <summary>The fraction of samples whose ratio left [1 − ε, 1 + ε] (SB3's train/clip_fraction).</summary>
    public static double ClipFraction(Tensor logProb, Tensor oldLogProb, double clipRange)
    {
        using var _ = Autograd.NoGrad();
        return ((logProb - oldLogProb).Exp() - 1).Abs().Gt(clipRange).To(DType.Float32).Mean().Item();
    }

    /// <summary>Advantages scaled to zero mean and unit (unbiased) standard deviation, (A − mean) / (std + 1e-8).</summary>
    public static Tensor Normalize(Tensor advantages) =>
        advantages.NumEl < 2 ? advantages : (advantages - advantages.Mean()) / (advantages.Std() + 1e-8);

    /// <summary>The elementwise minimum of two same-shape tensors, gradient to the smaller (ties: to <paramref name="a"/>), like torch.min(a, b).</summary>
    internal static Tensor Minimum(Tensor a, Tensor b) => Tensor.Where(b.Lt(a), b, a);
}
