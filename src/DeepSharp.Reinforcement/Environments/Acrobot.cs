namespace DeepSharp.Reinforcement.Environments;

/// <summary>
/// Acrobot-v1 (gymnasium.envs.classic_control.AcrobotEnv, Sutton and Barto's book dynamics): two links hang from a
/// pivot; a torque of −1, 0 or +1 (actions 0, 1, 2) at the joint between them must swing the free end above the
/// bar, −cos θ₁ − cos(θ₁ + θ₂) &gt; 1. Integrated with one classic Runge–Kutta (RK4) step of dt = 0.2 s; angles are
/// wrapped to [−π, π], velocities clipped to ±4π and ±9π. Reward −1 per step, 0 on the step that reaches the goal;
/// truncated after 500 steps. Observation (cos θ₁, sin θ₁, cos θ₂, sin θ₂, θ̇₁, θ̇₂). Reset: each state component
/// uniform in [−0.1, 0.1].
/// </summary>
public sealed class Acrobot : Env
{
    /// <summary>Time step in seconds (AcrobotEnv.dt).</summary>
    public const double Dt = 0.2;
    /// <summary>Link lengths (LINK_LENGTH_1/2).</summary>
    public const double LinkLength1 = 1.0, LinkLength2 = 1.0;
    /// <summary>Link masses (LINK_MASS_1/2).</summary>
    public const double LinkMass1 = 1.0, LinkMass2 = 1.0;
    /// <summary>Positions of the links' centres of mass (LINK_COM_POS_1/2).</summary>
    public const double LinkComPos1 = 0.5, LinkComPos2 = 0.5;
    /// <summary>Moment of inertia of each link (LINK_MOI).</summary>
    public const double LinkMoi = 1.0;
    /// <summary>Velocity limits (MAX_VEL_1 = 4π, MAX_VEL_2 = 9π).</summary>
    public const double MaxVel1 = 4 * Math.PI, MaxVel2 = 9 * Math.PI;
    /// <summary>Gravity (g in AcrobotEnv._dsdt).</summary>
    public const double Gravity = 9.8;

    static readonly double[] AvailableTorque = [-1.0, 0.0, 1.0];

    readonly double[] s = new double[4];   // θ₁, θ₂, θ̇₁, θ̇₂

    /// <inheritdoc/>
    public override string Id => "Acrobot-v1";

    /// <inheritdoc/>
    public override Discrete ActionSpace { get; } = new(3);

    /// <inheritdoc/>
    public override Box ObservationSpace { get; } = new(
        [-1, -1, -1, -1, -(float)MaxVel1, -(float)MaxVel2], [1, 1, 1, 1, (float)MaxVel1, (float)MaxVel2]);

    /// <inheritdoc/>
    public override double[] State
    {
        get => (double[])s.Clone();
        set
        {
            if (value.Length != 4) throw new ArgumentException($"Acrobot: State needs 4 values (theta1, theta2, dtheta1, dtheta2), got {value.Length}", nameof(value));
            value.CopyTo(s, 0);
        }
    }

    /// <inheritdoc/>
    protected override void ResetState()
    {
        for (int i = 0; i < 4; i++) s[i] = -0.1 + 0.2 * Rng.NextDouble();
    }

    /// <inheritdoc/>
    protected override (double Reward, bool Terminated) Advance(int action)
    {
        double torque = AvailableTorque[action];
        var next = Rk4(s, torque, Dt);
        s[0] = Wrap(next[0], -Math.PI, Math.PI);
        s[1] = Wrap(next[1], -Math.PI, Math.PI);
        s[2] = Math.Clamp(next[2], -MaxVel1, MaxVel1);
        s[3] = Math.Clamp(next[3], -MaxVel2, MaxVel2);
        bool terminated = -Math.Cos(s[0]) - Math.Cos(s[1] + s[0]) > 1.0;
        return (terminated ? 0.0 : -1.0, terminated);
    }

    /// <inheritdoc/>
    protected override float[] Observe() =>
        [(float)Math.Cos(s[0]), (float)Math.Sin(s[0]), (float)Math.Cos(s[1]), (float)Math.Sin(s[1]), (float)s[2], (float)s[3]];

    /// <summary>One classic fourth-order Runge–Kutta step of <see cref="Derivatives"/> (AcrobotEnv's rk4 over [0, dt]).</summary>
    internal static double[] Rk4(double[] y0, double torque, double dt)
    {
        double half = dt / 2;
        var k1 = Derivatives(y0, torque);
        var k2 = Derivatives(Axpy(y0, half, k1), torque);
        var k3 = Derivatives(Axpy(y0, half, k2), torque);
        var k4 = Derivatives(Axpy(y0, dt, k3), torque);
        var y = new double[4];
        for (int i = 0; i < 4; i++) y[i] = y0[i] + dt / 6.0 * (k1[i] + 2 * k2[i] + 2 * k3[i] + k4[i]);
        return y;
    }

    static double[] Axpy(double[] y, double a, double[] k) => [y[0] + a * k[0], y[1] + a * k[1], y[2] + a * k[2], y[3] + a * k[3]];

    /// <summary>The equations of motion, "book" variant (AcrobotEnv._dsdt): (θ̇₁, θ̇₂, θ̈₁, θ̈₂).</summary>
    internal static double[] Derivatives(double[] state, double torque)
    {
        const double m1 = LinkMass1, m2 = LinkMass2, l1 = LinkLength1, lc1 = LinkComPos1, lc2 = LinkComPos2;
        const double i1 = LinkMoi, i2 = LinkMoi, g = Gravity;
        double theta1 = state[0], theta2 = state[1], dtheta1 = state[2], dtheta2 = state[3];
        double d1 = m1 * lc1 * lc1 + m2 * (l1 * l1 + lc2 * lc2 + 2 * l1 * lc2 * Math.Cos(theta2)) + i1 + i2;
        double d2 = m2 * (lc2 * lc2 + l1 * lc2 * Math.Cos(theta2)) + i2;
        double phi2 = m2 * lc2 * g * Math.Cos(theta1 + theta2 - Math.PI / 2.0);
        double phi1 = -m2 * l1 * lc2 * (dtheta2 * dtheta2) * Math.Sin(theta2)
                      - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * Math.Sin(theta2)
                      + (m1 * lc1 + m2 * l1) * g * Math.Cos(theta1 - Math.PI / 2) + phi2;
        double ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * (dtheta1 * dtheta1) * Math.Sin(theta2) - phi2)
                          / (m2 * lc2 * lc2 + i2 - d2 * d2 / d1);
        double ddtheta1 = -(d2 * ddtheta2 + phi1) / d1;
        return [dtheta1, dtheta2, ddtheta1, ddtheta2];
    }

    /// <summary>Wraps <paramref name="x"/> into [m, M] by adding or subtracting the period M − m (AcrobotEnv's wrap).</summary>
    internal static double Wrap(double x, double m, double M)
    {
        double diff = M - m;
        while (x > M) x -= diff;
        while (x < m) x += diff;
        return x;
    }
}
