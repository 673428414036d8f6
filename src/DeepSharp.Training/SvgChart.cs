using System.Globalization;
using System.Security;
using System.Text;

namespace DeepSharp.Training;

/// <summary>
/// A small SVG line chart: a white page with a title, a plot frame, ticks, polylines, dots and a legend. Positions inside
/// the plot are fractions (0 = left/bottom, 1 = right/top); the caller maps its data to them, so one chart can carry two
/// y scales (loss on the left, accuracy on the right). Used for the run folder's curves (training history, RL returns,
/// accuracy against sparsity): pictures that open anywhere with no script or network.
/// </summary>
public sealed class SvgChart
{
    private readonly StringBuilder _body = new();
    private readonly int _width, _height, _left, _right, _top, _bottom;
    private double _legendX;

    /// <summary>A chart of <paramref name="width"/>×<paramref name="height"/> pixels whose plot area leaves the given margins.</summary>
    public SvgChart(string title, int width = 640, int height = 360, int left = 60, int right = 20, int top = 40, int bottom = 50)
    {
        if (width <= left + right || height <= top + bottom)
            throw new ArgumentException($"The margins (left {left}, right {right}, top {top}, bottom {bottom}) leave no plot area in {width}×{height}.", nameof(width));
        (_width, _height, _left, _right, _top, _bottom) = (width, height, left, right, top, bottom);
        _legendX = left + 10;
        Append($"<rect width=\"{width}\" height=\"{height}\" fill=\"white\"/>");
        Append($"<text x=\"{width / 2}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">{SecurityElement.Escape(title)}</text>");
        Append($"<line x1=\"{left}\" y1=\"{height - bottom}\" x2=\"{width - right}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
        Append($"<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{height - bottom}\" stroke=\"black\"/>");
    }

    /// <summary>Draws a second y axis on the right edge of the plot.</summary>
    public SvgChart RightAxis()
    {
        Append($"<line x1=\"{_width - _right}\" y1=\"{_top}\" x2=\"{_width - _right}\" y2=\"{_height - _bottom}\" stroke=\"black\"/>");
        return this;
    }

    /// <summary>A label under the x axis at fraction <paramref name="fx"/>.</summary>
    public SvgChart XTick(double fx, string label) =>
        Text(X(fx), _height - _bottom + 15, label, "middle");

    /// <summary>A label beside the left (or right) y axis at fraction <paramref name="fy"/>.</summary>
    public SvgChart YTick(double fy, string label, bool right = false) =>
        right ? Text(_width - _right + 5, Y(fy), label, "start") : Text(_left - 5, Y(fy), label, "end");

    /// <summary>The x axis title, centred under the ticks.</summary>
    public SvgChart XLabel(string label) => Text(_width / 2.0, _height - 10, label, "middle");

    /// <summary>The y axis title, written vertically along the left edge.</summary>
    public SvgChart YLabel(string label)
    {
        double y = _height / 2.0;
        Append($"<text x=\"12\" y=\"{N(y)}\" transform=\"rotate(-90 12 {N(y)})\" text-anchor=\"middle\">{SecurityElement.Escape(label)}</text>");
        return this;
    }

    /// <summary>A line through <paramref name="points"/> (fractions of the plot); nothing when there are none.</summary>
    public SvgChart Polyline(IEnumerable<(double Fx, double Fy)> points, string color, double strokeWidth = 2)
    {
        var coords = string.Join(" ", points.Select(p => $"{N(X(p.Fx))},{N(Y(p.Fy))}"));
        if (coords.Length > 0) Append($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"{N(strokeWidth)}\" points=\"{coords}\"/>");
        return this;
    }

    /// <summary>A dot of radius <paramref name="radius"/> at each point.</summary>
    public SvgChart Dots(IEnumerable<(double Fx, double Fy)> points, string color, double radius)
    {
        foreach (var (fx, fy) in points)
            Append($"<circle cx=\"{N(X(fx))}\" cy=\"{N(Y(fy))}\" r=\"{N(radius)}\" fill=\"{color}\"/>");
        return this;
    }

    /// <summary>A coloured legend entry above the plot, placed after the previous one.</summary>
    public SvgChart Legend(string text, string color)
    {
        Append($"<text x=\"{N(_legendX)}\" y=\"{_top - 5}\" fill=\"{color}\">{SecurityElement.Escape(text)}</text>");
        _legendX += 7 * text.Length + 20;
        return this;
    }

    /// <summary>The whole document.</summary>
    public override string ToString() =>
        $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{_width}\" height=\"{_height}\" font-family=\"sans-serif\" font-size=\"12\">\n{_body}</svg>\n";

    /// <summary>Writes the document to <paramref name="path"/>.</summary>
    public void Save(string path) => File.WriteAllText(path, ToString());

    private double X(double fx) => _left + fx * (_width - _left - _right);

    private double Y(double fy) => _height - _bottom - fy * (_height - _top - _bottom);

    private SvgChart Text(double x, double y, string text, string anchor)
    {
        Append($"<text x=\"{N(x)}\" y=\"{N(y)}\" text-anchor=\"{anchor}\">{SecurityElement.Escape(text)}</text>");
        return this;
    }

    private void Append(string element) => _body.Append(element).Append('\n');

    private static string N(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);
}
