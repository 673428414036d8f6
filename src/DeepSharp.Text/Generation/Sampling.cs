namespace DeepSharp.Text;

/// <summary>
/// How the next token is chosen from a vector of logits (the sampling arguments of Hugging Face <c>generate</c>:
/// <c>temperature</c>, <c>top_k</c>, <c>top_p</c>; <c>do_sample=False</c> is <see cref="Greedy"/>).
/// The filters apply in Hugging Face's order: temperature, then top-k, then top-p.
/// </summary>
public sealed record SamplingOptions
{
    /// <summary>Divides the logits before the softmax: below 1 sharpens the distribution, above 1 flattens it; 0 means
    /// greedy decoding (always the most likely token). Default 1.</summary>
    public double Temperature { get; init; } = 1.0;

    /// <summary>Keep only the <c>TopK</c> most likely tokens (ties broken towards the lower id); 0 (the default) keeps all.</summary>
    public int TopK { get; init; }

    /// <summary>Nucleus sampling: keep the smallest set of most likely tokens whose probability reaches <c>TopP</c>
    /// (at least one token); 1 (the default) keeps all.</summary>
    public double TopP { get; init; } = 1.0;

    /// <summary>Greedy decoding: temperature 0 (Hugging Face do_sample=False).</summary>
    public static SamplingOptions Greedy { get; } = new() { Temperature = 0 };

    internal void Validate()
    {
        if (!(Temperature >= 0) || double.IsInfinity(Temperature))
            throw new ArgumentOutOfRangeException(nameof(Temperature), $"SamplingOptions: Temperature must be a finite number >= 0, got {Temperature}");
        if (TopK < 0) throw new ArgumentOutOfRangeException(nameof(TopK), $"SamplingOptions: TopK must be >= 0 (0 = off), got {TopK}");
        if (!(TopP > 0 && TopP <= 1)) throw new ArgumentOutOfRangeException(nameof(TopP), $"SamplingOptions: TopP must be in (0, 1], got {TopP}");
    }
}

/// <summary>
/// Picks token ids from logits: greedy (argmax), or a random draw after temperature, top-k and top-p filtering
/// (Hugging Face's <c>TemperatureLogitsWarper</c>/<c>TopKLogitsWarper</c>/<c>TopPLogitsWarper</c> followed by
/// <c>torch.multinomial(softmax(logits), 1)</c>). Random draws come from the given <see cref="Generator"/>, or from the
/// global one (<see cref="DeepSharp.Random.Seed"/>) when none is given, so seeded runs repeat.
/// Logits may be float32 or float64 of shape (V) or (..., V); each row of V logits gives one id. <c>-inf</c> logits
/// (masked tokens) are never picked; NaN logits, or a row with no finite logit, throw ArgumentException.
/// </summary>
public static class Sampling
{
    /// <summary>The most likely id of each row, the first one on ties: int64 of shape logits.shape[:-1]
    /// (torch.argmax(logits, dim=-1)).</summary>
    public static Tensor Greedy(Tensor logits) => Sample(logits, SamplingOptions.Greedy);

    /// <summary>One id drawn per row: int64 of shape logits.shape[:-1]
    /// (torch.multinomial(softmax(filtered(logits / temperature)), 1)).</summary>
    public static Tensor Sample(Tensor logits, double temperature = 1.0, int topK = 0, double topP = 1.0, Generator? generator = null) =>
        Sample(logits, new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP }, generator);

    /// <summary>One id drawn per row with the given options: int64 of shape logits.shape[:-1].</summary>
    public static Tensor Sample(Tensor logits, SamplingOptions options, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (rows, vocab, values) = Rows(logits, "Sampling.Sample");
        double[]? uniforms = options.Temperature == 0 ? null : Uniforms(rows, generator);
        var result = new long[rows];
        var work = new Workspace(vocab);
        for (int r = 0; r < rows; r++)
            result[r] = SampleRow(values.AsSpan(r * vocab, vocab), options, uniforms?[r] ?? 0, work, r, "Sampling.Sample");
        if (logits.Rank == 1) return Tensor.Scalar(result[0], DType.Int64);
        return Tensor.FromArray(result, logits.Shape.Take(logits.Rank - 1).ToArray());
    }

    /// <summary>
    /// The distribution each row is sampled from after temperature, top-k and top-p filtering: float64 of the same shape
    /// as <paramref name="logits"/>, zero outside the kept tokens and summing to 1 per row (a one-hot for greedy)
    /// (softmax of Hugging Face's warped logits).
    /// </summary>
    public static Tensor Probabilities(Tensor logits, SamplingOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var (rows, vocab, values) = Rows(logits, "Sampling.Probabilities");
        var probabilities = new double[rows * vocab];
        var work = new Workspace(vocab);
        for (int r = 0; r < rows; r++)
        {
            var row = values.AsSpan(r * vocab, vocab);
            var output = probabilities.AsSpan(r * vocab, vocab);
            if (options.Temperature == 0) { output[ArgMax(row, r, "Sampling.Probabilities")] = 1; continue; }
            int kept = Filter(row, options, work, r, "Sampling.Probabilities");
            double total = 0;
            for (int i = 0; i < kept; i++) total += work.Weights[i];
            for (int i = 0; i < kept; i++) output[work.Order[i]] = work.Weights[i] / total;
        }
        return Tensor.FromArray(probabilities, [.. logits.Shape], DType.Float64);
    }

    /// <summary>One id drawn from a single row of logits (see <see cref="Sample(Tensor, SamplingOptions, Generator?)"/>).</summary>
    public static int SampleIndex(ReadOnlySpan<double> logits, SamplingOptions options, Generator? generator = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (logits.IsEmpty) throw new ArgumentException("Sampling.SampleIndex: logits are empty (vocabulary of size 0)", nameof(logits));
        double uniform = options.Temperature == 0 ? 0 : Uniforms(1, generator)[0];
        return SampleRow(logits, options, uniform, new Workspace(logits.Length), 0, "Sampling.SampleIndex");
    }

    static int SampleRow(ReadOnlySpan<double> row, SamplingOptions options, double uniform, Workspace work, int rowIndex, string op)
    {
        if (options.Temperature == 0) return ArgMax(row, rowIndex, op);
        int kept = Filter(row, options, work, rowIndex, op);
        double total = 0;
        for (int i = 0; i < kept; i++) total += work.Weights[i];
        double target = uniform * total;
        double cumulative = 0;
        for (int i = 0; i < kept; i++)
        {
            cumulative += work.Weights[i];
            if (target < cumulative) return work.Order[i];
        }
        return work.Order[kept - 1];                                        // rounding: uniform * total == total
    }

    /// <summary>
    /// Applies temperature, top-k and top-p to one row: on return <c>Order[0..kept)</c> are the kept ids (most likely
    /// first when a filter needed the order) and <c>Weights[0..kept)</c> their unnormalised probabilities.
    /// </summary>
    static int Filter(ReadOnlySpan<double> row, SamplingOptions options, Workspace work, int rowIndex, string op)
    {
        double max = row[ArgMax(row, rowIndex, op)];
        double inverseTemperature = 1.0 / options.Temperature;
        int count = 0;
        for (int i = 0; i < row.Length; i++)
            if (!double.IsNegativeInfinity(row[i])) work.Order[count++] = i;
        var order = work.Order.AsSpan(0, count);
        bool sorted = false;
        if (options.TopK > 0 && options.TopK < count)
        {
            SelectTopK(row, order, options.TopK, work);
            count = options.TopK;
            order = order[..count];
            sorted = true;
        }
        if (options.TopP < 1 && !sorted)
        {
            SortDescending(row, order, work);
            sorted = true;
        }
        double total = 0;
        for (int i = 0; i < count; i++)
        {
            double weight = Math.Exp((row[order[i]] - max) * inverseTemperature);
            work.Weights[i] = weight;
            total += weight;
        }
        if (options.TopP < 1)
        {
            // Keep a token while the mass of the tokens before it is below TopP: the smallest prefix reaching TopP.
            double threshold = options.TopP * total, before = 0;
            int kept = 0;
            while (kept < count && (kept == 0 || before < threshold)) before += work.Weights[kept++];
            count = kept;
        }
        return count;
    }

    /// <summary>Puts the k largest logits (ties: lower id first) at the front of <paramref name="order"/>, sorted.</summary>
    static void SelectTopK(ReadOnlySpan<double> row, Span<int> order, int k, Workspace work)
    {
        // A min-heap of the best k seen so far (its root is the worst of them): O(V log k).
        var heap = work.Heap;
        int size = 0;
        foreach (int id in order)
        {
            if (size < k) { heap[size] = id; SiftUp(row, heap, size++); }
            else if (Better(row, id, heap[0])) { heap[0] = id; SiftDown(row, heap, 0, size); }
        }
        for (int i = 0; i < k; i++) order[i] = heap[i];
        SortDescending(row, order[..k], work);
    }

    static bool Better(ReadOnlySpan<double> row, int a, int b) => row[a] > row[b] || (row[a] == row[b] && a < b);

    static void SiftUp(ReadOnlySpan<double> row, int[] heap, int i)
    {
        while (i > 0)
        {
            int parent = (i - 1) / 2;
            if (!Better(row, heap[parent], heap[i])) break;                  // parent must be the worse one
            (heap[parent], heap[i]) = (heap[i], heap[parent]);
            i = parent;
        }
    }

    static void SiftDown(ReadOnlySpan<double> row, int[] heap, int i, int size)
    {
        while (true)
        {
            int left = 2 * i + 1, worst = i;
            if (left < size && Better(row, heap[worst], heap[left])) worst = left;
            if (left + 1 < size && Better(row, heap[worst], heap[left + 1])) worst = left + 1;
            if (worst == i) return;
            (heap[worst], heap[i]) = (heap[i], heap[worst]);
            i = worst;
        }
    }

    static void SortDescending(ReadOnlySpan<double> row, Span<int> order, Workspace work)
    {
        // Sort by (logit descending, id ascending): a total order, so the result does not depend on the sort algorithm.
        var pairs = work.Pairs.AsSpan(0, order.Length);
        for (int i = 0; i < order.Length; i++) pairs[i] = (row[order[i]], order[i]);
        pairs.Sort(static (a, b) => a.Logit != b.Logit ? b.Logit.CompareTo(a.Logit) : a.Id.CompareTo(b.Id));
        for (int i = 0; i < order.Length; i++) order[i] = pairs[i].Id;
    }

    static int ArgMax(ReadOnlySpan<double> row, int rowIndex, string op)
    {
        int best = -1;
        for (int i = 0; i < row.Length; i++)
        {
            if (double.IsNaN(row[i])) throw new ArgumentException($"{op}: logit {i} of row {rowIndex} is NaN", "logits");
            if (best < 0 ? row[i] > double.NegativeInfinity : row[i] > row[best]) best = i;
        }
        if (best < 0) throw new ArgumentException($"{op}: every logit of row {rowIndex} is -inf, so no token can be chosen", "logits");
        if (double.IsPositiveInfinity(row[best]))
            throw new ArgumentException($"{op}: logit {best} of row {rowIndex} is +inf; the distribution is undefined", "logits");
        return best;
    }

    static (int Rows, int Vocab, double[] Values) Rows(Tensor logits, string op)
    {
        ArgumentNullException.ThrowIfNull(logits);
        if (logits.Rank == 0 || !logits.IsFloatingPoint)
            throw new ArgumentException($"{op}: logits must be a floating-point tensor of shape (V) or (..., V), got {logits.DType} of shape ({string.Join(", ", logits.Shape)})", nameof(logits));
        int vocab = logits.Shape[^1];
        if (vocab == 0) throw new ArgumentException($"{op}: logits have an empty last dimension (shape ({string.Join(", ", logits.Shape)}))", nameof(logits));
        var values = logits.Detach().ToArray<double>();
        return (values.Length / vocab, vocab, values);
    }

    static double[] Uniforms(int count, Generator? generator)
    {
        if (generator == null) return Tensor.Rand([count], DType.Float64).ToArray<double>();   // the global stream
        var u = new double[count];
        for (int i = 0; i < count; i++) u[i] = generator.NextDouble();
        return u;
    }

    /// <summary>Per-call buffers of the vocabulary size (the sort and heap buffers only when a filter needs them).</summary>
    sealed class Workspace(int vocab)
    {
        (double Logit, int Id)[]? pairs;
        int[]? heap;
        public readonly int[] Order = new int[vocab];
        public readonly double[] Weights = new double[vocab];
        public (double Logit, int Id)[] Pairs => pairs ??= new (double, int)[vocab];
        public int[] Heap => heap ??= new int[vocab];
    }
}
