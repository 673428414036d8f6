using System.Collections;
using DeepSharp.Data;

namespace DeepSharp.Training;

/// <summary>
/// Where the trainer is in its training data: the pass (one enumeration of the source) in progress, how many batches it
/// has yielded, and the random states at the start of that pass, which are what a resumed run needs to see the same
/// batches (for a <see cref="DataLoader"/> the shuffle order and batch seeds are drawn when a pass starts). Every field
/// is null when no pass is in progress.
/// </summary>
internal sealed record StreamPosition(int? Position, byte[]? PassGlobalRng, byte[]? PassLoaderRng, byte[]? LoaderRng)
{
    public static readonly StreamPosition Start = new(null, null, null, null);

    public Dictionary<string, string> ToState()
    {
        var state = new Dictionary<string, string>();
        if (Position is int p) state["stream.position"] = p.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (PassGlobalRng != null) state["stream.global_rng"] = Convert.ToBase64String(PassGlobalRng);
        if (PassLoaderRng != null) state["stream.loader_rng"] = Convert.ToBase64String(PassLoaderRng);
        if (LoaderRng != null) state["loader_rng"] = Convert.ToBase64String(LoaderRng);
        return state;
    }

    public static StreamPosition FromState(IReadOnlyDictionary<string, string> state)
    {
        byte[]? Bytes(string key)
        {
            if (!state.TryGetValue(key, out var text)) return null;
            try { return Convert.FromBase64String(text); }
            catch (FormatException) { throw new InvalidDataException($"Trainer.LoadCheckpoint: trainer state \"{key}\" is not valid base64"); }
        }
        int? position = state.TryGetValue("stream.position", out var p)
            ? int.TryParse(p, System.Globalization.CultureInfo.InvariantCulture, out int v) && v >= 0 ? v
              : throw new InvalidDataException($"Trainer.LoadCheckpoint: trainer state \"stream.position\" is \"{p}\", not a batch count")
            : null;
        return new StreamPosition(position, Bytes("stream.global_rng"), Bytes("stream.loader_rng"), Bytes("loader_rng"));
    }
}

/// <summary>
/// The training batches as the trainer consumes them: passes over <see cref="Source"/>, each started lazily, and with
/// <c>endless</c> a new pass as soon as one ends (Keras's steps_per_epoch over a repeated dataset). A stream can start in
/// the middle of a pass from a <see cref="StreamPosition"/>: it puts the random states back to those at the start of that
/// pass, starts it (a <see cref="DataLoader"/> skips the batches already seen without fetching them; another source is
/// enumerated past them), then restores the current global state.
/// </summary>
internal sealed class BatchStream(IEnumerable<Tensor[]> source, StreamPosition resume) : IDisposable
{
    IEnumerator<Tensor[]>? pass;
    StreamPosition? pending = resume.Position != null ? resume : null;
    byte[]? passGlobalRng, passLoaderRng;

    public IEnumerable<Tensor[]> Source { get; } = InitLoader(source, resume);

    /// <summary>Batches yielded by the pass in progress.</summary>
    public int Position { get; private set; }

    /// <summary>Batches in one pass, or 0 when the source does not say.</summary>
    public int PassLength => Source is ICollection c ? c.Count : Source is DataLoader<Tensor[], Tensor[]> dl ? dl.Count : 0;

    Generator? LoaderGenerator => (Source as DataLoader<Tensor[], Tensor[]>)?.Generator;

    static IEnumerable<Tensor[]> InitLoader(IEnumerable<Tensor[]> source, StreamPosition resume)
    {
        if (resume.LoaderRng != null && (source as DataLoader<Tensor[], Tensor[]>)?.Generator is { } g) g.SetState(resume.LoaderRng);
        return source;
    }

    /// <summary>The next batch, or false at the end of a pass (with <paramref name="endless"/>, only when a fresh pass is empty).</summary>
    public bool TryNext(bool endless, out Tensor[] batch)
    {
        for (int attempt = 0; attempt < 2; attempt++)
        {
            if (pass == null) Open();
            if (pass!.MoveNext())
            {
                Position++;
                batch = pass.Current;
                return true;
            }
            bool fresh = Position == 0;
            EndPass();
            if (!endless || fresh) break;
        }
        batch = null!;
        return false;
    }

    /// <summary>The position to save: the pass in progress (if any) and the loader's generator now.</summary>
    public StreamPosition Snapshot() => pass != null
        ? new StreamPosition(Position, passGlobalRng, passLoaderRng, LoaderGenerator?.GetState())
        : pending ?? new StreamPosition(null, null, null, LoaderGenerator?.GetState());

    void Open()
    {
        if (pending is { Position: int skip } p)
        {
            var now = DeepSharp.Random.GetState();
            if (p.PassGlobalRng != null) DeepSharp.Random.SetState(p.PassGlobalRng);
            if (p.PassLoaderRng != null) LoaderGenerator?.SetState(p.PassLoaderRng);
            passGlobalRng = p.PassGlobalRng; passLoaderRng = p.PassLoaderRng;
            pass = Begin(skip);
            DeepSharp.Random.SetState(now);
            Position = skip;
            pending = null;
            return;
        }
        passGlobalRng = DeepSharp.Random.GetState();
        passLoaderRng = LoaderGenerator?.GetState();
        pass = Source.GetEnumerator();
        Position = 0;
    }

    IEnumerator<Tensor[]> Begin(int skip)
    {
        if (Source is DataLoader<Tensor[], Tensor[]> loader) return loader.GetEnumerator(Math.Min(skip, loader.Count));
        var enumerator = Source.GetEnumerator();
        for (int i = 0; i < skip && enumerator.MoveNext(); i++) { }
        return enumerator;
    }

    void EndPass()
    {
        pass?.Dispose();
        pass = null;
        Position = 0;
    }

    /// <summary>Stops the pass in progress (its worker threads, for a loader with workers).</summary>
    public void Dispose() => EndPass();
}
