using System.Globalization;
using DeepSharp.Training;

namespace DeepSharp.Reinforcement;

/// <summary>The return curve of a run as an SVG chart: each episode's return (dots) and the mean of the last 100 (line), against environment steps.</summary>
public static class ReturnCurve
{
    /// <summary>Writes the chart of <paramref name="log"/> to <paramref name="path"/>.</summary>
    public static void WriteSvg(string path, EpisodeLog log, string title)
    {
        var episodes = log.Episodes;
        double maxStep = Math.Max(1, episodes.Count == 0 ? 1 : episodes[^1].Step);
        double lo = episodes.Count == 0 ? 0 : Math.Min(0, episodes.Min(e => e.Return));
        double hi = episodes.Count == 0 ? 1 : Math.Max(lo + 1, episodes.Max(e => e.Return));
        double Fx(double step) => step / maxStep;
        double Fy(double r) => (r - lo) / (hi - lo);
        var chart = new SvgChart(title);
        for (int k = 0; k <= 4; k++)
        {
            chart.YTick(k / 4.0, (lo + (hi - lo) * k / 4).ToString("F0", CultureInfo.InvariantCulture));
            chart.XTick(k / 4.0, (maxStep * k / 4).ToString("F0", CultureInfo.InvariantCulture));
        }
        chart.XLabel("environment steps");
        chart.Dots(episodes.Select(e => (Fx(e.Step), Fy(e.Return))), "#9ecae1", 1.5);
        var mean = new List<(double, double)>();
        double sum = 0;
        for (int i = 0; i < episodes.Count; i++)
        {
            sum += episodes[i].Return;
            if (i >= 100) sum -= episodes[i - 100].Return;
            mean.Add((Fx(episodes[i].Step), Fy(sum / Math.Min(i + 1, 100))));
        }
        chart.Polyline(mean, "#d62728").Legend("episode return", "#9ecae1").Legend("mean of last 100", "#d62728");
        chart.Save(path);
    }
}
