namespace DeepSharp.Graphs.Datasets;

/// <summary>The parsed package graph as stored in the cache: names, labels, vocabulary, word ids per node, edges.</summary>
internal sealed record ParsedGraph(string[] Names, int[] Labels, string[] Classes, string[] Vocabulary, int[][] Words, (int A, int B)[] Edges)
{
    const int Magic = 0x44504B47;   // "DPKG"

    public void Write(string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = path + ".tmp";
        using (var w = new BinaryWriter(File.Create(tmp)))
        {
            w.Write(Magic);
            WriteStrings(w, Names); WriteStrings(w, Classes); WriteStrings(w, Vocabulary);
            foreach (var l in Labels) w.Write(l);
            foreach (var ws in Words) { w.Write(ws.Length); foreach (var k in ws) w.Write(k); }
            w.Write(Edges.Length);
            foreach (var (a, b) in Edges) { w.Write(a); w.Write(b); }
        }
        File.Move(tmp, path, overwrite: true);
    }

    public static ParsedGraph Read(string path)
    {
        using var r = new BinaryReader(File.OpenRead(path));
        if (r.ReadInt32() != Magic) throw new InvalidDataException($"{path} is not a DebianPackageGraph cache; delete it to rebuild");
        var names = ReadStrings(r); var classes = ReadStrings(r); var vocabulary = ReadStrings(r);
        var labels = names.Select(_ => r.ReadInt32()).ToArray();
        var words = names.Select(_ => Enumerable.Range(0, r.ReadInt32()).Select(_ => r.ReadInt32()).ToArray()).ToArray();
        var edges = Enumerable.Range(0, r.ReadInt32()).Select(_ => (r.ReadInt32(), r.ReadInt32())).ToArray();
        return new ParsedGraph(names, labels, classes, vocabulary, words, edges);
    }

    static void WriteStrings(BinaryWriter w, string[] s) { w.Write(s.Length); foreach (var x in s) w.Write(x); }
    static string[] ReadStrings(BinaryReader r) => Enumerable.Range(0, r.ReadInt32()).Select(_ => r.ReadString()).ToArray();

    /// <summary>Tensors and a stratified split: per class, a seeded shuffle, the first 60% train, next 20% validation, rest test.</summary>
    public DebianPackageGraph ToDataset(int seed)
    {
        int n = Names.Length, v = Vocabulary.Length;
        // binary bag of words as CSR: row i holds a one at each of its words' columns
        var crow = new long[n + 1];
        for (int i = 0; i < n; i++) crow[i + 1] = crow[i] + Words[i].Length;
        var col = Words.SelectMany(ws => ws.Order()).Select(k => (long)k).ToArray();
        var x = new SparseCsrTensor(crow, col, Tensor.Ones([col.Length]), n, v);
        var source = Edges.SelectMany(e => new long[] { e.A, e.B }).ToArray();
        var target = Edges.SelectMany(e => new long[] { e.B, e.A }).ToArray();
        var (train, val, test) = StratifiedSplit(Labels, seed, 0.6, 0.2);
        return new DebianPackageGraph
        {
            Graph = new GraphData(x, GraphUtil.EdgeIndex(source, target))
            {
                Y = Tensor.FromArray(Labels.Select(l => (long)l).ToArray(), n),
                TrainMask = Tensor.FromArray(train, n), ValMask = Tensor.FromArray(val, n), TestMask = Tensor.FromArray(test, n),
            },
            PackageNames = Names, ClassNames = Classes, Vocabulary = Vocabulary,
        };
    }

    internal static (bool[] Train, bool[] Val, bool[] Test) StratifiedSplit(int[] labels, int seed, double trainFraction, double valFraction)
    {
        var (train, val, test) = (new bool[labels.Length], new bool[labels.Length], new bool[labels.Length]);
        var random = new System.Random(seed);
        foreach (var group in Enumerable.Range(0, labels.Length).GroupBy(i => labels[i]).OrderBy(g => g.Key))
        {
            var members = group.ToArray();
            random.Shuffle(members);
            int nTrain = (int)Math.Round(members.Length * trainFraction), nVal = (int)Math.Round(members.Length * valFraction);
            for (int k = 0; k < members.Length; k++)
                (k < nTrain ? train : k < nTrain + nVal ? val : test)[members[k]] = true;
        }
        return (train, val, test);
    }
}
