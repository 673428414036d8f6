using DeepSharp.Reinforcement.Environments;

namespace DeepSharp.Reinforcement;

/// <summary>Policy evaluation (stable_baselines3.common.evaluation.evaluate_policy).</summary>
public static class Evaluation
{
    /// <summary>
    /// Plays <paramref name="episodes"/> episodes with the greedy policy and returns each return, in episode order
    /// (evaluate_policy(model, env, n_eval_episodes, deterministic=True, return_episode_rewards=True)). Episode i runs on
    /// its own environment reset with seed <paramref name="seed"/> + i, all stepped together so the policy sees one
    /// batch per time step; the result does not depend on the batching.
    /// </summary>
    public static double[] Run(IPolicy policy, Func<Env> makeEnv, int episodes = 100, long seed = 1_000_000, int parallel = 100)
    {
        if (episodes <= 0) throw new ArgumentOutOfRangeException(nameof(episodes), $"Evaluation.Run: episodes must be positive, got {episodes}");
        var returns = new double[episodes];
        for (int start = 0; start < episodes; start += parallel)
        {
            int n = Math.Min(parallel, episodes - start);
            var envs = Enumerable.Range(0, n).Select(_ => makeEnv()).ToArray();
            var obs = envs.Select((e, i) => e.Reset(seed + start + i)).ToArray();
            var live = Enumerable.Range(0, n).ToList();
            while (live.Count > 0)
            {
                var actions = policy.Act(Stack(live.Select(i => obs[i]).ToList()));
                var still = new List<int>(live.Count);
                for (int k = 0; k < live.Count; k++)
                {
                    int i = live[k];
                    var r = envs[i].Step(actions[k]);
                    returns[start + i] += r.Reward;
                    obs[i] = r.Observation;
                    if (!r.Done) still.Add(i);
                }
                live = still;
            }
        }
        return returns;
    }

    /// <summary>Rows of equal length as a (B, n) float32 tensor.</summary>
    internal static Tensor Stack(IReadOnlyList<float[]> rows)
    {
        int n = rows[0].Length;
        var data = new float[rows.Count * n];
        for (int i = 0; i < rows.Count; i++) rows[i].CopyTo(data, i * n);
        return Tensor.FromArray(data, rows.Count, n);
    }
}
