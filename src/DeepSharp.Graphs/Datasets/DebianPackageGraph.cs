using System.Security.Cryptography;
using System.Text;

namespace DeepSharp.Graphs.Datasets;

/// <summary>
/// The Debian package graph of this machine's apt lists (/var/lib/apt/lists/*_Packages, after apt-get update): one node
/// per package (first index wins for a name), an undirected edge for every Depends / Pre-Depends / Recommends relation
/// (first alternative; a virtual package resolves to its first provider; self relations dropped), node features a
/// binary bag of words of the one-line description over a fixed vocabulary, stored sparse (<see cref="GraphData.SparseX"/>,
/// a CSR matrix with a few ones per row, so the first layers compute sparse × dense) (the <see cref="VocabularySize"/> words of
/// three or more letters in most descriptions, a few stop words left out), and labels the package's Section (component
/// prefix removed): the <see cref="TopSections"/> most common sections, then "other". The split is stratified by label
/// and seeded (60% train, 20% validation, 20% test). Parsing runs once; the result is cached in the cache folder
/// keyed by the index files' names, sizes and dates. On Debian bookworm main (63,440 packages) see docs/graphs.md
/// for the measured size.
/// </summary>
public sealed class DebianPackageGraph
{
    /// <summary>Words in the vocabulary.</summary>
    public const int VocabularySize = 1000;
    /// <summary>Sections kept as their own class; the rest are "other".</summary>
    public const int TopSections = 11;
    const int CacheVersion = 2;
    static readonly HashSet<string> StopWords = ["the", "and", "for", "with", "from", "that", "this", "files", "file", "package", "support", "version"];

    /// <summary>The graph with sparse features (N, VocabularySize) in <see cref="GraphData.SparseX"/>, labels (N,) and train/val/test masks.</summary>
    public required GraphData Graph { get; init; }
    /// <summary>Package name of each node.</summary>
    public required string[] PackageNames { get; init; }
    /// <summary>Class names: the top sections by count, then "other".</summary>
    public required string[] ClassNames { get; init; }
    /// <summary>The vocabulary, feature column by column.</summary>
    public required string[] Vocabulary { get; init; }

    /// <summary>"N packages, E undirected edges, C classes" for logs and docs.</summary>
    public override string ToString() => $"{Graph.NumNodes} packages, {Graph.NumEdges / 2} undirected dependency edges, {VocabularySize} words, {ClassNames.Length} classes";

    /// <summary>The default folder of apt's lists.</summary>
    public const string DefaultListsDir = "/var/lib/apt/lists";

    /// <summary>The default cache folder: $DEEPSHARP_DATA/graphs, else ~/.cache/deepsharp/graphs.</summary>
    public static string DefaultCacheDir => Path.Combine(Environment.GetEnvironmentVariable("DEEPSHARP_DATA") is { Length: > 0 } d ? d
        : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache", "deepsharp"), "graphs");

    /// <summary>Builds (or reads from the cache) the package graph with a seeded stratified split.</summary>
    public static DebianPackageGraph Load(string listsDir = DefaultListsDir, string? cacheDir = null, int seed = 0)
    {
        var files = AptLists.IndexFiles(listsDir);
        if (files.Length == 0)
            throw new FileNotFoundException($"DebianPackageGraph: no *_Packages index in {listsDir}; run 'apt-get update' first");
        var cachePath = Path.Combine(cacheDir ?? DefaultCacheDir, $"debian-packages-v{CacheVersion}-{Key(files)}.bin");
        var parsed = File.Exists(cachePath) ? ParsedGraph.Read(cachePath) : Parse(files);
        if (!File.Exists(cachePath)) parsed.Write(cachePath);
        return parsed.ToDataset(seed);
    }

    static string Key(string[] files)
    {
        var text = string.Join("\n", files.Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f).Ticks}"));
        return Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16].ToLowerInvariant();
    }

    static ParsedGraph Parse(string[] files)
    {
        var packages = new List<AptPackage>(); var index = new Dictionary<string, int>();
        foreach (var file in files)
        {
            using var reader = AptLists.Open(file);
            foreach (var p in AptLists.Read(reader))
                if (index.TryAdd(p.Name, packages.Count)) packages.Add(p);
        }
        var providers = new Dictionary<string, int>();
        for (int i = 0; i < packages.Count; i++)
            foreach (var v in packages[i].Provides) providers.TryAdd(v, i);
        var edges = new HashSet<(int, int)>();
        for (int i = 0; i < packages.Count; i++)
            foreach (var dep in packages[i].Dependencies)
                if ((index.TryGetValue(dep, out int j) || providers.TryGetValue(dep, out j)) && j != i)
                    edges.Add(i < j ? (i, j) : (j, i));
        var sections = packages.Select(p => p.Section.Contains('/') ? p.Section[(p.Section.LastIndexOf('/') + 1)..] : p.Section).ToArray();
        var top = sections.GroupBy(s => s).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal).Take(TopSections).Select(g => g.Key).ToList();
        var words = packages.Select(p => Tokens(p.Description)).ToArray();
        var vocabulary = words.SelectMany(w => w).GroupBy(w => w).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
                              .Take(VocabularySize).Select(g => g.Key).ToArray();
        var column = vocabulary.Select((w, k) => (w, k)).ToDictionary(p => p.w, p => p.k);
        return new ParsedGraph(
            packages.Select(p => p.Name).ToArray(),
            sections.Select(s => top.IndexOf(s) is var c && c >= 0 ? c : top.Count).ToArray(),
            [.. top, "other"], vocabulary,
            words.Select(ws => ws.Where(column.ContainsKey).Select(w => column[w]).ToArray()).ToArray(),
            edges.OrderBy(e => e).ToArray());
    }

    static string[] Tokens(string description)
        => description.ToLowerInvariant().Split(description.Where(c => !char.IsLetter(c)).Distinct().ToArray(), StringSplitOptions.RemoveEmptyEntries)
                      .Where(w => w.Length >= 3 && !StopWords.Contains(w)).Distinct().ToArray();
}
