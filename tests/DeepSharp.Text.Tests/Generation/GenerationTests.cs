namespace DeepSharp.Text.Tests.Generation;

public class GenerationTests
{
    /// <summary>A "model" whose next token is (last + 1) mod V with high confidence.</summary>
    static Tensor Successor(IReadOnlyList<int> context, int vocab = 10)
    {
        var logits = new float[vocab];
        logits[(context[^1] + 1) % vocab] = 20;
        return Tensor.FromArray(logits, vocab);
    }

    [Fact]
    public void GreedyGenerationFollowsTheModel()
    {
        var tokens = DeepSharp.Text.Generation.Generate(c => Successor(c), [3], maxNewTokens: 5, SamplingOptions.Greedy);
        Assert.Equal([4, 5, 6, 7, 8], tokens);
        Assert.Empty(DeepSharp.Text.Generation.Generate(c => Successor(c), [3], maxNewTokens: 0));
    }

    [Fact]
    public void StopTokensEndGeneration()
    {
        var without = DeepSharp.Text.Generation.Generate(c => Successor(c), [0], 20, SamplingOptions.Greedy, stopTokens: [4]);
        Assert.Equal([1, 2, 3], without);
        var with = DeepSharp.Text.Generation.Generate(c => Successor(c), [0], 20, SamplingOptions.Greedy, stopTokens: [4, 9], includeStopToken: true);
        Assert.Equal([1, 2, 3, 4], with);
    }

    [Fact]
    public void ContextGrowsByOneAndIsCroppedToMaxContext()
    {
        var lengths = new List<int>();
        var snapshots = new List<IReadOnlyList<int>>();
        var tokens = DeepSharp.Text.Generation.Generate(c => { lengths.Add(c.Count); snapshots.Add(c); return Successor(c); },
                                                        [1, 2, 3], 6, SamplingOptions.Greedy, maxContext: 5);
        Assert.Equal([3, 4, 5, 5, 5, 5], lengths);
        Assert.Equal([1, 2, 3], snapshots[0]);                               // snapshots do not change afterwards
        Assert.Equal([4, 5, 6, 7, 8], snapshots[5]);
        Assert.Equal([4, 5, 6, 7, 8, 9], tokens);
    }

    [Fact]
    public void LastRowOfSequenceLogitsIsUsed()
    {
        // A model returning (1, T, V) logits, as a Transformer does for its whole input.
        Tensor SequenceModel(IReadOnlyList<int> context)
        {
            var rows = context.Select(t => Successor([t]).Unsqueeze(0)).ToArray();
            return Tensor.Cat(rows, 0).Unsqueeze(0);
        }
        Assert.Equal([6, 7, 8], DeepSharp.Text.Generation.Generate(SequenceModel, [2, 5], 3, SamplingOptions.Greedy));
    }

    [Fact]
    public void StreamingYieldsTheSameTokensLazily()
    {
        int calls = 0;
        var stream = DeepSharp.Text.Generation.Stream(c => { calls++; return Successor(c); }, [0], 4, SamplingOptions.Greedy);
        Assert.Equal(0, calls);
        Assert.Equal([1, 2], stream.Take(2));
        Assert.Equal(2, calls);
    }

    [Fact]
    public void SeededSamplingRepeats()
    {
        var uniform = Tensor.Zeros(7);
        var a = DeepSharp.Text.Generation.Generate(_ => uniform, [0], 30, generator: new Generator(4));
        var b = DeepSharp.Text.Generation.Generate(_ => uniform, [0], 30, generator: new Generator(4));
        Assert.Equal(a, b);
        Assert.True(a.Distinct().Count() > 3);
        DeepSharp.Random.Seed(8);
        var c = DeepSharp.Text.Generation.Generate(_ => uniform, [0], 30);
        DeepSharp.Random.Seed(8);
        Assert.Equal(c, DeepSharp.Text.Generation.Generate(_ => uniform, [0], 30));
    }

    [Fact]
    public void GenerateTextEncodesAndDecodes()
    {
        var tokenizer = CharTokenizer.FromCorpus("abcdefghij", UnknownCharHandling.Error);
        var text = DeepSharp.Text.Generation.GenerateText(tokenizer, c => Successor(c), "ab", 4, SamplingOptions.Greedy);
        Assert.Equal("cdef", text);
    }

    [Fact]
    public void RunsWithoutRecordingGradients()
    {
        var weight = Tensor.Randn([10], DType.Float32, requiresGrad: true, generator: new Generator(1));
        bool? recorded = null;
        DeepSharp.Text.Generation.Generate(c => { var logits = weight * 2; recorded = logits.RequiresGrad; return logits; }, [0], 1);
        Assert.False(recorded);
    }

    [Fact]
    public void BadInputIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepSharp.Text.Generation.Generate(c => Successor(c), [0], -1));
        Assert.Throws<ArgumentOutOfRangeException>(() => DeepSharp.Text.Generation.Generate(c => Successor(c), [0], 1, maxContext: 0));
        Assert.Throws<ArgumentException>(() => DeepSharp.Text.Generation.Generate(_ => Tensor.Scalar(1f), [0], 1));
        Assert.Throws<InvalidOperationException>(() => DeepSharp.Text.Generation.Generate(_ => null!, [0], 1));
    }
}
