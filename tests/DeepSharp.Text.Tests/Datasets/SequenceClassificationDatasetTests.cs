using DeepSharp.Data;
using DeepSharp.Text.Datasets;

namespace DeepSharp.Text.Tests.Datasets;

public class SequenceClassificationDatasetTests
{
    static List<DelimitedRecord> Csv(string text, char delimiter = ',', bool quoting = true) =>
        [.. DelimitedTextReader.Read(new StringReader(text), delimiter, quoting)];

    [Fact]
    public void CsvQuotingFollowsRfc4180()
    {
        var records = Csv("text,label\r\n\"Hello, world\",pos\n\"She said \"\"hi\"\"\",neg\n\"two\nlines\",pos\nplain \"quote\" inside,neg\n\n,empty\n\"\",x");
        Assert.Equal(["text", "label"], records[0].Fields);
        Assert.Equal(["Hello, world", "pos"], records[1].Fields);
        Assert.Equal(["She said \"hi\"", "neg"], records[2].Fields);
        Assert.Equal(["two\nlines", "pos"], records[3].Fields);
        Assert.Equal(["plain \"quote\" inside", "neg"], records[4].Fields);
        Assert.Equal(["", "empty"], records[5].Fields);                      // the blank line was skipped
        Assert.Equal(["", "x"], records[6].Fields);
        Assert.Equal(7, records.Count);
        Assert.Equal([1, 2, 3, 4, 6, 8, 9], records.Select(r => r.Line));
    }

    [Fact]
    public void TsvSplitsEveryTabWithoutQuoting()
    {
        var records = Csv("a \"quoted\" text\t1\nnext\t0\t extra\n", '\t', quoting: false);
        Assert.Equal(["a \"quoted\" text", "1"], records[0].Fields);
        Assert.Equal(["next", "0", " extra"], records[1].Fields);
    }

    [Fact]
    public void UnterminatedQuoteNamesItsLine()
    {
        var e = Assert.Throws<InvalidDataException>(() => Csv("a,1\n\"never closed,2\nmore"));
        Assert.Contains("line 2", e.Message);
    }

    [Fact]
    public void ReadsCsvWithHeaderByColumnName()
    {
        var tokenizer = WordTokenizer.Build(["good movie", "bad film", "great great movie"]);
        var path = WriteTemp(".csv", "id,label,review\n1,positive,\"good, great movie\"\n2,negative,bad film\n3,positive,\"great \"\"great\"\" great great movie\"\n");
        try
        {
            var dataset = SequenceClassificationDataset.FromFile(path, tokenizer, maxLength: 4, hasHeader: true,
                                                                 textColumnName: "review", labelColumnName: "label");
            Assert.Equal(3, dataset.Count);
            Assert.Equal(["negative", "positive"], dataset.Labels);
            Assert.Equal(2, dataset.NumClasses);
            var item = dataset.Get(0);
            // "good , great movie" -> 4 tokens (the comma is unknown to the vocabulary)
            Assert.Equal([tokenizer.TokenToId("good"), tokenizer.UnkId, tokenizer.TokenToId("great"), tokenizer.TokenToId("movie")],
                         item[0].ToArray<long>().Select(v => (int)v));
            Assert.Equal(1L, item[1].Item<long>());
            Assert.Equal(4L, item[2].Item<long>());
            Assert.Equal(0, item[1].Rank);
            var second = dataset.Get(1);
            Assert.Equal([tokenizer.TokenToId("bad"), tokenizer.TokenToId("film"), 0, 0], second[0].ToArray<long>().Select(v => (int)v));
            Assert.Equal(2L, second[2].Item<long>());
            Assert.Equal(4L, dataset.Get(2)[2].Item<long>());                    // 7 tokens truncated to maxLength 4
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void ReadsTsvByColumnIndexWithNumericLabels()
    {
        var tokenizer = CharTokenizer.FromCorpus("abc", specialTokens: ["<pad>"]);
        var path = WriteTemp(".tsv", "10\tabc\n2\tab\n10\tc\n");
        try
        {
            var dataset = SequenceClassificationDataset.FromFile(path, tokenizer, maxLength: 3, textColumn: 1, labelColumn: 0);
            Assert.Equal(["2", "10"], dataset.Labels);                          // numeric order, not "10" < "2"
            var (ids, labels, lengths) = (dataset.GetBatch([0, 1, 2])[0], dataset.GetBatch([0, 1, 2])[1], dataset.GetBatch([0, 1, 2])[2]);
            Assert.Equal([3, 3], ids.Shape);
            Assert.Equal([1L, 0, 1], labels.ToArray<long>());
            Assert.Equal([3L, 2, 1], lengths.ToArray<long>());
            Assert.Equal(0L, ids.ToArray<long>()[5]);                            // padded with <pad> = 0
            Assert.Equal("ab", tokenizer.Decode(ids.Select(0, 1).Narrow(0, 0, 2)));
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void DataLoaderYieldsIdsLabelsAndLengths()
    {
        var texts = Enumerable.Range(0, 10).Select(i => new string('a', i + 1)).ToList();
        var labels = Enumerable.Range(0, 10).Select(i => i % 2 == 0 ? "even" : "odd").ToList();
        var dataset = new SequenceClassificationDataset(texts, labels, CharTokenizer.FromCorpus("a"), maxLength: 6, padId: 0);
        var batches = new DataLoader(dataset, batchSize: 4).ToList();
        Assert.Equal(3, batches.Count);
        var (x, y, lengths) = batches[0];
        Assert.Equal([4, 6], x.Shape);
        Assert.Equal([0L, 1, 0, 1], y.ToArray<long>());
        Assert.Equal([1L, 2, 3, 4], lengths.ToArray<long>());
        Assert.Equal([6L, 6], batches[2][2].ToArray<long>());
    }

    [Fact]
    public void AGivenLabelVocabularyFixesIdsAndRejectsUnknownLabels()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab");
        var dataset = new SequenceClassificationDataset(["a", "b"], ["neg", "pos"], tokenizer, 2, labelVocabulary: ["pos", "neg", "neutral"]);
        Assert.Equal(1L, dataset.Get(0)[1].Item<long>());
        Assert.Equal(3, dataset.NumClasses);
        Assert.Equal(2, dataset.LabelToId("neutral"));
        var e = Assert.Throws<ArgumentException>(() => new SequenceClassificationDataset(["a"], ["other"], tokenizer, 2, labelVocabulary: ["pos"]));
        Assert.Contains("'other'", e.Message);
        var path = WriteTemp(".csv", "a,pos\nb,huh\n");
        try
        {
            var fromFile = Assert.Throws<ArgumentException>(() => SequenceClassificationDataset.FromFile(path, tokenizer, 2, labelVocabulary: ["pos"]));
            Assert.Contains("line 2", fromFile.Message);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void BadInputIsRejected()
    {
        var tokenizer = CharTokenizer.FromCorpus("ab");
        Assert.Throws<ArgumentException>(() => new SequenceClassificationDataset(["a"], ["x", "y"], tokenizer, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceClassificationDataset(["a"], ["x"], tokenizer, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new SequenceClassificationDataset(["a"], ["x"], tokenizer, 2, padId: 99));
        var path = WriteTemp(".csv", "text,label\nonly-one-field\n");
        try
        {
            var e = Assert.Throws<InvalidDataException>(() => SequenceClassificationDataset.FromFile(path, tokenizer, 2, hasHeader: true));
            Assert.Contains("line 2", e.Message);
            var name = Assert.Throws<ArgumentException>(() => SequenceClassificationDataset.FromFile(path, tokenizer, 2, hasHeader: true, textColumnName: "body"));
            Assert.Contains("'body'", name.Message);
            Assert.Throws<ArgumentException>(() => SequenceClassificationDataset.FromFile(path, tokenizer, 2, textColumnName: "text"));
        }
        finally { File.Delete(path); }
        var dataset = new SequenceClassificationDataset(["a"], ["x"], tokenizer, 2);
        Assert.Throws<ArgumentOutOfRangeException>(() => dataset.Get(1));
    }

    static string WriteTemp(string extension, string content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"cls-{Guid.NewGuid():N}{extension}");
        File.WriteAllText(path, content);
        return path;
    }
}
