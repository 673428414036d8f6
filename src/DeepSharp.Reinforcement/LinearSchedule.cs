namespace DeepSharp.Reinforcement;

/// <summary>
/// A value that moves linearly from <see cref="Start"/> to <see cref="End"/> over the first <see cref="Fraction"/> of
/// training and then stays at <see cref="End"/> (Stable-Baselines3's get_linear_fn, used for DQN's ε and PPO's
/// learning rate and clip range).
/// </summary>
/// <param name="Start">The value at progress 0.</param>
/// <param name="End">The value from progress <paramref name="Fraction"/> on.</param>
/// <param name="Fraction">The part of training (0 to 1] over which the value moves.</param>
public sealed record LinearSchedule(double Start, double End, double Fraction = 1.0)
{
    /// <summary>The value at <paramref name="progress"/> = steps done / total steps, in [0, 1] (get_linear_fn(start, end, fraction)(1 − progress)).</summary>
    public double At(double progress)
    {
        if (Fraction <= 0) throw new ArgumentOutOfRangeException(nameof(Fraction), $"LinearSchedule: Fraction must be positive, got {Fraction}");
        return progress >= Fraction ? End : Start + (End - Start) * Math.Max(progress, 0) / Fraction;
    }

    /// <summary>The value after <paramref name="step"/> of <paramref name="totalSteps"/> steps.</summary>
    public double At(long step, long totalSteps) => At(totalSteps <= 0 ? 1.0 : (double)step / totalSteps);

    /// <summary>A constant schedule.</summary>
    public static LinearSchedule Constant(double value) => new(value, value);
}
