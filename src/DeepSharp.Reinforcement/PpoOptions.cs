namespace DeepSharp.Reinforcement;

/// <summary>
/// PPO's hyperparameters (stable_baselines3.PPO's constructor arguments, same defaults). <see cref="CartPole"/> and
/// <see cref="Acrobot"/> hold the RL Baselines3 Zoo's tuned values (Acrobot with a smaller budget and no VecNormalize).
/// </summary>
public sealed record PpoOptions
{
    /// <summary>Adam's learning rate, as a schedule over training (learning_rate; lin_x in the Zoo).</summary>
    public LinearSchedule LearningRate { get; init; } = LinearSchedule.Constant(3e-4);
    /// <summary>Environment copies stepped together (n_envs).</summary>
    public int EnvCount { get; init; } = 1;
    /// <summary>Steps per copy in each rollout (n_steps).</summary>
    public int StepsPerRollout { get; init; } = 2048;
    /// <summary>Minibatch size (batch_size).</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Passes over each rollout (n_epochs).</summary>
    public int Epochs { get; init; } = 10;
    /// <summary>Discount factor (gamma).</summary>
    public double Gamma { get; init; } = 0.99;
    /// <summary>GAE's λ (gae_lambda).</summary>
    public double GaeLambda { get; init; } = 0.95;
    /// <summary>The ratio clip ε, as a schedule (clip_range).</summary>
    public LinearSchedule ClipRange { get; init; } = LinearSchedule.Constant(0.2);
    /// <summary>Normalise advantages per minibatch (normalize_advantage).</summary>
    public bool NormalizeAdvantage { get; init; } = true;
    /// <summary>Weight of the entropy bonus (ent_coef).</summary>
    public double EntropyCoefficient { get; init; }
    /// <summary>Weight of the value loss (vf_coef).</summary>
    public double ValueCoefficient { get; init; } = 0.5;
    /// <summary>Gradient-norm clip (max_grad_norm).</summary>
    public double MaxGradNorm { get; init; } = 0.5;
    /// <summary>Hidden widths of the policy and of the value network (net_arch; tanh between).</summary>
    public IReadOnlyList<int> Hidden { get; init; } = [64, 64];
    /// <summary>Default environment steps for a run (the Zoo's n_timesteps).</summary>
    public long TotalSteps { get; init; } = 1_000_000;

    /// <summary>The Zoo's CartPole-v1 settings (hyperparams/ppo.yml).</summary>
    public static PpoOptions CartPole => new()
    {
        EnvCount = 8, StepsPerRollout = 32, BatchSize = 256, GaeLambda = 0.8, Gamma = 0.98, Epochs = 20,
        LearningRate = new LinearSchedule(1e-3, 0), ClipRange = new LinearSchedule(0.2, 0), TotalSteps = 100_000,
    };

    /// <summary>The Zoo's Acrobot-v1 settings (hyperparams/ppo.yml: 16 envs × 256 steps, λ 0.94, 4 epochs) on a 200k-step budget.</summary>
    public static PpoOptions Acrobot => new()
    {
        EnvCount = 16, StepsPerRollout = 256, GaeLambda = 0.94, Gamma = 0.99, Epochs = 4, TotalSteps = 200_000,
    };

    /// <summary>The Zoo's settings for <paramref name="envId"/>, or the defaults.</summary>
    public static PpoOptions For(string envId) => envId switch
    {
        "CartPole-v1" => CartPole,
        "Acrobot-v1" => Acrobot,
        _ => new PpoOptions(),
    };

    internal void Validate()
    {
        if (EnvCount <= 0) throw new ArgumentOutOfRangeException(nameof(EnvCount), $"PPO: EnvCount must be positive, got {EnvCount}");
        if (StepsPerRollout <= 0) throw new ArgumentOutOfRangeException(nameof(StepsPerRollout), $"PPO: StepsPerRollout must be positive, got {StepsPerRollout}");
        if (BatchSize <= 0) throw new ArgumentOutOfRangeException(nameof(BatchSize), $"PPO: BatchSize must be positive, got {BatchSize}");
        if (Epochs <= 0) throw new ArgumentOutOfRangeException(nameof(Epochs), $"PPO: Epochs must be positive, got {Epochs}");
        if (GaeLambda is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(GaeLambda), $"PPO: GaeLambda must be in [0, 1], got {GaeLambda}");
    }
}
