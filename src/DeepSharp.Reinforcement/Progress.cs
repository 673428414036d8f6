namespace DeepSharp.Reinforcement;

/// <summary>
/// What an agent reports while it learns (Stable-Baselines3's rollout/ and train/ logger keys): sent after every
/// finished episode and after every update.
/// </summary>
/// <param name="Step">Environment steps taken so far (num_timesteps).</param>
/// <param name="TotalSteps">The budget of environment steps.</param>
/// <param name="Episodes">Episodes finished so far.</param>
/// <param name="LastReturn">The return of the latest finished episode, or null before the first.</param>
/// <param name="MeanReturn">The mean return of the last 100 finished episodes (rollout/ep_rew_mean), or null before the first.</param>
/// <param name="Epsilon">DQN's exploration rate (rollout/exploration_rate); null for PPO.</param>
/// <param name="Loss">The latest training loss (train/loss), or null before the first update.</param>
/// <param name="Seconds">Wall time since <c>Learn</c> started.</param>
public sealed record RlProgress(long Step, long TotalSteps, int Episodes, double? LastReturn, double? MeanReturn,
    double? Epsilon, double? Loss, double Seconds);

/// <summary>Episode returns in the order they finished, with the step at which each ended (the return curve).</summary>
public sealed class EpisodeLog
{
    readonly List<(long Step, double Return)> episodes = [];

    /// <summary>(step at the end of the episode, return) for every finished episode.</summary>
    public IReadOnlyList<(long Step, double Return)> Episodes => episodes;

    /// <summary>Records a finished episode.</summary>
    public void Add(long step, double episodeReturn) => episodes.Add((step, episodeReturn));

    /// <summary>The mean return of the last <paramref name="window"/> episodes, or null when none finished.</summary>
    public double? MeanOfLast(int window = 100) =>
        episodes.Count == 0 ? null : episodes.Skip(Math.Max(0, episodes.Count - window)).Average(e => e.Return);

    /// <summary>The latest return, or null.</summary>
    public double? Last => episodes.Count == 0 ? null : episodes[^1].Return;
}

/// <summary>An agent that can act greedily on a batch of observations: what evaluation and `deepsharp rl play` need.</summary>
public interface IPolicy
{
    /// <summary>The greedy (deterministic) action for each row of <paramref name="observations"/>, (B, obs) float32 (model.predict(obs, deterministic=True)).</summary>
    int[] Act(Tensor observations);
}
