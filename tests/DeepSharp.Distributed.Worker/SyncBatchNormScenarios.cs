using DeepSharp.NN;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// SyncBatchNorm on N ranks × batch B against BatchNorm in one process × batch N·B (float64): the outputs, the input
/// gradients, the summed weight and bias gradients and the running statistics must agree.
/// </summary>
static class SyncBatchNormScenarios
{
    const int PerRank = 4, Channels = 3;

    public static void Run(ProcessGroup g, string[] args)
    {
        Compare(g, [PerRank, Channels, 5, 6], new BatchNorm2d(Channels, dtype: DType.Float64), "2-D");
        Compare(g, [PerRank, Channels], new BatchNorm1d(Channels, momentum: null, dtype: DType.Float64), "1-D");
    }

    static void Compare(ProcessGroup g, int[] rankShape, BatchNormBase layer, string what)
    {
        int n = g.WorldSize;
        int[] globalShape = [rankShape[0] * n, .. rankShape[1..]];
        var gen = new Generator(11);
        var x = (Tensor.Randn(globalShape, dtype: DType.Float64, generator: gen) * 3 + 1).RequiresGrad_();
        var lossWeights = Tensor.Randn(globalShape, dtype: DType.Float64, generator: gen);
        using (Autograd.NoGrad()) { layer.Weight!.MulInPlace(1.5).AddInPlace(0.25); layer.Bias!.AddInPlace(-0.5); }

        var reference = new Sequential(layer);
        var sync = (Sequential)SyncBatchNorm.ConvertSyncBatchNorm(new Sequential(CopyOf(layer)));
        if (sync[0] is not SyncBatchNorm syncLayer) throw new InvalidOperationException("ConvertSyncBatchNorm left a plain BatchNorm");

        for (int step = 0; step < 2; step++)   // two steps: the running statistics are updated twice
        {
            x.Grad = null; reference.ZeroGrad(); sync.ZeroGrad();
            var expected = reference.Call(x);
            (expected * lossWeights).Sum().Backward();

            int start = g.Rank * rankShape[0];
            var mine = x.Detach().Narrow(0, start, rankShape[0]).Contiguous().Clone().RequiresGrad_();
            var actual = sync.Call(mine);
            (actual * lossWeights.Narrow(0, start, rankShape[0])).Sum().Backward();

            string at = $"SyncBatchNorm {what}, step {step}";
            Check.Close(expected.Narrow(0, start, rankShape[0]).ToArray<double>(), actual.ToArray<double>(), 1e-12, at + " output");
            Check.Close(x.Grad!.Narrow(0, start, rankShape[0]).ToArray<double>(), mine.Grad!.ToArray<double>(), 1e-12, at + " input gradient");
            foreach (var (param, name) in new[] { (syncLayer.Weight!, "weight"), (syncLayer.Bias!, "bias") })
            {
                var summed = param.Grad!.Clone();
                g.AllReduce(summed);
                var refParam = name == "weight" ? layer.Weight! : layer.Bias!;
                Check.Close(refParam.Grad!.ToArray<double>(), summed.ToArray<double>(), 1e-12, $"{at} {name} gradient (summed over ranks)");
            }
            Check.Close(layer.RunningMean!.ToArray<double>(), syncLayer.RunningMean!.ToArray<double>(), 1e-12, at + " running mean");
            Check.Close(layer.RunningVar!.ToArray<double>(), syncLayer.RunningVar!.ToArray<double>(), 1e-12, at + " running variance");
        }
        sync.Eval(); reference.Eval();
        Check.Close(reference.Call(x).Narrow(0, 0, 2).ToArray<double>(), sync.Call(x.Narrow(0, 0, 2)).ToArray<double>(), 1e-12, $"SyncBatchNorm {what} evaluation");
        Console.WriteLine($"rank {g.Rank}: SyncBatchNorm {what} on {n} ranks × {rankShape[0]} equals BatchNorm on {globalShape[0]}");
    }

    static BatchNormBase CopyOf(BatchNormBase layer)
    {
        BatchNormBase copy = layer is BatchNorm2d ? new BatchNorm2d(layer.NumFeatures, layer.Eps, layer.Momentum, dtype: DType.Float64)
            : new BatchNorm1d(layer.NumFeatures, layer.Eps, layer.Momentum, dtype: DType.Float64);
        copy.LoadStateDict(layer.StateDict());
        return copy;
    }
}
