using DeepSharp.Kernels;

namespace DeepSharp.Robustness.Tests;

/// <summary>examples/AdversarialFashion end to end at toy size.</summary>
public class ExampleTests
{
    [Fact]
    public void AdversarialFashionExampleRunsAtToySize()
    {
        Requires.FashionMnist();
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        var dir = Path.Combine(Path.GetTempPath(), $"adv-example-{Guid.NewGuid():N}");
        try
        {
            var options = AdversarialFashionExample.Options.Parse(
                ["--train-images", "256", "--epochs", "1", "--train-steps", "1", "--test-images", "40", "--attack-steps", "2",
                 "--methods", "standard,trades", "--batch-size", "64", "--out", dir]);
            var log = new StringWriter();
            var results = AdversarialFashionExample.Run(options, log);
            Assert.Equal(["standard", "trades"], results.Select(r => r.Method));
            foreach (var r in results)
            {
                Assert.Equal([0, 0.05, 0.1, 0.2], r.Pgd.Select(c => c.Epsilon));
                Assert.All(r.Pgd, c => { Assert.Equal(40, c.Examples); Assert.InRange(c.Accuracy, 0, 1); });
                Assert.InRange(r.Fgsm, 0, 1);
            }
            var text = log.ToString();
            Assert.Contains("| ε | standard | trades |", text);
            Assert.Contains("| FGSM 0.1 |", text);
            Assert.True(File.Exists(Path.Combine(dir, "pgd_examples.png")));
        }
        finally
        {
            KernelThreadPool.SetThreadCount(saved);
            if (Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
        }
    }
}
