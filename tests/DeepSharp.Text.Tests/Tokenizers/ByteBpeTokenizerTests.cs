using System.Text;
using System.Text.Json.Nodes;

namespace DeepSharp.Text.Tests.Tokenizers;

public class ByteBpeTokenizerTests
{
    const string EndOfText = "<|endoftext|>";

    internal const string English =
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, " +
        "it was the epoch of belief, it was the epoch of incredulity, it was the season of Light, it was the season of " +
        "Darkness, it was the spring of hope, it was the winter of despair. We had everything before us, we had nothing " +
        "before us; we were all going direct to Heaven, we were all going direct the other way. I'm sure they'll say we've " +
        "done it 1234 times in 1859!\n\n  Indented line\twith a tab.\n";

    static readonly Lazy<ByteBpeTokenizer> Trained = new(() =>
    {
        var rng = new System.Random(7);
        var corpus = new List<string> { English, English.ToUpperInvariant(), "emoji 😀😀😀 👍🏽👍🏽 中文中文中文 café café" };
        for (int i = 0; i < 200; i++) corpus.Add(RandomText.WellFormed(rng));
        return ByteBpeTokenizer.Train(corpus, 256 + 300 + 2, [EndOfText, "<pad>"]);
    });

    [Fact]
    public void KnownMergesOnTheWikipediaExample()
    {
        // "aaabdaaabac": aa (4) -> 256; then (256,a) and (a,b) tie at 2 and the smaller pair wins: ab -> 257; then
        // (256,257) -> 258 ("XdXac"); every pair left occurs once, below minFrequency 2.
        var tokenizer = ByteBpeTokenizer.Train("aaabdaaabac", vocabSize: 1000);
        Assert.Equal(new (int, int)[] { ('a', 'a'), ('a', 'b'), (256, 257) }, tokenizer.Merges.Select(m => (m.Left, m.Right)).ToArray());
        Assert.Equal(259, tokenizer.VocabSize);
        Assert.Equal([258, 'd', 258, 'a', 'c'], tokenizer.Encode("aaabdaaabac"));
        Assert.Equal("aaab", tokenizer.IdToToken(258));
    }

    [Fact]
    public void KnownMergesRespectChunkBoundaries()
    {
        // Chunks "the", " the" x3, " cat": (t,h) and (h,e) tie at 4 and the smaller pair (h,e) wins; then t+he, then
        // " "+the. " the" keeps its space, and no merge crosses from one chunk into the next.
        var tokenizer = ByteBpeTokenizer.Train("the the the the cat", vocabSize: 256 + 3, minFrequency: 2);
        Assert.Equal(new (int, int)[] { ('h', 'e'), ('t', 256), (' ', 257) }, tokenizer.Merges.Select(m => (m.Left, m.Right)).ToArray());
        Assert.Equal([257, 258, 258, 258, ' ', 'c', 'a', 't'], tokenizer.Encode("the the the the cat"));
    }

    [Fact]
    public void OverlappingRunsAreCountedAndMergedLeftToRight()
    {
        var tokenizer = ByteBpeTokenizer.Train(["aaaa", "aaaa", "aaa"], vocabSize: 256 + 2, minFrequency: 1);
        Assert.Equal(new (int, int)[] { ('a', 'a'), (256, 256) }, tokenizer.Merges.Select(m => (m.Left, m.Right)).ToArray());
        Assert.Equal([257], tokenizer.Encode("aaaa"));
        Assert.Equal([256, 'a'], tokenizer.Encode("aaa"));
        Assert.Equal([257, 'a'], tokenizer.Encode("aaaaa"));
    }

    [Fact]
    public void IncrementalTrainingMatchesRecountingFromScratch()
    {
        var rng = new System.Random(3);
        var corpus = new List<string> { English, English.Replace("it was", "It's") };
        for (int i = 0; i < 60; i++) corpus.Add(RandomText.WellFormed(rng));
        foreach (int minFrequency in new[] { 1, 2, 3 })
        {
            var fast = ByteBpeTokenizer.Train(corpus, 256 + 150, minFrequency: minFrequency);
            var reference = NaiveTrain(corpus, 150, minFrequency);
            Assert.Equal(reference, fast.Merges.ToList());
        }
    }

    /// <summary>The textbook algorithm: recount every pair of every chunk before each merge.</summary>
    static List<(int, int)> NaiveTrain(List<string> corpus, int mergeCount, int minFrequency)
    {
        var counts = new Dictionary<string, int>();
        foreach (var text in corpus)
        {
            var bytes = Encoding.UTF8.GetBytes(text);
            var chunks = new List<(int Start, int Length)>();
            ByteLevelPreTokenizer.Split(bytes, chunks);
            foreach (var (start, length) in chunks)
            {
                var key = Convert.ToHexString(bytes, start, length);
                counts[key] = counts.GetValueOrDefault(key) + 1;
            }
        }
        var words = counts.Select(kv => (Symbols: Convert.FromHexString(kv.Key).Select(b => (int)b).ToList(), Count: kv.Value)).ToList();
        var merges = new List<(int, int)>();
        while (merges.Count < mergeCount)
        {
            var pairs = new Dictionary<(int, int), long>();
            foreach (var (symbols, count) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    pairs[(symbols[i], symbols[i + 1])] = pairs.GetValueOrDefault((symbols[i], symbols[i + 1])) + count;
            if (pairs.Count == 0) break;
            var best = pairs.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Item1).ThenBy(p => p.Key.Item2).First();
            if (best.Value < minFrequency) break;
            int id = 256 + merges.Count;
            merges.Add(best.Key);
            foreach (var (symbols, _) in words)
                for (int i = 0; i + 1 < symbols.Count; i++)
                    if (symbols[i] == best.Key.Item1 && symbols[i + 1] == best.Key.Item2) { symbols[i] = id; symbols.RemoveAt(i + 1); }
        }
        return merges;
    }

    [Fact]
    public void RoundTripsEveryWellFormedString()
    {
        var tokenizer = Trained.Value;
        var rng = new System.Random(11);
        for (int trial = 0; trial < 1500; trial++)
        {
            var text = RandomText.WellFormed(rng, maxParts: 20);
            var ids = tokenizer.Encode(text);
            Assert.All(ids, id => Assert.InRange(id, 0, tokenizer.VocabSize - 1));
            Assert.Equal(text, tokenizer.Decode(ids));
            Assert.Equal(text, tokenizer.Decode(tokenizer.EncodeOrdinary(text)));
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("😀👍🏽👨‍👩‍👧 family")]
    [InlineData("e\u0301 combining, a\u0300\u0301\u0302 stacked")]
    [InlineData("中文字符和日本語のテキスト、한국어 𠀀𠀁")]
    [InlineData("\u0000\u0001\u007f\ufeff\ufffd\uffff")]
    [InlineData("<|endoftext|>")]
    [InlineData("a<|endoftext|><|endoftext|>b<|end")]
    [InlineData("          many spaces          \n\n\n\t\t")]
    public void RoundTripsSpecialCases(string text)
    {
        var tokenizer = Trained.Value;
        Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void RoundTripsAnyBytesIncludingInvalidUtf8()
    {
        var tokenizer = Trained.Value;
        var rng = new System.Random(5);
        for (int trial = 0; trial < 1500; trial++)
        {
            var bytes = RandomText.Bytes(rng);
            var ids = tokenizer.EncodeBytes(bytes);
            Assert.Equal(bytes, tokenizer.DecodeBytes(ids));
        }
        byte[] invalid = [0xFF, 0xFE, 0xC0, 0xAF, 0xE2, 0x82, 0x20, 0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80];
        Assert.Equal(invalid, tokenizer.DecodeBytes(tokenizer.EncodeBytes(invalid)));
    }

    [Fact]
    public void LoneSurrogatesBecomeReplacementCharacters()
    {
        var tokenizer = Trained.Value;
        var rng = new System.Random(9);
        for (int trial = 0; trial < 300; trial++)
        {
            var text = RandomText.WithLoneSurrogates(rng);
            var expected = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(text));   // each lone surrogate -> U+FFFD
            Assert.Equal(expected, tokenizer.Decode(tokenizer.Encode(text)));
        }
        Assert.Equal("a\ufffdb\ufffd", tokenizer.Decode(tokenizer.Encode("a\ud800b\udc00")));
    }

    [Fact]
    public void DecodeReplacesPartialCharactersButDecodeBytesKeepsThem()
    {
        var tokenizer = ByteBpeTokenizer.Train("", 256);
        var euro = tokenizer.Encode("€");                                      // three byte tokens E2 82 AC
        Assert.Equal([0xE2, 0x82, 0xAC], euro);
        Assert.Equal("\ufffd", tokenizer.Decode(euro.AsSpan(0, 2)));
        Assert.Equal(new byte[] { 0xE2, 0x82 }, tokenizer.DecodeBytes(euro.AsSpan(0, 2)));
    }

    [Fact]
    public void PreTokenizerMatchesGpt2PatternFixture()
    {
        var root = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "gpt2_pretokenize.json")))!;
        var cases = root["cases"]!.AsArray();
        Assert.True(cases.Count > 400);
        foreach (var c in cases)
        {
            string text = c!["text"]!.GetValue<string>();
            var expected = c["chunks"]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();
            var bytes = Encoding.UTF8.GetBytes(text);
            var chunks = new List<(int Start, int Length)>();
            ByteLevelPreTokenizer.Split(bytes, chunks);
            var actual = chunks.Select(ch => Encoding.UTF8.GetString(bytes, ch.Start, ch.Length)).ToArray();
            Assert.True(expected.SequenceEqual(actual),
                $"text {System.Text.Json.JsonSerializer.Serialize(text)}: expected [{string.Join("|", expected)}] got [{string.Join("|", actual)}]");
        }
    }

    [Fact]
    public void PreTokenizerTilesInvalidBytes()
    {
        var rng = new System.Random(2);
        for (int trial = 0; trial < 500; trial++)
        {
            var bytes = RandomText.Bytes(rng);
            var chunks = new List<(int Start, int Length)>();
            ByteLevelPreTokenizer.Split(bytes, chunks);
            int position = 0;
            foreach (var (start, length) in chunks) { Assert.Equal(position, start); Assert.True(length > 0); position += length; }
            Assert.Equal(bytes.Length, position);
        }
    }

    [Fact]
    public void HeapMergingEqualsScanningOnLongChunks()
    {
        var tokenizer = Trained.Value;
        var rng = new System.Random(4);
        for (int trial = 0; trial < 100; trial++)
        {
            var sb = new StringBuilder();
            int words = rng.Next(1, 40);
            for (int w = 0; w < words; w++) sb.Append(rng.Next(3) == 0 ? "aaaa" : English.Substring(rng.Next(English.Length - 12), rng.Next(1, 12)).Replace(" ", ""));
            var chunk = Encoding.UTF8.GetBytes(sb.ToString());
            Assert.Equal(tokenizer.MergeChunkByScanning(chunk), tokenizer.MergeChunkWithHeap(chunk));
        }
        var longRun = Encoding.UTF8.GetBytes(new string('e', 5000) + new string(' ', 3000));
        Assert.Equal(longRun, tokenizer.DecodeBytes(tokenizer.EncodeBytes(longRun)));
    }

    [Fact]
    public void SpecialTokensAreRecognisedInText()
    {
        var tokenizer = Trained.Value;
        int eot = tokenizer.SpecialTokens[EndOfText];
        Assert.Equal(256 + tokenizer.Merges.Count, eot);
        Assert.Equal(tokenizer.VocabSize - 1, tokenizer.SpecialTokens["<pad>"]);
        var ids = tokenizer.Encode("one<|endoftext|>two");
        Assert.Contains(eot, ids);
        Assert.Equal("one", tokenizer.Decode(ids.TakeWhile(i => i != eot).ToArray()));
        Assert.DoesNotContain(eot, tokenizer.EncodeOrdinary("one<|endoftext|>two"));
        Assert.Equal(EndOfText, tokenizer.IdToToken(eot));
        Assert.Equal(eot, tokenizer.SpecialTokenId(EndOfText));
        Assert.Null(tokenizer.SpecialTokenId("<missing>"));
    }

    [Fact]
    public void SpecialTokenTextIsLeftOutOfTraining()
    {
        var tokenizer = ByteBpeTokenizer.Train(string.Concat(Enumerable.Repeat("<|endoftext|>", 50)) + "ab ab", 256 + 10, [EndOfText]);
        Assert.Equal(new (int, int)[] { ('a', 'b') }, tokenizer.Merges.Select(m => (m.Left, m.Right)).ToArray());
    }

    [Fact]
    public void SaveAndLoadGiveTheSameTokenizer()
    {
        var tokenizer = Trained.Value;
        var path = Path.Combine(Path.GetTempPath(), $"bpe-{Guid.NewGuid():N}.json");
        try
        {
            tokenizer.Save(path);
            var loaded = ByteBpeTokenizer.Load(path);
            var any = Tokenizer.Load(path);
            Assert.IsType<ByteBpeTokenizer>(any);
            Assert.Equal(tokenizer.Merges, loaded.Merges);
            Assert.Equal(tokenizer.VocabSize, loaded.VocabSize);
            Assert.Equal(tokenizer.SpecialTokens.OrderBy(kv => kv.Value), loaded.SpecialTokens.OrderBy(kv => kv.Value));
            var rng = new System.Random(1);
            for (int i = 0; i < 100; i++)
            {
                var text = RandomText.WellFormed(rng);
                Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
                Assert.Equal(tokenizer.Encode(text), any.Encode(text));
            }
            Assert.Throws<InvalidDataException>(() => CharTokenizer.Load(path));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void TrainingIsDeterministicAndStopsWhenNothingIsFrequent()
    {
        var a = ByteBpeTokenizer.Train([English, English], 256 + 100);
        var b = ByteBpeTokenizer.Train([English, English], 256 + 100);
        Assert.Equal(a.Merges, b.Merges);
        Assert.Equal(100, a.Merges.Count);
        var small = ByteBpeTokenizer.Train("abc", 256 + 50);                        // every pair occurs once
        Assert.Empty(small.Merges);
        Assert.Equal(256, small.VocabSize);
    }

    [Fact]
    public void BadArgumentsAreRejected()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => ByteBpeTokenizer.Train("abc", 257, [EndOfText, "<pad>"]));
        Assert.Contains("vocabSize", e.Message);
        Assert.Throws<ArgumentException>(() => ByteBpeTokenizer.Train("abc", 300, ["<a>", "<a>"]));
        Assert.Throws<ArgumentException>(() => new ByteBpeTokenizer([(300, 1)]));
        Assert.Throws<ArgumentException>(() => new ByteBpeTokenizer([(1, 2), (1, 2)]));
        var tokenizer = Trained.Value;
        var range = Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([1, tokenizer.VocabSize]));
        Assert.Contains("position 1", range.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([-1]));
    }

    [Fact]
    public void TensorHelpersEncodeAndDecode()
    {
        var tokenizer = Trained.Value;
        var ids = tokenizer.EncodeToTensor("it was the best of times");
        Assert.Equal(DType.Int64, ids.DType);
        Assert.Equal(1, ids.Rank);
        Assert.Equal("it was the best of times", tokenizer.Decode(ids));
        Assert.Equal("it was the best of times", tokenizer.Decode(ids.To(DType.Int32).Unsqueeze(0)));
        Assert.Throws<ArgumentException>(() => tokenizer.Decode(Tensor.Zeros(3)));
    }
}
