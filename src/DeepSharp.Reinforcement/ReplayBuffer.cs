namespace DeepSharp.Reinforcement;

/// <summary>A batch of transitions drawn from a <see cref="ReplayBuffer"/>, as tensors.</summary>
/// <param name="Observations">(B, obs) float32.</param>
/// <param name="Actions">(B,) int64.</param>
/// <param name="Rewards">(B,) float32.</param>
/// <param name="NextObservations">(B, obs) float32.</param>
/// <param name="Terminated">(B,) float32, 1 where the next state is terminal (no bootstrap); a time-limit truncation stores 0.</param>
public sealed record ReplayBatch(Tensor Observations, Tensor Actions, Tensor Rewards, Tensor NextObservations, Tensor Terminated);

/// <summary>
/// A ring buffer of transitions (s, a, r, s′, terminated) with uniform sampling (Stable-Baselines3's ReplayBuffer with
/// handle_timeout_termination: a truncated episode's last transition is stored as non-terminal, so the target
/// bootstraps from s′).
/// </summary>
public sealed class ReplayBuffer
{
    readonly float[] observations, nextObservations, rewards, terminated;
    readonly long[] actions;
    int position;

    /// <summary>The most transitions kept; the oldest are overwritten (buffer_size).</summary>
    public int Capacity { get; }

    /// <summary>The length of one observation.</summary>
    public int ObservationSize { get; }

    /// <summary>Transitions stored so far, at most <see cref="Capacity"/> (ReplayBuffer.size()).</summary>
    public int Count { get; private set; }

    /// <summary>Creates an empty buffer for <paramref name="capacity"/> transitions of <paramref name="observationSize"/>-long observations.</summary>
    public ReplayBuffer(int capacity, int observationSize)
    {
        if (capacity <= 0) throw new ArgumentOutOfRangeException(nameof(capacity), $"ReplayBuffer: capacity must be positive, got {capacity}");
        if (observationSize <= 0) throw new ArgumentOutOfRangeException(nameof(observationSize), $"ReplayBuffer: observationSize must be positive, got {observationSize}");
        Capacity = capacity; ObservationSize = observationSize;
        observations = new float[(long)capacity * observationSize];
        nextObservations = new float[(long)capacity * observationSize];
        rewards = new float[capacity]; terminated = new float[capacity]; actions = new long[capacity];
    }

    /// <summary>Stores one transition (ReplayBuffer.add), overwriting the oldest when full.</summary>
    public void Add(ReadOnlySpan<float> observation, int action, double reward, ReadOnlySpan<float> nextObservation, bool isTerminal)
    {
        if (observation.Length != ObservationSize || nextObservation.Length != ObservationSize)
            throw new ArgumentException($"ReplayBuffer.Add: observations must have {ObservationSize} values, got {observation.Length} and {nextObservation.Length}", nameof(observation));
        observation.CopyTo(observations.AsSpan(position * ObservationSize, ObservationSize));
        nextObservation.CopyTo(nextObservations.AsSpan(position * ObservationSize, ObservationSize));
        actions[position] = action; rewards[position] = (float)reward; terminated[position] = isTerminal ? 1f : 0f;
        position = (position + 1) % Capacity;
        Count = Math.Min(Count + 1, Capacity);
    }

    /// <summary>Draws <paramref name="batchSize"/> transitions uniformly with replacement (ReplayBuffer.sample).</summary>
    public ReplayBatch Sample(int batchSize, Generator generator)
    {
        if (Count == 0) throw new InvalidOperationException("ReplayBuffer.Sample: the buffer is empty");
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"ReplayBuffer.Sample: batchSize must be positive, got {batchSize}");
        var idx = new int[batchSize];
        for (int i = 0; i < batchSize; i++) idx[i] = (int)generator.NextInt64(0, Count);
        return Gather(idx);
    }

    /// <summary>The transitions at <paramref name="indices"/> (0 = oldest slot of the ring), as a batch.</summary>
    internal ReplayBatch Gather(int[] indices)
    {
        int b = indices.Length, n = ObservationSize;
        var obs = new float[b * n]; var next = new float[b * n];
        var act = new long[b]; var rew = new float[b]; var term = new float[b];
        for (int i = 0; i < b; i++)
        {
            int j = indices[i];
            observations.AsSpan(j * n, n).CopyTo(obs.AsSpan(i * n, n));
            nextObservations.AsSpan(j * n, n).CopyTo(next.AsSpan(i * n, n));
            act[i] = actions[j]; rew[i] = rewards[j]; term[i] = terminated[j];
        }
        return new ReplayBatch(Tensor.FromArray(obs, b, n), Tensor.FromArray(act, b), Tensor.FromArray(rew, b),
            Tensor.FromArray(next, b, n), Tensor.FromArray(term, b));
    }
}
