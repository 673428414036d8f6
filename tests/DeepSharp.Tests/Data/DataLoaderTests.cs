using DeepSharp.Data;

namespace DeepSharp.Tests.Data;

public class DataLoaderTests
{
    static TensorDataset Numbered(int n, int features = 3)
    {
        // x row i = [i*features, ..., i*features + features - 1], y = i
        var x = Tensor.Arange(0, n * features, dtype: DType.Float32).Reshape(n, features);
        var y = Tensor.Arange(0, n, dtype: DType.Int64);
        return new TensorDataset(x, y);
    }

    static List<long[]> Labels(IEnumerable<Tensor[]> loader) => loader.Select(b => b[1].ToArray<long>()).ToList();

    [Fact]
    public void BatchesHaveExpectedShapesAndContents()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4);
        Assert.Equal(3, loader.Count);
        var batches = new List<(Tensor, Tensor)>();
        foreach (var (xb, yb) in loader) batches.Add((xb, yb));
        Assert.Equal(3, batches.Count);
        Assert.Equal([4, 3], batches[0].Item1.Shape);
        Assert.Equal([4], batches[0].Item2.Shape);
        Assert.Equal([2, 3], batches[2].Item1.Shape);
        Assert.Equal(DType.Int64, batches[0].Item2.DType);
        Assert.Equal([8L, 9L], batches[2].Item2.ToArray<long>());
        Assert.Equal([24f, 25f, 26f, 27f, 28f, 29f], batches[2].Item1.ToArray<float>());
    }

    [Fact]
    public void DropLastDropsTheShortBatch()
    {
        var loader = new DataLoader(Numbered(10), batchSize: 4, dropLast: true);
        Assert.Equal(2, loader.Count);
        Assert.Equal(2, loader.Count());
        Assert.All(loader, b => Assert.Equal(4, b[0].Shape[0]));
    }

    [Fact]
    public void ShuffleIsAPermutationReshuffledPerEpochAndReproducibleWithASeed()
    {
        var ds = Numbered(50);
        DeepSharp.Random.Seed(123);
        var loader = new DataLoader(ds, batchSize: 8, shuffle: true);
        var epoch1 = Labels(loader).SelectMany(b => b).ToArray();
        var epoch2 = Labels(loader).SelectMany(b => b).ToArray();
        Assert.Equal(Enumerable.Range(0, 50).Select(i => (long)i), epoch1.Order());
        Assert.NotEqual(epoch1, epoch2);
        Assert.NotEqual(Enumerable.Range(0, 50).Select(i => (long)i), epoch1);

        DeepSharp.Random.Seed(123);
        var again = new DataLoader(ds, batchSize: 8, shuffle: true);
        Assert.Equal(epoch1, Labels(again).SelectMany(b => b).ToArray());
        Assert.Equal(epoch2, Labels(again).SelectMany(b => b).ToArray());

        var withGenerator1 = Labels(new DataLoader(ds, batchSize: 8, shuffle: true, generator: new Generator(7))).SelectMany(b => b);
        var withGenerator2 = Labels(new DataLoader(ds, batchSize: 8, shuffle: true, generator: new Generator(7))).SelectMany(b => b);
        Assert.Equal(withGenerator1, withGenerator2);
    }

    [Fact]
    public void BatchesAndAugmentationsDoNotDependOnWorkerCount()
    {
        // A random "augmentation": adds noise drawn through the batch's generator and through the global-stream ops.
        var ds = Numbered(37).Map((item, g) => new[] { item[0].Add(Tensor.Scalar(g.NextSingle())), item[1], Tensor.Rand(2) });
        List<float[]> Run(int workers)
        {
            DeepSharp.Random.Seed(5);
            var loader = new DataLoader(ds, batchSize: 5, shuffle: true, numWorkers: workers);
            var epochs = new List<float[]>();
            for (int e = 0; e < 2; e++)
                foreach (var (xb, yb, noise) in loader)
                    epochs.Add([.. xb.ToArray<float>(), .. yb.ToArray<float>(), .. noise.ToArray<float>()]);
            return epochs;
        }
        var serial = Run(0);
        Assert.Equal(16, serial.Count);
        foreach (int workers in new[] { 1, 3, 4 })
        {
            var parallel = Run(workers);
            Assert.Equal(serial.Count, parallel.Count);
            for (int i = 0; i < serial.Count; i++) Assert.Equal(serial[i], parallel[i]);
        }
    }

    [Fact]
    public void StartingAtABatchGivesTheRestOfTheSameEpoch()
    {
        // What a resumed run relies on: from the same generator state, GetEnumerator(k) yields batches k.. of the epoch
        // GetEnumerator() would give, augmentations included, for any worker count, and leaves the generator alike.
        var ds = Numbered(37).Map((item, g) => new[] { item[0].Add(Tensor.Scalar(g.NextSingle())), item[1] });
        static List<float[]> Drain(IEnumerator<Tensor[]> e) { var r = new List<float[]>(); while (e.MoveNext()) r.Add([.. e.Current[0].ToArray<float>(), .. e.Current[1].ToArray<float>()]); return r; }
        var full = new DataLoader(ds, batchSize: 5, shuffle: true, generator: new Generator(3));
        var whole = Drain(full.GetEnumerator());
        var after = full.Generator!.GetState();
        foreach (int workers in new[] { 0, 3 })
        {
            var loader = new DataLoader(ds, batchSize: 5, shuffle: true, numWorkers: workers, generator: new Generator(3));
            var rest = Drain(loader.GetEnumerator(startBatch: 6));
            Assert.Equal(whole.Skip(6), rest);
            Assert.Equal(after, loader.Generator!.GetState());
            Assert.Empty(Drain(loader.GetEnumerator(loader.Count)));
        }
        Assert.Equal("startBatch", Assert.Throws<ArgumentOutOfRangeException>(() => full.GetEnumerator(9)).ParamName);
    }

    sealed class Boom(string message) : Exception(message);

    [Fact]
    public void WorkerExceptionSurfacesOnConsumerWithOriginalException()
    {
        var ds = Dataset.From(20, i => i == 13 ? throw new Boom($"item {i} is broken") : new[] { Tensor.Scalar(i) });
        foreach (int workers in new[] { 0, 2 })
        {
            var loader = new DataLoader(ds, batchSize: 2, numWorkers: workers);
            var seen = new List<double>();
            var error = Assert.Throws<Boom>(() => { foreach (var b in loader) seen.Add(b[0].At(0)); });
            Assert.Equal("item 13 is broken", error.Message);
            Assert.Equal([0.0, 2, 4, 6, 8, 10], seen);  // batches before the failing one arrive in order
        }
    }

    [Fact]
    public void EarlyBreakWithWorkersThenNewEpochWorks()
    {
        var loader = new DataLoader(Numbered(100), batchSize: 3, numWorkers: 2, prefetchFactor: 1);
        foreach (var b in loader) break;
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)i), Labels(loader).SelectMany(b => b));
    }

    [Fact]
    public void SubsetOfTensorDatasetAndCustomCollateWork()
    {
        var ds = Numbered(10);
        var subset = new Subset<Tensor[]>(ds, [9, 2, 5]);
        var (xb, yb) = new DataLoader(subset, batchSize: 3).First();
        Assert.Equal([9L, 2, 5], yb.ToArray<long>());
        Assert.Equal([27f, 28, 29, 6, 7, 8, 15, 16, 17], xb.ToArray<float>());

        // the per-item path (custom collate) agrees with the fast gather path
        var slow = new DataLoader(subset, batchSize: 3, collate: Collate.StackFields).First();
        Assert.Equal(xb.ToArray<float>(), slow[0].ToArray<float>());

        var counts = new DataLoader(ds, batchSize: 4, collate: items => [Tensor.Scalar(items.Count)]).Select(b => b[0].Item()).ToArray();
        Assert.Equal([4.0, 4, 2], counts);
    }

    [Fact]
    public void GenericLoaderWithCustomBatchType()
    {
        var words = Dataset.From(5, i => $"w{i}");
        var loader = new DataLoader<string, string>(words, items => string.Join("+", items), batchSize: 2);
        Assert.Equal(["w0+w1", "w2+w3", "w4"], loader.ToArray());
        Assert.Equal(3, loader.Count);
    }

    [Fact]
    public void BatchSamplerAndSamplerOptions()
    {
        var ds = Numbered(10);
        var loader = new DataLoader(ds, batchSampler: new BatchSampler(new SequentialSampler(10), 5, dropLast: false));
        Assert.Equal(2, loader.Count);
        Assert.Null(loader.BatchSize);
        var loader2 = new DataLoader(ds, batchSize: 2, sampler: new SubsetRandomSampler([1, 3, 5], new Generator(1)));
        Assert.Equal(new long[] { 1, 3, 5 }, Labels(loader2).SelectMany(b => b).Order());
    }

    [Fact]
    public void BadArgumentsGiveClearErrors()
    {
        var ds = Numbered(4);
        Assert.Contains("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, batchSize: 0)).Message);
        Assert.Contains("mutually exclusive", Assert.Throws<ArgumentException>(() => new DataLoader(ds, shuffle: true, sampler: new SequentialSampler(4))).Message);
        Assert.Contains("mutually exclusive", Assert.Throws<ArgumentException>(() => new DataLoader(ds, batchSize: 2, batchSampler: new BatchSampler(new SequentialSampler(4), 2))).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new DataLoader(ds, numWorkers: -1));
        var ragged = Dataset.From(2, i => new[] { Tensor.Zeros(i + 1) });
        var e = Assert.Throws<ArgumentException>(() => new DataLoader(ragged, batchSize: 2).First());
        Assert.Contains("shape (2)", e.Message.Replace(",)", ")"));
        var three = new DataLoader(new TensorDataset(Tensor.Zeros(2), Tensor.Zeros(2), Tensor.Zeros(2)), batchSize: 2);
        Assert.Contains("3 tensors but 2 names", Assert.Throws<ArgumentException>(() => { foreach (var (a, b) in three) { } }).Message);
    }

    [Fact]
    public void WorkerInfoIsAvailableDuringFetchOnly()
    {
        Assert.Null(WorkerInfo.Current);
        var ds = Dataset.From(6, i => new[] { Tensor.Scalar(WorkerInfo.Current!.Id), Tensor.Scalar(WorkerInfo.Current.NumWorkers) });
        var batches = new DataLoader(ds, batchSize: 2, numWorkers: 2).ToArray();
        Assert.Equal([0.0, 1, 0], batches.Select(b => b[0].At(0)));
        Assert.All(batches, b => Assert.Equal(2.0, b[1].At(0)));
        Assert.Null(WorkerInfo.Current);
    }
}
