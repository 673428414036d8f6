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

    /// <summary>The xoshiro256** state as a local value: a loop that draws many numbers keeps it in registers (the fields of
    /// this class would be stored and reloaded on every draw); the same steps as <see cref="NextUInt64"/>.</summary>
    struct State(ulong s0, ulong s1, ulong s2, ulong s3)
    {
        public ulong S0 = s0, S1 = s1, S2 = s2, S3 = s3;

        [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveInlining)]
        public ulong Next()
        {
            ulong result = ulong.RotateLeft(S1 * 5, 7) * 9;
            ulong t = S1 << 17;
            S2 ^= S0; S3 ^= S1; S1 ^= S2; S0 ^= S3; S2 ^= t; S3 = ulong.RotateLeft(S3, 45);
            return result;
        }
    }

    State Load() => new(s0, s1, s2, s3);
    void Store(in State state) { s0 = state.S0; s1 = state.S1; s2 = state.S2; s3 = state.S3; }

    /// <summary>Fills <paramref name="destination"/> with <see cref="NextSingle"/>'s stream (one draw per element, the
    /// state kept in registers over the loop).</summary>
    public void FillUniform(Span<float> destination)
    {
        var st = Load();
        for (int i = 0; i < destination.Length; i++) destination[i] = (st.Next() >> 40) * (1.0f / (1 << 24));
        Store(st);
    }

    /// <summary>Fills <paramref name="destination"/> with <see cref="NextDouble"/>'s stream (one draw per element).</summary>
    public void FillUniform(Span<double> destination)
    {
        var st = Load();
        for (int i = 0; i < destination.Length; i++) destination[i] = (st.Next() >> 11) * (1.0 / (1UL << 53));
        Store(st);
    }

    /// <summary>The uniforms of <paramref name="u"/>.Length Box–Muller pairs, in <see cref="NextNormal"/>'s order: u1
    /// (drawn again while ≤ double.Epsilon), then the angle's uniform.</summary>
    void DrawPairs(Span<double> u, Span<double> angle)
    {
        var st = Load();
        for (int p = 0; p < u.Length; p++)
        {
            double u1;
            do { u1 = (st.Next() >> 11) * (1.0 / (1UL << 53)); } while (u1 <= double.Epsilon);
            u[p] = u1;
            angle[p] = (st.Next() >> 11) * (1.0 / (1UL << 53));
        }
        Store(st);
    }

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
    /// vectorised over a block of 256 pairs (TensorPrimitives), which may round the last bit differently from Math, and
    /// differently before and after the JIT tiers TensorPrimitives' code up (a fill early in a process can differ from
    /// a later one by an ulp of a double; with DOTNET_TieredCompilation=0 every fill is the same). From 2^18 values on,
    /// the uniforms are drawn on the calling thread and the 256-pair blocks transformed across the kernel pool: the
    /// same values as the serial fill.
    /// </summary>
    public void FillNormal(Span<double> destination) => Fill(destination);

    /// <summary>Float version of <see cref="FillNormal(Span{double})"/>: each sample is the double one rounded to float.</summary>
    public void FillNormal(Span<float> destination) => Fill(destination);

    [ThreadStatic] static double[]? sinCosScratch;

    // pairs per block: every fill transforms the same 256-pair blocks from its first pair on, so a block's vectorised
    // logarithms, roots, sines and cosines (and thus the bits) do not depend on how the blocks are shared out
    const int Block = 256;

    // from this many normals on, the uniforms are drawn serially and the blocks transformed across the kernel pool
    const int ParallelThreshold = 1 << 18;

    unsafe void Fill<T>(Span<T> destination) where T : unmanaged
    {
        int i = 0;
        if (destination.IsEmpty) return;
        if (spareNormal is double spare) { destination[i++] = Convert<T>(spare); spareNormal = null; }
        if (destination.Length - i >= ParallelThreshold && DeepSharp.Kernels.KernelThreadPool.ThreadCount > 1)
        {
            fixed (T* d = destination) FillParallel(d + i, destination.Length - i);
            return;
        }
        Span<double> u = stackalloc double[Block], angle = stackalloc double[Block], sin = stackalloc double[Block], cos = stackalloc double[Block];
        while (i < destination.Length)
        {
            int pairs = Math.Min(Block, (destination.Length - i + 1) / 2);
            var uu = u.Slice(0, pairs); var aa = angle.Slice(0, pairs);
            DrawPairs(uu, aa);
            i += Transform(uu, aa, sin.Slice(0, pairs), cos.Slice(0, pairs), destination.Slice(i), out var leftover);
            if (leftover is double l) spareNormal = l;
        }
    }

    /// <summary>Box–Muller on one block: radius from <paramref name="u"/>, angle from <paramref name="angle"/> (both
    /// overwritten), written as cos, sin pairs into <paramref name="destination"/>; a last sine that does not fit is
    /// returned as the leftover. Returns the number of values written.</summary>
    static int Transform<T>(Span<double> u, Span<double> angle, Span<double> sin, Span<double> cos, Span<T> destination, out double? leftover)
        where T : unmanaged
    {
        System.Numerics.Tensors.TensorPrimitives.Log(u, u);
        System.Numerics.Tensors.TensorPrimitives.Multiply(u, -2.0, u);
        System.Numerics.Tensors.TensorPrimitives.Sqrt(u, u);                 // radius
        System.Numerics.Tensors.TensorPrimitives.Multiply(angle, 2 * Math.PI, angle);
        // Sin and Cos separately: both are vectorised, SinCos (in .NET 10) runs element by element, 7x slower
        System.Numerics.Tensors.TensorPrimitives.Sin(angle, sin);
        System.Numerics.Tensors.TensorPrimitives.Cos(angle, cos);
        System.Numerics.Tensors.TensorPrimitives.Multiply(cos, u, cos);
        System.Numerics.Tensors.TensorPrimitives.Multiply(sin, u, sin);
        int i = 0;
        leftover = null;
        for (int p = 0; p < u.Length; p++)
        {
            destination[i++] = Convert<T>(cos[p]);
            if (i < destination.Length) destination[i++] = Convert<T>(sin[p]);
            else leftover = sin[p];
        }
        return i;
    }

    /// <summary>
    /// The bulk fill of <paramref name="count"/> normals from <paramref name="destination"/> on (no spare pending): chunks
    /// of up to 1024 blocks whose uniforms this thread draws in stream order (the generator is sequential), then whose
    /// blocks the kernel pool transforms, each exactly as the serial loop would: the same values, bit for bit.
    /// </summary>
    unsafe void FillParallel<T>(T* destination, int count) where T : unmanaged
    {
        const int ChunkBlocks = 1024;
        int pairsTotal = (count + 1) / 2;
        int chunkPairs = Math.Min(pairsTotal, ChunkBlocks * Block);
        var u = System.Buffers.ArrayPool<double>.Shared.Rent(chunkPairs);
        var angle = System.Buffers.ArrayPool<double>.Shared.Rent(chunkPairs);
        try
        {
            for (int first = 0; first < pairsTotal; first += chunkPairs)
            {
                int pairs = Math.Min(chunkPairs, pairsTotal - first);
                DrawPairs(u.AsSpan(0, pairs), angle.AsSpan(0, pairs));
                double leftover = double.NaN;
                bool hasLeftover = false;
                int blocks = (pairs + Block - 1) / Block;
                T* chunk = destination + 2L * first;
                int values = Math.Min(2 * pairs, count - 2 * first);
                DeepSharp.Kernels.KernelThreadPool.ParallelFor(blocks, b =>
                {
                    int p0 = b * Block, n = Math.Min(Block, pairs - p0);
                    int v0 = 2 * p0, room = Math.Min(2 * n, values - v0);
                    // per-thread scratch: a stackalloc would be zero-filled on every block
                    var scratch = sinCosScratch ??= new double[2 * Block];
                    Transform(u.AsSpan(p0, n), angle.AsSpan(p0, n), scratch.AsSpan(0, n), scratch.AsSpan(Block, n), new Span<T>(chunk + v0, room), out var l);
                    if (l is double last) { leftover = last; hasLeftover = true; }
                });
                if (hasLeftover) spareNormal = leftover;
            }
        }
        finally
        {
            System.Buffers.ArrayPool<double>.Shared.Return(u);
            System.Buffers.ArrayPool<double>.Shared.Return(angle);
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
