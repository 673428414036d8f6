namespace DeepSharp.Dashboard;

/// <summary>
/// A dashboard for one run, as the command line uses it: a hub, its server and a callback for the trainer; at the end
/// <see cref="Finish"/> writes the static report into the run folder and stops the server.
/// </summary>
public sealed class DashboardSession : IDisposable
{
    DashboardSession(DashboardHub hub, DashboardServer server) { Hub = hub; Server = server; }

    /// <summary>The run's events.</summary>
    public DashboardHub Hub { get; }
    /// <summary>The server of the live page.</summary>
    public DashboardServer Server { get; }
    /// <summary>The page's address.</summary>
    public Uri Url => Server.Url;

    /// <summary>Starts the server on <paramref name="host"/>:<paramref name="port"/> and publishes the run's title and settings.</summary>
    public static DashboardSession Start(string title, IReadOnlyDictionary<string, string>? settings = null, string host = "127.0.0.1", int port = 0)
    {
        var hub = new DashboardHub();
        hub.PublishRun(title, settings);
        return new DashboardSession(hub, DashboardServer.Start(hub, host, port));
    }

    /// <summary>The callback that publishes the trainer's progress here (with a classifier's probe when given).</summary>
    public DashboardCallback Callback(ClassifierProbe? probe = null) => new(Hub, probe);

    /// <summary>
    /// Ends the run: publishes "end" with <paramref name="summary"/>, writes <paramref name="folder"/>/dashboard.html (the
    /// static report) and stops the server. Returns the report's path.
    /// </summary>
    public string Finish(string folder, string summary = "")
    {
        Hub.Complete(summary);
        var path = Path.Combine(folder, "dashboard.html");
        DashboardPage.WriteReport(path, Hub);
        Server.Dispose();
        return path;
    }

    /// <summary>Stops the server (without a report when <see cref="Finish"/> was not called).</summary>
    public void Dispose() { Hub.Complete(); Server.Dispose(); }
}
