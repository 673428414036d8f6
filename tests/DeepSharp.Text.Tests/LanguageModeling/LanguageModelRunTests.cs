namespace DeepSharp.Text.Tests.LanguageModeling;

public class LanguageModelRunTests
{
    static readonly string[] Documents = [.. Enumerable.Range(0, 40).Select(i => $"entry {i}: the cat sat on the mat {i % 7}. ab ab ab ab ab ab.")];

    static CharTokenizer Chars() => CharTokenizer.FromCorpus([.. Documents, "\n"]);

    static LanguageModelRun Run(ITokenizer? tokenizer = null, int blockSize = 16) =>
        LanguageModelRun.SplitDocuments(Documents, tokenizer ?? Chars(), blockSize, validationFraction: 0.25, seed: 3);

    [Fact]
    public void SplitIsSeededDisjointAndCoversEveryDocument()
    {
        var tokenizer = Chars();
        var a = Run(tokenizer);
        var b = Run(tokenizer);
        Assert.Equal(a.Train.Tokens.ToArray(), b.Train.Tokens.ToArray());
        Assert.Equal(a.Validation.Tokens.ToArray(), b.Validation.Tokens.ToArray());
        var train = tokenizer.Decode(a.Train.Tokens.Span).Split("\n\n");
        var validation = tokenizer.Decode(a.Validation.Tokens.Span).Split("\n\n");
        Assert.Equal(10, validation.Length);
        Assert.Empty(train.Intersect(validation));
        Assert.Equal(Documents.Order(), train.Concat(validation).Order());
        var other = LanguageModelRun.SplitDocuments(Documents, tokenizer, 16, validationFraction: 0.25, seed: 4);
        Assert.NotEqual(a.Validation.Tokens.ToArray(), other.Validation.Tokens.ToArray());
        Assert.Equal(1, a.Train.Stride);
        Assert.Equal(16, a.Validation.Stride);
    }

    [Fact]
    public void UniformModelScoresLogOfTheVocabulary()
    {
        var run = Run();
        int vocab = run.Tokenizer.VocabSize;
        var result = run.Evaluate(ids => Tensor.Zeros(ids.Shape[0], ids.Shape[1], vocab), batchSize: 3);
        Assert.Equal(Math.Log(vocab), result.Loss, 5);
        Assert.Equal(Math.Log2(vocab), result.BitsPerToken, 5);
        Assert.Equal(Math.Log2(vocab), result.BitsPerCharacter, 5);   // one token per character
        Assert.Equal(run.Validation.Count * 16L, result.Tokens);
        var few = run.Evaluate(ids => Tensor.Zeros(ids.Shape[0], ids.Shape[1], vocab), maxWindows: 2);
        Assert.Equal(32, few.Tokens);
    }

    [Fact]
    public void BitsPerCharacterCountsCharactersNotTokens()
    {
        // A byte-level BPE tokenizer packs several characters into a token: bits per character < bits per token.
        var bpe = ByteBpeTokenizer.Train(Documents, vocabSize: 300);
        var run = Run(bpe, blockSize: 8);
        var result = run.Evaluate(ids => Tensor.Zeros(ids.Shape[0], ids.Shape[1], bpe.VocabSize));
        Assert.True(result.Characters > result.Tokens);
        Assert.Equal(result.BitsPerToken * result.Tokens / result.Characters, result.BitsPerCharacter, 9);
    }

    [Fact]
    public void TrainLoaderGivesShuffledWindowsAndTheirNextTokens()
    {
        var run = Run();
        var loader = run.TrainLoader(batchSize: 8, new Generator(0));
        var batch = loader.First();
        Assert.Equal([8, 16], batch[0].Shape);
        Assert.Equal(batch[0][.., 1..].ToArray<long>(), batch[1][.., ..^1].ToArray<long>());   // targets are the ids shifted by one
        Assert.Equal(batch[0].ToArray<long>(), run.TrainLoader(8, new Generator(0)).First()[0].ToArray<long>());
        Assert.Equal(run.Train.Count / 8, loader.Count);
    }

    [Fact]
    public void NextTokenLossIsTheMeanCrossEntropyPerToken()
    {
        int vocab = 5;
        var targets = Tensor.FromArray(new long[] { 0, 1, 2, 3, 4, 0 }, 2, 3);
        var uniform = LanguageModelRun.NextTokenLoss(Tensor.Zeros(2, 3, vocab), targets);
        Assert.Equal(Math.Log(vocab), uniform.Item(), 5);
        var wrongShape = Assert.Throws<ArgumentException>(() => LanguageModelRun.NextTokenLoss(Tensor.Zeros(2, vocab), targets));
        Assert.Contains("(B, T, V)", wrongShape.Message);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var run = Run();
        Assert.Equal("batchSize", Assert.Throws<ArgumentOutOfRangeException>(() => run.TrainLoader(0)).ParamName);
        var wrongShape = Assert.Throws<ArgumentException>(() => run.Evaluate(ids => Tensor.Zeros(ids.Shape[0], 3)));
        Assert.Contains("(B, T, V)", wrongShape.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelRun.SplitDocuments(Documents, run.Tokenizer, 16, validationFraction: 1));
        Assert.Throws<ArgumentException>(() => LanguageModelRun.SplitDocuments(Documents, run.Tokenizer, blockSize: 5000));
        var noNewline = CharTokenizer.FromCorpus(Documents);
        Assert.Equal("separator", Assert.Throws<ArgumentException>(() => LanguageModelRun.SplitDocuments(Documents, noNewline, 16)).ParamName);
    }
}
