namespace DeepSharp.Reinforcement;

/// <summary>Generalised advantage estimation (Schulman et al. 2016; RolloutBuffer.compute_returns_and_advantage).</summary>
public static class Gae
{
    /// <summary>
    /// Advantages and returns of a rollout of T steps from N environments, all arrays laid out [t * N + env]:
    /// δₜ = rₜ + γ·V(sₜ₊₁)·(1 − doneₜ) − V(sₜ), Aₜ = δₜ + γλ·(1 − doneₜ)·Aₜ₊₁, returnₜ = Aₜ + V(sₜ).
    /// <paramref name="dones"/>[t] marks that the episode ended at step t (the next stored state is a new episode's);
    /// <paramref name="lastValues"/> are V of the observations after the last step (bootstrap). A truncated episode
    /// should have γ·V(final observation) already added to its last reward, as SB3 does.
    /// </summary>
    public static (float[] Advantages, float[] Returns) Compute(float[] rewards, float[] values, bool[] dones, float[] lastValues,
        double gamma, double lambda)
    {
        int n = lastValues.Length;
        if (n == 0 || rewards.Length % n != 0 || values.Length != rewards.Length || dones.Length != rewards.Length)
            throw new ArgumentException($"Gae.Compute: rewards ({rewards.Length}), values ({values.Length}) and dones ({dones.Length}) must all be T × {n} (lastValues)", nameof(rewards));
        int steps = rewards.Length / n;
        var advantages = new float[rewards.Length];
        var returns = new float[rewards.Length];
        for (int e = 0; e < n; e++)
        {
            double next = 0;
            for (int t = steps - 1; t >= 0; t--)
            {
                int i = t * n + e;
                double nonTerminal = dones[i] ? 0 : 1;
                double nextValue = t == steps - 1 ? lastValues[e] : values[i + n];
                double delta = rewards[i] + gamma * nextValue * nonTerminal - values[i];
                next = delta + gamma * lambda * nonTerminal * next;
                advantages[i] = (float)next;
                returns[i] = (float)(next + values[i]);
            }
        }
        return (advantages, returns);
    }
}
