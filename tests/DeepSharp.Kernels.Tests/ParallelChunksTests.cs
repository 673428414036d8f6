using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

[Collection("KernelThreads")]
public class ParallelChunksTests
{
    struct MarkBody : IChunkBody
    {
        public int[] Visits;
        public readonly void Invoke(int start, int length)
        {
            Assert.True(length >= Math.Min(ParallelChunks.ChunkLength, Visits.Length), $"chunk at {start} has only {length} elements");
            for (int i = start; i < start + length; i++) Interlocked.Increment(ref Visits[i]);
        }
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(1031, 2)]
    [InlineData(2 * ParallelChunks.ChunkLength - 1, 2)]
    [InlineData(2 * ParallelChunks.ChunkLength + 5, 2)]
    [InlineData(5 * ParallelChunks.ChunkLength + 16383, 3)]
    public void ForVisitsEveryElementOnce(int n, int threads)
    {
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(threads);
            var body = new MarkBody { Visits = new int[n] };
            ParallelChunks.For(n, ref body);
            Assert.All(body.Visits, v => Assert.Equal(1, v));
        }
        finally { KernelThreadPool.SetThreadCount(old); }
    }

    [Theory]
    [InlineData(7, 2)]
    [InlineData(2 * ParallelChunks.ChunkLength + 5, 1)]
    [InlineData(2 * ParallelChunks.ChunkLength + 5, 2)]
    [InlineData(3 * ParallelChunks.ChunkLength + 10007, 2)]
    public void SiluBackwardIsBitwiseTheSerialKernelFloat(int n, int threads)
    {
        var rng = new System.Random(n);
        var x = new float[n]; var g = new float[n];
        for (int i = 0; i < n; i++) { x[i] = (float)(rng.NextDouble() * 16 - 8); g[i] = (float)(rng.NextDouble() * 2 - 1); }
        var serial = new float[n]; var chunked = new float[n]; var reference = new float[n];
        ActivationKernels.SiluBackward<float>(x, g, serial);
        ActivationKernels.SiluBackwardReference<float>(x, g, reference);
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(threads);
            ParallelChunks.SiluBackward<float>(x, g, chunked);
        }
        finally { KernelThreadPool.SetThreadCount(old); }
        Assert.Equal(serial, chunked);
        for (int i = 0; i < n; i++) Assert.True(Math.Abs(chunked[i] - reference[i]) <= 1e-6f * (1 + Math.Abs(reference[i])), $"{i}: {chunked[i]} vs {reference[i]}");
    }

    [Fact]
    public void SiluBackwardIsBitwiseTheSerialKernelDouble()
    {
        int n = 2 * ParallelChunks.ChunkLength + 33;
        var rng = new System.Random(3);
        var x = new double[n]; var g = new double[n];
        for (int i = 0; i < n; i++) { x[i] = rng.NextDouble() * 16 - 8; g[i] = rng.NextDouble() * 2 - 1; }
        var serial = new double[n]; var chunked = new double[n];
        ActivationKernels.SiluBackward<double>(x, g, serial);
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(2);
            ParallelChunks.SiluBackward<double>(x, g, chunked);
        }
        finally { KernelThreadPool.SetThreadCount(old); }
        Assert.Equal(serial, chunked);
    }

    [Fact]
    public void SiluBackwardRejectsMismatchedLengths()
        => Assert.Throws<ArgumentException>(() => ParallelChunks.SiluBackward<float>(new float[3], new float[3], new float[2]));

    [Theory]
    [InlineData(2 * ParallelChunks.ChunkLength + 5, 1)]
    [InlineData(3 * ParallelChunks.ChunkLength + 10007, 2)]
    public void ReluBackwardIsBitwiseTheSerialKernel(int n, int threads)
    {
        var rng = new System.Random(n);
        var y = new float[n]; var g = new float[n];
        for (int i = 0; i < n; i++) { y[i] = rng.Next(2) == 0 ? 0 : (float)rng.NextDouble(); g[i] = (float)(rng.NextDouble() * 2 - 1); }
        var serial = new float[n]; var chunked = new float[n];
        ActivationKernels.ReluBackward<float>(y, g, serial);
        int old = KernelThreadPool.ThreadCount;
        try
        {
            KernelThreadPool.SetThreadCount(threads);
            ParallelChunks.ReluBackward<float>(y, g, chunked);
        }
        finally { KernelThreadPool.SetThreadCount(old); }
        Assert.Equal(serial, chunked);
    }

    [Fact]
    public void ReluBackwardRejectsMismatchedLengths()
        => Assert.Throws<ArgumentException>(() => ParallelChunks.ReluBackward<float>(new float[3], new float[3], new float[2]));
}
