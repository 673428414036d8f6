using System.Diagnostics;
using System.IO.Compression;

namespace DeepSharp.Graphs.Datasets;

/// <summary>One package stanza of an apt Packages index: the fields the package graph uses.</summary>
public sealed record AptPackage(string Name, string Section, string Description, string[] Dependencies, string[] Provides);

/// <summary>Reads apt's package indexes (/var/lib/apt/lists/*_Packages, plain, .gz, or .lz4/.xz through apt-helper).</summary>
public static class AptLists
{
    /// <summary>The Packages index files in <paramref name="listsDir"/>, sorted by name.</summary>
    public static string[] IndexFiles(string listsDir)
        => Directory.Exists(listsDir)
            ? Directory.GetFiles(listsDir).Where(f => Path.GetFileName(f) is var n && (n.EndsWith("_Packages") || n.Contains("_Packages.")) && !n.Contains(".diff")).Order().ToArray()
            : [];

    /// <summary>The text of an index: read directly, gunzipped, or decompressed by apt's own apt-helper cat-file.</summary>
    public static TextReader Open(string path)
    {
        if (path.EndsWith(".gz")) return new StreamReader(new GZipStream(File.OpenRead(path), CompressionMode.Decompress));
        if (!path.EndsWith(".lz4") && !path.EndsWith(".xz") && !path.EndsWith(".zst")) return new StreamReader(path);
        const string helper = "/usr/lib/apt/apt-helper";
        if (!File.Exists(helper)) throw new FileNotFoundException($"{path} is compressed and {helper} (package apt) is not there to decompress it");
        var info = new ProcessStartInfo(helper, ["cat-file", path]) { RedirectStandardOutput = true, UseShellExecute = false };
        var process = Process.Start(info) ?? throw new IOException($"could not start {helper}");
        var text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new IOException($"{helper} cat-file {path} failed with exit code {process.ExitCode}");
        return new StringReader(text);
    }

    /// <summary>Every package stanza of the index (Package, Section, Description, Depends + Pre-Depends + Recommends, Provides).</summary>
    public static IEnumerable<AptPackage> Read(TextReader reader)
    {
        var fields = new Dictionary<string, string>();
        string? line, last = null;
        while (true)
        {
            line = reader.ReadLine();
            if (string.IsNullOrEmpty(line))
            {
                if (fields.TryGetValue("Package", out var name))
                    yield return new AptPackage(name, fields.GetValueOrDefault("Section", "unknown"), fields.GetValueOrDefault("Description", ""),
                        [.. Names(fields.GetValueOrDefault("Pre-Depends")), .. Names(fields.GetValueOrDefault("Depends")), .. Names(fields.GetValueOrDefault("Recommends"))],
                        Names(fields.GetValueOrDefault("Provides")));
                fields.Clear();
                if (line == null) yield break;
                continue;
            }
            if (line[0] == ' ' || line[0] == '\t') { if (last == "Description") continue; continue; }
            int colon = line.IndexOf(':');
            if (colon <= 0) continue;
            last = line[..colon];
            fields[last] = line[(colon + 1)..].Trim();
        }
    }

    /// <summary>Package names of a relation field: the first alternative of each item, without versions or architectures.</summary>
    static string[] Names(string? relation)
    {
        if (string.IsNullOrWhiteSpace(relation)) return [];
        return relation.Split(',').Select(item =>
        {
            var first = item.Split('|')[0].Trim();
            int cut = first.IndexOfAny([' ', '(', ':', '[', '<']);
            return cut < 0 ? first : first[..cut];
        }).Where(n => n.Length > 0).ToArray();
    }
}
