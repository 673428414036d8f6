using DeepSharp.Data;
using DeepSharp.Distributed;
using DeepSharp.NN;
using DeepSharp.Training;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp train --distributed` under `mpirun -np N`: the image-classifier run, data-parallel (docs/distributed.md).
/// Every rank trains a replica on its 1/N of each global batch of --batch-size examples (a DistributedSampler, shuffled
/// per epoch), gradients averaged by DistributedDataParallel; rank 0 alone prints and writes the run folder, the other
/// ranks write into a temporary folder they delete at the end. Default threads per rank: the cores divided by the ranks.
/// </summary>
sealed class DistributedTrain
{
    /// <summary>The flag that turns it on.</summary>
    public const string Flag = "distributed";

    /// <summary>The flag that shards the optimizer state over the ranks (ZeRO stage 1).</summary>
    public const string ZeroFlag = "zero";

    readonly ProcessGroup group;
    readonly bool zero;
    string? scratch;
    DistributedSampler? sampler;

    DistributedTrain(ProcessGroup group, bool zero) { this.group = group; this.zero = zero; }

    /// <summary>Joins the MPI job when --distributed is given (null otherwise); silences <paramref name="output"/> off rank 0.</summary>
    public static DistributedTrain? Start(ArgParser p, ref TextWriter output, ref int threads)
    {
        bool zero = p.Flag(ZeroFlag);
        if (!p.Flag(Flag))
            return zero ? throw new UsageException("deepsharp train: --zero shards the optimizer state over MPI ranks; it needs --distributed (mpirun -np N deepsharp train --distributed --zero).") : null;
        if (p.Has("adversarial") || p.Has("resume") || p.Has("precision"))
            throw new UsageException("deepsharp train: --distributed trains the plain image classifier; it does not take --adversarial, --resume or --precision.");
        var group = ProcessGroup.Init();
        if (!p.Has("threads")) threads = Math.Max(1, Environment.ProcessorCount / group.WorldSize);
        if (group.Rank != 0) output = TextWriter.Null;
        output.WriteLine($"distributed: {group.WorldSize} ranks over MPI ({ProcessGroup.LibraryVersion()}), {threads} threads each{(zero ? ", optimizer state sharded (ZeRO-1)" : "")}");
        return new DistributedTrain(group, zero);
    }

    /// <summary>The run folder: unchanged on rank 0, a temporary one elsewhere.</summary>
    public string RunFolder(string outDir)
    {
        if (group.Rank == 0) return outDir;
        scratch = Path.Combine(Path.GetTempPath(), $"deepsharp-rank{group.Rank}-{Environment.ProcessId}");
        return Path.Combine(scratch, "run");
    }

    /// <summary>This rank's loader: batches of batchSize / N from its share of every epoch.</summary>
    public DataLoader Loader(IDataset<Tensor[]> train, int batchSize, int workers, int seed)
    {
        if (batchSize % group.WorldSize != 0)
            throw new UsageException($"deepsharp train: --batch-size {batchSize} must be a multiple of the {group.WorldSize} ranks (each takes an equal share).");
        sampler = new DistributedSampler(train.Count, seed: seed);
        return new DataLoader(train, batchSize / group.WorldSize, sampler: sampler, numWorkers: workers);
    }

    /// <summary>The replica wrapped for data-parallel training.</summary>
    public DistributedDataParallel Wrap(Module<Tensor, Tensor> model) => new(model, group);

    /// <summary>
    /// Rank-0-only progress and per-epoch shuffles for <paramref name="trainer"/>; <paramref name="callbacks"/> run on rank 0
    /// only. With --zero the optimizer is sharded and checkpoints gather its whole state first.
    /// </summary>
    public void Configure(Trainer trainer, List<Training.Callbacks.ICallback> callbacks)
    {
        trainer.Progress = new RankZeroProgress(trainer.Progress, group);
        var sharded = zero ? new ZeroRedundancyOptimizer(trainer.Optimizer, group) : null;
        var wrapped = callbacks.Select(c => c is Training.Callbacks.PeriodicCheckpoint checkpoint && sharded != null
            ? new ZeroCheckpoint(checkpoint, sharded) : (Training.Callbacks.ICallback)new RankZeroOnly(c, group)).ToList();
        wrapped.Add(new SetEpochCallback(sampler ?? throw new InvalidOperationException("DistributedTrain: Loader first")));
        callbacks.Clear(); callbacks.AddRange(wrapped);
    }

    /// <summary>The model without the data-parallel wrapper (for saving plain state-dict keys).</summary>
    public static Module Unwrap(Module model) => model is DistributedDataParallel ddp ? ddp.Module : model;

    /// <summary>Waits for every rank and removes this rank's temporary folder.</summary>
    public void Finish()
    {
        group.Barrier();
        if (scratch != null && Directory.Exists(scratch)) Directory.Delete(scratch, recursive: true);
    }
}
