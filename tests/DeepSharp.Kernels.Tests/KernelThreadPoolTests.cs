using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

[Collection("KernelThreads")]
public class KernelThreadPoolTests
{
    struct CountBody : IParallelBody
    {
        public int[] Hits;
        public void Invoke(int index) => Interlocked.Increment(ref Hits[index]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public void ParallelFor_RunsEveryIndexOnce(int threads)
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(threads);
            Assert.Equal(threads, KernelThreadPool.ThreadCount);
            foreach (int count in new[] { 0, 1, 2, 3, 17, 1000 })
                for (int rep = 0; rep < 50; rep++)
                {
                    var body = new CountBody { Hits = new int[count] };
                    KernelThreadPool.ParallelFor(count, ref body);
                    Assert.All(body.Hits, h => Assert.Equal(1, h));
                }
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    [Fact]
    public void NestedAndDelegateLoops_Work()
    {
        var hits = new int[8 * 8];
        KernelThreadPool.ParallelFor(8, i => KernelThreadPool.ParallelFor(8, j => Interlocked.Increment(ref hits[i * 8 + j])));
        Assert.All(hits, h => Assert.Equal(1, h));
    }

    [Fact]
    public void ExceptionsPropagate_AndPoolStaysUsable()
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(2);
            var e = Assert.Throws<AggregateException>(() => KernelThreadPool.ParallelFor(100, i => { if (i == 57) throw new InvalidOperationException("boom"); }));
            Assert.IsType<InvalidOperationException>(e.InnerException);
            int sum = 0;
            KernelThreadPool.ParallelFor(100, i => Interlocked.Add(ref sum, i));
            Assert.Equal(4950, sum);
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    [Fact]
    public void WorkersWakeAfterSleeping()
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(2);
            KernelThreadPool.ParallelFor(4, _ => { });
            Thread.Sleep(30); // longer than the spin window: the worker blocks
            int sum = 0;
            KernelThreadPool.ParallelFor(100, i => Interlocked.Add(ref sum, i));
            Assert.Equal(4950, sum);
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    [Fact]
    public void SetThreadCount_RejectsZero()
        => Assert.Throws<ArgumentOutOfRangeException>(() => KernelThreadPool.SetThreadCount(0));
}
