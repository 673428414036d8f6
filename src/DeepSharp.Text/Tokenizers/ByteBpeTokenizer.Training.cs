using System.Buffers;
using System.Text;

namespace DeepSharp.Text;

public sealed partial class ByteBpeTokenizer
{
    /// <summary>Learns a tokenizer from one text; see <see cref="Train(IEnumerable{string}, int, IEnumerable{string}?, int)"/>.</summary>
    public static ByteBpeTokenizer Train(string corpus, int vocabSize, IEnumerable<string>? specialTokens = null, int minFrequency = 2)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return Train([corpus], vocabSize, specialTokens, minFrequency);
    }

    /// <summary>
    /// Learns byte-level BPE merges from <paramref name="corpus"/> (Hugging Face <c>ByteLevelBPETokenizer.train_from_iterator</c>,
    /// minbpe's <c>RegexTokenizer.train</c>). <paramref name="vocabSize"/> counts everything: the 256 byte tokens, the
    /// merges and the special tokens, so <c>vocabSize - 256 - specialTokens</c> merges are learned, or fewer when no pair
    /// occurs at least <paramref name="minFrequency"/> times any more. Each step merges the most frequent adjacent pair
    /// (counted inside pre-tokenisation chunks; ties go to the pair with the smaller (left, right) ids). Special-token text
    /// in the corpus is left out of the counts.
    /// <para>Pair counts are updated incrementally: a merge only revisits the distinct chunks that contain its pair, so
    /// training takes seconds on megabytes of text.</para>
    /// </summary>
    public static ByteBpeTokenizer Train(IEnumerable<string> corpus, int vocabSize, IEnumerable<string>? specialTokens = null, int minFrequency = 2)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        var specials = Tokenizer.CheckSpecialTokens(specialTokens, "ByteBpeTokenizer.Train");
        int mergeCount = vocabSize - ByteCount - specials.Count;
        if (mergeCount < 0)
            throw new ArgumentOutOfRangeException(nameof(vocabSize), $"ByteBpeTokenizer.Train: vocabSize ({vocabSize}) must be at least 256 (the bytes) + {specials.Count} (the special tokens)");
        if (minFrequency < 1) throw new ArgumentOutOfRangeException(nameof(minFrequency), $"ByteBpeTokenizer.Train: minFrequency must be at least 1, got {minFrequency}");
        var words = CountChunks(corpus, specials);
        var merges = new BpeTrainer(words).Learn(mergeCount, minFrequency);
        return new ByteBpeTokenizer(merges, specials.Keys);
    }

    /// <summary>The distinct pre-tokenisation chunks of the corpus (as byte symbols) with their counts.</summary>
    static List<(int[] Symbols, long Count)> CountChunks(IEnumerable<string> corpus, Dictionary<string, int> specials)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var lookup = counts.GetAlternateLookup<ReadOnlySpan<char>>();
        var chunks = new List<(int Start, int Length)>();
        char[] key = new char[256];
        void CountText(ReadOnlySpan<char> text)
        {
            var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(text.Length));
            try
            {
                int byteCount = Encoding.UTF8.GetBytes(text, bytes);
                chunks.Clear();
                ByteLevelPreTokenizer.Split(bytes.AsSpan(0, byteCount), chunks);
                foreach (var (start, length) in chunks)
                {
                    if (key.Length < length) key = new char[length * 2];
                    for (int i = 0; i < length; i++) key[i] = (char)bytes[start + i];
                    var span = key.AsSpan(0, length);
                    if (lookup.TryGetValue(span, out long count)) lookup[span] = count + 1;
                    else counts[new string(span)] = 1;
                }
            }
            finally { ArrayPool<byte>.Shared.Return(bytes); }
        }
        foreach (var text in corpus)
        {
            if (text is null) throw new ArgumentException("ByteBpeTokenizer.Train: the corpus holds a null text", nameof(corpus));
            SpecialTokenSplitter.Split(text, specials, (start, length) => CountText(text.AsSpan(start, length)), _ => { });
        }
        var words = new List<(int[], long)>(counts.Count);
        foreach (var (chunk, count) in counts)
        {
            if (chunk.Length < 2) continue;                                   // nothing to merge inside one byte
            var symbols = new int[chunk.Length];
            for (int i = 0; i < chunk.Length; i++) symbols[i] = chunk[i];
            words.Add((symbols, count));
        }
        return words;
    }

    /// <summary>
    /// The merge loop. State: every distinct chunk as its current symbols, the count of every adjacent pair (weighted by
    /// chunk counts), for each pair the chunks it may occur in, and a max-heap of (count, pair) entries that is updated
    /// lazily (an entry whose count is no longer the pair's count is skipped when it surfaces).
    /// </summary>
    sealed class BpeTrainer
    {
        readonly int[][] words;
        readonly long[] wordCounts;
        readonly Dictionary<long, long> pairCounts = [];
        readonly Dictionary<long, List<int>> pairWords = [];
        readonly PriorityQueue<long, (long Count, long Pair)> heap = new(Comparer<(long Count, long Pair)>.Create(
            (a, b) => a.Count != b.Count ? b.Count.CompareTo(a.Count) : a.Pair.CompareTo(b.Pair)));
        readonly HashSet<long> changed = [];
        readonly int[] visited;
        List<int> scratch = [];

        internal BpeTrainer(List<(int[] Symbols, long Count)> chunks)
        {
            words = new int[chunks.Count][];
            wordCounts = new long[chunks.Count];
            visited = new int[chunks.Count];
            for (int w = 0; w < chunks.Count; w++)
            {
                (words[w], wordCounts[w]) = chunks[w];
                var symbols = words[w];
                for (int i = 0; i + 1 < symbols.Length; i++)
                {
                    long pair = PairKey(symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + wordCounts[w];
                    AddWord(pair, w);
                }
            }
            foreach (var (pair, count) in pairCounts) heap.Enqueue(pair, (count, pair));
        }

        internal List<(int, int)> Learn(int mergeCount, int minFrequency)
        {
            var merges = new List<(int, int)>(mergeCount);
            while (merges.Count < mergeCount && heap.TryDequeue(out long pair, out var entry))
            {
                if (!pairCounts.TryGetValue(pair, out long count) || count != entry.Count) continue;   // stale entry
                if (count < minFrequency) break;
                int left = (int)(pair >> 32), right = (int)(uint)pair;
                int newId = ByteCount + merges.Count;
                merges.Add((left, right));
                Merge(pair, left, right, newId, stamp: merges.Count);
            }
            return merges;
        }

        void Merge(long pair, int left, int right, int newId, int stamp)
        {
            changed.Clear();
            foreach (int w in pairWords[pair])
            {
                if (visited[w] == stamp) continue;                            // listed more than once
                visited[w] = stamp;
                MergeWord(w, left, right, newId);
            }
            pairWords.Remove(pair);
            pairCounts.Remove(pair);
            foreach (long p in changed)
                if (pairCounts.TryGetValue(p, out long c) && c > 0) heap.Enqueue(p, (c, p));
        }

        /// <summary>Merges every (left, right) in word <paramref name="w"/>, left to right, updating the pair counts by
        /// the pairs each merge destroys and creates (which handles runs like "aaa" correctly).</summary>
        void MergeWord(int w, int left, int right, int newId)
        {
            var symbols = words[w];
            long weight = wordCounts[w];
            var output = scratch;
            output.Clear();
            bool any = false;
            for (int i = 0; i < symbols.Length;)
            {
                if (i + 1 < symbols.Length && symbols[i] == left && symbols[i + 1] == right)
                {
                    any = true;
                    if (output.Count > 0)
                    {
                        int before = output[^1];
                        Add(PairKey(before, left), -weight);
                        Add(PairKey(before, newId), weight, w);
                    }
                    if (i + 2 < symbols.Length)
                    {
                        int after = symbols[i + 2];
                        Add(PairKey(right, after), -weight);
                        Add(PairKey(newId, after), weight, w);
                    }
                    output.Add(newId);
                    i += 2;
                }
                else output.Add(symbols[i++]);
            }
            if (any) words[w] = [.. output];
        }

        void Add(long pair, long delta, int word = -1)
        {
            long count = pairCounts.GetValueOrDefault(pair) + delta;
            if (count == 0) pairCounts.Remove(pair);
            else pairCounts[pair] = count;
            changed.Add(pair);
            if (word >= 0) AddWord(pair, word);
        }

        void AddWord(long pair, int word)
        {
            if (!pairWords.TryGetValue(pair, out var list)) pairWords[pair] = list = [];
            if (list.Count == 0 || list[^1] != word) list.Add(word);
        }
    }
}
