using System.Text;

namespace DeepSharp.Text.Datasets;

/// <summary>
/// The corpus of Debian's <c>fortunes</c> package (about 2.8 MB of quotations, jokes and poems in some 40 category
/// files under /usr/share/games/fortunes): a small, real, offline text corpus for tokenizers and language models.
/// Each category is a plain-text file whose entries are separated by lines holding a single <c>%</c>; the
/// <c>.dat</c> index files and the <c>.u8</c> links beside them are skipped. Install it with
/// <c>sudo apt-get install fortunes</c>. (PyTorch has no such helper; it plays the part of a torchtext dataset.)
/// </summary>
public static class Fortunes
{
    /// <summary>Where Debian installs the fortune files: /usr/share/games/fortunes.</summary>
    public const string DefaultDirectory = "/usr/share/games/fortunes";

    /// <summary>
    /// The paths of the fortune files in <paramref name="directory"/> (default <see cref="DefaultDirectory"/>), sorted by
    /// name. Throws DirectoryNotFoundException, saying how to install the package, when there are none.
    /// </summary>
    public static IReadOnlyList<string> Files(string? directory = null)
    {
        directory ??= DefaultDirectory;
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"Fortunes: the fortunes corpus is not installed: '{directory}' does not exist. " +
                                                 "Install Debian's fortunes package with `sudo apt-get install fortunes` " +
                                                 "(or pass the directory that holds the fortune files).");
        var files = Directory.EnumerateFiles(directory)
            .Where(IsFortuneFile)
            .OrderBy(Path.GetFileName, StringComparer.Ordinal)
            .ToList();
        if (files.Count == 0)
            throw new DirectoryNotFoundException($"Fortunes: '{directory}' holds no fortune files. " +
                                                 "Install Debian's fortunes package with `sudo apt-get install fortunes`.");
        return files;
    }

    /// <summary>The category names (file names) available in <paramref name="directory"/>, e.g. "computers", "science".</summary>
    public static IReadOnlyList<string> Categories(string? directory = null) => [.. Files(directory).Select(f => Path.GetFileName(f)!)];

    /// <summary>
    /// Every entry of the corpus, file by file in name order and in file order within a file. <paramref name="categories"/>
    /// restricts it to some files (by name); <paramref name="removeOverstrike"/> turns the old terminal bold/underline
    /// sequences ("_\bX", "X\bX") into the plain character.
    /// </summary>
    public static List<string> Load(string? directory = null, IEnumerable<string>? categories = null, bool removeOverstrike = true)
    {
        var files = Files(directory);
        if (categories != null)
        {
            var byName = files.ToDictionary(f => Path.GetFileName(f)!, StringComparer.Ordinal);
            var chosen = new List<string>();
            foreach (var category in categories)
            {
                if (category is null || !byName.TryGetValue(category, out var file))
                    throw new ArgumentException($"Fortunes: there is no category '{category}' in '{directory ?? DefaultDirectory}' " +
                                                $"(available: {string.Join(", ", byName.Keys)})", nameof(categories));
                chosen.Add(file);
            }
            files = chosen;
        }
        var entries = new List<string>();
        foreach (var file in files) entries.AddRange(Parse(File.ReadAllText(file, Encoding.UTF8), removeOverstrike));
        return entries;
    }

    /// <summary>The whole corpus as one text: the entries joined by <paramref name="separator"/> (a blank line by default),
    /// ready for a tokenizer or a <see cref="TextWindowDataset"/>.</summary>
    public static string LoadText(string? directory = null, IEnumerable<string>? categories = null, string separator = "\n\n", bool removeOverstrike = true)
    {
        ArgumentNullException.ThrowIfNull(separator);
        return string.Join(separator, Load(directory, categories, removeOverstrike));
    }

    /// <summary>The entries of one fortune file's text: separated by lines that hold only "%", without their final line
    /// break; empty entries are dropped.</summary>
    public static List<string> Parse(string content, bool removeOverstrike = true)
    {
        ArgumentNullException.ThrowIfNull(content);
        var entries = new List<string>();
        var entry = new StringBuilder();
        void Flush()
        {
            var text = entry.ToString().TrimEnd('\n', '\r');
            if (!string.IsNullOrWhiteSpace(text)) entries.Add(removeOverstrike ? RemoveOverstrike(text) : text);
            entry.Clear();
        }
        foreach (var rawLine in content.Split('\n'))
        {
            var line = rawLine.EndsWith('\r') ? rawLine[..^1] : rawLine;
            if (line == "%") { Flush(); continue; }
            if (entry.Length > 0) entry.Append('\n');
            entry.Append(line);
        }
        Flush();
        return entries;
    }

    static string RemoveOverstrike(string text)
    {
        if (!text.Contains('\b')) return text;
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (c == '\b') { if (sb.Length > 0) sb.Length--; }   // "X\bY" prints Y over X
            else sb.Append(c);
        }
        return sb.ToString();
    }

    static bool IsFortuneFile(string path)
    {
        var name = Path.GetFileName(path);
        return !name.StartsWith('.') && !name.EndsWith(".dat", StringComparison.Ordinal) && !name.EndsWith(".u8", StringComparison.Ordinal);
    }
}
