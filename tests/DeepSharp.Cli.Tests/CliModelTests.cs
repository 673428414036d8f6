using DeepSharp.Cli.Commands;
using DeepSharp.IO;
using DeepSharp.Text;
using DeepSharp.Text.Models;
using DeepSharp.Vision.Imaging;

namespace DeepSharp.Cli.Tests;

/// <summary>
/// Saved models through the real command: the kind of model decides which commands take it, `predict` takes PNG for
/// Fashion-MNIST models, and a second run into the same --out is numbered instead of overwriting (issue 13).
/// </summary>
[Collection(SerialCollection.Name)]
public class CliModelTests
{
    /// <summary>An untrained Fashion-MNIST mlp saved as `deepsharp train` saves it.</summary>
    static string ImageModel()
    {
        var dir = CliProcess.TempDir("image-model");
        var model = ImageTraining.CreateModel("mlp", ImageTraining.DatasetInfo("fashion-mnist"));
        var path = Path.Combine(dir, "model.safetensors");
        SafeTensors.Save(path, model.StateDict(), new Dictionary<string, string> { ["deepsharp.model"] = "mlp", ["deepsharp.dataset"] = "fashion-mnist" });
        return path;
    }

    /// <summary>A tiny GPT with its tokenizer, saved as `deepsharp train --model gpt` saves them.</summary>
    static string LanguageModelFile()
    {
        var dir = CliProcess.TempDir("lm-model");
        var tokenizer = CharTokenizer.FromCorpus("abc de");
        tokenizer.Save(Path.Combine(dir, "tokenizer.json"));
        var model = new Gpt(new GptConfig(tokenizer.VocabSize, ContextLength: 8, Layers: 1, Heads: 1, Width: 8));
        var path = Path.Combine(dir, "model.safetensors");
        model.Save(path, new Dictionary<string, string> { ["deepsharp.dataset"] = "fortunes" });
        return path;
    }

    [Fact]
    public void EvaluateAndPredictOnALanguageModelNameItsKindAndGenerate()
    {
        var path = LanguageModelFile();
        var line = CliProcess.Fails(2, $"{path} is a language model (gpt); 'evaluate' takes image classifiers", "evaluate", path);
        Assert.Contains($"deepsharp generate {path}", line);
        CliProcess.Fails(2, "is a language model (gpt); 'predict' takes image classifiers", "predict", path, "test:0");
        CliProcess.Fails(2, "is a language model (gpt)", "evaluate", Path.GetDirectoryName(path)!);   // the run folder works too
    }

    [Fact]
    public void GenerateOnAnImageModelNamesItsKindAndPredict()
    {
        var path = ImageModel();
        var line = CliProcess.Fails(2, $"{path} is an image classifier (mlp trained on fashion-mnist); 'generate' takes language models", "generate", path);
        Assert.Contains($"deepsharp predict {path} IMAGE", line);
    }

    [Fact]
    public void PredictTakesPngAndPgmForFashionMnistModels()
    {
        var model = ImageModel();
        var dir = Path.GetDirectoryName(model)!;
        var samples = Enumerable.Range(0, 28 * 28).Select(i => (ushort)(i % 256)).ToArray();
        var png = Path.Combine(dir, "shoe.png");
        new Image(28, 28, 1, samples).Save(png);
        var (code, output, err) = CliProcess.Run(["predict", model, png]);
        Assert.True(code == 0, err);
        Assert.Contains("prediction: ", output);
        var pgm = Path.Combine(dir, "shoe.pgm");   // plain-text PGM (P2), as before
        File.WriteAllText(pgm, "P2\n28 28\n255\n" + string.Join(' ', samples.Select(s => s.ToString(System.Globalization.CultureInfo.InvariantCulture))) + "\n");
        var (pgmCode, pgmOutput, pgmErr) = CliProcess.Run(["predict", model, pgm]);
        Assert.True(pgmCode == 0, pgmErr);
        Assert.Equal(output, pgmOutput);
        var rgb = Path.Combine(dir, "small.png");
        new Image(14, 14, 3, new ushort[14 * 14 * 3]).Save(rgb);
        var (smallCode, smallOutput, smallErr) = CliProcess.Run(["predict", model, rgb]);   // another size is resized, and said so
        Assert.True(smallCode == 0, smallErr);
        Assert.Contains("from 14x14 to 28x28", smallOutput);
    }

    [Fact]
    public void ASecondRunIntoTheSameOutIsNumberedAndTheFirstIsKept()
    {
        Requires.FashionMnist();
        var root = CliProcess.TempDir();
        string[] args = ["train", "--model", "mlp", "--limit", "64", "--test-limit", "16", "--epochs", "1", "--threads", "1", "--out", "runs/mlp"];
        var (code, output, err) = CliProcess.Run(args, root);
        Assert.True(code == 0, err);
        Assert.DoesNotContain("earlier run", output);
        var first = File.ReadAllBytes(Path.Combine(root, "runs/mlp/history.csv"));
        (code, output, err) = CliProcess.Run(args, root);
        Assert.True(code == 0, err);
        Assert.Contains("runs/mlp holds an earlier run, kept as it is; this run writes to runs/mlp/version_2", output);
        Assert.True(File.Exists(Path.Combine(root, "runs/mlp/version_2/model.safetensors")));
        Assert.Equal(first, File.ReadAllBytes(Path.Combine(root, "runs/mlp/history.csv")));
        (code, output, _) = CliProcess.Run(args, root);
        Assert.Equal(0, code);
        Assert.Contains("this run writes to runs/mlp/version_3", output);
    }
}
