namespace DeepSharp.Text.Tests.Tokenizers;

public class CharTokenizerTests
{
    [Fact]
    public void VocabularyIsSortedDistinctCharacters()
    {
        var tokenizer = CharTokenizer.FromCorpus("hello world", UnknownCharHandling.Error);
        Assert.Equal(" dehlorw".Select(c => (int)c), tokenizer.Symbols);
        Assert.Equal(8, tokenizer.VocabSize);
        Assert.Equal([3, 2, 4, 4, 5], tokenizer.Encode("hello"));
        Assert.Equal("hello", tokenizer.Decode([3, 2, 4, 4, 5]));
        Assert.Equal("w", tokenizer.IdToToken(7));
        Assert.Equal(7, tokenizer.TokenToId("w"));
        Assert.Null(tokenizer.TokenToId("z"));
        Assert.Null(tokenizer.UnknownId);
    }

    [Fact]
    public void RoundTripsAnyStringOfKnownCharactersIncludingLoneSurrogates()
    {
        var rng = new System.Random(21);
        var texts = Enumerable.Range(0, 400).Select(i => i % 3 == 0 ? RandomText.WithLoneSurrogates(rng) : RandomText.WellFormed(rng)).ToList();
        var tokenizer = CharTokenizer.FromCorpus(texts, UnknownCharHandling.Error);
        foreach (var text in texts) Assert.Equal(text, tokenizer.Decode(tokenizer.Encode(text)));
    }

    [Fact]
    public void AnEmojiIsOneToken()
    {
        var tokenizer = CharTokenizer.FromCorpus("a😀b𠀀");
        Assert.Single(tokenizer.Encode("😀"));
        Assert.Equal(2, tokenizer.Encode("a𠀀").Length);
        Assert.Equal("😀", tokenizer.IdToToken(tokenizer.TokenToId("😀")!.Value));
    }

    [Fact]
    public void UnknownCharactersAreReplacedSkippedOrRejected()
    {
        var replace = CharTokenizer.FromCorpus("abc");
        Assert.Equal(0, replace.UnknownId);                       // U+FFFD comes first
        Assert.Equal("a\ufffdc", replace.Decode(replace.Encode("axc")));
        Assert.Equal(4, replace.VocabSize);

        var skip = CharTokenizer.FromCorpus("abc", UnknownCharHandling.Skip);
        Assert.Equal("ac", skip.Decode(skip.Encode("a😀c")));

        var error = CharTokenizer.FromCorpus("abc", UnknownCharHandling.Error);
        var e = Assert.Throws<ArgumentException>(() => error.Encode("abz"));
        Assert.Contains("U+007A", e.Message);
        Assert.Contains("position 2", e.Message);
    }

    [Fact]
    public void SpecialTokensComeFirstAndDecodeToTheirText()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab", UnknownCharHandling.Replace, ["<pad>", "<eos>"]);
        Assert.Equal(0, tokenizer.SpecialTokens["<pad>"]);
        Assert.Equal(1, tokenizer.SpecialTokens["<eos>"]);
        Assert.Equal(2, tokenizer.UnknownId);
        Assert.Equal([3, 4], tokenizer.Encode("ab"));
        Assert.Equal("ab<eos><pad>", tokenizer.Decode([3, 4, 1, 0]));
        Assert.Equal(1, tokenizer.TokenToId("<eos>"));
    }

    [Fact]
    public void SaveAndLoadGiveTheSameTokenizer()
    {
        var rng = new System.Random(8);
        var texts = Enumerable.Range(0, 50).Select(_ => RandomText.WithLoneSurrogates(rng)).ToList();
        foreach (var unknown in new[] { UnknownCharHandling.Replace, UnknownCharHandling.Skip, UnknownCharHandling.Error })
        {
            var tokenizer = CharTokenizer.FromCorpus(texts, unknown, ["<pad>"]);
            var path = Path.Combine(Path.GetTempPath(), $"char-{Guid.NewGuid():N}.json");
            try
            {
                tokenizer.Save(path);
                var loaded = Assert.IsType<CharTokenizer>(Tokenizer.Load(path));
                Assert.Equal(tokenizer.Symbols, loaded.Symbols);
                Assert.Equal(tokenizer.Unknown, loaded.Unknown);
                Assert.Equal(tokenizer.UnknownId, loaded.UnknownId);
                Assert.Equal(tokenizer.SpecialTokens, loaded.SpecialTokens);
                foreach (var text in texts) Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
            }
            finally { File.Delete(path); }
        }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab");
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([0, 5]));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CharTokenizer([0x110000]));
        Assert.Throws<ArgumentException>(() => CharTokenizer.FromCorpus("ab", specialTokens: ["<a>", "<a>"]));
        Assert.Throws<ArgumentException>(() => CharTokenizer.FromCorpus("ab", specialTokens: [""]));
        Assert.Throws<FileNotFoundException>(() => CharTokenizer.Load("/nonexistent/tokenizer.json"));
    }
}
