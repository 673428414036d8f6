using System.Collections;

namespace DeepSharp.Data;

/// <summary>A source of dataset indices for one epoch (torch.utils.data.Sampler).</summary>
public interface ISampler : IEnumerable<int>
{
    /// <summary>Number of indices one epoch yields (len(sampler)).</summary>
    int Count { get; }
}

/// <summary>A source of index batches for one epoch (torch.utils.data.BatchSampler, or any batch_sampler=).</summary>
public interface IBatchSampler : IEnumerable<int[]>
{
    /// <summary>Number of batches one epoch yields (len(batch_sampler)).</summary>
    int Count { get; }
}

/// <summary>Yields 0, 1, ..., count-1 (torch.utils.data.SequentialSampler).</summary>
public sealed class SequentialSampler : ISampler
{
    /// <summary>A sampler over <paramref name="count"/> items (SequentialSampler(data_source)).</summary>
    public SequentialSampler(int count)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"SequentialSampler: count must be non-negative, got {count}");
        Count = count;
    }

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator() { for (int i = 0; i < Count; i++) yield return i; }
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Yields indices in a random order, a new one every epoch (torch.utils.data.RandomSampler). Each epoch draws its
/// randomness from <c>generator</c>, or from the global generator when null, so a fixed
/// <see cref="DeepSharp.Random.Seed"/> gives the same sequence of epochs.
/// </summary>
public sealed class RandomSampler : ISampler
{
    readonly int dataCount;
    readonly bool replacement;
    readonly Generator? generator;

    /// <summary>
    /// Samples from <paramref name="count"/> items; without replacement each epoch is a permutation (repeated, then cut,
    /// when <paramref name="numSamples"/> exceeds <paramref name="count"/>); with replacement indices are drawn independently
    /// (RandomSampler(data_source, replacement, num_samples, generator)).
    /// </summary>
    public RandomSampler(int count, bool replacement = false, int? numSamples = null, Generator? generator = null)
    {
        if (count < 0) throw new ArgumentOutOfRangeException(nameof(count), $"RandomSampler: count must be non-negative, got {count}");
        if (numSamples is <= 0) throw new ArgumentOutOfRangeException(nameof(numSamples), $"RandomSampler: numSamples must be positive, got {numSamples}");
        if (replacement && count == 0 && numSamples is > 0)
            throw new ArgumentException("RandomSampler: cannot sample with replacement from an empty dataset", nameof(count));
        dataCount = count; this.replacement = replacement; this.generator = generator;
        Count = numSamples ?? count;
    }

    /// <summary>Whether indices are drawn with replacement (RandomSampler.replacement).</summary>
    public bool Replacement => replacement;

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator()
    {
        var g = Samplers.EpochGenerator(generator);
        var indices = new int[Count];
        if (replacement)
            for (int i = 0; i < indices.Length; i++) indices[i] = (int)g.NextInt64(0, dataCount);
        else
            for (int start = 0; start < indices.Length; start += dataCount)
            {
                var permutation = Samplers.Permutation(dataCount, g);
                Array.Copy(permutation, 0, indices, start, Math.Min(dataCount, indices.Length - start));
            }
        return ((IEnumerable<int>)indices).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Yields the given indices in a new random order every epoch (torch.utils.data.SubsetRandomSampler).</summary>
public sealed class SubsetRandomSampler : ISampler
{
    readonly int[] indices;
    readonly Generator? generator;

    /// <summary>Samples <paramref name="indices"/> without replacement (SubsetRandomSampler(indices, generator)).</summary>
    public SubsetRandomSampler(IEnumerable<int> indices, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(indices);
        this.indices = indices.ToArray(); this.generator = generator;
    }

    /// <inheritdoc/>
    public int Count => indices.Length;

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator()
    {
        var permutation = Samplers.Permutation(indices.Length, Samplers.EpochGenerator(generator));
        for (int i = 0; i < permutation.Length; i++) yield return indices[permutation[i]];
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// Yields <c>numSamples</c> indices drawn with probability proportional to their weights
/// (torch.utils.data.WeightedRandomSampler), e.g. to rebalance classes.
/// </summary>
public sealed class WeightedRandomSampler : ISampler
{
    readonly double[] weights;
    readonly double[] cumulative;
    readonly bool replacement;
    readonly Generator? generator;

    /// <summary>
    /// Samples index i with probability weights[i] / sum(weights); without replacement each index appears at most once
    /// (WeightedRandomSampler(weights, num_samples, replacement=True, generator)).
    /// </summary>
    public WeightedRandomSampler(IEnumerable<double> weights, int numSamples, bool replacement = true, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(weights);
        this.weights = weights.ToArray();
        if (numSamples <= 0) throw new ArgumentOutOfRangeException(nameof(numSamples), $"WeightedRandomSampler: numSamples must be positive, got {numSamples}");
        cumulative = new double[this.weights.Length];
        double total = 0;
        int nonZero = 0;
        for (int i = 0; i < this.weights.Length; i++)
        {
            double w = this.weights[i];
            if (!(w >= 0) || double.IsInfinity(w))
                throw new ArgumentException($"WeightedRandomSampler: weights must be finite and non-negative, weight {i} is {w}", nameof(weights));
            if (w > 0) nonZero++;
            total += w;
            cumulative[i] = total;
        }
        if (!(total > 0)) throw new ArgumentException($"WeightedRandomSampler: the {this.weights.Length} weights add up to zero", nameof(weights));
        if (!replacement && numSamples > nonZero)
            throw new ArgumentException($"WeightedRandomSampler: cannot draw {numSamples} samples without replacement from {nonZero} items with non-zero weight", nameof(numSamples));
        Count = numSamples; this.replacement = replacement; this.generator = generator;
    }

    /// <summary>Samples from the weights in a 1-D tensor (WeightedRandomSampler(weights_tensor, ...)).</summary>
    public WeightedRandomSampler(Tensor weights, int numSamples, bool replacement = true, Generator? generator = null)
        : this(CheckWeights(weights).ToArray<double>(), numSamples, replacement, generator) { }

    static Tensor CheckWeights(Tensor weights)
    {
        ArgumentNullException.ThrowIfNull(weights);
        if (weights.Rank != 1) throw new ArgumentException($"WeightedRandomSampler: weights must be 1-D, got shape {ShapeUtil.Format(weights.shape)}", nameof(weights));
        return weights;
    }

    /// <summary>The sampling weights (WeightedRandomSampler.weights).</summary>
    public IReadOnlyList<double> Weights => weights;

    /// <inheritdoc/>
    public int Count { get; }

    /// <inheritdoc/>
    public IEnumerator<int> GetEnumerator()
    {
        var g = Samplers.EpochGenerator(generator);
        var result = new int[Count];
        if (replacement)
        {
            double total = cumulative[^1];
            for (int s = 0; s < result.Length; s++)
            {
                double u = g.NextDouble() * total;
                int i = Array.BinarySearch(cumulative, u);
                i = i >= 0 ? i + 1 : ~i;                       // first cumulative value > u
                while (i < weights.Length - 1 && weights[i] == 0) i++;  // never land on a zero weight
                result[s] = Math.Min(i, weights.Length - 1);
            }
        }
        else
        {
            // Efraimidis–Spirakis: the Count largest keys u^(1/w) are a weighted sample without replacement.
            var keys = new double[weights.Length];
            var order = new int[weights.Length];
            for (int i = 0; i < weights.Length; i++)
            {
                order[i] = i;
                keys[i] = weights[i] > 0 ? -Math.Log(1 - g.NextDouble()) / weights[i] : double.PositiveInfinity; // smaller is better
            }
            Array.Sort(keys, order);
            Array.Copy(order, result, Count);
        }
        return ((IEnumerable<int>)result).GetEnumerator();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Groups the indices of a sampler into batches (torch.utils.data.BatchSampler).</summary>
public sealed class BatchSampler : IBatchSampler
{
    /// <summary>Batches of <paramref name="batchSize"/> indices from <paramref name="sampler"/>; with <paramref name="dropLast"/>
    /// a final short batch is dropped (BatchSampler(sampler, batch_size, drop_last)).</summary>
    public BatchSampler(ISampler sampler, int batchSize, bool dropLast = false)
    {
        ArgumentNullException.ThrowIfNull(sampler);
        if (batchSize <= 0) throw new ArgumentOutOfRangeException(nameof(batchSize), $"BatchSampler: batchSize must be positive, got {batchSize}");
        Sampler = sampler; BatchSize = batchSize; DropLast = dropLast;
    }

    /// <summary>The underlying sampler (BatchSampler.sampler).</summary>
    public ISampler Sampler { get; }

    /// <summary>Indices per batch (BatchSampler.batch_size).</summary>
    public int BatchSize { get; }

    /// <summary>Whether a final short batch is dropped (BatchSampler.drop_last).</summary>
    public bool DropLast { get; }

    /// <inheritdoc/>
    public int Count => DropLast ? Sampler.Count / BatchSize : (Sampler.Count + BatchSize - 1) / BatchSize;

    /// <inheritdoc/>
    public IEnumerator<int[]> GetEnumerator()
    {
        var batch = new List<int>(BatchSize);
        foreach (int index in Sampler)
        {
            batch.Add(index);
            if (batch.Count == BatchSize) { yield return batch.ToArray(); batch.Clear(); }
        }
        if (batch.Count > 0 && !DropLast) yield return batch.ToArray();
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>Shared helpers of the samplers.</summary>
internal static class Samplers
{
    /// <summary>The generator one epoch draws from: the given one, or a fresh one seeded from the global stream
    /// (as torch's RandomSampler seeds a generator from torch.empty((), dtype=int64).random_()).</summary>
    public static Generator EpochGenerator(Generator? generator) => generator ?? new Generator(DeepSharp.Random.NextSeed());

    /// <summary>A uniform random permutation of 0..n-1 (Fisher–Yates).</summary>
    public static int[] Permutation(int n, Generator? generator)
    {
        var g = EpochGenerator(generator);
        var permutation = new int[n];
        for (int i = 0; i < n; i++) permutation[i] = i;
        for (int i = n - 1; i > 0; i--)
        {
            int j = (int)g.NextInt64(0, i + 1);
            (permutation[i], permutation[j]) = (permutation[j], permutation[i]);
        }
        return permutation;
    }
}
