using DeepSharp.Data;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Distributed.Worker;

/// <summary>
/// DistributedDataParallel against the same training in one process: N ranks × batch B/N must give the weights of
/// 1 process × batch B (the global batch is the same examples; only the summation order of the gradient differs).
/// </summary>
static class DdpScenarios
{
    internal const int Examples = 512, Features = 20, Classes = 10, GlobalBatch = 128;

    internal static Sequential BuildModel(int seed)
    {
        DeepSharp.Random.Seed(seed);
        return new Sequential(new Linear(Features, 64), new ReLU(), new Linear(64, 64), new ReLU(), new Linear(64, Classes));
    }

    internal static TensorDataset Data()
    {
        var g = new Generator(7);
        var x = Tensor.Randn([Examples, Features], generator: g);
        var y = Tensor.FromArray(Enumerable.Range(0, Examples).Select(_ => g.NextInt64(0, Classes)).ToArray());
        return new TensorDataset(x, y);
    }

    /// <summary>The Trainer, unchanged, on a DDP model with a shuffled DistributedSampler, 2 epochs, Adam; args[0] = bucket MB.</summary>
    public static void Trainer(ProcessGroup g, string[] args)
    {
        double bucketMb = args.Length > 0 ? double.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 25;
        var data = Data();
        var reference = BuildModel(100);
        Fit(reference, data, new DistributedSampler(Examples, numReplicas: 1, rank: 0, seed: 3), GlobalBatch);

        var replica = BuildModel(100 + g.Rank);   // differs per rank: DDP must broadcast rank 0's weights
        using var ddp = new DistributedDataParallel(replica, bucketCapMb: bucketMb);
        if (bucketMb < 0.01 && ddp.BucketSizes.Count < 3) throw new InvalidOperationException($"expected several buckets, got {ddp.BucketSizes.Count}");
        Fit(ddp, data, new DistributedSampler(Examples, seed: 3), GlobalBatch / g.WorldSize);
        CompareParameters(reference, replica, 5e-5, "DDP Trainer vs one process");   // float32 + Adam: ~1e-5 from the summation order
        Console.WriteLine($"rank {g.Rank}: {ddp.BucketSizes.Count} buckets ({string.Join(", ", ddp.BucketSizes)} elements)");
    }

    static void Fit(Module<Tensor, Tensor> model, TensorDataset data, DistributedSampler sampler, int batch)
    {
        var loader = new DataLoader(data, batchSize: batch, sampler: sampler);
        var trainer = new Trainer(model, new Adam(model.Parameters(), lr: 1e-2), F.CrossEntropy, metrics: []);
        trainer.Fit(loader, null, TrainingBudget.Epochs(2), [new SetEpochCallback(sampler)]);
    }

    /// <summary>Gradient accumulation: two micro-batches per step, the first under NoSync, against one process's full batch.</summary>
    public static void NoSync(ProcessGroup g, string[] args)
    {
        var data = Data();
        var (x, y) = (data.Tensors[0], data.Tensors[1]);
        var reference = BuildModel(5);
        var refOpt = new SGD(reference.Parameters(), lr: 0.1, momentum: 0.9);
        var replica = BuildModel(5);
        using var ddp = new DistributedDataParallel(replica, bucketCapMb: 0.002);
        var opt = new SGD(ddp.Parameters(), lr: 0.1, momentum: 0.9);
        int n = g.WorldSize, micro = GlobalBatch / n / 2;
        for (int step = 0; step < 3; step++)
        {
            int start = step * GlobalBatch;
            refOpt.ZeroGrad();
            F.CrossEntropy(reference.Call(x.Narrow(0, start, GlobalBatch)), y.Narrow(0, start, GlobalBatch)).Backward();
            refOpt.Step();

            opt.ZeroGrad();
            int mine = start + g.Rank * 2 * micro;   // this rank's 2 micro-batches, contiguous
            using (ddp.NoSync())
                (F.CrossEntropy(ddp.Call(x.Narrow(0, mine, micro)), y.Narrow(0, mine, micro)) * 0.5).Backward();
            var localGrad = replica.Parameters().First().Grad!.ToArray<double>();
            (F.CrossEntropy(ddp.Call(x.Narrow(0, mine + micro, micro)), y.Narrow(0, mine + micro, micro)) * 0.5).Backward();
            if (step == 0 && n > 1 && localGrad.SequenceEqual(replica.Parameters().First().Grad!.ToArray<double>()))
                throw new InvalidOperationException("the synchronised backward left the gradient unchanged");
            opt.Step();
        }
        CompareParameters(reference, replica, 2e-5, "NoSync accumulation vs one process");
    }

    /// <summary>Each rank builds a different model: construction must fail on every rank with a clear message.</summary>
    public static void Mismatch(ProcessGroup g, string[] args)
    {
        DeepSharp.Random.Seed(1);
        var model = new Sequential(new Linear(Features, 16 + g.Rank), new ReLU(), new Linear(16 + g.Rank, Classes));
        try
        {
            using var ddp = new DistributedDataParallel(model);
        }
        catch (DistributedException e) when (e.Message.Contains("different models"))
        {
            Console.WriteLine($"rank {g.Rank}: detected: {e.Message}");
            return;
        }
        throw new InvalidOperationException("a mismatched model was not detected");
    }

    internal static void CompareParameters(Module expected, Module actual, double tolerance, string what)
    {
        var e = expected.NamedParameters().ToArray();
        var a = actual.NamedParameters().ToArray();
        double worst = 0;
        for (int i = 0; i < e.Length; i++)
        {
            var ev = e[i].Tensor.ToArray<double>();
            var av = a[i].Tensor.ToArray<double>();
            for (int j = 0; j < ev.Length; j++) worst = Math.Max(worst, Math.Abs(ev[j] - av[j]));
        }
        if (!(worst <= tolerance)) throw new InvalidOperationException($"{what}: parameters differ by up to {worst:E2} (tolerance {tolerance:E0})");
        Console.WriteLine($"{what}: max |difference| {worst:E2}");
    }
}
