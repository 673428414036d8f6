using System.Xml.Linq;
using DeepSharp.Training;
using Xunit;

namespace DeepSharp.Training.Tests;

public class SvgChartTests
{
    [Fact]
    public void FractionsMapIntoThePlotAreaWithTheBottomLeftAtZero()
    {
        // 200×100 page, margins left 20, right 10, top 10, bottom 30: the plot is x 20..190, y 10..70
        var svg = new SvgChart("t", width: 200, height: 100, left: 20, right: 10, top: 10, bottom: 30)
            .Polyline([(0, 0), (1, 1), (0.5, 0.5)], "red").ToString();
        var line = XDocument.Parse(svg).Descendants().Single(e => e.Name.LocalName == "polyline");
        Assert.Equal("20,70 190,10 105,40", line.Attribute("points")!.Value);
    }

    [Fact]
    public void TheDocumentIsWellFormedAndEscapesText()
    {
        var svg = new SvgChart("loss < 1 & acc > 0").RightAxis().XTick(0, "a<b").YTick(1, "1", right: true)
            .XLabel("epoch").YLabel("value").Legend("x&y", "#000").Dots([(0.5, 0.5)], "blue", 2).ToString();
        var doc = XDocument.Parse(svg);
        var texts = doc.Descendants().Where(e => e.Name.LocalName == "text").Select(e => e.Value).ToList();
        Assert.Contains("loss < 1 & acc > 0", texts);
        Assert.Contains("a<b", texts);
        Assert.Contains("x&y", texts);
        Assert.Single(doc.Descendants(), e => e.Name.LocalName == "circle");
        Assert.Equal(3, doc.Descendants().Count(e => e.Name.LocalName == "line"));
    }

    [Fact]
    public void AnEmptySeriesDrawsNoLine()
    {
        var svg = new SvgChart("t").Polyline([], "red").ToString();
        Assert.DoesNotContain("polyline", svg);
    }

    [Fact]
    public void MarginsThatLeaveNoPlotAreaAreRefused()
    {
        var e = Assert.Throws<ArgumentException>(() => new SvgChart("t", width: 50, left: 40, right: 20));
        Assert.Contains("50", e.Message);
    }

    [Fact]
    public void TrainingCurveDrawsEverySeriesItHas()
    {
        var path = Path.Combine(Path.GetTempPath(), $"curve-{Guid.NewGuid():N}.svg");
        var history = new List<IReadOnlyDictionary<string, double>>
        {
            new Dictionary<string, double> { ["loss"] = 2, ["acc"] = 0.5, ["val_loss"] = 2.5 },
            new Dictionary<string, double> { ["loss"] = 1, ["acc"] = 0.8, ["val_loss"] = double.NaN },
        };
        TrainingCurve.WriteSvg(path, history, "mlp on fashion-mnist");
        var doc = XDocument.Load(path);
        File.Delete(path);
        var lines = doc.Descendants().Where(e => e.Name.LocalName == "polyline").ToList();
        Assert.Equal(3, lines.Count); // loss, val_loss (one finite point), acc
        // loss 2 is the top of a 2.75 scale at 1/1.1 of the height: y = 310 - 270 * (2 / 2.75)
        Assert.StartsWith("60,113.6 ", lines[0].Attribute("points")!.Value);
    }
}
