using System.Globalization;

namespace DeepSharp.Training;

/// <summary>Draws the per-epoch history of a <see cref="Trainer"/> as an SVG line chart (loss on the left axis, accuracy on the right).</summary>
public static class TrainingCurve
{
    /// <summary>Writes the chart to <paramref name="path"/>.</summary>
    public static void WriteSvg(string path, IReadOnlyList<IReadOnlyDictionary<string, double>> history, string title)
    {
        var series = new[] { ("loss", "#1f77b4", false), ("val_loss", "#ff7f0e", false), ("acc", "#2ca02c", true), ("val_acc", "#d62728", true) };
        double maxLoss = history.SelectMany(h => new[] { h.GetValueOrDefault("loss"), h.GetValueOrDefault("val_loss") }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        maxLoss = maxLoss <= 0 ? 1 : maxLoss * 1.1;
        int n = history.Count;
        double Fx(int i) => n <= 1 ? 0.5 : (double)i / (n - 1);
        var chart = new SvgChart(title, right: 60).RightAxis();
        for (int k = 0; k <= 4; k++)
        {
            double f = k / 4.0;
            chart.YTick(f, (f * maxLoss).ToString("F2", CultureInfo.InvariantCulture));
            chart.YTick(f, f.ToString("F2", CultureInfo.InvariantCulture), right: true);
        }
        for (int i = 0; i < n; i++) chart.XTick(Fx(i), (i + 1).ToString(CultureInfo.InvariantCulture));
        chart.XLabel("epoch");
        foreach (var (key, color, acc) in series)
        {
            var points = history.Select((h, i) => (Ok: h.TryGetValue(key, out var v) && double.IsFinite(v), Fx: Fx(i), Fy: acc ? v : v / maxLoss))
                .Where(p => p.Ok).Select(p => (p.Fx, p.Fy)).ToList();
            if (points.Count == 0) continue;
            chart.Polyline(points, color).Legend(acc ? key + " (right)" : key, color);
        }
        chart.Save(path);
    }
}
