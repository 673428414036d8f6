using System.Diagnostics;
using DeepSharp.Dashboard;
using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Reinforcement;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `--dashboard [--port N] [--host H]` of `deepsharp train` and `deepsharp rl`: serves the live page of the run
/// (DeepSharp.Dashboard, docs/dashboard.md) while it trains, and writes it as RUN/dashboard.html when it ends.
/// </summary>
static class DashboardOption
{
    public const string Flag = "dashboard";
    public static readonly string[] Options = ["port", "host"];
    public const string DefaultPort = "8050";
    public const string Usage = "--dashboard [--port N] [--host H] serves a live page of the run at http://127.0.0.1:8050/ (--port 0: any free port;\n" +
                                "          --host 0.0.0.0 to reach it from other machines) and writes it as DIR/dashboard.html at the end (docs/dashboard.md).";

    /// <summary>Starts the dashboard when --dashboard was given (null otherwise) and prints its address.</summary>
    public static DashboardSession? Start(ArgParser p, string command, string title, IReadOnlyDictionary<string, string> settings, TextWriter output)
    {
        if (!p.Flag(Flag))
        {
            if (p.Has("port") || p.Has("host")) throw new UsageException($"deepsharp {command}: --port and --host go with --dashboard.");
            return null;
        }
        if (p.Flag(DistributedTrain.Flag)) throw new UsageException($"deepsharp {command}: --dashboard does not go with --distributed yet (every rank would serve a page).");
        int port = p.Int("port", int.Parse(DefaultPort), 0, 65535);
        var host = p.OptionalString("host") ?? "127.0.0.1";
        DashboardSession session;
        try { session = DashboardSession.Start(title, settings, host, port); }
        catch (ArgumentException e) { throw new UsageException($"deepsharp {command}: --host: {e.Message}"); }
        catch (IOException e) { throw new UsageException($"deepsharp {command}: the dashboard cannot listen on {host}:{port} ({e.Message}); choose another --port, or --port 0."); }
        output.WriteLine($"dashboard: {session.Url} (live while training; written to the run folder as dashboard.html at the end)");
        return session;
    }

    /// <summary>The trainer's callbacks for the dashboard: progress, and for a classifier a probe on up to 1000 held-out images.</summary>
    public static IEnumerable<ICallback> Callbacks(DashboardSession? session, Module<Tensor, Tensor>? classifier = null, IDataset<Tensor[]>? heldOut = null,
                                                   IReadOnlyList<string>? classes = null)
    {
        if (session == null) return [];
        var probe = classifier != null && heldOut is { Count: > 0 } && classes is { Count: >= 2 } ? ClassifierProbe.FromDataset(classifier, heldOut, classes) : null;
        return [session.Callback(probe)];
    }

    /// <summary>A callback that shows each epoch's FOLDER/samples-epoch-N.png (a generative model's sample grid) in the dashboard.</summary>
    public static IEnumerable<ICallback> SampleGrids(DashboardSession? session, string folder) =>
        session == null ? [] : [new SampleGrid(session.Hub, folder)];

    sealed class SampleGrid(DashboardHub hub, string folder) : ICallback
    {
        public void OnEpochEnd(Trainer trainer, int epoch, IReadOnlyDictionary<string, double> logs)
        {
            var path = Path.Combine(folder, $"samples-epoch-{epoch}.png");
            if (File.Exists(path)) hub.PublishImage("samples", File.ReadAllBytes(path), trainer.GlobalStep, epoch);
        }
    }

    /// <summary>The progress of a reinforcement-learning agent for the dashboard: each finished episode's return, and the loss and ε.</summary>
    public static Action<RlProgress> Reinforcement(DashboardSession? session, Action<RlProgress> print)
    {
        if (session == null) return print;
        int episodes = 0;
        var sincePublished = Stopwatch.StartNew();
        return progress =>
        {
            print(progress);
            if (progress.Episodes > episodes && progress.LastReturn is double last)
            {
                episodes = progress.Episodes;
                session.Hub.PublishEpisode(progress.Step, last, progress.MeanReturn);
            }
            if (sincePublished.Elapsed.TotalSeconds < 0.25) return;
            sincePublished.Restart();
            double used = (double)progress.Step / progress.TotalSteps;
            session.Hub.Publish("batch", w =>
            {
                w.WriteNumber("step", progress.Step); w.WriteNumber("epoch", 0); w.WriteNumber("seconds", progress.Seconds);
                if (used > 0 && used <= 1) w.WriteNumber("left", progress.Seconds * (1 - used) / used); else w.WriteNull("left");
                w.WriteStartObject("logs");
                if (progress.Loss is double loss && double.IsFinite(loss)) w.WriteNumber("loss", loss);
                if (progress.Epsilon is double epsilon) w.WriteNumber("epsilon", epsilon);
                w.WriteEndObject();
            });
        };
    }

    /// <summary>Writes RUN/dashboard.html, stops the server and prints where the report is.</summary>
    public static void Finish(DashboardSession? session, string folder, TextWriter output, string summary = "")
    {
        if (session == null) return;
        output.WriteLine($"dashboard report: {session.Finish(folder, summary)}");
    }
}
