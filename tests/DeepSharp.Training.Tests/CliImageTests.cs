using DeepSharp.IO;

namespace DeepSharp.Training.Tests;

/// <summary>`deepsharp train` with model-zoo models, CIFAR, and transfer learning (--pretrained, --freeze-backbone, --head-lr).</summary>
[Collection(SerialCollection.Name)]
public class CliImageTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    static string TempDir()
    {
        var dir = Path.Combine(Path.GetTempPath(), $"cli-img-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return dir;
    }

    [Theory]
    [InlineData("train --model alexnet", "alexnet needs images of at least 63×63 pixels; got 28×28")]
    [InlineData("train --model vit_b_16", "vit_b_16 needs images of exactly 224×224 pixels; got 28×28")]
    [InlineData("train --model cnn --dataset cifar10", "fashion_cnn needs images of exactly 28×28 pixels; got 32×32")]
    [InlineData("train --model resnet9000", "a model-zoo name (lenet5, fashion_cnn, alexnet")]
    [InlineData("train --dataset svhn", "--dataset must be one of fashion-mnist, mnist, cifar10, cifar100")]
    [InlineData("train --freeze-backbone", "--freeze-backbone needs --pretrained FILE")]
    [InlineData("train --head-lr x", "--head-lr must be a number")]
    public void BadTransferAndZooCommandLinesGetOneLineErrors(string args, string expected)
    {
        var (code, _, err) = Run(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void TooSmallInputErrorListsTheModelsThatFit()
    {
        var (_, _, err) = Run("train", "--model", "vgg16");
        Assert.Contains("Models for 28×28 images: mlp, lenet5, fashion_cnn, googlenet, resnet18", err);
        Assert.DoesNotContain("alexnet,", err);
    }

    [Fact]
    public void PretrainedFrozenBackboneTrainsOnlyTheHead()
    {
        Requires.FashionMnist();
        var dir = TempDir();
        string source = Path.Combine(dir, "source"), target = Path.Combine(dir, "target");
        var (code, output, err) = Run("train", "--model", "lenet", "--epochs", "1", "--limit", "600", "--out", source, "--threads", "1");
        Assert.True(code == 0, err);
        var pretrained = Path.Combine(source, "model.safetensors");

        (code, output, err) = Run("train", "--model", "lenet", "--epochs", "1", "--limit", "600", "--out", target, "--threads", "1",
            "--pretrained", pretrained, "--freeze-backbone", "--head-lr", "0.01");
        Assert.True(code == 0, err);
        Assert.Contains("loaded 8 tensors; skipped 2, missing 0, unexpected 0", output);
        Assert.Contains("skipped classifier.5.weight: classifier head", output);
        Assert.Contains("frozen backbone: 850 of ", output);                       // 84·10 + 10
        Assert.StartsWith("test accuracy: 0.", output.Trim().Split('\n')[^1]);
        var before = SafeTensors.Load(pretrained);
        var after = SafeTensors.Load(Path.Combine(target, "model.safetensors"));
        Assert.Equal(before["features.0.weight"].ToArray<float>(), after["features.0.weight"].ToArray<float>());     // frozen
        Assert.Equal(before["classifier.3.weight"].ToArray<float>(), after["classifier.3.weight"].ToArray<float>());
        Assert.NotEqual(before["classifier.5.weight"].ToArray<float>(), after["classifier.5.weight"].ToArray<float>()); // the head trained

        // fine-tuning everything with a faster head
        (code, output, err) = Run("train", "--model", "lenet", "--epochs", "1", "--limit", "600", "--out", target, "--threads", "1",
            "--pretrained", pretrained, "--head-lr", "0.01");
        Assert.True(code == 0, err);
        Assert.Contains("this run writes to " + Path.Combine(target, "version_2"), output);   // the frozen run's folder is kept
        after = SafeTensors.Load(Path.Combine(target, "version_2", "model.safetensors"));
        Assert.NotEqual(before["features.0.weight"].ToArray<float>(), after["features.0.weight"].ToArray<float>());

        // a checkpoint of another architecture is refused with a pointer to the right --model
        (code, _, err) = Run("train", "--model", "cnn", "--limit", "600", "--pretrained", pretrained, "--out", target);
        Assert.Equal(2, code);
        Assert.Contains("holds a 'lenet' model; pass --model lenet", err);
        (code, _, err) = Run("train", "--model", "lenet", "--limit", "600", "--pretrained", Path.Combine(dir, "none.safetensors"), "--out", target);
        Assert.Equal(1, code);
        Assert.Contains("pretrained weights not found", err);
        Directory.Delete(dir, recursive: true);
    }

    /// <summary>A CIFAR-10 folder in the binary format: 5 training batches and a test batch of random-looking records.</summary>
    static string FakeCifar10(int perBatch)
    {
        var dir = TempDir();
        var rng = new System.Random(0);
        byte[] Records(int count)
        {
            var data = new byte[count * 3073];
            rng.NextBytes(data);
            for (int r = 0; r < count; r++) data[r * 3073] = (byte)(r % 10);
            return data;
        }
        for (int b = 1; b <= 5; b++) File.WriteAllBytes(Path.Combine(dir, $"data_batch_{b}.bin"), Records(perBatch));
        File.WriteAllBytes(Path.Combine(dir, "test_batch.bin"), Records(perBatch));
        return dir;
    }

    [Fact]
    public void ZooModelTrainsEvaluatesAndPredictsOnCifar()
    {
        var data = FakeCifar10(12);
        var dir = Path.Combine(data, "run");
        var (code, output, err) = Run("train", "--dataset", "cifar10", "--data", data, "--model", "mobilenet_v2", "--epochs", "1",
            "--batch-size", "8", "--out", dir, "--threads", "1", "--val-fraction", "0");
        Assert.True(code == 0, err);
        Assert.Contains("cifar10: 60 training and 12 test images", output);
        Assert.StartsWith("test accuracy: ", output.Trim().Split('\n')[^1]);
        var model = Path.Combine(dir, "model.safetensors");
        (code, output, err) = Run("evaluate", model, "--data", data, "--threads", "1");
        Assert.True(code == 0, err);
        Assert.Contains("airplane", output);
        Assert.Contains("test accuracy:", output);
        (code, output, err) = Run("predict", model, "test:3", "--data", data);
        Assert.True(code == 0, err);
        Assert.Contains("true class: cat", output);
        Assert.Contains("prediction:", output);
        (code, _, err) = Run("train", "--dataset", "cifar100", "--data", data, "--model", "mlp");
        Assert.Equal(1, code);
        Assert.Contains("--data", err);
        Directory.Delete(data, recursive: true);
    }
}
