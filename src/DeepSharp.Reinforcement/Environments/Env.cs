namespace DeepSharp.Reinforcement.Environments;

/// <summary>What one step of an environment returns (Gymnasium's (observation, reward, terminated, truncated, info)).</summary>
/// <param name="Observation">The observation after the step.</param>
/// <param name="Reward">The reward for the step.</param>
/// <param name="Terminated">The episode reached a terminal state of the task (the MDP ended).</param>
/// <param name="Truncated">The episode was cut by the time limit (TimeLimit): the state is not terminal, so bootstrap from it.</param>
public readonly record struct StepResult(float[] Observation, double Reward, bool Terminated, bool Truncated)
{
    /// <summary>The episode is over, for either reason (terminated or truncated).</summary>
    public bool Done => Terminated || Truncated;
}

/// <summary>
/// An environment with a discrete action space and a vector observation (gymnasium.Env, already wrapped in
/// TimeLimit as gymnasium.make does). Call <see cref="Reset"/> first, then <see cref="Step"/> until the result is
/// <see cref="StepResult.Done"/>.
/// </summary>
public abstract class Env
{
    int elapsedSteps;
    bool needsReset = true;

    /// <summary>The environment's random stream (Env.np_random), seeded by <see cref="Reset"/>.</summary>
    protected Generator Rng { get; private set; } = new(System.Random.Shared.NextInt64());

    /// <summary>The registered id, e.g. "CartPole-v1" (env.spec.id).</summary>
    public abstract string Id { get; }

    /// <summary>The actions (Env.action_space).</summary>
    public abstract Discrete ActionSpace { get; }

    /// <summary>The observations (Env.observation_space).</summary>
    public abstract Box ObservationSpace { get; }

    /// <summary>Steps after which an episode is truncated (env.spec.max_episode_steps, the TimeLimit wrapper).</summary>
    public int MaxEpisodeSteps { get; init; } = 500;

    /// <summary>Steps taken in the current episode (TimeLimit._elapsed_steps).</summary>
    public int ElapsedSteps => elapsedSteps;

    /// <summary>
    /// Starts an episode and returns its first observation (Env.reset(seed=...)). A seed re-seeds the environment's
    /// random stream; without one the stream continues, so successive episodes differ.
    /// </summary>
    public float[] Reset(long? seed = null)
    {
        if (seed is long s) Rng = new Generator(s);
        elapsedSteps = 0; needsReset = false;
        ResetState();
        return Observe();
    }

    /// <summary>
    /// Applies <paramref name="action"/> for one time step (Env.step(action)). An action outside
    /// <see cref="ActionSpace"/> throws <see cref="ArgumentOutOfRangeException"/> (an <see cref="ArgumentException"/>).
    /// </summary>
    public StepResult Step(int action)
    {
        ActionSpace.Check(action, Id);
        if (needsReset) throw new InvalidOperationException($"{Id}: call Reset() before Step() (at the start and after an episode ends)");
        var (reward, terminated) = Advance(action);
        elapsedSteps++;
        bool truncated = elapsedSteps >= MaxEpisodeSteps;
        if (terminated || truncated) needsReset = true;
        return new StepResult(Observe(), reward, terminated, truncated);
    }

    /// <summary>Draws the initial state from <see cref="Rng"/>.</summary>
    protected abstract void ResetState();

    /// <summary>Integrates one step under <paramref name="action"/>; returns the reward and whether the new state is terminal.</summary>
    protected abstract (double Reward, bool Terminated) Advance(int action);

    /// <summary>The observation of the current state.</summary>
    protected abstract float[] Observe();

    /// <summary>The full physical state (float64), for tests and golden trajectories.</summary>
    public abstract double[] State { get; set; }
}
