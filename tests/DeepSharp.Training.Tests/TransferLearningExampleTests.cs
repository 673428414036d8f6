using DeepSharp.Kernels;

namespace DeepSharp.Training.Tests;

[Collection(SerialCollection.Name)]
public class TransferLearningExampleTests
{
    /// <summary>The example end to end at toy size (width 4, a few hundred images): it runs, reports four accuracies and the load.</summary>
    [Fact]
    public void TransferLearningExampleRunsAtToySize()
    {
        Requires.FashionMnist();
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        try
        {
            var options = TransferLearningExample.Options.Parse(
                ["--width", "4", "--source-images", "400", "--per-class", "10", "--target-steps", "4", "--test-images", "100", "--batch-size", "32"]);
            var log = new StringWriter();
            var result = TransferLearningExample.Run(options, log);
            var target = Assert.Single(result.Targets);
            Assert.Equal(50, target.Images);
            foreach (var acc in new[] { result.Source, target.FineTuned, target.FrozenBackbone, target.Scratch }) Assert.InRange(acc, 0, 1);
            var text = log.ToString();
            Assert.Contains("loaded 120 tensors; skipped 2, missing 0, unexpected 0", text);
            Assert.Contains("frozen backbone (165 trainable parameters)", text);        // 5·32 + 5
            Assert.Contains("classes 5-9 from 50 labelled images, 100 test images: fine-tuned", text);
            Assert.Contains("50 labelled images of classes 5-9 written as JPEG (quality 90) to a folder per class and read back with ImageFolderDataset", text);
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
    }

    [Fact]
    public void TargetImagesRoundTripThroughAJpegFolder()
    {
        Assert.True(Directory.Exists("/usr/share/datasets/fashion-mnist"), "Fashion-MNIST is missing: apt-get install dataset-fashion-mnist");
        var test = DeepSharp.Vision.Datasets.MnistDataset.Load(DeepSharp.Vision.Datasets.MnistDataset.FashionMnist, train: false);
        var (x, y) = TransferLearningExample.Select(test, 5, 5, perClass: 4);
        var root = Path.Combine(Path.GetTempPath(), $"tl-jpeg-{Guid.NewGuid():N}");
        TransferLearningExample.WriteJpegFolder(root, x, y, DeepSharp.Vision.Datasets.MnistDataset.FashionClasses[5..]);
        Assert.Equal(["0_Sandal", "1_Shirt", "2_Sneaker", "3_Bag", "4_Ankle-boot"], Directory.GetDirectories(root).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var (backX, backY) = TransferLearningExample.ReadImageFolder(root);
        Assert.Equal(x.Shape, backX.Shape);
        // the folder reads class by class: compare as sorted by label, JPEG at quality 90 within a few levels per pixel
        var order = Tensor.FromArray(Enumerable.Range(0, 20).OrderBy(i => y.ToArray<long>()[i]).Select(i => (long)i).ToArray());
        Assert.Equal(y.IndexSelect(0, order).ToArray<long>(), backY.ToArray<long>());
        float meanError = (x.IndexSelect(0, order) - backX).Abs().Mean().Item<float>();
        Assert.InRange(meanError, 0f, 4f / 255);
        Directory.Delete(root, recursive: true);
    }

    [Fact]
    public void SelectTakesClassesAndShiftsLabels()
    {
        Requires.FashionMnist();
        var test = DeepSharp.Vision.Datasets.MnistDataset.Load(DeepSharp.Vision.Datasets.MnistDataset.FashionMnist, train: false);
        var (x, y) = TransferLearningExample.Select(test, 5, 5, perClass: 3);
        Assert.Equal([15, 1, 28, 28], x.Shape);
        var labels = y.ToArray<long>();
        for (int c = 0; c < 5; c++) Assert.Equal(3, labels.Count(l => l == c));
        var (_, all) = TransferLearningExample.Select(test, 5, 5);
        Assert.Equal(5000, all.Shape[0]);
    }
}
