namespace DeepSharp.Graphs.Datasets;

/// <summary>
/// Zachary's karate club (W. W. Zachary, "An information flow model for conflict and fission in small groups", 1977):
/// 34 members, 78 friendships (156 directed edges), and the faction each member joined after the split
/// (0: Mr. Hi, the instructor, node 0; 1: the officer, node 33), as in networkx.karate_club_graph's "club" attribute.
/// Features are one-hot node identities (torch_geometric.datasets.KarateClub). The semi-supervised split labels one
/// member per faction (the two leaders) and tests on the other 32.
/// </summary>
public static class KarateClub
{
    // 1-based ties as published by Zachary (networkx karate_club_graph), each listed once from the smaller member.
    static readonly int[][] Ties =
    [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 18, 20, 22, 32], [2, 3, 4, 8, 14, 18, 20, 22, 31], [3, 4, 8, 9, 10, 14, 28, 29, 33],
        [4, 8, 13, 14], [5, 7, 11], [6, 7, 11, 17], [7, 17], [9, 31, 33, 34], [10, 34], [14, 34], [15, 33, 34], [16, 33, 34],
        [19, 33, 34], [20, 34], [21, 33, 34], [23, 33, 34], [24, 26, 28, 30, 33, 34], [25, 26, 28, 32], [26, 32], [27, 30, 34],
        [28, 34], [29, 32, 34], [30, 33, 34], [31, 33, 34], [32, 33, 34], [33, 34],
    ];

    /// <summary>Members (0-based) who joined Mr. Hi's club; everyone else followed the officer.</summary>
    static readonly int[] MrHi = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 16, 17, 19, 21];

    /// <summary>Number of members.</summary>
    public const int NumNodes = 34;

    /// <summary>The 78 undirected ties as (a, b) pairs, 0-based, a &lt; b.</summary>
    public static IReadOnlyList<(int A, int B)> Edges()
        => Ties.SelectMany(row => row.Skip(1).Select(b => (row[0] - 1, b - 1))).ToArray();

    /// <summary>Faction of every member: 0 Mr. Hi, 1 officer.</summary>
    public static long[] Factions()
    {
        var y = Enumerable.Repeat(1L, NumNodes).ToArray();
        foreach (var m in MrHi) y[m] = 0;
        return y;
    }

    /// <summary>The graph: one-hot features (34, 34), both directions of each tie, factions as labels, train mask on nodes 0 and 33.</summary>
    public static GraphData Load()
    {
        var edges = Edges();
        var source = edges.SelectMany(e => new long[] { e.A, e.B }).ToArray();
        var target = edges.SelectMany(e => new long[] { e.B, e.A }).ToArray();
        var train = new bool[NumNodes]; train[0] = train[33] = true;
        return new GraphData(Tensor.Eye(NumNodes), GraphUtil.EdgeIndex(source, target))
        {
            Y = Tensor.FromArray(Factions(), NumNodes),
            TrainMask = Tensor.FromArray(train, NumNodes),
            TestMask = Tensor.FromArray(train.Select(t => !t).ToArray(), NumNodes),
        };
    }
}
