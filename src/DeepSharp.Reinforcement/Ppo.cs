using System.Diagnostics;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Reinforcement.Environments;

namespace DeepSharp.Reinforcement;

/// <summary>
/// Proximal Policy Optimization (Schulman et al. 2017; stable_baselines3.PPO): roll out the stochastic policy in
/// <see cref="PpoOptions.EnvCount"/> environments for <see cref="PpoOptions.StepsPerRollout"/> steps, estimate
/// advantages with GAE(λ), then take <see cref="PpoOptions.Epochs"/> passes of minibatch Adam steps on the clipped
/// surrogate + value loss − entropy bonus, gradients clipped to <see cref="PpoOptions.MaxGradNorm"/>. A truncated
/// episode bootstraps from its final observation (reward += γ·V(final)). Everything random comes from <c>seed</c>.
/// </summary>
public sealed partial class Ppo : IPolicy
{
    readonly Generator rng;
    readonly Adam optimizer;
    readonly VectorEnv envs;
    readonly long seed;
    readonly int obsSize;

    /// <summary>The id of the environment trained on.</summary>
    public string EnvId { get; }
    /// <summary>The hyperparameters.</summary>
    public PpoOptions Options { get; }
    /// <summary>The policy and value networks (PPO.policy).</summary>
    public ActorCritic Model { get; }
    /// <summary>The finished episodes' returns.</summary>
    public EpisodeLog Episodes { get; } = new();
    /// <summary>The latest minibatch loss, or null before the first update.</summary>
    public double? LastLoss { get; private set; }
    /// <summary>Environment steps taken so far (num_timesteps).</summary>
    public long Steps { get; private set; }

    /// <summary>Creates the agent for the environments <paramref name="makeEnv"/> builds (PPO("MlpPolicy", make_vec_env(id, n_envs), seed=seed, **options)).</summary>
    public Ppo(Func<Env> makeEnv, PpoOptions? options = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(makeEnv);
        var probe = makeEnv();
        EnvId = probe.Id;
        Options = options ?? PpoOptions.For(EnvId);
        Options.Validate();
        this.seed = seed;
        rng = new Generator(seed);
        envs = new VectorEnv(makeEnv, Options.EnvCount);
        obsSize = probe.ObservationSpace.Size;
        using (DeepSharp.Random.Fork(seed))
            Model = new ActorCritic(obsSize, probe.ActionSpace.N, Options.Hidden, Activation.Tanh);
        optimizer = new Adam(Model.Parameters(), lr: Options.LearningRate.At(0), eps: 1e-5);
    }

    /// <summary>
    /// Trains for at least <paramref name="totalSteps"/> environment steps, whole rollouts (PPO.learn(total_timesteps));
    /// <paramref name="progress"/> hears about every finished episode and every update.
    /// </summary>
    public EpisodeLog Learn(long? totalSteps = null, Action<RlProgress>? progress = null)
    {
        long total = totalSteps ?? Options.TotalSteps;
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"PPO.Learn: totalSteps must be positive, got {total}");
        var clock = Stopwatch.StartNew();
        var obs = envs.Reset(seed);
        while (Steps < total)
        {
            double done = (double)Steps / total;
            foreach (var g in optimizer.ParamGroups) g.Lr = Options.LearningRate.At(done);
            var (rollout, next) = Collect(obs, total, clock, progress);
            obs = next;
            Update(rollout, Options.ClipRange.At(done));
            progress?.Invoke(new RlProgress(Steps, total, Episodes.Episodes.Count, Episodes.Last, Episodes.MeanOfLast(), null, LastLoss, clock.Elapsed.TotalSeconds));
        }
        return Episodes;
    }

    /// <summary>The most probable action for each row (PPO.predict(obs, deterministic=True)).</summary>
    public int[] Act(Tensor observations)
    {
        using var _ = Autograd.NoGrad();
        return Model.Policy.Call(observations).ArgMax(1).ToArray<long>().Select(a => (int)a).ToArray();
    }

    /// <summary>An action drawn from each row's categorical distribution, rows of log-probabilities (Categorical.sample).</summary>
    internal static int[] SampleActions(float[] logProbabilities, int actions, Generator generator)
    {
        int rows = logProbabilities.Length / actions;
        var chosen = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            double u = generator.NextDouble(), cumulative = 0;
            int a = actions - 1;
            for (int k = 0; k < actions; k++)
            {
                cumulative += Math.Exp(logProbabilities[r * actions + k]);
                if (u < cumulative) { a = k; break; }
            }
            chosen[r] = a;
        }
        return chosen;
    }
}
