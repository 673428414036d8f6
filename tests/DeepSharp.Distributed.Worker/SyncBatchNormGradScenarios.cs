using System.Text.Json;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// SyncBatchNorm's backward checked on its own, float64: (1) central finite differences of the global loss
/// L = Σ_ranks Σ y·v (every rank takes part in every forward; one element of one rank's input, or the shared weight or
/// bias, is moved at a time) against the gradients backward gives each rank (the input's, and the weight's and bias's
/// summed over the ranks as DistributedDataParallel sums them); (2) PyTorch's BatchNorm in training on the whole batch
/// (tools/golden/sync_batchnorm.py, Fixtures/sync_batchnorm.json): each rank's slice of the output and of the input
/// gradient, the summed weight and bias gradients, and the running statistics. Two ranks (the fixture's batches split in two).
/// </summary>
static class SyncBatchNormGradScenarios
{
    public static void Run(ProcessGroup g, string[] args)
    {
        if (g.WorldSize != 2) throw new InvalidOperationException($"syncbn-grad runs on 2 ranks, got {g.WorldSize}");
        GradCheck(g, [3, 2, 2, 2]);
        GradCheck(g, [3, 4]);
        using var fixture = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "sync_batchnorm.json")));
        foreach (var name in new[] { "bn1d_8x3", "bn2d_4x2x3x3" })
            Golden(g, name, fixture.RootElement.GetProperty("cases").GetProperty(name));
    }

    static void GradCheck(ProcessGroup g, int[] shape)
    {
        const double eps = 1e-6, atol = 1e-7, rtol = 1e-5;
        int channels = shape[1];
        var gen = new Generator(100 + g.Rank);   // each rank its own data
        var xData = (Tensor.Randn(shape, dtype: DType.Float64, generator: gen) * 2 + 0.5).ToArray<double>();
        var v = Tensor.Randn(shape, dtype: DType.Float64, generator: gen);
        var layer = new SyncBatchNorm(channels, dtype: DType.Float64);
        var shared = new Generator(3);           // the same weight and bias on every rank
        using (Autograd.NoGrad())
        {
            layer.Weight!.MulInPlace(0).AddInPlace(Tensor.Rand([channels], dtype: DType.Float64, generator: shared) + 0.5);
            layer.Bias!.AddInPlace(Tensor.Randn([channels], dtype: DType.Float64, generator: shared));
        }

        // analytical: each rank back-propagates its own part of L
        var x = Tensor.FromArray(xData).Reshape(shape).RequiresGrad_();
        (layer.Call(x) * v).Sum().Backward();
        var inputGrad = x.Grad!.ToArray<double>();
        var weightGrad = layer.Weight!.Grad!.Clone(); g.AllReduce(weightGrad);
        var biasGrad = layer.Bias!.Grad!.Clone(); g.AllReduce(biasGrad);

        double GlobalLoss()
        {
            using var _ = Autograd.NoGrad();
            var l = Tensor.FromArray([(layer.Call(Tensor.FromArray(xData).Reshape(shape)) * v).Sum().Item()]);
            g.AllReduce(l);
            return l.ToArray<double>()[0];
        }
        double Central(Action<double> move)
        {
            move(eps); double plus = GlobalLoss();
            move(-2 * eps); double minus = GlobalLoss();
            move(eps);
            return (plus - minus) / (2 * eps);
        }
        void Compare(double analytical, double numerical, string what)
        {
            if (Math.Abs(analytical - numerical) > atol + rtol * Math.Abs(numerical))
                throw new InvalidOperationException($"SyncBatchNorm gradcheck {what}: backward {analytical}, finite differences {numerical}");
        }

        int checkedCount = 0;
        for (int owner = 0; owner < g.WorldSize; owner++)
            for (int e = 0; e < xData.Length; e++)
            {
                double numerical = Central(d => { if (g.Rank == owner) xData[e] += d; });
                if (g.Rank == owner) { Compare(inputGrad[e], numerical, $"input element {e} of rank {owner}"); checkedCount++; }
            }
        foreach (var (param, summed, name) in new[] { (layer.Weight!, weightGrad, "weight"), (layer.Bias!, biasGrad, "bias") })
        {
            var analytical = summed.ToArray<double>();
            for (int c = 0; c < channels; c++)
            {
                double numerical = Central(d => { using var _ = Autograd.NoGrad(); param.Narrow(0, c, 1).AddInPlace(d); });
                Compare(analytical[c], numerical, $"{name}[{c}] (summed over ranks)");
                checkedCount++;
            }
        }
        Console.WriteLine($"rank {g.Rank}: SyncBatchNorm gradcheck ({string.Join("x", shape)} per rank): {checkedCount} gradients agree with finite differences");
    }

    static Tensor Read(JsonElement t)
    {
        var shape = t.GetProperty("shape").EnumerateArray().Select(s => s.GetInt32()).ToArray();
        var data = t.GetProperty("data").EnumerateArray().Select(d => d.GetDouble()).ToArray();
        return Tensor.FromArray(data).Reshape(shape);
    }

    static void Golden(ProcessGroup g, string name, JsonElement entry)
    {
        var inputs = entry.GetProperty("inputs").EnumerateArray().Select(Read).ToArray();
        var outputs = entry.GetProperty("outputs").EnumerateArray().Select(Read).ToArray();
        var grads = entry.GetProperty("grads").EnumerateArray().Select(Read).ToArray();
        var upstream = Read(entry.GetProperty("upstream"));
        var (x, weight, bias) = (inputs[0], inputs[1], inputs[2]);
        int perRank = x.Shape[0] / g.WorldSize, start = g.Rank * perRank;

        var layer = new SyncBatchNorm(weight.Shape[0], eps: entry.GetProperty("extra").GetProperty("eps").GetDouble(),
            momentum: entry.GetProperty("extra").GetProperty("momentum").GetDouble(), dtype: DType.Float64);
        using (Autograd.NoGrad()) { layer.Weight!.MulInPlace(0).AddInPlace(weight); layer.Bias!.MulInPlace(0).AddInPlace(bias); }
        var mine = x.Narrow(0, start, perRank).Contiguous().Clone().RequiresGrad_();
        var y = layer.Call(mine);
        (y * upstream.Narrow(0, start, perRank)).Sum().Backward();
        var weightGrad = layer.Weight!.Grad!.Clone(); g.AllReduce(weightGrad);
        var biasGrad = layer.Bias!.Grad!.Clone(); g.AllReduce(biasGrad);

        string at = $"SyncBatchNorm vs torch BatchNorm {name}";
        Check.Close(outputs[0].Narrow(0, start, perRank).ToArray<double>(), y.ToArray<double>(), 1e-12, at + " output");
        Check.Close(grads[0].Narrow(0, start, perRank).ToArray<double>(), mine.Grad!.ToArray<double>(), 1e-12, at + " input gradient");
        Check.Close(grads[1].ToArray<double>(), weightGrad.ToArray<double>(), 1e-12, at + " weight gradient");
        Check.Close(grads[2].ToArray<double>(), biasGrad.ToArray<double>(), 1e-12, at + " bias gradient");
        Check.Close(outputs[1].ToArray<double>(), layer.RunningMean!.ToArray<double>(), 1e-12, at + " running mean");
        Check.Close(outputs[2].ToArray<double>(), layer.RunningVar!.ToArray<double>(), 1e-12, at + " running variance");
        Console.WriteLine($"rank {g.Rank}: {at} on 2 ranks × {perRank}: equal within 1e-12");
    }
}
