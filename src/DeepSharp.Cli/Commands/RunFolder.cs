namespace DeepSharp.Cli.Commands;

/// <summary>
/// The folder a training run writes into (`--out`). A folder that already holds a run is never overwritten: the new run
/// goes into the first free numbered sub-folder, DIR/version_2, DIR/version_3, ... (Lightning numbers its runs
/// lightning_logs/version_N the same way), and the command says so. `--out` naming a file is a usage error.
/// </summary>
public static class RunFolder
{
    /// <summary>The files whose presence marks a folder as holding a run.</summary>
    public static readonly string[] RunFiles = ["model.safetensors", "history.csv", "checkpoint.safetensors", "tokenizer.json", "policy.safetensors"];

    /// <summary>True when <paramref name="folder"/> holds the files of a run.</summary>
    public static bool HoldsRun(string folder) => RunFiles.Any(f => File.Exists(Path.Combine(folder, f)));

    /// <summary>
    /// Creates and returns the folder for a new run asked to write into <paramref name="outDir"/>: the folder itself when
    /// it is new or holds no run, else the first DIR/version_N (N ≥ 2) that holds none, announced on <paramref name="output"/>.
    /// </summary>
    public static string Create(string outDir, TextWriter output)
    {
        CheckNotAFile(outDir);
        string folder = outDir;
        if (HoldsRun(outDir))
        {
            int n = 2;
            while (HoldsRun(Path.Combine(outDir, $"version_{n}"))) n++;
            folder = Path.Combine(outDir, $"version_{n}");
            output.WriteLine($"{outDir} holds an earlier run, kept as it is; this run writes to {folder}");
        }
        try { Directory.CreateDirectory(folder); }
        catch (IOException e) { throw new UsageException($"deepsharp train: cannot create the --out folder {folder}: {e.Message}"); }
        return folder;
    }

    /// <summary>`--out` must name a folder (to be created or existing), not a file.</summary>
    public static void CheckNotAFile(string outDir)
    {
        if (File.Exists(outDir))
            throw new UsageException($"deepsharp train: --out {outDir} is a file; give a folder for the run's files (it is created if missing).");
        for (var parent = Path.GetDirectoryName(Path.GetFullPath(outDir)); !string.IsNullOrEmpty(parent); parent = Path.GetDirectoryName(parent))
            if (File.Exists(parent))
                throw new UsageException($"deepsharp train: --out {outDir} is inside {parent}, which is a file; give a folder for the run's files.");
    }
}
