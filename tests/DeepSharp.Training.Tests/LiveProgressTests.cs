using System.Text.RegularExpressions;

namespace DeepSharp.Training.Tests;

/// <summary>
/// The live progress display against a fake terminal of a given width (issue 13: every refresh printed a new line and
/// wrapped at 80 columns). What the terminal would show is rebuilt from the bytes: "\r" returns to column 0, ESC[K
/// erases to the end of the line, "\n" starts a new one.
/// </summary>
public class LiveProgressTests
{
    static readonly Regex Ansi = new("\u001b\\[[0-9;]*[A-Za-z]");

    static Dictionary<string, double> Running(double loss) => new() { ["loss"] = loss, ["acc"] = 0.8123 };

    /// <summary>The segments drawn between carriage returns and newlines, without colour codes (what occupies columns).</summary>
    static List<string> VisibleSegments(string written) =>
        Ansi.Replace(written, "").Split(['\r', '\n']).Where(s => s.Length > 0).ToList();

    /// <summary>The lines a terminal keeps after the output: each "\r" overwrites the current line, ESC[K clears its rest.</summary>
    static List<string> Screen(string written)
    {
        var lines = new List<string> { "" };
        foreach (var part in Regex.Split(written, "(\r|\n|\u001b\\[K|\u001b\\[[0-9;]*m)"))
        {
            if (part == "\n") lines.Add("");
            else if (part == "\r" || part == "\u001b[K") { if (part == "\r") lines[^1] = ""; }
            else if (!part.StartsWith('\u001b')) lines[^1] += part;
        }
        return lines.Where(l => l.Length > 0).ToList();
    }

    static string Epoch(int width, int batches = 200, bool color = false, Func<int>? widthNow = null)
    {
        var output = new StringWriter();
        var progress = new LiveProgress(output, widthNow ?? (() => width), color: color);
        progress.EpochStarted(1, 5, batches);
        for (int b = 1; b <= batches; b++)
        {
            progress.BatchFinished(b, Running(2.0 / b), 12345);
            if (b % 50 == 0) Thread.Sleep(110);   // past the 10-per-second redraw limit
        }
        progress.EpochFinished(1, new Dictionary<string, double> { ["loss"] = 0.4321, ["acc"] = 0.8512, ["val_loss"] = 0.3999, ["val_acc"] = 0.861, ["lr"] = 0.001 },
                               TimeSpan.FromSeconds(12.3));
        return output.ToString();
    }

    [Theory]
    [InlineData(60)]
    [InlineData(80)]
    [InlineData(160)]
    public void RedrawsInPlaceWithinTheWidthAndLeavesOneLinePerEpoch(int width)
    {
        var written = Epoch(width);
        Assert.Single(written, c => c == '\n');                              // only the epoch summary ends a line
        Assert.True(written.Count(c => c == '\r') >= 4, "the bar was drawn only once");   // first batch, three timed redraws, the last
        Assert.All(VisibleSegments(written), s => Assert.True(s.Length < width, $"{s.Length} columns at width {width}: '{s}'"));
        var screen = Screen(written);
        var summary = Assert.Single(screen);                                  // no bar left behind
        Assert.StartsWith("epoch 1/5  loss 0.4321", summary);
        Assert.Contains("val_acc 0.8610", summary);
        var bars = VisibleSegments(written).Where(s => s.Contains("200/200")).ToList();
        Assert.NotEmpty(bars);                                                // the last batch is always drawn
        Assert.All(bars, b => Assert.Contains("loss 0.0100", b));            // the loss survives at every width ≥ 60
    }

    [Fact]
    public void DropsTheLeastUsefulFieldsFirstWhenNarrow()
    {
        var wide = VisibleSegments(Epoch(160, batches: 3)).First(s => s.Contains("3/3"));
        Assert.Contains("ex/s", wide);
        Assert.Contains("eta", wide);
        Assert.Contains("acc 0.8123", wide);
        var narrow = VisibleSegments(Epoch(60, batches: 3)).First(s => s.Contains("3/3"));
        Assert.DoesNotContain("ex/s", narrow);                                // throughput goes first
        Assert.StartsWith("epoch 1/5", narrow);
        Assert.Contains("loss 0.6667", narrow);
        var tiny = VisibleSegments(Epoch(30, batches: 3));
        Assert.All(tiny, s => Assert.True(s.Length < 30, $"'{s}' wraps at 30 columns"));
    }

    [Fact]
    public void FollowsAResizedWindowAndKeepsColourOutOfTheCount()
    {
        int width = 160;
        var written = Epoch(0, batches: 200, color: true, widthNow: () => width -= 1);   // narrower at every redraw
        Assert.Contains("\u001b[32m", written);
        Assert.All(VisibleSegments(written), s => Assert.True(s.Length < 160, s));
        Assert.Single(Screen(written));
    }

    [Fact]
    public void AMessageClearsTheBarFirst()
    {
        var output = new StringWriter();
        var progress = new LiveProgress(output, () => 80);
        progress.EpochStarted(1, 2, 10);
        progress.BatchFinished(1, Running(1), 100);
        progress.Message("skipped a batch: the loss is NaN at step 2");
        Assert.Equal(["skipped a batch: the loss is NaN at step 2"], Screen(output.ToString()));
    }

    [Fact]
    public void PlainProgressWritesPeriodicLinesWithoutControlCharacters()
    {
        var output = new StringWriter();
        var progress = new PlainProgress(output);
        progress.EpochStarted(1, 2, 100);
        for (int b = 1; b <= 100; b++) progress.BatchFinished(b, Running(1.0 / b), 100);
        progress.EpochFinished(1, Running(0.5), TimeSpan.FromSeconds(1));
        var text = output.ToString();
        Assert.DoesNotContain('\r', text);
        Assert.DoesNotContain('\u001b', text);
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(10, lines.Length);                                       // at 10%, 20%, ... 90%, and the summary
        Assert.StartsWith("epoch 1/2  batch 10/100", lines[0]);
        Assert.StartsWith("epoch 1/2  loss 0.5000", lines[^1]);
    }
}
