using System.Globalization;
using System.Text;

namespace DeepSharp.Reinforcement;

/// <summary>The return curve of a run as an SVG chart: each episode's return (dots) and the mean of the last 100 (line), against environment steps.</summary>
public static class ReturnCurve
{
    /// <summary>Writes the chart of <paramref name="log"/> to <paramref name="path"/>.</summary>
    public static void WriteSvg(string path, EpisodeLog log, string title)
    {
        const int width = 640, height = 360, left = 60, right = 20, top = 40, bottom = 50;
        var episodes = log.Episodes;
        double maxStep = Math.Max(1, episodes.Count == 0 ? 1 : episodes[^1].Step);
        double lo = episodes.Count == 0 ? 0 : Math.Min(0, episodes.Min(e => e.Return));
        double hi = episodes.Count == 0 ? 1 : Math.Max(lo + 1, episodes.Max(e => e.Return));
        string F(double v) => v.ToString("F1", CultureInfo.InvariantCulture);
        string X(double step) => F(left + step / maxStep * (width - left - right));
        string Y(double r) => F(top + (hi - r) / (hi - lo) * (height - top - bottom));
        var sb = new StringBuilder();
        sb.AppendLine($"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">");
        sb.AppendLine($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{System.Security.SecurityElement.Escape(title)}</text>");
        sb.AppendLine($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        sb.AppendLine($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        for (int k = 0; k <= 4; k++)
        {
            double r = lo + (hi - lo) * k / 4, s = maxStep * k / 4;
            sb.AppendLine($"<text x=\"{left - 5}\" y=\"{Y(r)}\" text-anchor=\"end\">{r.ToString("F0", CultureInfo.InvariantCulture)}</text>");
            sb.AppendLine($"<text x=\"{X(s)}\" y=\"{height - bottom + 15}\" text-anchor=\"middle\">{s.ToString("F0", CultureInfo.InvariantCulture)}</text>");
        }
        sb.AppendLine($"<text x=\"{width / 2}\" y=\"{height - 10}\" text-anchor=\"middle\">environment steps</text>");
        foreach (var (step, ret) in episodes)
            sb.AppendLine($"<circle cx=\"{X(step)}\" cy=\"{Y(ret)}\" r=\"1.5\" fill=\"#9ecae1\"/>");
        var mean = new List<string>();
        double sum = 0;
        for (int i = 0; i < episodes.Count; i++)
        {
            sum += episodes[i].Return;
            if (i >= 100) sum -= episodes[i - 100].Return;
            mean.Add($"{X(episodes[i].Step)},{Y(sum / Math.Min(i + 1, 100))}");
        }
        if (mean.Count > 0) sb.AppendLine($"<polyline fill=\"none\" stroke=\"#d62728\" stroke-width=\"2\" points=\"{string.Join(" ", mean)}\"/>");
        sb.AppendLine($"<text x=\"{left + 10}\" y=\"{top - 5}\" fill=\"#9ecae1\">episode return</text>");
        sb.AppendLine($"<text x=\"{left + 130}\" y=\"{top - 5}\" fill=\"#d62728\">mean of last 100</text>");
        sb.AppendLine("</svg>");
        File.WriteAllText(path, sb.ToString());
    }
}
