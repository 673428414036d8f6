namespace DeepSharp;

/// <summary>
/// A seedable pseudo-random generator (torch.Generator): xoshiro256** seeded through SplitMix64.
/// Each instance is its own reproducible stream; it is not thread-safe, so give each thread its own.
/// </summary>
public sealed class Generator
{
    ulong s0, s1, s2, s3;
    double? spareNormal;

    /// <summary>Creates a generator seeded with <paramref name="seed"/> (torch.Generator().manual_seed(seed)).</summary>
    public Generator(long seed = 0) => ManualSeed(seed);

    /// <summary>The seed this generator was last seeded with (torch.Generator.initial_seed()).</summary>
    public long InitialSeed { get; private set; }

    /// <summary>Re-seeds the stream (torch.Generator.manual_seed).</summary>
    public Generator ManualSeed(long seed)
    {
        InitialSeed = seed;
        ulong x = (ulong)seed;
        s0 = SplitMix(ref x); s1 = SplitMix(ref x); s2 = SplitMix(ref x); s3 = SplitMix(ref x);
        spareNormal = null;
        return this;
    }

    static ulong SplitMix(ref ulong x)
    {
        ulong z = x += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        ulong result = ulong.RotateLeft(s1 * 5, 7) * 9;
        ulong t = s1 << 17;
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = ulong.RotateLeft(s3, 45);
        return result;
    }

    /// <summary>Uniform double in [0, 1).</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform float in [0, 1).</summary>
    public float NextSingle() => (NextUInt64() >> 40) * (1.0f / (1 << 24));

    /// <summary>Uniform integer in [low, high).</summary>
    public long NextInt64(long low, long high)
    {
        if (high <= low) throw new ArgumentException($"NextInt64: high ({high}) must be greater than low ({low})");
        ulong range = (ulong)(high - low);
        ulong limit = ulong.MaxValue - ulong.MaxValue % range;
        ulong r;
        do { r = NextUInt64(); } while (r >= limit);
        return low + (long)(r % range);
    }

    /// <summary>Standard normal sample (Box–Muller, caching the second value).</summary>
    public double NextNormal()
    {
        if (spareNormal is double spare) { spareNormal = null; return spare; }
        double u1;
        do { u1 = NextDouble(); } while (u1 <= double.Epsilon);
        double u2 = NextDouble();
        double radius = Math.Sqrt(-2.0 * Math.Log(u1));
        spareNormal = radius * Math.Sin(2 * Math.PI * u2);
        return radius * Math.Cos(2 * Math.PI * u2);
    }

    /// <summary>
    /// Fills <paramref name="destination"/> with standard normal samples in bulk: the same stream as calling
    /// <see cref="NextNormal"/> once per element (the same uniforms, the same Box–Muller pairs in the same order, a
    /// leftover second value kept for the next call), with the logarithms, square roots, sines and cosines computed
    /// vectorised over a block of 256 pairs (TensorPrimitives), which may round the last bit differently from Math.
    /// </summary>
    public void FillNormal(Span<double> destination) => Fill(destination);

    /// <summary>Float version of <see cref="FillNormal(Span{double})"/>: each sample is the double one rounded to float.</summary>
    public void FillNormal(Span<float> destination) => Fill(destination);

    void Fill<T>(Span<T> destination) where T : unmanaged
    {
        int i = 0;
        if (destination.IsEmpty) return;
        if (spareNormal is double spare) { destination[i++] = Convert<T>(spare); spareNormal = null; }
        const int Block = 256;
        Span<double> u = stackalloc double[Block], angle = stackalloc double[Block], sin = stackalloc double[Block], cos = stackalloc double[Block];
        while (i < destination.Length)
        {
            int pairs = Math.Min(Block, (destination.Length - i + 1) / 2);
            var uu = u.Slice(0, pairs); var aa = angle.Slice(0, pairs); var ss = sin.Slice(0, pairs); var cc = cos.Slice(0, pairs);
            for (int p = 0; p < pairs; p++)
            {
                double u1;
                do { u1 = NextDouble(); } while (u1 <= double.Epsilon);
                uu[p] = u1;
                aa[p] = NextDouble();
            }
            System.Numerics.Tensors.TensorPrimitives.Log(uu, uu);
            System.Numerics.Tensors.TensorPrimitives.Multiply(uu, -2.0, uu);
            System.Numerics.Tensors.TensorPrimitives.Sqrt(uu, uu);                 // radius
            System.Numerics.Tensors.TensorPrimitives.Multiply(aa, 2 * Math.PI, aa);
            // Sin and Cos separately: both are vectorised, SinCos (in .NET 10) runs element by element, 7x slower
            System.Numerics.Tensors.TensorPrimitives.Sin(aa, ss);
            System.Numerics.Tensors.TensorPrimitives.Cos(aa, cc);
            System.Numerics.Tensors.TensorPrimitives.Multiply(cc, uu, cc);
            System.Numerics.Tensors.TensorPrimitives.Multiply(ss, uu, ss);
            for (int p = 0; p < pairs; p++)
            {
                destination[i++] = Convert<T>(cc[p]);
                if (i < destination.Length) destination[i++] = Convert<T>(ss[p]);
                else spareNormal = ss[p];
            }
        }
    }

    static T Convert<T>(double value) where T : unmanaged =>
        typeof(T) == typeof(float) ? (T)(object)(float)value : (T)(object)value;

    /// <summary>The full internal state, for checkpoints (torch.Generator.get_state()).</summary>
    public byte[] GetState()
    {
        var bytes = new byte[8 * 6 + 1];
        BitConverter.TryWriteBytes(bytes.AsSpan(0), s0); BitConverter.TryWriteBytes(bytes.AsSpan(8), s1);
        BitConverter.TryWriteBytes(bytes.AsSpan(16), s2); BitConverter.TryWriteBytes(bytes.AsSpan(24), s3);
        BitConverter.TryWriteBytes(bytes.AsSpan(32), InitialSeed);
        bytes[40] = (byte)(spareNormal.HasValue ? 1 : 0);
        BitConverter.TryWriteBytes(bytes.AsSpan(41), spareNormal ?? 0.0);
        return bytes;
    }

    /// <summary>Restores a state from <see cref="GetState"/> (torch.Generator.set_state()).</summary>
    public void SetState(byte[] state)
    {
        if (state.Length != 49) throw new ArgumentException($"SetState: expected 49 bytes of generator state, got {state.Length}", nameof(state));
        s0 = BitConverter.ToUInt64(state, 0); s1 = BitConverter.ToUInt64(state, 8);
        s2 = BitConverter.ToUInt64(state, 16); s3 = BitConverter.ToUInt64(state, 24);
        InitialSeed = BitConverter.ToInt64(state, 32);
        spareNormal = state[40] == 1 ? BitConverter.ToDouble(state, 41) : null;
    }
}

/// <summary>
/// The global random stream used by every random op that is not given its own <see cref="Generator"/>
/// (torch.manual_seed / torch.random). Access is synchronised, so data-loader workers may share it.
/// Inside a <see cref="Fork(long)"/> scope the scope's stream stands in for the global one.
/// </summary>
public static class Random
{
    static readonly Generator global = new(0);

    /// <summary>The stream of the innermost <see cref="Fork(Generator)"/> scope of this async flow; null outside any.</summary>
    static readonly AsyncLocal<Generator?> forked = new();

    /// <summary>The stream that <see cref="Seed"/>, <see cref="GetState"/> and unowned random ops use here.</summary>
    static Generator Ambient => forked.Value ?? global;

    /// <summary>Seeds the global generator so every random op is reproducible (torch.manual_seed); inside a fork, the fork's.</summary>
    public static void Seed(long seed) { var g = Ambient; lock (g) g.ManualSeed(seed); }

    /// <summary>The global generator's state (torch.get_rng_state()); inside a fork, the fork's.</summary>
    public static byte[] GetState() { var g = Ambient; lock (g) return g.GetState(); }

    /// <summary>Restores the global generator's state (torch.set_rng_state()); inside a fork, the fork's.</summary>
    public static void SetState(byte[] state) { var g = Ambient; lock (g) g.SetState(state); }

    /// <summary>
    /// Gives the code that runs until the returned scope is disposed its own random stream, a new generator seeded with
    /// <paramref name="seed"/>: every random op without a generator, and <see cref="Seed"/>, <see cref="GetState"/>,
    /// <see cref="SetState"/> and <see cref="NextSeed"/>, use it instead of the global stream, which stays untouched.
    /// The scope follows the async flow (an <see cref="AsyncLocal{T}"/>): awaits, tasks and threads started inside it share
    /// the stream (synchronised), while code running concurrently elsewhere does not see it. Scopes nest; dispose them in
    /// reverse order, on the flow that opened them. The test suite gives every test such a scope (docs/testing.md).
    /// PyTorch's nearest equivalent is <c>torch.random.fork_rng()</c>, which saves the global state around a block and
    /// restores it after; a fork here is a separate stream, so concurrent blocks do not disturb each other either.
    /// </summary>
    public static RandomScope Fork(long seed) => Fork(new Generator(seed));

    /// <summary>
    /// Makes <paramref name="generator"/> the stream of this async flow until the returned scope is disposed; see
    /// <see cref="Fork(long)"/> (torch.random.fork_rng).
    /// </summary>
    public static RandomScope Fork(Generator generator)
    {
        ArgumentNullException.ThrowIfNull(generator);
        var previous = forked.Value;
        forked.Value = generator;
        return new RandomScope(generator, previous, forked);
    }

    /// <summary>
    /// A generator that stands in for the global one on this thread only (set by the data loader while it fetches a
    /// batch, so random augmentations are reproducible whatever the number of workers); null when none.
    /// </summary>
    [ThreadStatic] static Generator? threadOverride;

    /// <summary>
    /// Runs <paramref name="action"/> with exclusive use of the given generator, else of this thread's override, else of
    /// the fork's or the global one.
    /// </summary>
    /// <summary>
    /// <see cref="With(Generator?, Action{Generator})"/> passing <paramref name="state"/> to the action, so that a static
    /// lambda (no closure, no delegate per call) can do the work.
    /// </summary>
    internal static void With<TState>(Generator? generator, TState state, Action<Generator, TState> action)
    {
        if (generator != null) { action(generator, state); return; }
        if (threadOverride is { } local) { action(local, state); return; }
        var g = Ambient;
        lock (g) action(g, state);
    }

    internal static void With(Generator? generator, Action<Generator> action)
    {
        if (generator != null) { action(generator); return; }
        if (threadOverride is { } local) { action(local); return; }
        var g = Ambient;
        lock (g) action(g);
    }

    /// <summary>
    /// Makes <paramref name="generator"/> the stream of every random op without its own generator on the calling thread,
    /// until the returned scope is disposed (restoring the previous one).
    /// </summary>
    internal static ThreadGeneratorScope UseOnThisThread(Generator generator)
    {
        var previous = threadOverride;
        threadOverride = generator;
        return new ThreadGeneratorScope(previous);
    }

    internal readonly struct ThreadGeneratorScope(Generator? previous) : IDisposable
    {
        public void Dispose() => threadOverride = previous;
    }

    /// <summary>Draws a seed for a derived stream (e.g. one per data-loader worker) from the global generator (or the fork's).</summary>
    public static long NextSeed()
    {
        if (threadOverride is { } local) return (long)local.NextUInt64();
        var g = Ambient;
        lock (g) return (long)g.NextUInt64();
    }
}

/// <summary>
/// The scope returned by <see cref="Random.Fork(long)"/>: disposing it gives the async flow back the stream it had before
/// (torch.random.fork_rng's context manager).
/// </summary>
public readonly struct RandomScope : IDisposable
{
    readonly Generator? previous;
    readonly AsyncLocal<Generator?>? slot;

    internal RandomScope(Generator generator, Generator? previous, AsyncLocal<Generator?> slot)
    {
        Generator = generator;
        this.previous = previous;
        this.slot = slot;
    }

    /// <summary>The generator this scope's random ops draw from.</summary>
    public Generator Generator { get; }

    /// <summary>Restores the stream that was in force when the scope was opened.</summary>
    public void Dispose()
    {
        if (slot != null) slot.Value = previous;
    }
}
