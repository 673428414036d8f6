using System.Net.Http;
using System.Text.Json;

namespace DeepSharp.Cli;

/// <summary>
/// The exit codes of `deepsharp` (docs/cli.md lists them) and the one line that describes each failure. Shell scripts can
/// tell a mistake on the command line (2) from a problem with the data or a file (1), a training run that diverged (3)
/// and a run that ran out of memory (4); 70 is a bug in DeepSharp (sysexits' EX_SOFTWARE).
/// </summary>
public static class ExitCodes
{
    /// <summary>Success.</summary>
    public const int Ok = 0;
    /// <summary>A data, model or file problem: missing or corrupt files, a checksum mismatch, a failed download, an unwritable folder.</summary>
    public const int Failure = 1;
    /// <summary>A mistake on the command line: unknown option, bad value, options that do not go together.</summary>
    public const int Usage = 2;
    /// <summary>Training diverged: the loss or the gradients became NaN or infinite (lower --lr).</summary>
    public const int Diverged = 3;
    /// <summary>Not enough memory for a tensor.</summary>
    public const int OutOfMemory = 4;
    /// <summary>An unexpected error: a bug in DeepSharp (run with --verbose and report the stack trace).</summary>
    public const int Internal = 70;

    /// <summary>The exit code and the one-line message for an exception that ended <paramref name="command"/>.</summary>
    public static (int Code, string Line) Describe(string command, Exception e)
    {
        while (e is AggregateException { InnerExceptions.Count: 1 } or System.Reflection.TargetInvocationException && e.InnerException != null)
            e = e.InnerException!;   // a failure in a loader thread arrives wrapped
        string prefix = $"deepsharp {command}: ";
        string message = OneLine(e.Message);
        return e switch
        {
            UsageException => (Usage, message.StartsWith("deepsharp", StringComparison.Ordinal) ? message : prefix + message),
            _ when IsDivergence(e) => (Diverged, prefix + "training diverged: " + DivergenceLine(e)),
            OutOfMemoryException or InsufficientMemoryException =>
                (OutOfMemory, prefix + $"out of memory: {message} (try a smaller --batch-size or --workers 0)"),
            FileNotFoundException or DirectoryNotFoundException or InvalidDataException or UnauthorizedAccessException
                or HttpRequestException or JsonException or IOException => (Failure, prefix + message),
            _ => (Internal, prefix + $"internal error: {e.GetType().Name}: {message} (run again with --verbose for the stack trace, and please report it)"),
        };
    }

    /// <summary>True for the Trainer's divergence error (a NaN or infinite loss or gradient norm, found before the optimizer step).</summary>
    static bool IsDivergence(Exception e) => e is Training.TrainingDivergedException;

    /// <summary>The Trainer's divergence message without its library advice, with the command-line options that help instead.</summary>
    static string DivergenceLine(Exception e)
    {
        string message = OneLine(e.Message);
        if (message.StartsWith("Trainer: ", StringComparison.Ordinal)) message = message["Trainer: ".Length..];
        int cut = message.IndexOf(". Lower the learning rate", StringComparison.Ordinal);
        if (cut > 0) message = message[..cut];
        return message + ". Lower --lr, or pass --on-nan skip to skip such batches";
    }

    static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
