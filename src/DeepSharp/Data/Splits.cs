namespace DeepSharp.Data;

public static partial class Dataset
{
    /// <summary>
    /// Splits <paramref name="dataset"/> into non-overlapping random subsets of the given lengths, which must add up to
    /// the dataset's size (torch.utils.data.random_split(dataset, lengths, generator)). The permutation comes from
    /// <paramref name="generator"/>, or from the global generator (seed it with DeepSharp.Random.Seed) when null.
    /// </summary>
    public static Subset<T>[] RandomSplit<T>(IDataset<T> dataset, int[] lengths, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset); ArgumentNullException.ThrowIfNull(lengths);
        if (lengths.Length == 0) throw new ArgumentException("RandomSplit: at least one length is required", nameof(lengths));
        long sum = 0;
        foreach (int length in lengths)
        {
            if (length < 0) throw new ArgumentException($"RandomSplit: lengths must be non-negative, got [{string.Join(", ", lengths)}]", nameof(lengths));
            sum += length;
        }
        if (sum != dataset.Count)
            throw new ArgumentException($"RandomSplit: lengths [{string.Join(", ", lengths)}] add up to {sum}, not to the dataset's {dataset.Count} items", nameof(lengths));
        var permutation = Samplers.Permutation(dataset.Count, generator);
        var subsets = new Subset<T>[lengths.Length];
        int start = 0;
        for (int i = 0; i < lengths.Length; i++)
        {
            subsets[i] = new Subset<T>(dataset, new ArraySegment<int>(permutation, start, lengths[i]));
            start += lengths[i];
        }
        return subsets;
    }

    /// <summary>
    /// Splits by fractions that add up to 1 (torch.utils.data.random_split with fractional lengths): each subset gets
    /// floor(N·fraction) items and the remaining items go one each to the first subsets, round-robin.
    /// </summary>
    public static Subset<T>[] RandomSplit<T>(IDataset<T> dataset, double[] fractions, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        return RandomSplit(dataset, LengthsFromFractions(dataset.Count, fractions, "RandomSplit"), generator);
    }

    /// <summary>
    /// Splits into train, validation and test subsets: <paramref name="valFraction"/> and <paramref name="testFraction"/>
    /// of the items go to validation and test (rounded down), the rest to training. Equivalent to
    /// random_split(dataset, [train, val, test], generator) with those sizes.
    /// </summary>
    public static (Subset<T> Train, Subset<T> Val, Subset<T> Test) TrainValTestSplit<T>(
        IDataset<T> dataset, double valFraction = 0.1, double testFraction = 0.1, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        if (!(valFraction >= 0) || !(testFraction >= 0) || valFraction + testFraction > 1)
            throw new ArgumentException($"TrainValTestSplit: valFraction ({valFraction}) and testFraction ({testFraction}) must be non-negative and add up to at most 1");
        int n = dataset.Count;
        int val = (int)Math.Floor(n * valFraction), test = (int)Math.Floor(n * testFraction);
        var parts = RandomSplit(dataset, [n - val - test, val, test], generator);
        return (parts[0], parts[1], parts[2]);
    }

    internal static int[] LengthsFromFractions(int n, double[] fractions, string op)
    {
        ArgumentNullException.ThrowIfNull(fractions);
        if (fractions.Length == 0) throw new ArgumentException($"{op}: at least one fraction is required", nameof(fractions));
        double total = 0;
        foreach (double f in fractions)
        {
            if (!(f >= 0 && f <= 1)) throw new ArgumentException($"{op}: fractions must lie in [0, 1], got [{string.Join(", ", fractions)}]", nameof(fractions));
            total += f;
        }
        if (Math.Abs(total - 1) > 1e-9) throw new ArgumentException($"{op}: fractions [{string.Join(", ", fractions)}] add up to {total}, not 1", nameof(fractions));
        var lengths = new int[fractions.Length];
        int assigned = 0;
        for (int i = 0; i < fractions.Length; i++) { lengths[i] = (int)Math.Floor(n * fractions[i]); assigned += lengths[i]; }
        for (int i = 0; i < n - assigned; i++) lengths[i % lengths.Length]++;
        return lengths;
    }
}
