using DeepSharp.NN;

namespace DeepSharp.Distributed;

/// <summary>
/// Checks at start that every rank built the same model (what torch's DDP does with _verify_param_shape_across_processes):
/// the ranks all-gather a fingerprint of their parameter names and shapes and compare it with rank 0's.
/// </summary>
internal static class ModelCheck
{
    /// <summary>Throws <see cref="DistributedException"/> on every rank when any rank's parameters differ from rank 0's.</summary>
    public static void VerifySameAcrossRanks(ProcessGroup group, Module module)
    {
        var parameters = module.NamedParameters().ToArray();
        long elements = parameters.Sum(p => (long)p.Tensor.NumEl);
        long hash = Fingerprint(parameters);
        var all = group.AllGather(Tensor.FromArray(new long[] { parameters.Length, elements, hash }));
        var mine = Describe(parameters.Length, elements);
        var differing = new List<string>();
        long[] reference = all[0].ToArray<long>();
        for (int r = 1; r < all.Length; r++)
        {
            long[] theirs = all[r].ToArray<long>();
            if (!theirs.SequenceEqual(reference))
                differing.Add($"rank {r} has {Describe(theirs[0], theirs[1])}{(theirs[0] == reference[0] && theirs[1] == reference[1] ? " with other names or shapes" : "")}");
        }
        if (differing.Count > 0)
            throw new DistributedException($"DistributedDataParallel: the ranks built different models: rank 0 has {Describe(reference[0], reference[1])}, " +
                $"{string.Join(", ", differing)} (this is rank {group.Rank}, with {mine}); build the same model on every rank");
    }

    static string Describe(long count, long elements) => $"{count} parameters ({elements:N0} elements)";

    static long Fingerprint((string Name, Tensor Tensor)[] parameters)
    {
        ulong h = 14695981039346656037UL;   // FNV-1a over "name:shape;dtype|" of every parameter, in order
        foreach (var (name, t) in parameters)
            foreach (char c in $"{name}:{string.Join(",", t.Shape)};{t.DType}|") { h ^= c; h *= 1099511628211UL; }
        return (long)h;
    }
}
