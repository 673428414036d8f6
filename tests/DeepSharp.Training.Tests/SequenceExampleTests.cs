using DeepSharp.Text;

namespace DeepSharp.Training.Tests;

/// <summary>Short runs of the sequence examples (examples/CharLstm, Seq2SeqDates, TimeSeries) with small budgets.</summary>
public class SequenceExampleTests(ITestOutputHelper output)
{
    [Fact]
    public void CharLstmLearnsFortunesWellBelowTheUnigramBaseline()
    {
        Requires.Fortunes();
        var lines = new List<string>();
        var options = new CharLstm.Options { Seconds = null, Steps = 250, Hidden = 128, Embedding = 32, BlockSize = 64, BatchSize = 16, EvalWindows = 48 };
        var report = CharLstm.Run(options, lines.Add);
        // Uniform over ~113 characters is 6.8 bits; the unigram (character frequency) model of the corpus is ~4.8 bits
        // (CharLstmUnigramBaselineIsAboutFiveBits). 250 small steps (about 2 s) already learn bigram-like structure.
        output.WriteLine($"validation bpc {report.Validation.BitsPerCharacter:F3}, {report.Seconds:F1} s");
        Assert.Equal(250, report.Steps);
        Assert.True(report.Validation.BitsPerCharacter < 3.4, $"bpc {report.Validation.BitsPerCharacter:F3}");
        Assert.Equal(3, report.Samples.Length);
        Assert.All(report.Samples, s => Assert.True(s.Length > 200));
        Assert.Contains(lines, l => l.StartsWith("validation: "));
    }

    [Fact]
    public void CharLstmUnigramBaselineIsAboutFiveBits()
    {
        Requires.Fortunes();
        var data = CharLstm.Data(blockSize: 64);
        // Entropy of the training set's character frequencies, measured on the validation set (cross-entropy).
        var counts = new double[data.Tokenizer.VocabSize];
        foreach (int t in data.Train.Tokens.Span) counts[t]++;
        double total = counts.Sum(), bits = 0;
        var validation = data.Validation.Tokens.Span;
        foreach (int t in validation) bits -= Math.Log2((counts[t] + 1) / (total + counts.Length));
        double unigram = bits / validation.Length;
        output.WriteLine($"unigram bpc {unigram:F3}");
        Assert.InRange(unigram, 4.6, 5.0);
    }

    [Fact]
    public void CharLstmStepperFeedsTheStateIncrementally()
    {
        DeepSharp.Random.Seed(1);
        var model = new CharLstm.Model(vocabSize: 20, embedding: 8, hidden: 16, layers: 2);
        model.Eval();
        int[] tokens = [3, 1, 4, 1, 5, 9, 2, 6];
        var full = model.Forward(Tensor.FromArray(tokens.Select(t => (long)t).ToArray(), 1, tokens.Length));   // (1, 8, 20)
        var stepper = CharLstm.Stepper(model);
        // The prompt (first 3 tokens) in one call, then one token per call, as Generation does.
        var last = stepper(tokens[..3]);
        TestAssert.Close(full.Select(1, 2), last.Select(1, -1));
        for (int n = 4; n <= tokens.Length; n++)
        {
            var logits = stepper(tokens[..n]);
            Assert.Equal([1, 1, 20], logits.Shape);
            TestAssert.Close(full.Select(1, n - 1), logits.Select(1, 0));
        }
    }

    [Fact]
    public void DatesAreWrittenInEveryFormat()
    {
        var date = new DateOnly(2021, 3, 12);   // a Friday
        string[] expected =
        [
            "twelfth of March 2021", "March 12, 2021", "12/03/2021", "Friday, 12 March 2021", "12th Mar 2021",
            "March the twelfth, twenty twenty-one", "12.3.2021", "Fri Mar 12 2021", "the twelfth of March, twenty twenty-one",
            "twelve March 2021",
        ];
        Assert.Equal(expected, Enumerable.Range(0, Dates.FormatCount).Select(f => Dates.Format(date, f)));
        Assert.Equal("MARCH THE TWELFTH, TWO THOUSAND TWENTY-ONE", Dates.Format(date, 5, casing: 2, yearStyle: 1));
        Assert.Equal("2021-03-12", Dates.Iso(date));
        Assert.Equal("twenty-first", Dates.Ordinal(21));
        Assert.Equal("thirtieth", Dates.Ordinal(30));
        Assert.Equal("twentieth", Dates.Ordinal(20));
        Assert.Equal("twenty-second", Dates.Ordinal(22));
        Assert.Equal("nineteen fifty", Dates.YearWords(1950, 0));
        Assert.Equal("two thousand and seven", Dates.YearWords(2007, 0));
        Assert.Equal("two thousand seven", Dates.YearWords(2007, 1));
        Assert.Equal("two thousand", Dates.YearWords(2000, 1));
        Assert.Equal("22nd Mar 2021", Dates.Format(new DateOnly(2021, 3, 22), 4));
        Assert.Equal("11th Mar 2021", Dates.Format(new DateOnly(2021, 3, 11), 4));
        var (train, test) = Dates.SplitDates();
        Assert.Empty(train.Intersect(test));
        Assert.Equal(36525, train.Length + test.Length);
        // Every source character is in the source vocabulary, and sources fit the model.
        var pairs = Dates.Sample(train, 2000, new Generator(5));
        Assert.All(pairs, p => Assert.All(p.Source, c => Assert.Contains(c, Dates.SourceAlphabet)));
        Assert.InRange(pairs.Max(p => p.Source.Length), 30, 60);
    }

    [Fact]
    public void Seq2SeqDatesLearnsToTranslateHeldOutDates()
    {
        var report = Seq2SeqDates.Run(steps: 200, _ => { }, lr: 5e-3, testCount: 500);
        output.WriteLine($"exact match {report.TestExactMatch:P2}, loss {report.FinalLoss:F4}, {report.Seconds:F1} s");
        // Chance is nil (10 characters to get right); the documented full run reaches more than 99%.
        Assert.True(report.TestExactMatch > 0.5, $"exact match {report.TestExactMatch:P1}");
        Assert.True(report.FinalLoss < 0.5, $"loss {report.FinalLoss:F3}");
        var translated = Seq2SeqDates.Translate(report.Model, ["12/03/2021"]);
        Assert.Single(translated);
        Assert.Equal(10, translated[0].Length);
    }

    [Fact]
    public void Seq2SeqDatesBatchPadsAndShiftsTargets()
    {
        var batch = Seq2SeqDates.MakeBatch([("1.2.2000", "2000-02-01"), ("Fri Mar 12 2021", "2021-03-12")]);
        Assert.Equal([2, 15], batch.Source.Shape);
        Assert.Equal([8, 15], batch.Lengths);
        Assert.Equal(0L, batch.Source[0, 8].Item<long>());   // <pad>
        Assert.Equal("2000-02-01", Seq2SeqDates.TargetTokenizer.Decode(batch.Target.Select(0, 0)));
        Assert.Equal(0L, batch.DecoderInput[1, 0].Item<long>());   // <bos>
        Assert.Equal("2021-03-1", Seq2SeqDates.TargetTokenizer.Decode(batch.DecoderInput.Select(0, 1).Narrow(0, 1, 9)));
        // The greedy module path infers the lengths from the padding.
        DeepSharp.Random.Seed(0);
        var model = new Seq2SeqDates.Model();
        using (Autograd.NoGrad())
            TestAssert.Close(model.Decode(batch.Source, batch.Lengths), model.Forward(batch.Source));
    }

    [Fact]
    public void TimeSeriesLstmBeatsTheLastValueForecast()
    {
        var report = TimeSeries.Run(epochs: 8, TextWriter.Null);
        output.WriteLine($"LSTM {report.LstmMse:F4} vs last value {report.NaiveMse:F4}");
        Assert.True(report.LstmMse < report.NaiveMse / 5, $"LSTM {report.LstmMse:F4} vs last value {report.NaiveMse:F4}");
        // Even one step ahead, where the last value is a good guess, the LSTM is better.
        Assert.True(report.LstmMseByStep[0] < report.NaiveMseByStep[0]);
    }
}

static class TestAssert
{
    public static void Close(Tensor expected, Tensor actual, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Shape, actual.Shape);
        var e = expected.Contiguous().ToArray<float>();
        var a = actual.Contiguous().ToArray<float>();
        for (int i = 0; i < e.Length; i++)
            Assert.True(Math.Abs(e[i] - a[i]) <= tolerance * (1 + Math.Abs(e[i])), $"element {i}: expected {e[i]}, got {a[i]}");
    }
}
