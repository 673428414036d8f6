namespace DeepSharp.Text.Tests.Tokenizers;

public class WordTokenizerTests
{
    static readonly string[] Corpus =
    [
        "The cat sat on the mat.",
        "The dog sat on the log!",
        "A cat, a dog; the END.",
    ];

    [Fact]
    public void SplitsOnWhitespaceAndPunctuationAndLowercases()
    {
        var tokenizer = new WordTokenizer([]);
        Assert.Equal(["hello", ",", "world", "!", "don", "'", "t", "stop", "$", "5"], tokenizer.Tokenize("Hello, World!\tdon't\n stop $5"));
        var keepCase = new WordTokenizer([], lowercase: false, splitPunctuation: false);
        Assert.Equal(["Hello,", "World!", "don't"], keepCase.Tokenize("  Hello, World!  don't "));
        Assert.Equal(["😀", "中文", "👍", "🏽"], tokenizer.Tokenize("😀 中文 👍🏽"));   // emoji and skin tones are symbols
    }

    [Fact]
    public void VocabularyIsOrderedByFrequencyAfterTheSpecials()
    {
        var tokenizer = WordTokenizer.Build(Corpus);
        Assert.Equal(["<pad>", "<unk>", "<bos>", "<eos>"], tokenizer.Vocabulary.Take(4));
        Assert.Equal(0, tokenizer.PadId);
        Assert.Equal(1, tokenizer.UnkId);
        Assert.Equal(2, tokenizer.BosId);
        Assert.Equal(3, tokenizer.EosId);
        // "the" x5, then "." "a" "cat" "dog" "on" "sat" x2 (ordinal ties), then the words seen once.
        Assert.Equal(["the", ".", "a", "cat", "dog", "on", "sat"], tokenizer.Vocabulary.Skip(4).Take(7));
        Assert.Equal(tokenizer.VocabSize, tokenizer.Vocabulary.Count);
    }

    [Fact]
    public void MinFrequencyAndMaxSizeLimitTheVocabulary()
    {
        var frequent = WordTokenizer.Build(Corpus, minFrequency: 2);
        Assert.Equal(4 + 7, frequent.VocabSize);
        Assert.Equal(frequent.UnkId, frequent.TokenToId("mat"));
        var small = WordTokenizer.Build(Corpus, maxSize: 6);
        Assert.Equal(["<pad>", "<unk>", "<bos>", "<eos>", "the", "."], small.Vocabulary);
        Assert.Throws<ArgumentOutOfRangeException>(() => WordTokenizer.Build(Corpus, maxSize: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => WordTokenizer.Build(Corpus, minFrequency: 0));
    }

    [Fact]
    public void EncodesWithUnknownsAndFramingTokens()
    {
        var tokenizer = WordTokenizer.Build(Corpus);
        var ids = tokenizer.Encode("The zebra sat.", addBos: true, addEos: true);
        Assert.Equal([tokenizer.BosId!.Value, tokenizer.TokenToId("the"), tokenizer.UnkId, tokenizer.TokenToId("sat"), tokenizer.TokenToId("."), tokenizer.EosId!.Value], ids);
        Assert.Equal("<bos> the <unk> sat . <eos>", tokenizer.Decode(ids));
        Assert.Equal("the sat .", tokenizer.Decode(ids, skipSpecialTokens: true));       // <unk> is special too
        Assert.Equal("the sat .", tokenizer.Decode([tokenizer.TokenToId("the"), 0, tokenizer.TokenToId("sat"), tokenizer.TokenToId(".")], skipSpecialTokens: true));
        // Special-token text in the input is recognised, not split at its punctuation.
        Assert.Equal([tokenizer.TokenToId("the"), tokenizer.EosId!.Value, tokenizer.TokenToId("cat")], tokenizer.Encode("the<eos> cat"));
    }

    [Fact]
    public void CustomSpecialTokensAlwaysIncludeUnk()
    {
        var tokenizer = WordTokenizer.Build(Corpus, specialTokens: ["[PAD]", "[CLS]"]);
        Assert.Equal(["[PAD]", "[CLS]", "<unk>"], tokenizer.Vocabulary.Take(3));
        Assert.Null(tokenizer.PadId);
        Assert.Equal(2, tokenizer.UnkId);
        Assert.Throws<InvalidOperationException>(() => tokenizer.Encode("cat", addBos: true, addEos: false));
    }

    [Fact]
    public void SaveAndLoadGiveTheSameTokenizer()
    {
        var tokenizer = WordTokenizer.Build(Corpus, lowercase: false, splitPunctuation: true, specialTokens: ["<pad>", "<unk>", "<sep>"]);
        var path = Path.Combine(Path.GetTempPath(), $"word-{Guid.NewGuid():N}.json");
        try
        {
            tokenizer.Save(path);
            var loaded = Assert.IsType<WordTokenizer>(Tokenizer.Load(path));
            Assert.Equal(tokenizer.Vocabulary, loaded.Vocabulary);
            Assert.Equal(tokenizer.SpecialTokens, loaded.SpecialTokens);
            Assert.False(loaded.Lowercase);
            Assert.True(loaded.SplitPunctuation);
            foreach (var text in Corpus) Assert.Equal(tokenizer.Encode(text), loaded.Encode(text));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["a", "a"]));
        Assert.Throws<ArgumentException>(() => new WordTokenizer(["<pad>"]));
        Assert.Throws<ArgumentException>(() => new WordTokenizer([""]));
        var tokenizer = new WordTokenizer(["a"]);
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode([5]));
        Assert.Throws<ArgumentException>(() => WordTokenizer.Build(["a", null!]));
    }
}
