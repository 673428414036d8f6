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
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
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
