namespace DeepSharp.Reinforcement.Environments;

/// <summary>
/// CartPole-v1 (gymnasium.envs.classic_control.CartPoleEnv, Barto, Sutton and Anderson 1983): push a cart left (0) or
/// right (1) to keep a pole upright. State (x, ẋ, θ, θ̇), integrated by explicit Euler with τ = 0.02 s; the episode
/// terminates when |x| &gt; 2.4 or |θ| &gt; 12°, and is truncated after 500 steps. Reward 1 per step, the terminating
/// step included. Reset draws each state component uniformly from [−0.05, 0.05].
/// </summary>
public sealed class CartPole : Env
{
    /// <summary>Gravity g in m/s² (CartPoleEnv.gravity).</summary>
    public const double Gravity = 9.8;
    /// <summary>Mass of the cart (masscart).</summary>
    public const double MassCart = 1.0;
    /// <summary>Mass of the pole (masspole).</summary>
    public const double MassPole = 0.1;
    /// <summary>Half the pole's length (length).</summary>
    public const double Length = 0.5;
    /// <summary>Magnitude of the push (force_mag).</summary>
    public const double ForceMag = 10.0;
    /// <summary>Seconds between state updates (tau).</summary>
    public const double Tau = 0.02;
    /// <summary>Pole angle beyond which the episode terminates: 12° in radians (theta_threshold_radians).</summary>
    public const double ThetaThresholdRadians = 12 * 2 * Math.PI / 360;
    /// <summary>Cart position beyond which the episode terminates (x_threshold).</summary>
    public const double XThreshold = 2.4;

    const double TotalMass = MassPole + MassCart;
    const double PoleMassLength = MassPole * Length;

    double x, xDot, theta, thetaDot;

    /// <inheritdoc/>
    public override string Id => "CartPole-v1";

    /// <inheritdoc/>
    public override Discrete ActionSpace { get; } = new(2);

    /// <inheritdoc/>
    public override Box ObservationSpace { get; } = new(
        [-(float)(XThreshold * 2), float.NegativeInfinity, -(float)(ThetaThresholdRadians * 2), float.NegativeInfinity],
        [(float)(XThreshold * 2), float.PositiveInfinity, (float)(ThetaThresholdRadians * 2), float.PositiveInfinity]);

    /// <inheritdoc/>
    public override double[] State
    {
        get => [x, xDot, theta, thetaDot];
        set
        {
            if (value.Length != 4) throw new ArgumentException($"CartPole: State needs 4 values (x, x_dot, theta, theta_dot), got {value.Length}", nameof(value));
            (x, xDot, theta, thetaDot) = (value[0], value[1], value[2], value[3]);
        }
    }

    /// <inheritdoc/>
    protected override void ResetState()
    {
        x = Uniform(); xDot = Uniform(); theta = Uniform(); thetaDot = Uniform();
    }

    double Uniform() => -0.05 + 0.1 * Rng.NextDouble();

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) Advance(int action)
    {
        double force = action == 1 ? ForceMag : -ForceMag;
        double cosTheta = Math.Cos(theta), sinTheta = Math.Sin(theta);
        double temp = (force + PoleMassLength * (thetaDot * thetaDot) * sinTheta) / TotalMass;
        double thetaAcc = (Gravity * sinTheta - cosTheta * temp)
                          / (Length * (4.0 / 3.0 - MassPole * (cosTheta * cosTheta) / TotalMass));
        double xAcc = temp - PoleMassLength * thetaAcc * cosTheta / TotalMass;
        x += Tau * xDot;                  // Euler: positions from the old velocities
        xDot += Tau * xAcc;
        theta += Tau * thetaDot;
        thetaDot += Tau * thetaAcc;
        bool terminated = x < -XThreshold || x > XThreshold || theta < -ThetaThresholdRadians || theta > ThetaThresholdRadians;
        return (1.0, terminated);
    }

    /// <inheritdoc/>
    protected override float[] Observe() => [(float)x, (float)xDot, (float)theta, (float)thetaDot];
}
