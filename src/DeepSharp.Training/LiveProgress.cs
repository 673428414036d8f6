using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace DeepSharp.Training;

/// <summary>
/// The live progress display for a terminal (Keras's progress bar, Lightning's TQDMProgressBar): one line redrawn in
/// place ("\r", the line, then ANSI erase-to-end-of-line) at most ten times a second, always shorter than the terminal
/// is wide so it never wraps, and one summary line per epoch left behind. What does not fit the width is dropped, least
/// useful first (throughput, ETA, then the secondary metrics); the bar shrinks from 30 to 10 cells before that. Any width
/// of 60 columns or more shows the epoch, the bar, the batch counter and the loss.
/// </summary>
public sealed class LiveProgress : IProgressReporter
{
    const int MaxBar = 30, MinBar = 10, RedrawMilliseconds = 100;
    const string EraseToEnd = "\u001b[K";

    readonly TextWriter output;
    readonly Func<int> width;
    readonly bool color, unicode;
    readonly Stopwatch clock = new();
    int epoch, epochs, batches;
    long lastDraw = -RedrawMilliseconds;
    bool lineOnScreen;

    /// <summary>The display that last drew a live line (for <see cref="Progress.EndLiveLine"/>).</summary>
    internal static LiveProgress? Active { get; private set; }

    /// <summary>A live display on the console, as wide as the terminal.</summary>
    public LiveProgress() : this(Console.Out, TerminalWidth, color: Environment.GetEnvironmentVariable("NO_COLOR") == null,
                                 unicode: Console.OutputEncoding.CodePage == Encoding.UTF8.CodePage)
    {
    }

    /// <summary>
    /// A live display on <paramref name="output"/> (a terminal) whose width in columns <paramref name="width"/> returns,
    /// read at every redraw so a resized window is followed. <paramref name="color"/> colours the bar (ANSI green);
    /// <paramref name="unicode"/> draws it with box-drawing characters instead of '#' and '-'.
    /// </summary>
    public LiveProgress(TextWriter output, Func<int> width, bool color = false, bool unicode = true)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(width);
        this.output = output; this.width = width; this.color = color; this.unicode = unicode;
    }

    /// <summary>The console's width in columns: the terminal's, else $COLUMNS, else 80.</summary>
    public static int TerminalWidth()
    {
        try { if (Console.WindowWidth > 0) return Console.WindowWidth; }
        catch (IOException) { }
        catch (PlatformNotSupportedException) { }
        return int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out int columns) && columns > 0 ? columns : 80;
    }

    /// <inheritdoc/>
    public void EpochStarted(int epoch, int epochs, int batches)
    {
        this.epoch = epoch; this.epochs = epochs; this.batches = batches;
        clock.Restart(); lastDraw = -RedrawMilliseconds;   // the first batch draws at once
    }

    /// <inheritdoc/>
    public void BatchFinished(int batch, IReadOnlyDictionary<string, double> running, double examplesPerSecond)
    {
        long now = clock.ElapsedMilliseconds;
        if (now - lastDraw < RedrawMilliseconds && batch != batches) return;
        lastDraw = now;
        double eta = batch == 0 || batches == 0 ? 0 : clock.Elapsed.TotalSeconds / batch * (batches - batch);
        var pieces = new List<Piece> { new($"epoch {Progress.Epoch(epoch, epochs)}", 100), Piece.Bar, new(batches > 0 ? $"{batch}/{batches}" : $"{batch}", 95) };
        foreach (var (name, value) in running) pieces.Add(new($"{name} {Fixed(value, 4)}", name == "loss" ? 90 : 50));
        pieces.Add(new($"{examplesPerSecond:F0} ex/s", 20));
        if (batches > 0) pieces.Add(new($"eta {eta:F0}s", 30));
        Draw(Layout(pieces, Columns, batches == 0 ? 0 : (double)batch / batches));
    }

    /// <inheritdoc/>
    public void EpochFinished(int epoch, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed)
    {
        ClearLine();
        var pieces = new List<Piece> { new($"epoch {Progress.Epoch(epoch, epochs)}", 100) };
        foreach (var (name, value) in metrics)
            pieces.Add(new($"{name} {Fixed(value, 4)}", name switch { "loss" => 90, "val_acc" => 85, "val_loss" => 80, "lr" => 30, _ => 60 }));
        pieces.Add(new($"({elapsed.TotalSeconds.ToString("F1", CultureInfo.InvariantCulture)}s)", 40));
        output.WriteLine(Layout(pieces, Columns, 0));
        output.Flush();
    }

    /// <inheritdoc/>
    public void Message(string text)
    {
        ClearLine();
        output.WriteLine(text);
        output.Flush();
    }

    /// <summary>Erases the live line if one is drawn, leaving the cursor at the start of the empty line.</summary>
    public void ClearLine()
    {
        if (!lineOnScreen) return;
        output.Write("\r" + EraseToEnd);
        output.Flush();
        lineOnScreen = false;
    }

    int Columns => Math.Max(20, width());

    void Draw(string line)
    {
        output.Write("\r" + line + EraseToEnd);
        output.Flush();
        lineOnScreen = true;
        Active = this;
    }

    /// <summary>A field of the line; the bar (<see cref="Bar"/>) stretches, the others are dropped by ascending priority.</summary>
    readonly record struct Piece(string Text, int Priority)
    {
        public static readonly Piece Bar = new("", int.MaxValue);
        public bool IsBar => Text.Length == 0;
    }

    /// <summary>
    /// Joins the pieces with two spaces (one when that is what fits) into at most <paramref name="columns"/> − 1 visible
    /// characters, dropping the lowest-priority pieces first; the bar keeps at least <see cref="MinBar"/> cells or goes.
    /// </summary>
    string Layout(List<Piece> pieces, int columns, double fraction)
    {
        int room = columns - 1;   // the last column would wrap in some terminals
        pieces = [.. pieces];
        while (true)
        {
            foreach (var separator in new[] { "  ", " " })
            {
                var fixedPieces = pieces.Where(p => !p.IsBar).ToList();
                int used = fixedPieces.Sum(p => p.Text.Length) + separator.Length * (pieces.Count - 1);
                bool hasBar = pieces.Count > fixedPieces.Count;
                int barWidth = hasBar ? Math.Min(MaxBar, room - used) : 0;
                if (used <= room && (!hasBar || barWidth >= MinBar))
                    return string.Join(separator, pieces.Select(p => p.IsBar ? BarText(barWidth, fraction) : p.Text));
            }
            var droppable = pieces.Where(p => !p.IsBar && p.Priority < 100).ToList();
            if (droppable.Count > 0) pieces.Remove(droppable.MinBy(p => p.Priority));
            else if (pieces.Any(p => p.IsBar)) pieces.RemoveAll(p => p.IsBar);
            else
            {
                var text = string.Join(" ", pieces.Select(p => p.Text));
                return text.Length <= room ? text : text[..Math.Max(0, room)];
            }
        }
    }

    string BarText(int cells, double fraction)
    {
        int filled = (int)Math.Round(Math.Clamp(fraction, 0, 1) * cells);
        string done = new(unicode ? '━' : '#', filled), left = new(unicode ? '─' : '-', cells - filled);
        return color ? $"\u001b[32m{done}\u001b[0m{left}" : done + left;
    }

    static string Fixed(double value, int digits) => value.ToString("F" + digits, CultureInfo.InvariantCulture);
}
