using System.Diagnostics;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Reinforcement.Environments;

namespace DeepSharp.Reinforcement;

/// <summary>
/// Deep Q-Network (Mnih et al. 2015; stable_baselines3.DQN): an ε-greedy agent fills a replay buffer, and every
/// <see cref="DqnOptions.TrainFrequency"/> steps the Q-network takes gradient steps on the Huber loss between Q(s, a)
/// and r + γ·(1 − terminated)·max_a′ Q_target(s′, a′), gradients clipped to <see cref="DqnOptions.MaxGradNorm"/>;
/// the target network follows the online one every <see cref="DqnOptions.TargetUpdateInterval"/> steps. With
/// <see cref="DqnOptions.DoubleDqn"/> the next action is the online network's argmax, valued by the target network.
/// Everything random (initial weights, ε-greedy draws, minibatches, environment resets) comes from <c>seed</c>.
/// </summary>
public sealed class Dqn : IPolicy
{
    readonly Generator rng;
    readonly ReplayBuffer buffer;
    readonly Adam optimizer;
    readonly long seed;
    long steps;

    /// <summary>The environment the agent trains on.</summary>
    public Env Env { get; }
    /// <summary>The hyperparameters.</summary>
    public DqnOptions Options { get; }
    /// <summary>The online Q-network, (B, obs) → (B, actions) (DQN.q_net).</summary>
    public Sequential QNetwork { get; }
    /// <summary>The target Q-network (DQN.q_net_target).</summary>
    public Sequential TargetNetwork { get; }
    /// <summary>ε as a function of training progress (DQN.exploration_schedule).</summary>
    public LinearSchedule Exploration { get; }
    /// <summary>The finished episodes' returns.</summary>
    public EpisodeLog Episodes { get; } = new();
    /// <summary>The latest minibatch loss, or null before the first gradient step.</summary>
    public double? LastLoss { get; private set; }

    /// <summary>Creates the agent for <paramref name="env"/> (DQN("MlpPolicy", env, seed=seed, **options)).</summary>
    public Dqn(Env env, DqnOptions? options = null, long seed = 0)
    {
        Env = env ?? throw new ArgumentNullException(nameof(env));
        Options = options ?? DqnOptions.For(env.Id);
        Options.Validate();
        this.seed = seed;
        rng = new Generator(seed);
        int obs = env.ObservationSpace.Size, actions = env.ActionSpace.N;
        using (DeepSharp.Random.Fork(seed))
        {
            QNetwork = Networks.Mlp(obs, Options.Hidden, actions, Activation.Relu);
            TargetNetwork = Networks.Mlp(obs, Options.Hidden, actions, Activation.Relu);
        }
        Networks.CopyWeights(QNetwork, TargetNetwork);
        TargetNetwork.Train(false);
        foreach (var p in TargetNetwork.Parameters()) p.RequiresGrad = false;
        optimizer = new Adam(QNetwork.Parameters(), lr: Options.LearningRate);
        buffer = new ReplayBuffer(Options.BufferSize, obs);
        Exploration = new LinearSchedule(Options.ExplorationInitialEps, Options.ExplorationFinalEps, Options.ExplorationFraction);
    }

    /// <summary>
    /// Trains for <paramref name="totalSteps"/> environment steps (default <see cref="DqnOptions.TotalSteps"/>)
    /// (DQN.learn(total_timesteps)); <paramref name="progress"/> hears about every finished episode.
    /// </summary>
    public EpisodeLog Learn(long? totalSteps = null, Action<RlProgress>? progress = null)
    {
        long total = totalSteps ?? Options.TotalSteps;
        if (total <= 0) throw new ArgumentOutOfRangeException(nameof(totalSteps), $"DQN.Learn: totalSteps must be positive, got {total}");
        var clock = Stopwatch.StartNew();
        var obs = Env.Reset(seed);
        double episodeReturn = 0;
        int sinceTraining = 0;
        for (long t = 0; t < total; t++)
        {
            double epsilon = Exploration.At(steps, total);
            int action = steps < Options.LearningStarts || rng.NextDouble() < epsilon
                ? Env.ActionSpace.Sample(rng)
                : Act(Tensor.FromArray(obs, 1, obs.Length))[0];
            var r = Env.Step(action);
            buffer.Add(obs, action, r.Reward, r.Observation, r.Terminated);
            episodeReturn += r.Reward;
            steps++; sinceTraining++;
            obs = r.Observation;
            if (r.Done)
            {
                Episodes.Add(steps, episodeReturn);
                progress?.Invoke(new RlProgress(steps, total, Episodes.Episodes.Count, episodeReturn, Episodes.MeanOfLast(), epsilon, LastLoss, clock.Elapsed.TotalSeconds));
                episodeReturn = 0;
                obs = Env.Reset();
            }
            if (steps % Options.TargetUpdateInterval == 0) UpdateTarget();
            if (sinceTraining >= Options.TrainFrequency)
            {
                if (steps > Options.LearningStarts) Train(Options.GradientSteps == -1 ? sinceTraining : Options.GradientSteps);
                sinceTraining = 0;
            }
        }
        return Episodes;
    }

    /// <summary>Takes <paramref name="gradientSteps"/> gradient steps on minibatches from the buffer (DQN.train).</summary>
    internal void Train(int gradientSteps)
    {
        QNetwork.Train(true);
        for (int i = 0; i < gradientSteps; i++)
        {
            var loss = TemporalDifferenceLoss(buffer.Sample(Options.BatchSize, rng));
            optimizer.ZeroGrad();
            loss.Backward();
            GradClip.ClipGradNorm(QNetwork.Parameters(), Options.MaxGradNorm);
            optimizer.Step();
            LastLoss = loss.Item();
        }
    }

    /// <summary>
    /// The Huber (smooth L1, δ = 1) loss between Q(s, a) and the bootstrapped target, the target computed without
    /// gradient (DQN.train's loss); Double DQN picks a′ with the online network.
    /// </summary>
    public Tensor TemporalDifferenceLoss(ReplayBatch batch)
    {
        Tensor target;
        using (Autograd.NoGrad())
        {
            var nextQ = TargetNetwork.Call(batch.NextObservations);                                   // (B, A)
            Tensor nextValue = Options.DoubleDqn
                ? nextQ.Gather(1, QNetwork.Call(batch.NextObservations).ArgMax(1).Unsqueeze(1)).Squeeze(1)
                : nextQ.Max(1).Values;                                                               // (B,)
            target = batch.Rewards + (1 - batch.Terminated) * Options.Gamma * nextValue;
        }
        var q = QNetwork.Call(batch.Observations).Gather(1, batch.Actions.Unsqueeze(1)).Squeeze(1);  // (B,)
        return F.SmoothL1Loss(q, target);
    }

    /// <summary>target ← τ·online + (1 − τ)·target (polyak_update); τ = 1 copies.</summary>
    void UpdateTarget()
    {
        using var _ = Autograd.NoGrad();
        foreach (var (online, target) in QNetwork.Parameters().Zip(TargetNetwork.Parameters()))
        {
            if (Options.Tau >= 1) target.CopyFrom(online);
            else target.CopyFrom(target * (1 - Options.Tau) + online * Options.Tau);
        }
    }

    /// <summary>The greedy action argmax_a Q(s, a) for each row (DQN.predict(obs, deterministic=True)).</summary>
    public int[] Act(Tensor observations)
    {
        using var _ = Autograd.NoGrad();
        return QNetwork.Call(observations).ArgMax(1).ToArray<long>().Select(a => (int)a).ToArray();
    }
}
