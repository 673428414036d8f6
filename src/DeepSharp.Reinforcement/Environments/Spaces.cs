namespace DeepSharp.Reinforcement.Environments;

/// <summary>
/// A finite set of actions {0, 1, …, n−1} (gymnasium.spaces.Discrete(n)).
/// </summary>
public sealed class Discrete
{
    /// <summary>The number of actions (Discrete.n).</summary>
    public int N { get; }

    /// <summary>Creates the space {0, …, n−1} (gymnasium.spaces.Discrete(n)).</summary>
    public Discrete(int n)
    {
        if (n <= 0) throw new ArgumentOutOfRangeException(nameof(n), $"Discrete: n must be positive, got {n}");
        N = n;
    }

    /// <summary>Whether <paramref name="action"/> lies in the space (Discrete.contains).</summary>
    public bool Contains(int action) => action >= 0 && action < N;

    /// <summary>A uniformly drawn action (Discrete.sample).</summary>
    public int Sample(Generator generator) => (int)generator.NextInt64(0, N);

    /// <summary>Throws a clear <see cref="ArgumentException"/> when <paramref name="action"/> is outside the space.</summary>
    public void Check(int action, string env)
    {
        if (!Contains(action))
            throw new ArgumentOutOfRangeException(nameof(action), $"{env}: action {action} is outside the action space Discrete({N}) (valid: 0..{N - 1})");
    }

    /// <inheritdoc/>
    public override string ToString() => $"Discrete({N})";
}

/// <summary>
/// A box of real vectors low ≤ x ≤ high, elementwise (gymnasium.spaces.Box(low, high, dtype=float32)).
/// </summary>
public sealed class Box
{
    /// <summary>Lower bounds, one per dimension (Box.low).</summary>
    public IReadOnlyList<float> Low { get; }

    /// <summary>Upper bounds, one per dimension (Box.high).</summary>
    public IReadOnlyList<float> High { get; }

    /// <summary>The number of dimensions (Box.shape[0]).</summary>
    public int Size => Low.Count;

    /// <summary>Creates the box [low, high] (gymnasium.spaces.Box(low, high)).</summary>
    public Box(float[] low, float[] high)
    {
        if (low.Length != high.Length)
            throw new ArgumentException($"Box: low has {low.Length} dimensions but high has {high.Length}", nameof(high));
        Low = (float[])low.Clone(); High = (float[])high.Clone();
    }

    /// <summary>Whether <paramref name="x"/> has the box's size and lies within its bounds (Box.contains).</summary>
    public bool Contains(ReadOnlySpan<float> x)
    {
        if (x.Length != Size) return false;
        for (int i = 0; i < x.Length; i++)
            if (!(x[i] >= Low[i] && x[i] <= High[i])) return false;
        return true;
    }

    /// <inheritdoc/>
    public override string ToString() => $"Box({Size},)";
}
