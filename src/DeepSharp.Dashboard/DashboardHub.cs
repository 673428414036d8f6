using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace DeepSharp.Dashboard;

/// <summary>
/// The events of one training run, as JSON objects with a "type" ("run", "batch", "epoch", "grads", "confusion",
/// "samples", "grid", "episode", "note", "end"): kept in order for a page that connects late and for the static report,
/// and sent to every connected page as they happen (TensorBoard's event file and its live reload, in one process).
/// Thread-safe: the training thread publishes while the web server's threads read.
/// </summary>
public sealed partial class DashboardHub
{
    readonly object gate = new();
    readonly List<string> events = [];
    readonly List<Channel<string>> subscribers = [];

    /// <summary>True once <see cref="Complete"/> was called: no more events.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The number of events kept so far.</summary>
    public int Count { get { lock (gate) return events.Count; } }

    /// <summary>
    /// Publishes an event of <paramref name="type"/> whose other properties <paramref name="write"/> writes (into the open
    /// JSON object). Events published after <see cref="Complete"/> are dropped.
    /// </summary>
    public void Publish(string type, Action<Utf8JsonWriter> write)
    {
        ArgumentException.ThrowIfNullOrEmpty(type); ArgumentNullException.ThrowIfNull(write);
        var json = Json(type, write);
        lock (gate)
        {
            if (IsComplete) return;
            events.Add(json);
            foreach (var s in subscribers) s.Writer.TryWrite(json);
        }
    }

    /// <summary>Ends the run: publishes an "end" event with <paramref name="summary"/> and closes every live stream.</summary>
    public void Complete(string summary = "")
    {
        var json = Json("end", w => w.WriteString("summary", summary));
        lock (gate)
        {
            if (IsComplete) return;
            events.Add(json);
            IsComplete = true;
            foreach (var s in subscribers) { s.Writer.TryWrite(json); s.Writer.TryComplete(); }
            subscribers.Clear();
        }
    }

    /// <summary>Every event so far, in order, as JSON text.</summary>
    public IReadOnlyList<string> Snapshot() { lock (gate) return events.ToArray(); }

    /// <summary>Every event so far as one JSON array (what the static report inlines).</summary>
    public string SnapshotArray() => "[" + string.Join(",", Snapshot()) + "]";

    /// <summary>
    /// A stream of events for one page: every event so far, then each new one as it is published, ending after "end".
    /// Dispose the subscription when the page goes away.
    /// </summary>
    internal Subscription Subscribe()
    {
        var channel = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
        lock (gate)
        {
            foreach (var e in events) channel.Writer.TryWrite(e);
            if (IsComplete) channel.Writer.TryComplete();
            else subscribers.Add(channel);
        }
        return new Subscription(this, channel);
    }

    internal sealed class Subscription(DashboardHub hub, Channel<string> channel) : IDisposable
    {
        public ChannelReader<string> Reader => channel.Reader;
        public void Dispose() { lock (hub.gate) hub.subscribers.Remove(channel); }
    }

    static string Json(string type, Action<Utf8JsonWriter> write)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            write(w);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }
}
