using System.Reflection;
using System.Text;

namespace DeepSharp.Dashboard;

/// <summary>
/// The dashboard page: Assets/dashboard.html with its script, its style and uPlot inlined from the assembly's resources,
/// so the served page and the static report are one self-contained file (no network, no other request).
/// </summary>
public static class DashboardPage
{
    /// <summary>
    /// The page's HTML. Without <paramref name="eventsJson"/> it is the live page, which reads /events (server-sent events);
    /// with it (a JSON array of events) it is a static report that draws those events and connects to nothing.
    /// </summary>
    public static string Html(string? eventsJson = null)
    {
        var data = eventsJson == null ? "null" : eventsJson.Replace("</", "<\\/", StringComparison.Ordinal);
        return Resource("dashboard.html")
            .Replace("/*UPLOT_CSS*/", Resource("uPlot.min.css"), StringComparison.Ordinal)
            .Replace("/*DASHBOARD_CSS*/", Resource("dashboard.css"), StringComparison.Ordinal)
            .Replace("/*UPLOT_JS*/", Resource("uPlot.iife.min.js"), StringComparison.Ordinal)
            .Replace("/*DASHBOARD_JS*/", Resource("dashboard.js"), StringComparison.Ordinal)
            .Replace("/*DASHBOARD_EVENTS*/null", data, StringComparison.Ordinal);
    }

    /// <summary>
    /// Writes the static report of <paramref name="hub"/>'s events to <paramref name="path"/> (e.g. RUN/dashboard.html):
    /// the same page, every event inlined, opened from disk without a server or a network.
    /// </summary>
    public static void WriteReport(string path, DashboardHub hub)
    {
        ArgumentException.ThrowIfNullOrEmpty(path); ArgumentNullException.ThrowIfNull(hub);
        File.WriteAllText(path, Html(hub.SnapshotArray()), new UTF8Encoding(false));
    }

    static string Resource(string name)
    {
        using var stream = typeof(DashboardPage).Assembly.GetManifestResourceStream(name)
            ?? throw new InvalidOperationException($"DashboardPage: the resource '{name}' is missing from {typeof(DashboardPage).Assembly.GetName().Name}");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
