using System.Diagnostics;
using System.Globalization;

namespace DeepSharp;

/// <summary>
/// A diagnostic for finding where a run's memory goes (docs/cli.md, memory): with <c>DEEPSHARP_MEMTRACE=1</c> a background
/// thread samples the process every 50 ms and writes a line to standard error whenever the peak resident set (VmHWM) has
/// grown by 8 MiB, every 5 s, and at exit: resident and peak RSS, the GC heap (size, committed, fragmented), the bytes
/// held by the tensor array cache, the collections of each generation and the managed bytes allocated so far. Off by
/// default; started by the array cache's first use, so nothing has to call it.
/// </summary>
internal static class MemoryTrace
{
    static int started;
    static readonly Stopwatch clock = new();

    internal static void StartFromEnvironment()
    {
        if (Environment.GetEnvironmentVariable("DEEPSHARP_MEMTRACE") != "1" || Interlocked.Exchange(ref started, 1) == 1) return;
        clock.Start();
        var thread = new Thread(Sample) { IsBackground = true, Name = "DeepSharp memory trace" };
        thread.Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Write("exit");
    }

    static void Sample()
    {
        long lastPeak = 0, lastLine = 0;
        while (true)
        {
            long peak = Status("VmHWM:");
            if (peak >= lastPeak + (8 << 20) || clock.ElapsedMilliseconds - lastLine >= 5000)
            {
                Write(peak >= lastPeak + (8 << 20) ? "peak" : "tick");
                lastPeak = Math.Max(lastPeak, peak);
                lastLine = clock.ElapsedMilliseconds;
            }
            Thread.Sleep(50);
        }
    }

    /// <summary>A field of /proc/self/status in bytes (0 where there is none).</summary>
    static long Status(string field)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith(field, StringComparison.Ordinal))
                    return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException) { }
        return 0;
    }

    static void Write(string why)
    {
        const double MiB = 1024 * 1024;
        var info = GC.GetGCMemoryInfo(GCKind.Any);
        Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"memtrace {why} t={clock.Elapsed.TotalSeconds:F1}s rss={Status("VmRSS:") / MiB:F0} hwm={Status("VmHWM:") / MiB:F0} " +
            $"heap={info.HeapSizeBytes / MiB:F0} committed={info.TotalCommittedBytes / MiB:F0} frag={info.FragmentedBytes / MiB:F0} " +
            $"cache={ArrayCache.CachedBytes / MiB:F0} gc={GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)} " +
            $"alloc={GC.GetTotalAllocatedBytes() / MiB:F0} MiB"));
    }
}
