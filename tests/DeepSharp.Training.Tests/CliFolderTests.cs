using DeepSharp.IO;
using DeepSharp.Vision.Datasets;

namespace DeepSharp.Training.Tests;

/// <summary>`deepsharp train --dataset folder:PATH` and `predict`/`evaluate` on a folder of JPEG photos.</summary>
public class CliFolderTests
{
    static (int Code, string Out, string Err) Run(params string[] args)
    {
        var o = new StringWriter(); var e = new StringWriter();
        int code = Cli.Cli.Run(args, o, e);
        return (code, o.ToString(), e.ToString());
    }

    /// <summary>Fashion-MNIST test images of classes 5-7 as JPEG files, 12 per class, in DIR/&lt;class&gt;/.</summary>
    static string JpegFolder()
    {
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var test = MnistDataset.Load(MnistDataset.FashionMnist, train: false);
        var (x, y) = TransferLearningExample.Select(test, 5, 3, perClass: 12);
        var root = Path.Combine(Path.GetTempPath(), $"cli-folder-{Guid.NewGuid():N}");
        TransferLearningExample.WriteJpegFolder(root, x, y, MnistDataset.FashionClasses[5..8]);
        return root;
    }

    [Fact]
    public void TrainPredictAndEvaluateOnAFolderOfJpegs()
    {
        var root = JpegFolder();
        var outDir = Path.Combine(root, "..", Path.GetFileName(root) + "-run");
        var (code, output, err) = Run("train", "--dataset", "folder:" + root, "--model", "mlp", "--image-size", "24", "--epochs", "1",
            "--batch-size", "8", "--threads", "1", "--out", outDir, "--val-fraction", "0");
        Assert.True(code == 0, err);
        Assert.Contains("30 training and 6 test images", output);   // 36 images, a sixth held out
        Assert.Contains("test accuracy:", output);
        var model = Path.Combine(outDir, "model.safetensors");
        var (_, metadata) = SafeTensors.LoadWithMetadata(model);
        Assert.Equal("[\"0_Sandal\",\"1_Shirt\",\"2_Sneaker\"]", metadata["deepsharp.classes"]);
        Assert.Equal("24", metadata["deepsharp.image_size"]);

        var photo = Directory.GetFiles(Path.Combine(root, "2_Sneaker"))[0];
        (code, output, err) = Run("predict", model, photo);
        Assert.True(code == 0, err);
        Assert.Contains("prediction: ", output);
        Assert.Contains("2_Sneaker", output);   // among the top three of three classes

        (code, output, err) = Run("evaluate", model);
        Assert.True(code == 0, err);
        Assert.Contains("test accuracy:", output);
    }

    [Fact]
    public void ImageNetStyleSplitFoldersAreUsed()
    {
        var root = JpegFolder();
        var split = Path.Combine(Path.GetTempPath(), $"cli-split-{Guid.NewGuid():N}");
        foreach (var dir in Directory.GetDirectories(root))
        {
            var files = Directory.GetFiles(dir);
            foreach (var (part, take) in new[] { ("train", files[..9]), ("val", files[9..]) })
            {
                var target = Path.Combine(split, part, Path.GetFileName(dir));
                Directory.CreateDirectory(target);
                foreach (var f in take) File.Copy(f, Path.Combine(target, Path.GetFileName(f)));
            }
        }
        var (code, output, err) = Run("train", "--dataset", "folder:" + split, "--model", "mlp", "--image-size", "16", "--epochs", "1",
            "--threads", "1", "--out", Path.Combine(split, "run"), "--val-fraction", "0");
        Assert.True(code == 0, err);
        Assert.Contains("27 training and 9 test images", output);
    }

    [Theory]
    [InlineData("train --dataset folder:/nonexistent/photos", "dataset folder not found: /nonexistent/photos")]
    [InlineData("train --dataset folder:", "folder:PATH needs a folder")]
    [InlineData("train --dataset svhn", "--dataset must be one of fashion-mnist, mnist, cifar10, cifar100, folder:PATH")]
    public void BadFolderArgumentsGetOneLineErrors(string args, string expected)
    {
        var (code, _, err) = Run(args.Split(' '));
        Assert.Equal(2, code);
        Assert.Contains(expected, err);
    }

    [Fact]
    public void PredictResizesAPhotoForADatasetModel()
    {
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var dir = Path.Combine(Path.GetTempPath(), $"cli-predict-{Guid.NewGuid():N}");
        var (code, _, err) = Run("train", "--model", "mlp", "--epochs", "1", "--limit", "300", "--out", dir, "--threads", "1");
        Assert.True(code == 0, err);
        // a 56 x 70 JPEG of a test image: resized and centre-cropped to 28 x 28
        var test = MnistDataset.Load(MnistDataset.FashionMnist, train: false);
        var big = Vision.Transforms.TF.Resize(test.Images.Select(0, 0), new NN.Size2(56, 70));
        var photo = Path.Combine(dir, "photo.jpg");
        Vision.Imaging.Image.FromTensor(big).Save(photo);
        string output;
        (code, output, err) = Run("predict", Path.Combine(dir, "model.safetensors"), photo);
        Assert.True(code == 0, err);
        Assert.Contains("resized", output);
        Assert.Contains("70x56 to 28x28", output);
        Assert.Contains("prediction: ", output);
    }
}
