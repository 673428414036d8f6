using System.Diagnostics;
using System.Globalization;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// All-reduce time per bucket size (float32, sum), the median of several runs after a warm-up; rank 0 prints one line per
/// size: "allreduce BYTES SECONDS". docs/distributed.md fits the ring cost model to these lines.
/// </summary>
static class BenchScenarios
{
    public static void AllReduce(ProcessGroup g, string[] args)
    {
        foreach (int kib in new[] { 4, 64, 1024, 4096, 16384, 65536 })
        {
            var t = Tensor.Ones(kib * 256);   // float32: 256 per KiB
            int repeats = kib >= 16384 ? 5 : 20;
            g.AllReduce(t);
            var times = new double[repeats];
            for (int i = 0; i < repeats; i++)
            {
                g.Barrier();
                long start = Stopwatch.GetTimestamp();
                g.AllReduce(t);
                times[i] = Stopwatch.GetElapsedTime(start).TotalSeconds;
            }
            Array.Sort(times);
            if (g.Rank == 0)
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"allreduce {kib * 1024L} {times[repeats / 2]:E3}"));
        }
    }
}
