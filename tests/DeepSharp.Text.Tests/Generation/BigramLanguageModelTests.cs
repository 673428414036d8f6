using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Text.Datasets;

namespace DeepSharp.Text.Tests.Generation;

/// <summary>End to end: tokenizer -> TextWindowDataset -> DataLoader -> a bigram model trained with DeepSharp -> Generate.</summary>
public class BigramLanguageModelTests
{
    [Fact]
    public void TrainsOnWindowsAndGeneratesText()
    {
        string corpus = Directory.Exists(Fortunes.DefaultDirectory)
            ? string.Join("\n\n", Fortunes.Load(categories: ["pratchett", "goedel"]))
            : string.Concat(Enumerable.Repeat(Tokenizers.ByteBpeTokenizerTests.English, 20));
        var tokenizer = CharTokenizer.FromCorpus(corpus);
        var dataset = TextWindowDataset.FromText(corpus, tokenizer, blockSize: 32);
        int vocab = tokenizer.VocabSize;

        DeepSharp.Random.Seed(0);
        var table = new Embedding(vocab, vocab);                        // logits of the next token given this one
        var optimizer = new AdamW(table.Parameters(), lr: 0.05);
        var loader = new DataLoader(dataset, batchSize: 32, shuffle: true, generator: new Generator(1));
        double first = double.NaN, last = double.NaN;
        for (int epoch = 0; epoch < 3; epoch++)
            foreach (var (x, y) in loader)
            {
                optimizer.ZeroGrad();
                var logits = table.Forward(x);                           // (B, T, V)
                var loss = F.CrossEntropy(logits.View(-1, vocab), y.View(-1));
                loss.Backward();
                optimizer.Step();
                last = loss.Item<float>();
                if (double.IsNaN(first)) first = last;
            }
        Assert.True(first > Math.Log(vocab) - 1, $"first loss {first}");
        Assert.True(last < first - 1.0, $"loss went from {first} to {last}");   // a bigram model learns the letter pairs

        Tensor NextLogits(IReadOnlyList<int> context) => table.Forward(Tensor.FromArray(new long[] { context[^1] }, 1));
        var text = DeepSharp.Text.Generation.GenerateText(tokenizer, NextLogits, "The ", 100,
                                                         new SamplingOptions { Temperature = 0.8, TopK = 10 }, generator: new Generator(2));
        Assert.Equal(100, text.Length);
        Assert.Equal(text, DeepSharp.Text.Generation.GenerateText(tokenizer, NextLogits, "The ", 100,
                                                                 new SamplingOptions { Temperature = 0.8, TopK = 10 }, generator: new Generator(2)));
    }
}
