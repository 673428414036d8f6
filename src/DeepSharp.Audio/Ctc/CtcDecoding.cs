namespace DeepSharp.Audio;

/// <summary>
/// Decoding CTC outputs and scoring transcripts (torchaudio.models.decoder's greedy and lexicon-free beam search,
/// torchmetrics' WordErrorRate / CharErrorRate).
/// </summary>
public static class CtcDecoding
{
    /// <summary>Best path: the arg-max label per frame, repeats merged, blanks dropped. <paramref name="logProbs"/> is (T, C); the first <paramref name="length"/> frames are read.</summary>
    public static int[] Greedy(Tensor logProbs, int? length = null, int blank = 0)
    {
        var (data, t, c) = Rows(logProbs, length, "Greedy");
        var output = new List<int>();
        int previous = -1;
        for (int i = 0; i < t; i++)
        {
            int best = 0;
            for (int k = 1; k < c; k++) if (data[i * c + k] > data[i * c + best]) best = k;
            if (best != previous && best != blank) output.Add(best);
            previous = best;
        }
        return [.. output];
    }

    /// <summary>
    /// CTC prefix beam search without a language model (torchaudio's ctc_decoder with no lexicon or LM): keeps the
    /// <paramref name="beamWidth"/> most probable label prefixes, each with its probability of ending in a blank and in a
    /// non-blank, and returns the best. <paramref name="logProbs"/> is (T, C) log-probabilities.
    /// </summary>
    public static int[] BeamSearch(Tensor logProbs, int beamWidth = 8, int? length = null, int blank = 0)
    {
        if (beamWidth < 1) throw new ArgumentException($"BeamSearch: beamWidth must be positive, got {beamWidth}", nameof(beamWidth));
        var (data, t, c) = Rows(logProbs, length, "BeamSearch");
        static double Add(double a, double b) => double.IsNegativeInfinity(a) ? b : double.IsNegativeInfinity(b) ? a : Math.Max(a, b) + double.LogP1(Math.Exp(-Math.Abs(a - b)));
        var beams = new Dictionary<string, (int[] Prefix, double Blank, double NonBlank)> { [""] = ([], 0.0, double.NegativeInfinity) };
        for (int i = 0; i < t; i++)
        {
            var next = new Dictionary<string, (int[] Prefix, double Blank, double NonBlank)>();
            void Accumulate(int[] prefix, double blankLp, double nonBlankLp)
            {
                var key = string.Join(",", prefix);
                var (p, b, nb) = next.TryGetValue(key, out var e) ? e : (prefix, double.NegativeInfinity, double.NegativeInfinity);
                next[key] = (p, Add(b, blankLp), Add(nb, nonBlankLp));
            }
            foreach (var (prefix, pb, pnb) in beams.Values)
            {
                double total = Add(pb, pnb);
                for (int k = 0; k < c; k++)
                {
                    double lp = data[i * c + k];
                    if (k == blank) { Accumulate(prefix, total + lp, double.NegativeInfinity); continue; }
                    int[] extended = [.. prefix, k];
                    if (prefix.Length > 0 && prefix[^1] == k)
                    {
                        Accumulate(prefix, double.NegativeInfinity, pnb + lp);     // repeat merged
                        Accumulate(extended, double.NegativeInfinity, pb + lp);    // a blank separated them
                    }
                    else Accumulate(extended, double.NegativeInfinity, total + lp);
                }
            }
            beams = next.OrderByDescending(kv => Add(kv.Value.Blank, kv.Value.NonBlank)).Take(beamWidth).ToDictionary(kv => kv.Key, kv => kv.Value);
        }
        return beams.Values.OrderByDescending(v => Add(v.Blank, v.NonBlank)).First().Prefix;
    }

    static (double[] Data, int T, int C) Rows(Tensor logProbs, int? length, string op)
    {
        ArgumentNullException.ThrowIfNull(logProbs);
        if (logProbs.Rank != 2) throw new ArgumentException($"{op}: logProbs must be (T, C), got shape {Spectral.Shape(logProbs)}", nameof(logProbs));
        int t = length ?? logProbs.Size(0);
        if (t < 0 || t > logProbs.Size(0)) throw new ArgumentException($"{op}: length {t} is outside [0, {logProbs.Size(0)}]", nameof(length));
        return (logProbs.Detach().To(DType.Float64).Contiguous().ToArray<double>(), t, logProbs.Size(1));
    }

    /// <summary>Levenshtein distance between two sequences (substitutions, insertions and deletions cost 1).</summary>
    public static int EditDistance<T>(IReadOnlyList<T> reference, IReadOnlyList<T> hypothesis)
    {
        var row = Enumerable.Range(0, hypothesis.Count + 1).ToArray();
        for (int i = 1; i <= reference.Count; i++)
        {
            int diagonal = row[0]; row[0] = i;
            for (int j = 1; j <= hypothesis.Count; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (EqualityComparer<T>.Default.Equals(reference[i - 1], hypothesis[j - 1]) ? 0 : 1));
                diagonal = above;
            }
        }
        return row[hypothesis.Count];
    }

    /// <summary>Word error rate over a corpus (torchmetrics.text.WordErrorRate): total word edits / total reference words.</summary>
    public static double WordErrorRate(IReadOnlyList<string> references, IReadOnlyList<string> hypotheses) =>
        ErrorRate(references, hypotheses, s => s.Split(' ', StringSplitOptions.RemoveEmptyEntries), "WordErrorRate");

    /// <summary>Character error rate over a corpus (torchmetrics.text.CharErrorRate): total character edits / total reference characters.</summary>
    public static double CharErrorRate(IReadOnlyList<string> references, IReadOnlyList<string> hypotheses) =>
        ErrorRate(references, hypotheses, s => s.ToCharArray().Select(ch => ch.ToString()).ToArray(), "CharErrorRate");

    static double ErrorRate(IReadOnlyList<string> references, IReadOnlyList<string> hypotheses, Func<string, string[]> split, string op)
    {
        if (references.Count != hypotheses.Count)
            throw new ArgumentException($"{op}: {references.Count} references but {hypotheses.Count} hypotheses", nameof(hypotheses));
        long edits = 0, total = 0;
        for (int i = 0; i < references.Count; i++)
        {
            var r = split(references[i]);
            edits += EditDistance(r, split(hypotheses[i]));
            total += r.Length;
        }
        if (total == 0) throw new ArgumentException($"{op}: the references hold no words or characters", nameof(references));
        return (double)edits / total;
    }
}
