using System.Globalization;
using System.Text.Json;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// Periodic checkpoints and `--resume RUN` for `deepsharp train`: a run folder holds run.json (the command line that
/// started it, with paths made absolute and the thread count fixed), checkpoint.safetensors (the Trainer's resumable
/// checkpoint, <see cref="Trainer.SaveCheckpoint"/>) and history.csv. Resuming rebuilds the run from run.json, loads the
/// checkpoint and trains to the same end, giving the weights of an uninterrupted run (same thread count).
/// </summary>
public static class RunResume
{
    /// <summary>The file that records a run's command line.</summary>
    public const string RunFile = "run.json";
    /// <summary>The checkpoint file of a run folder.</summary>
    public const string CheckpointFile = "checkpoint.safetensors";
    /// <summary>Options that may accompany --resume (they do not change the result).</summary>
    public static readonly string[] ResumeOptions = ["resume", "threads", "workers"];

    /// <summary>When to save: every N optimizer steps or every N epochs; both null: never.</summary>
    public sealed record Every(long? Steps, int? Epochs)
    {
        /// <summary>The callback that saves into <paramref name="folder"/>, or null when checkpoints are off.</summary>
        public ICallback? Callback(string folder) =>
            Steps == null && Epochs == null ? null : new PeriodicCheckpoint(Path.Combine(folder, CheckpointFile), Steps, Epochs);
    }

    /// <summary>`--checkpoint-every N|Nepochs|Nsteps|none` (N alone counts epochs; default: every epoch).</summary>
    public static Every ParseEvery(ArgParser p)
    {
        var text = (p.OptionalString("checkpoint-every") ?? "1").Trim().ToLowerInvariant();
        if (text is "none" or "never") return new Every(null, null);
        int digits = 0;
        while (digits < text.Length && char.IsAsciiDigit(text[digits])) digits++;
        var unit = text[digits..];
        if (digits == 0 || !long.TryParse(text[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out long n) || n < 1 || n > int.MaxValue
            || unit is not ("" or "epoch" or "epochs" or "step" or "steps"))
            throw new UsageException($"deepsharp train: --checkpoint-every must be N (epochs), Nepochs, Nsteps or none, with N at least 1 (got '{text}').");
        return unit.StartsWith("step", StringComparison.Ordinal) ? new Every(n, null) : new Every(null, (int)n);
    }

    /// <summary>
    /// Writes run.json into <paramref name="folder"/>: <paramref name="args"/> with --data, --pretrained and folder:PATH
    /// made absolute (so the run resumes from anywhere) and the thread count the run uses (once: a --threads given in
    /// <paramref name="args"/> is replaced by it).
    /// </summary>
    public static void WriteRunFile(string folder, string[] args, int threads)
    {
        var stored = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            int eq = a.IndexOf('=');
            string name = eq > 0 ? a[..eq] : a;
            if (name == "--threads")
            {
                // the count the run resolved is appended below; a given one was recorded twice
                if (eq < 0 && i + 1 < args.Length) i++;
                continue;
            }
            bool takesValue = name is "--data" or "--pretrained" or "--dataset" or "--out";
            if (!takesValue || (eq < 0 && i + 1 >= args.Length)) { stored.Add(a); continue; }
            string value = eq > 0 ? a[(eq + 1)..] : args[++i];
            if (name == "--out") continue;   // the run folder is where run.json lies
            stored.Add(name);
            stored.Add(name != "--dataset" ? Path.GetFullPath(value)
                       : FolderImages.IsFolder(value) ? "folder:" + Path.GetFullPath(value[7..])
                       : value.StartsWith("text:", StringComparison.Ordinal) && value.Length > 5 ? "text:" + Path.GetFullPath(value[5..]) : value);
        }
        stored.AddRange(["--threads", threads.ToString(CultureInfo.InvariantCulture)]);
        File.WriteAllText(Path.Combine(folder, RunFile), JsonSerializer.Serialize(new RunRecord("train", [.. stored]), CliJsonContext.Default.RunRecord) + "\n");
    }

    /// <summary>The command line recorded in <paramref name="folder"/>, then the options given with --resume (they win).</summary>
    public static string[] ReadRunFile(string folder, ArgParser resumeArgs)
    {
        if (!Directory.Exists(folder)) throw new DirectoryNotFoundException($"--resume {folder}: no such run folder");
        var runFile = Path.Combine(folder, RunFile);
        if (!File.Exists(runFile))
            throw new FileNotFoundException($"--resume {folder}: the folder has no {RunFile}, so it was not started by 'deepsharp train'", runFile);
        if (!File.Exists(Path.Combine(folder, CheckpointFile)))
            throw new FileNotFoundException($"--resume {folder}: the run saved no {CheckpointFile} yet (it stopped before its first checkpoint, or ran with " +
                                            "--checkpoint-every none); start it again", Path.Combine(folder, CheckpointFile));
        var record = JsonSerializer.Deserialize(File.ReadAllText(runFile), CliJsonContext.Default.RunRecord)
                     ?? throw new InvalidDataException($"{runFile}: empty");
        var extra = new List<string>();
        foreach (var name in ResumeOptions.Skip(1))
            if (resumeArgs.OptionalString(name) is { } value) extra.AddRange(["--" + name, value]);
        return [.. record.Args, .. extra];
    }

    /// <summary>
    /// After <see cref="Trainer.LoadCheckpoint"/>: keeps the rows of history.csv for the epochs the checkpoint completed
    /// (rows of later epochs were written after it and will be written again), rewrites the file with them and puts them
    /// in <see cref="Trainer.History"/>, so the log and the curve cover the whole run.
    /// </summary>
    public static void RestoreHistory(Trainer trainer, string csvPath)
    {
        if (!File.Exists(csvPath)) return;
        var lines = File.ReadAllLines(csvPath);
        var kept = new List<string>();
        if (lines.Length > 0 && trainer.Epoch > 0)
        {
            var columns = lines[0].Split(',');
            foreach (var line in lines.Skip(1))
            {
                var cells = line.Split(',');
                if (cells.Length != columns.Length || !int.TryParse(cells[0], CultureInfo.InvariantCulture, out int epoch) || epoch > trainer.Epoch) continue;
                var row = new Dictionary<string, double>();
                for (int c = 1; c < cells.Length; c++)
                    row[columns[c]] = double.TryParse(cells[c], NumberStyles.Float, CultureInfo.InvariantCulture, out double v) ? v : double.NaN;
                trainer.History.Add(row);
                kept.Add(line);
            }
        }
        if (kept.Count == 0) File.Delete(csvPath);
        else File.WriteAllLines(csvPath, [lines[0], .. kept]);
    }

    internal sealed record RunRecord(string Command, string[] Args);
}
