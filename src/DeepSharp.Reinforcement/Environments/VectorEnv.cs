namespace DeepSharp.Reinforcement.Environments;

/// <summary>
/// N copies of an environment stepped together with automatic reset (stable_baselines3's DummyVecEnv, Gymnasium's
/// SyncVectorEnv with same-step autoreset): when a copy's episode ends, its final observation is kept in
/// <see cref="FinalObservations"/> and the copy is reset at once, so <see cref="Step"/> returns the new episode's
/// first observation. Copy i is first reset with seed + i.
/// </summary>
public sealed class VectorEnv
{
    readonly Env[] envs;
    readonly float[][] observations;
    readonly double[] runningReturns;

    /// <summary>The number of copies (num_envs).</summary>
    public int Count => envs.Length;
    /// <summary>The copies' action space (single_action_space).</summary>
    public Discrete ActionSpace => envs[0].ActionSpace;
    /// <summary>The copies' observation space (single_observation_space).</summary>
    public Box ObservationSpace => envs[0].ObservationSpace;
    /// <summary>For each copy whose episode ended in the latest step, its last observation; null for the others (infos["terminal_observation"]).</summary>
    public float[]?[] FinalObservations { get; }
    /// <summary>For each copy whose episode ended in the latest step, the episode's return; null for the others (infos["episode"]["r"]).</summary>
    public double?[] FinishedReturns { get; }

    /// <summary>Creates <paramref name="count"/> environments from <paramref name="make"/> (make_vec_env(env_id, n_envs)).</summary>
    public VectorEnv(Func<Env> make, int count)
    {
        if (count <= 0) throw new ArgumentOutOfRangeException(nameof(count), $"VectorEnv: count must be positive, got {count}");
        envs = Enumerable.Range(0, count).Select(_ => make()).ToArray();
        observations = new float[count][];
        runningReturns = new double[count];
        FinalObservations = new float[]?[count];
        FinishedReturns = new double?[count];
    }

    /// <summary>Resets every copy (copy i with <paramref name="seed"/> + i) and returns the observations, (N, obs) (VecEnv.reset).</summary>
    public Tensor Reset(long seed)
    {
        for (int i = 0; i < envs.Length; i++) { observations[i] = envs[i].Reset(seed + i); runningReturns[i] = 0; }
        return Evaluation.Stack(observations);
    }

    /// <summary>Steps copy i with <paramref name="actions"/>[i] and returns the next observations, (N, obs), with rewards and flags (VecEnv.step).</summary>
    public (Tensor Observations, double[] Rewards, bool[] Terminated, bool[] Truncated) Step(int[] actions)
    {
        if (actions.Length != envs.Length)
            throw new ArgumentException($"VectorEnv.Step: got {actions.Length} actions for {envs.Length} environments", nameof(actions));
        var rewards = new double[envs.Length];
        var terminated = new bool[envs.Length];
        var truncated = new bool[envs.Length];
        for (int i = 0; i < envs.Length; i++)
        {
            var r = envs[i].Step(actions[i]);
            (rewards[i], terminated[i], truncated[i]) = (r.Reward, r.Terminated, r.Truncated);
            runningReturns[i] += r.Reward;
            FinalObservations[i] = null; FinishedReturns[i] = null;
            if (r.Done)
            {
                FinalObservations[i] = r.Observation;
                FinishedReturns[i] = runningReturns[i];
                runningReturns[i] = 0;
                observations[i] = envs[i].Reset();
            }
            else observations[i] = r.Observation;
        }
        return (Evaluation.Stack(observations), rewards, terminated, truncated);
    }
}
