using DeepSharp.Kernels;

namespace DeepSharp.Compression.Tests;

[Collection(SerialCollection.Name)]
public class ExampleTests
{
    /// <summary>examples/CompressFashion end to end at toy size: prune (curve + SVG), filter-prune, distill.</summary>
    [Fact]
    public void CompressFashionExampleRunsAtToySize()
    {
        Requires.FashionMnist();
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        var outDir = Path.Combine(Path.GetTempPath(), $"compress-{Guid.NewGuid():N}");
        try
        {
            var options = CompressFashionExample.Options.Parse(["--train-images", "256", "--test-images", "200", "--batch-size", "64",
                "--sparsities", "0.9", "--out", outDir]);
            var log = new StringWriter();
            var result = CompressFashionExample.Run(options, log);
            Assert.Equal([0, 0.9], result.Curve.Select(c => c.Sparsity));
            foreach (var acc in result.Curve.Select(c => c.Accuracy).Append(result.StudentAlone).Append(result.Distilled).Append(result.ShrunkAccuracy))
                Assert.InRange(acc, 0, 1);
            Assert.True(result.Teacher > 0.15, log.ToString());             // above chance (0.1) after 4 batches (seeded: 0.22)
            Assert.Contains("<polyline", File.ReadAllText(Path.Combine(outDir, "sparsity.svg")));
            Assert.Contains("filter pruning 50%", log.ToString());
        }
        finally
        {
            KernelThreadPool.SetThreadCount(saved);
            if (Directory.Exists(outDir)) Directory.Delete(outDir, true);
        }
    }

    /// <summary>examples/PrecisionFashion at toy size: the Fashion CNN converted to bfloat16 trains with SGD and stays 16-bit.</summary>
    [Fact]
    public void PrecisionFashionExampleTrainsABFloat16ModelAtToySize()
    {
        Requires.FashionMnist();
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(1);
        try
        {
            var log = new StringWriter();
            var result = PrecisionFashionExample.Run(PrecisionFashionExample.Options.Parse(["--precision", "bf16", "--train-images", "256",
                "--test-images", "200", "--batch-size", "32", "--lr", "0.05"]), log);
            Assert.Equal(DType.BFloat16, result.DType);
            Assert.Equal(new DeepSharp.Vision.Models.FashionCnn().ParameterCount() * 2L, result.ParameterBytes);
            Assert.True(double.IsFinite(result.LastLoss), log.ToString());
            Assert.True(result.Accuracy > 0.15, log.ToString());   // above chance (0.1) after 8 batches
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
    }
}
