using DeepSharp.Cli;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Training.Tests;

[Collection(SerialCollection.Name)]
public class CliTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    [Theory]
    [InlineData("train --epochs x", "--epochs must be a whole number")]
    [InlineData("train --bogus 1", "unknown option --bogus")]
    [InlineData("train --model resnet9000", "--model must be one of")]
    [InlineData("train --epochs", "needs a value")]
    [InlineData("frobnicate", "unknown command")]
    [InlineData("evaluate", "give the model file")]
    public void BadCommandLinesGetOneLineErrors(string args, string expected)
    {
        var (code, _, err) = Run(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void MissingDataSaysWhatToDo()
    {
        var installed = MnistDataset.SearchFolders(MnistDataset.Mnist, dataDir: null).FirstOrDefault(Directory.Exists);
        Assert.SkipWhen(installed != null, $"MNIST is installed ({installed}), so a missing dataset cannot be simulated");
        var (code, _, err) = Run("train", "--dataset", "mnist", "--data", "/nonexistent-dir");
        Assert.Equal(1, code);
        Assert.Contains("--data", err);
    }

    [Fact]
    public void TrainEvaluatePredictEndToEndOnASlice()
    {
        Requires.FashionMnist();
        var dir = Path.Combine(Path.GetTempPath(), $"cli-{Guid.NewGuid():N}");
        var (code, output, err) = Run("train", "--model", "mlp", "--epochs", "1", "--limit", "3000", "--out", dir, "--threads", "1");
        Assert.True(code == 0, err);
        var last = output.Trim().Split('\n')[^1];
        Assert.StartsWith("test accuracy: 0.", last);
        Assert.True(double.Parse(last["test accuracy: ".Length..], System.Globalization.CultureInfo.InvariantCulture) > 0.5, last);
        Assert.True(File.Exists(Path.Combine(dir, "curve.svg")));
        Assert.True(File.Exists(Path.Combine(dir, "history.csv")));
        // same seed and threads: same accuracy to the last digit
        var (_, again, _) = Run("train", "--model", "mlp", "--epochs", "1", "--limit", "3000", "--out", dir + "-2", "--threads", "1");
        Assert.Equal(last, again.Trim().Split('\n')[^1]);
        var (ecode, eout, _) = Run("evaluate", Path.Combine(dir, "model.safetensors"));
        Assert.Equal(0, ecode);
        Assert.Contains("test accuracy:", eout);
        var (pcode, pout, _) = Run("predict", Path.Combine(dir, "model.safetensors"), "test:0");
        Assert.Equal(0, pcode);
        Assert.Contains("prediction:", pout);
    }

    [Fact]
    public void InfoPrintsSimdLevel()
    {
        var (code, output, _) = Run("info");
        Assert.Equal(0, code);
        Assert.Contains("simd", output);
    }
}
