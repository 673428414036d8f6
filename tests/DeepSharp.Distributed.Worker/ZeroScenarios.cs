using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;
using static DeepSharp.Distributed.Worker.DdpScenarios;

namespace DeepSharp.Distributed.Worker;

/// <summary>ZeRO stage 1 against plain DDP: same weights, about 1/N of Adam's state per rank, and a state that consolidates and reloads.</summary>
static class ZeroScenarios
{
    /// <summary>The Trainer, 2 epochs of Adam, once with plain DDP and once with the optimizer sharded; then the state round trip.</summary>
    public static void Trainer(ProcessGroup g, string[] args)
    {
        var data = DdpScenarios.Data();
        var plainModel = BuildModel(100);
        using var plainDdp = new DistributedDataParallel(plainModel, bucketCapMb: 0.002);
        var plainAdam = new Adam(plainDdp.Parameters(), lr: 1e-2);
        Fit(plainDdp, plainAdam, data);

        var zeroModel = BuildModel(100 + g.Rank);
        using var zeroDdp = new DistributedDataParallel(zeroModel, bucketCapMb: 0.002);
        using var zero = new ZeroRedundancyOptimizer(new Adam(zeroDdp.Parameters(), lr: 1e-2));
        Fit(zeroDdp, zero.Optimizer, data);
        CompareParameters(plainModel, zeroModel, 0, "ZeRO-1 vs plain DDP");   // bitwise: same averaged gradients, same elementwise update

        long plainBytes = ZeroRedundancyOptimizer.StateBytes(plainAdam), mine = zero.LocalStateBytes;
        var all = Tensor.FromArray([mine]);
        g.AllReduce(all);
        Console.WriteLine($"rank {g.Rank}: Adam state {mine} bytes with ZeRO-1 vs {plainBytes} bytes plain ({100.0 * mine / plainBytes:0.#} %), " +
                          $"{zero.LocalParameters.Count} of {zeroModel.Parameters().Count()} parameters");
        Check.Equal(plainBytes, all.ToArray<long>()[0], "the shards together hold the whole state");
        if (g.WorldSize > 1 && !(mine < plainBytes)) throw new InvalidOperationException($"ZeRO-1 holds {mine} bytes, not less than plain Adam's {plainBytes}");

        var whole = zero.ConsolidateStateDict();
        var expected = plainAdam.StateDict();
        Check.Equal(expected.Tensors.Count, whole.Tensors.Count, "consolidated state buffers");
        foreach (var (key, tensor) in expected.Tensors)
            Check.Close(tensor.ToArray<double>(), whole.Tensors[key].ToArray<double>(), 0, $"consolidated {key}");
        foreach (var (key, value) in expected.Scalars) Check.Equal(value, whole.Scalars[key], $"consolidated {key}");

        using var reloaded = new ZeroRedundancyOptimizer(new Adam(zeroDdp.Parameters(), lr: 1e-2));
        reloaded.LoadStateDict(whole);
        Check.Equal(mine, reloaded.LocalStateBytes, "state bytes after LoadStateDict keeps this rank's shard");
    }

    static void Fit(DistributedDataParallel ddp, Optimizer optimizer, TensorDataset data)
    {
        var sampler = new DistributedSampler(Examples, seed: 3);
        var loader = new DataLoader(data, batchSize: GlobalBatch / ProcessGroup.World.WorldSize, sampler: sampler);
        new Trainer(ddp, optimizer, F.CrossEntropy, metrics: []).Fit(loader, null, TrainingBudget.Epochs(2), [new SetEpochCallback(sampler)]);
    }
}
