namespace DeepSharp.Reinforcement;

/// <summary>
/// DQN's hyperparameters (stable_baselines3.DQN's constructor arguments, same defaults). <see cref="CartPole"/> and
/// <see cref="Acrobot"/> hold the tuned values of the RL Baselines3 Zoo for those environments.
/// </summary>
public sealed record DqnOptions
{
    /// <summary>Adam's learning rate (learning_rate).</summary>
    public double LearningRate { get; init; } = 1e-4;
    /// <summary>Replay buffer capacity (buffer_size).</summary>
    public int BufferSize { get; init; } = 1_000_000;
    /// <summary>Environment steps of random play before learning starts (learning_starts).</summary>
    public int LearningStarts { get; init; } = 100;
    /// <summary>Transitions per gradient step (batch_size).</summary>
    public int BatchSize { get; init; } = 32;
    /// <summary>Soft-update coefficient; 1 copies the online network into the target (tau).</summary>
    public double Tau { get; init; } = 1.0;
    /// <summary>Discount factor (gamma).</summary>
    public double Gamma { get; init; } = 0.99;
    /// <summary>Environment steps between training phases (train_freq).</summary>
    public int TrainFrequency { get; init; } = 4;
    /// <summary>Gradient steps per training phase; −1 means as many as environment steps in the phase (gradient_steps).</summary>
    public int GradientSteps { get; init; } = 1;
    /// <summary>Environment steps between target-network updates (target_update_interval).</summary>
    public int TargetUpdateInterval { get; init; } = 10_000;
    /// <summary>The part of training over which ε falls linearly (exploration_fraction).</summary>
    public double ExplorationFraction { get; init; } = 0.1;
    /// <summary>ε at the start (exploration_initial_eps).</summary>
    public double ExplorationInitialEps { get; init; } = 1.0;
    /// <summary>ε after the fall (exploration_final_eps).</summary>
    public double ExplorationFinalEps { get; init; } = 0.05;
    /// <summary>Gradient-norm clip (max_grad_norm).</summary>
    public double MaxGradNorm { get; init; } = 10;
    /// <summary>Hidden widths of the Q-network (policy_kwargs net_arch; ReLU between).</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [64, 64];
    /// <summary>Double DQN (van Hasselt et al. 2016): the online network picks the next action, the target network values it.</summary>
    public bool DoubleDqn { get; init; }
    /// <summary>Default environment steps for a run (the Zoo's n_timesteps).</summary>
    public long TotalSteps { get; init; } = 100_000;

    /// <summary>The Zoo's CartPole-v1 settings (hyperparams/dqn.yml).</summary>
    public static DqnOptions CartPole => new()
    {
        LearningRate = 2.3e-3, BatchSize = 64, BufferSize = 100_000, LearningStarts = 1000, Gamma = 0.99,
        TargetUpdateInterval = 10, TrainFrequency = 256, GradientSteps = 128, ExplorationFraction = 0.16,
        ExplorationFinalEps = 0.04, Hidden = [256, 256], TotalSteps = 50_000,
    };

    /// <summary>The Zoo's Acrobot-v1 settings (hyperparams/dqn.yml).</summary>
    public static DqnOptions Acrobot => new()
    {
        LearningRate = 6.3e-4, BatchSize = 128, BufferSize = 50_000, LearningStarts = 0, Gamma = 0.99,
        TargetUpdateInterval = 250, TrainFrequency = 4, GradientSteps = -1, ExplorationFraction = 0.12,
        ExplorationFinalEps = 0.1, Hidden = [256, 256], TotalSteps = 100_000,
    };

    /// <summary>The Zoo's settings for <paramref name="envId"/>, or the defaults.</summary>
    public static DqnOptions For(string envId) => envId switch
    {
        "CartPole-v1" => CartPole,
        "Acrobot-v1" => Acrobot,
        _ => new DqnOptions(),
    };

    internal void Validate()
    {
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"DQN: BatchSize must be positive, got {BatchSize}");
        if (TrainFrequency <= 0) throw new ArgumentOutOfRangeException(nameof(TrainFrequency), $"DQN: TrainFrequency must be positive, got {TrainFrequency}");
        if (GradientSteps == 0 || GradientSteps < -1) throw new ArgumentOutOfRangeException(nameof(GradientSteps), $"DQN: GradientSteps must be positive or -1, got {GradientSteps}");
        if (Gamma is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Gamma), $"DQN: Gamma must be in [0, 1], got {Gamma}");
        if (Tau is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Tau), $"DQN: Tau must be in (0, 1], got {Tau}");
        if (TargetUpdateInterval <= 0) throw new ArgumentOutOfRangeException(nameof(TargetUpdateInterval), $"DQN: TargetUpdateInterval must be positive, got {TargetUpdateInterval}");
    }
}
