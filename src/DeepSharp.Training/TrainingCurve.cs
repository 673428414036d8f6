using System.Globalization;
using System.Text;

namespace DeepSharp.Training;

/// <summary>Draws the per-epoch history of a <see cref="Trainer"/> as an SVG line chart (loss on the left axis, accuracy on the right).</summary>
public static class TrainingCurve
{
    /// <summary>Writes the chart to <paramref name="path"/>.</summary>
    public static void WriteSvg(string path, IReadOnlyList<IReadOnlyDictionary<string, double>> history, string title)
    {
        const int width = 640, height = 360, left = 60, right = 60, top = 40, bottom = 50;
        var series = new[] { ("loss", "#1f77b4", false), ("val_loss", "#ff7f0e", false), ("acc", "#2ca02c", true), ("val_acc", "#d62728", true) };
        double maxLoss = history.SelectMany(h => new[] { h.GetValueOrDefault("loss"), h.GetValueOrDefault("val_loss") }).Where(double.IsFinite).DefaultIfEmpty(1).Max();
        maxLoss = maxLoss <= 0 ? 1 : maxLoss * 1.1;
        int n = history.Count;
        string X(int i) => (left + (n <= 1 ? 0.5 : (double)i / (n - 1)) * (width - left - right)).ToString("F1", CultureInfo.InvariantCulture);
        string Y(double v, bool acc) => (top + (1 - (acc ? v : v / maxLoss)) * (height - top - bottom)).ToString("F1", CultureInfo.InvariantCulture);
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{System.Security.SecurityElement.Escape(title)}</text>");
        sb.AppendLine($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        sb.AppendLine($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        sb.AppendLine($"<line x1=\"{width - right}\" y1=\"{top}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double f = k / 4.0;
            sb.AppendLine($"<text x=\"{left - 5}\" y=\"{Y(f * maxLoss, false)}\" text-anchor=\"end\">{(f * maxLoss).ToString("F2", CultureInfo.InvariantCulture)}</text>");
            sb.AppendLine($"<text x=\"{width - right + 5}\" y=\"{Y(f, true)}\">{f.ToString("F2", CultureInfo.InvariantCulture)}</text>");
        }
        for (int i = 0; i < n; i++) sb.AppendLine($"<text x=\"{X(i)}\" y=\"{height - bottom + 15}\" text-anchor=\"middle\">{i + 1}</text>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"{height - 10}\" text-anchor=\"middle\">epoch</text>");
        int legend = 0;
        foreach (var (key, color, acc) in series)
        {
            var points = history.Select((h, i) => h.TryGetValue(key, out var v) && double.IsFinite(v) ? $"{X(i)},{Y(v, acc)}" : null).Where(s => s != null).ToList();
            if (points.Count == 0) continue;
            sb.AppendLine($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{string.Join(" ", points)}\"/>");
            sb.AppendLine($"<text x=\"{left + 10 + 90 * legend}\" y=\"{top - 5}\" fill=\"{color}\">{key}{(acc ? " (right)" : "")}</text>");
            legend++;
        }
        sb.AppendLine("</svg>");
        File.WriteAllText(path, sb.ToString());
    }
}
