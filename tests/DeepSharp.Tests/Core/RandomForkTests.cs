namespace DeepSharp.Tests.Core;

/// <summary>DeepSharp.Random.Fork (a stream per async flow) and the suite's per-test seeding built on it.</summary>
public class RandomForkTests
{
    static float[] Draw(int n = 16) => Tensor.Rand(n).ToArray<float>();

    static float[] Expected(long seed, int n = 16) => Tensor.Rand([n], generator: new Generator(seed)).ToArray<float>();

    static long ThisTestsSeed => SeedEachTestAttribute.SeedOf(TestContext.Current.Test!.TestDisplayName);

    [Fact]
    public void EveryTestStartsOnItsOwnStreamSeededFromItsName()
    {
        Assert.Equal(Expected(ThisTestsSeed), Draw());                   // nothing seeded, yet the numbers are known
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void TheoryRowsGetDifferentStreams(int row)
    {
        Assert.Equal(Expected(ThisTestsSeed), Draw());
        string name = TestContext.Current.Test!.TestDisplayName, otherRow = name.Replace($"row: {row}", $"row: {3 - row}");
        Assert.NotEqual(name, otherRow);
        Assert.NotEqual(Expected(SeedEachTestAttribute.SeedOf(otherRow)), Expected(ThisTestsSeed));
    }

    [Fact]
    public async Task TheTestsStreamFollowsAwaitsAndTasks()
    {
        var expected = Expected(ThisTestsSeed, 48);
        var first = Draw();
        await Task.Yield();
        var second = await Task.Run(() => Draw(), TestContext.Current.CancellationToken);
        await Task.Delay(1, TestContext.Current.CancellationToken);
        var third = Draw();
        Assert.Equal(expected, first.Concat(second).Concat(third).ToArray());
    }

    [Fact]
    public void SeedGetStateAndSetStateActOnTheFork()
    {
        DeepSharp.Random.Seed(7);
        Assert.Equal(Expected(7), Draw());
        var state = DeepSharp.Random.GetState();
        var a = Draw();
        DeepSharp.Random.SetState(state);
        Assert.Equal(a, Draw());
        var restored = new Generator();
        restored.SetState(state);
        Assert.Equal(7, restored.InitialSeed);
    }

    [Fact]
    public void ANestedForkIsSeparateAndDisposingItRestoresTheOuterStream()
    {
        var outer = DeepSharp.Random.GetState();
        float[] inner;
        using (var fork = DeepSharp.Random.Fork(3))
        {
            inner = Draw();
            Assert.Equal(3, fork.Generator.InitialSeed);
        }
        Assert.Equal(Expected(3), inner);
        Assert.Equal(outer, DeepSharp.Random.GetState());                 // the outer stream did not move
        Assert.Equal(Expected(ThisTestsSeed), Draw());
    }

    [Fact]
    public void ConcurrentForksDoNotDisturbEachOther()
    {
        var results = new float[8][];
        var threads = Enumerable.Range(0, results.Length).Select(i => new Thread(() =>
        {
            using var fork = DeepSharp.Random.Fork(100 + i % 2);          // two groups sharing each seed
            var draws = new List<float>();
            for (int k = 0; k < 50; k++) draws.AddRange(Draw(8));
            results[i] = [.. draws];
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        for (int i = 0; i < results.Length; i++) Assert.Equal(Expected(100 + i % 2, 400), results[i]);
    }

    [Fact]
    public void AnExplicitGeneratorLeavesTheForkAlone()
    {
        var fork = DeepSharp.Random.GetState();
        var own = Tensor.Rand([4], generator: new Generator(5)).ToArray<float>();
        Assert.Equal(Expected(5, 4), own);
        Assert.Equal(fork, DeepSharp.Random.GetState());
    }

    [Fact]
    public void ForkRejectsANullGenerator() =>
        Assert.Throws<ArgumentNullException>(() => DeepSharp.Random.Fork(null!));
}

/// <summary>Kernel-pool workers are persistent threads: they must not keep the async-locals (the stream) of the test that started them.</summary>
[Collection(SerialCollection.Name)]
public class KernelPoolExecutionContextTests
{
    [Fact]
    public void KernelPoolWorkersCarryNoAsyncLocalsOfTheCodeThatStartedThem()
    {
        var probe = new AsyncLocal<string?> { Value = "set by the test" };
        int saved = Kernels.KernelThreadPool.ThreadCount;
        try
        {
            Kernels.KernelThreadPool.SetThreadCount(2);                  // new workers, started from inside this test
            var seenOnWorkers = new System.Collections.Concurrent.ConcurrentBag<string?>();
            for (int attempt = 0; attempt < 200 && seenOnWorkers.IsEmpty; attempt++)
                Kernels.KernelThreadPool.ParallelFor(64, i =>
                {
                    if (Thread.CurrentThread.Name?.StartsWith("DeepSharp kernel worker") == true) seenOnWorkers.Add(probe.Value);
                    Thread.SpinWait(2000);
                });
            Assert.SkipWhen(seenOnWorkers.IsEmpty, "the kernel worker never got a core to take part in a loop");
            Assert.All(seenOnWorkers, Assert.Null);
        }
        finally { Kernels.KernelThreadPool.SetThreadCount(saved); }
    }
}
