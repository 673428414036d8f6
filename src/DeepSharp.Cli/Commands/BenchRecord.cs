using System.Text.Json.Nodes;

namespace DeepSharp.Cli.Commands;

public static partial class BenchCommand
{
    /// <summary>Managed bytes allocated and gen-0 collections per step of the last timed loop (all threads).</summary>
    [ThreadStatic] static (double Bytes, double Gen0) lastAllocation;

    static (double Bytes, double Gen0) LastAllocation { get => lastAllocation; set => lastAllocation = value; }
}

/// <summary>
/// benchmarks/results.json: { "machine": {...}, "workloads": [...] }. Each workload row has both sides' figures, the
/// ratio (DeepSharp time / PyTorch time), the thread count that won on each side, DeepSharp's allocation per step, and for
/// the GEMM rows each side's fraction of the measured FMA peak at its thread count.
/// </summary>
public static class BenchRecord
{
    /// <summary>Assembles the record from the rows BenchCommand prints.</summary>
    public static JsonObject Build(JsonObject machine, IEnumerable<Dictionary<string, object>> rows, BenchMachine.FmaPeak peak,
        IReadOnlyDictionary<string, int> oursThreads, IReadOnlyDictionary<string, int> torchThreads,
        IReadOnlyDictionary<string, (double Bytes, double Gen0)> allocation)
    {
        var list = new JsonArray();
        foreach (var row in rows)
        {
            var name = (string)row["workload"];
            var o = new JsonObject();
            foreach (var (k, v) in row)
                o[k] = v switch { string s => JsonValue.Create(s), double d => JsonValue.Create(d), int i => JsonValue.Create(i), _ => JsonValue.Create(v.ToString()) };
            if (oursThreads.TryGetValue(name, out int to)) o["deepsharp_threads"] = to;
            if (torchThreads.TryGetValue(name, out int tt)) o["pytorch_threads"] = tt;
            if ((string)row["unit"] == "GFLOP/s")
            {
                if (oursThreads.ContainsKey(name)) o["deepsharp_fraction_of_peak"] = Math.Round((double)row["deepsharp"] / peak.For(to), 3);
                if (torchThreads.ContainsKey(name)) o["pytorch_fraction_of_peak"] = Math.Round((double)row["pytorch"] / peak.For(tt), 3);
            }
            else if (allocation.TryGetValue(name, out var a))
            {
                o["deepsharp_bytes_per_step"] = Math.Round(a.Bytes);
                o["deepsharp_gen0_per_step"] = Math.Round(a.Gen0, 3);
            }
            list.Add((JsonNode)o);
        }
        return new JsonObject { ["machine"] = machine, ["workloads"] = list };
    }
}
