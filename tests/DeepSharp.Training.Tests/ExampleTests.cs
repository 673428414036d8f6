using DeepSharp.Kernels;

namespace DeepSharp.Training.Tests;

[Collection(SerialCollection.Name)]
public class ExampleTests
{
    [Theory]
    [InlineData(1)] [InlineData(2)]
    public void MlpFromScratchSolvesXorAndSpiral(int threads)
    {
        int saved = KernelThreadPool.ThreadCount;
        KernelThreadPool.SetThreadCount(threads);
        try
        {
            DeepSharp.Random.Seed(0);
            var (x, y) = MlpFromScratch.Xor();
            Assert.Equal(1.0, MlpFromScratch.Train(x, y, hidden: 32, steps: 2000, lr: 0.5));
            var (sx, sy) = MlpFromScratch.Spiral(100, 3);
            Assert.True(MlpFromScratch.Train(sx, sy, hidden: 64, steps: 3000, lr: 0.5) >= 0.95);
        }
        finally { KernelThreadPool.SetThreadCount(saved); }
    }
}
