using DeepSharp.NN;
using DeepSharp.Optim;

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
    public void FitFollowsTheStepBudgetAndLearns()
    {
        var run = Run();
        int vocab = run.Tokenizer.VocabSize;
        DeepSharp.Random.Seed(0);
        var bigram = new Embedding(vocab, vocab);   // logits of the next character given this one
        var optimizer = new Adam(bigram.Parameters(), lr: 0.1);
        var lines = new List<LanguageModelProgress>();
        double before = run.Evaluate(bigram).BitsPerCharacter;
        var fit = run.Fit(bigram, optimizer, batchSize: 8, TrainingBudget.Steps(60), learningRate: LanguageModelRun.WarmupCosine(0.1),
                          generator: new Generator(0), logEvery: 25, log: lines.Add);
        double after = run.Evaluate(bigram).BitsPerCharacter;
        Assert.Equal(60, fit.Steps);
        Assert.Equal(60L * 8 * 16, fit.Tokens);
        Assert.Equal([25, 50, 60], lines.Select(l => l.Step));
        Assert.True(after < 0.6 * before, $"bpc {before:F3} -> {after:F3}");
        Assert.True(fit.TrainLoss < Math.Log(vocab) * 0.6);
        // The schedule ended near its floor: 0.1 × minFactor (0.1).
        Assert.InRange(optimizer.ParamGroups[0].Lr, 0.01, 0.0102);

        // Same seeds, same run.
        DeepSharp.Random.Seed(0);
        var again = new Embedding(vocab, vocab);
        run.Fit(again, new Adam(again.Parameters(), lr: 0.1), batchSize: 8, TrainingBudget.Steps(60),
                learningRate: LanguageModelRun.WarmupCosine(0.1), generator: new Generator(0));
        Assert.Equal(bigram.Weight.ToArray<float>(), again.Weight.ToArray<float>());
    }

    [Fact]
    public void TimeBudgetStopsTraining()
    {
        var run = Run();
        int vocab = run.Tokenizer.VocabSize;
        var bigram = new Embedding(vocab, vocab);
        var fit = run.Fit(bigram, new Adam(bigram.Parameters()), batchSize: 4, TrainingBudget.Seconds(0.3));
        Assert.True(fit.Steps > 0);
        Assert.InRange(fit.Seconds, 0.3, 5);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var run = Run();
        var bigram = new Embedding(run.Tokenizer.VocabSize, run.Tokenizer.VocabSize);
        var optimizer = new Adam(bigram.Parameters());
        Assert.Equal("budget", Assert.Throws<ArgumentException>(() => run.Fit(bigram, optimizer, 4, new TrainingBudget())).ParamName);
        Assert.Equal("budget", Assert.Throws<ArgumentOutOfRangeException>(() => run.Fit(bigram, optimizer, 4, TrainingBudget.Steps(0))).ParamName);
        var wrongShape = Assert.Throws<ArgumentException>(() => run.Evaluate(ids => Tensor.Zeros(ids.Shape[0], 3)));
        Assert.Contains("(B, T, V)", wrongShape.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => LanguageModelRun.SplitDocuments(Documents, run.Tokenizer, 16, validationFraction: 1));
        Assert.Throws<ArgumentException>(() => LanguageModelRun.SplitDocuments(Documents, run.Tokenizer, blockSize: 5000));
        var noNewline = CharTokenizer.FromCorpus(Documents);
        Assert.Equal("separator", Assert.Throws<ArgumentException>(() => LanguageModelRun.SplitDocuments(Documents, noNewline, 16)).ParamName);
        Assert.Equal(0.1, LanguageModelRun.WarmupCosine(0, 0.1)(1.0), 12);
        Assert.Equal(1.0, LanguageModelRun.WarmupCosine(0.2)(0.2), 12);
    }
}
