using System.Globalization;
using DeepSharp.Text.Models;

namespace DeepSharp.Training.Tests;

[Collection(SerialCollection.Name)]
public class LanguageModelCliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    static string TempText()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"lmcli-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        var lines = Enumerable.Range(0, 40).Select(i => $"The quick brown fox jumps over the lazy dog {i % 7}. A stitch in time saves nine.");
        var path = Path.Combine(dir, "tiny.txt");
        File.WriteAllText(path, string.Join("\n", lines) + "\n");
        return path;
    }

    static double LastNumber(string output, string prefix)
    {
        var line = output.Trim().Split('\n').Last(l => l.StartsWith(prefix));
        return double.Parse(line[prefix.Length..].Trim(), CultureInfo.InvariantCulture);
    }

    [Fact]
    public void TrainsAGptOnATextFileThenGenerates()
    {
        var text = TempText();
        var dir = Path.Combine(Path.GetDirectoryName(text)!, "gpt");
        string[] args = ["train", "--dataset", "text:" + text, "--model", "gpt", "--context", "16", "--layers", "1", "--heads", "2",
                         "--width", "16", "--steps", "40", "--batch-size", "8", "--lr", "3e-3", "--threads", "1", "--out", dir,
                         "--sample-tokens", "20", "--prompt", "The "];
        var (code, output, err) = Run(args);
        Assert.True(code == 0, err + output);
        var last = output.Trim().Split('\n')[^1];
        Assert.StartsWith("validation bits per character: ", last);
        double bpc = LastNumber(output, "validation bits per character: ");
        Assert.True(bpc > 0 && bpc < Math.Log2(30), last);   // better than uniform over the ~30 characters
        Assert.Contains("--- sample", output);
        foreach (var file in new[] { "model.safetensors", "tokenizer.json", "config.json", "history.csv" })
            Assert.True(File.Exists(Path.Combine(dir, file)), file);
        var (model, metadata) = LanguageModel.Load(Path.Combine(dir, "model.safetensors"));
        Assert.IsType<Gpt>(model);
        Assert.Equal(16, ((Gpt)model).Config.ContextLength);
        Assert.Equal("40", metadata["steps"]);

        // same seed and threads: same result to the last digit
        var (_, again, _) = Run(args.Select(a => a == dir ? dir + "-2" : a).ToArray());
        Assert.Equal(last, again.Trim().Split('\n')[^1]);

        var (gcode, generated, gerr) = Run("generate", dir, "--prompt", "The quick", "--max-tokens", "30", "--seed", "3");
        Assert.True(gcode == 0, gerr);
        Assert.StartsWith("The quick", generated);
        Assert.True(generated.TrimEnd('\n').Length >= "The quick".Length + 20, generated);   // 30 characters, a few may be newlines
        Assert.Equal(generated, Run("generate", Path.Combine(dir, "model.safetensors"), "--prompt", "The quick", "--max-tokens", "30", "--seed", "3").Out);
        var (_, greedy, _) = Run("generate", dir, "--prompt", "The", "--max-tokens", "10", "--temperature", "0");
        Assert.StartsWith("The", greedy);
    }

    [Fact]
    public void TrainsAnLstmWithBytePairEncodingUnderATimeBudget()
    {
        var text = TempText();
        var dir = Path.Combine(Path.GetDirectoryName(text)!, "lstm");
        var (code, output, err) = Run("train", "--dataset", "text:" + text, "--model", "lstm", "--tokenizer", "bpe", "--vocab-size", "300",
                                      "--context", "8", "--width", "32", "--embedding", "16", "--time", "1", "--batch-size", "8",
                                      "--threads", "1", "--out", dir, "--sample-tokens", "10");
        Assert.True(code == 0, err + output);
        Assert.Contains("validation loss: ", output);
        Assert.Contains("perplexity", output);
        Assert.True(LastNumber(output, "validation bits per character: ") > 0);
        var (model, metadata) = LanguageModel.Load(Path.Combine(dir, "model.safetensors"));
        Assert.IsType<LstmLanguageModel>(model);
        Assert.Equal("bpe", metadata["deepsharp.tokenizer"]);
        Assert.True(double.Parse(metadata["seconds"], CultureInfo.InvariantCulture) >= 0.9, metadata["seconds"]);   // used its second
        var (gcode, generated, gerr) = Run("generate", dir, "--prompt", "A stitch", "--max-tokens", "12", "--top-k", "5", "--top-p", "0.9");
        Assert.True(gcode == 0, gerr);
        Assert.StartsWith("A stitch", generated);
    }

    [Theory]
    [InlineData("train --dataset text:/nonexistent/file.txt --model gpt", "text file not found")]
    [InlineData("train --dataset text:TINY --model transformerxl", "--model must be one of gpt, lstm")]
    [InlineData("train --dataset mnist --model lstm", "train on text")]
    [InlineData("train --dataset text:TINY --epochs 1 --steps 5", "not both")]
    [InlineData("train --dataset text:TINY --width 30 --heads 4", "multiple of --heads")]
    [InlineData("train --dataset text:TINY --context 10000", "too small for --context")]
    [InlineData("train --dataset text:TINY --tokenizer sentencepiece", "--tokenizer must be one of char, bpe")]
    [InlineData("generate /nonexistent/run", "model not found")]
    [InlineData("generate", "give the model")]
    [InlineData("generate /tmp --top-p 1.5", "--top-p")]
    public void BadLanguageModelCommandLinesGetOneLineErrors(string args, string expected)
    {
        var tiny = TempText();
        var (code, _, err) = Run(args.Replace("TINY", tiny).Split(' '));
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }
}
