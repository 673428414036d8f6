using DeepSharp.Data;
using DeepSharp.Distributed;
using DeepSharp.NN;
using DeepSharp.Optim;
using DeepSharp.Training;

namespace DeepSharp.Cli.Commands;

/// <summary>
/// `deepsharp train --distributed` under `mpirun -np N`: the image-classifier run, data-parallel (docs/distributed.md).
/// Every rank trains a replica on its 1/N of each global batch of --batch-size examples (a DistributedSampler, shuffled
/// per epoch), gradients averaged by DistributedDataParallel; rank 0 alone prints and writes the run folder, the other
/// ranks write into a temporary folder they delete at the end. Default threads per rank: the cores divided by the ranks.
/// With --pipeline N (N = the ranks) the model is cut into N stages instead, one per rank (GPipe, --chunks micro-batches
/// per batch): every rank reads the same batches, and the trained stages are gathered into rank 0's saved model.
/// </summary>
sealed class DistributedTrain
{
    /// <summary>The flag that turns it on.</summary>
    public const string Flag = "distributed";

    /// <summary>The flag that shards the optimizer state over the ranks (ZeRO stage 1).</summary>
    public const string ZeroFlag = "zero";

    /// <summary>The options: --pipeline STAGES (pipeline parallelism) and --chunks M (its micro-batches per batch).</summary>
    public static readonly string[] Options = ["pipeline", "chunks"];

    readonly ProcessGroup group;
    readonly bool zero;
    readonly int chunks;          // micro-batches per batch with --pipeline, 0 without
    string? scratch;
    DistributedSampler? sampler;
    PipelineTrainer? pipelineTrainer;

    DistributedTrain(ProcessGroup group, bool zero, int chunks) { this.group = group; this.zero = zero; this.chunks = chunks; }

    /// <summary>Joins the MPI job when --distributed is given (null otherwise); silences <paramref name="output"/> off rank 0.</summary>
    public static DistributedTrain? Start(ArgParser p, ref TextWriter output, ref int threads)
    {
        bool zero = p.Flag(ZeroFlag);
        if (!p.Flag(Flag))
        {
            if (p.Has("pipeline") || p.Has("chunks")) throw new UsageException("deepsharp train: --pipeline N cuts the model into N stages on N MPI ranks; it needs --distributed (mpirun -np N deepsharp train --distributed --pipeline N).");
            return zero ? throw new UsageException("deepsharp train: --zero shards the optimizer state over MPI ranks; it needs --distributed (mpirun -np N deepsharp train --distributed --zero).") : null;
        }
        int stages = p.Has("pipeline") ? p.Int("pipeline", 1, 1, 4096) : 0;
        int chunks = p.Has("chunks") ? p.Int("chunks", 4, 1, 65_536) : 4;
        if (stages == 0 && p.Has("chunks")) throw new UsageException("deepsharp train: --chunks sets the micro-batches of --pipeline; give --pipeline N too.");
        if (stages > 0 && zero) throw new UsageException("deepsharp train: --zero shards data-parallel optimizer state; it does not go with --pipeline (each rank already keeps only its stage's state).");
        if (p.Has("adversarial") || p.Has("resume") || p.Has("precision"))
            throw new UsageException("deepsharp train: --distributed trains the plain image classifier; it does not take --adversarial, --resume or --precision.");
        var group = ProcessGroup.Init();
        if (stages > 0 && stages != group.WorldSize)
            throw new UsageException($"deepsharp train: --pipeline {stages} needs {stages} ranks, one per stage; this job has {group.WorldSize} (mpirun -np {stages} ...).");
        if (!p.Has("threads")) threads = Math.Max(1, Environment.ProcessorCount / group.WorldSize);
        if (group.Rank != 0) output = TextWriter.Null;
        output.WriteLine($"distributed: {group.WorldSize} ranks over MPI ({ProcessGroup.LibraryVersion()}), {threads} threads each{(zero ? ", optimizer state sharded (ZeRO-1)" : "")}{(stages > 0 ? $", pipeline of {stages} stages × {chunks} micro-batches" : "")}");
        return new DistributedTrain(group, zero, stages > 0 ? chunks : 0);
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
        if (chunks > 0)   // pipeline: every rank reads the same whole batches
        {
            sampler = new DistributedSampler(train.Count, numReplicas: 1, rank: 0, seed: seed);
            return new DataLoader(train, batchSize, sampler: sampler, numWorkers: workers);
        }
        if (batchSize % group.WorldSize != 0)
            throw new UsageException($"deepsharp train: --batch-size {batchSize} must be a multiple of the {group.WorldSize} ranks (each takes an equal share).");
        sampler = new DistributedSampler(train.Count, seed: seed);
        return new DataLoader(train, batchSize / group.WorldSize, sampler: sampler, numWorkers: workers);
    }

    /// <summary>
    /// With --pipeline: the trainer of this rank's stage of <paramref name="model"/>, after checking on
    /// <paramref name="sample"/> (one example) that the model is the chain of its layers; null without --pipeline.
    /// </summary>
    public Trainer? PipelineTrainer(Module<Tensor, Tensor> model, Optimizer optimizer, IDataset<Tensor[]> sample, TextWriter output)
    {
        if (chunks == 0) return null;
        var chain = Pipeline.Chain(model);
        if (chain.Count < group.WorldSize)
            throw new UsageException($"deepsharp train: the model has {chain.Count} layers, too few for {group.WorldSize} pipeline stages.");
        using (Autograd.NoGrad())
        {
            bool training = model.IsTraining;
            model.Eval();
            var probe = sample.Get(0)[0].Unsqueeze(0);
            var expected = model.Call(probe).ToArray<float>();
            float[] actual;
            try { actual = chain.Call(probe).ToArray<float>(); }
            catch (ArgumentException) { actual = []; }   // a layer got an input of the wrong shape: not a chain
            model.Train(training);
            if (!expected.SequenceEqual(actual))
                throw new UsageException($"deepsharp train: --pipeline needs a model that applies its layers one after another; {model.GetType().Name} does not.");
        }
        var pipeline = new Pipeline(chain, chunks, group: group);
        var stages = Enumerable.Range(0, group.WorldSize).Select(r =>
        {
            int first = pipeline.Balance.Take(r).Sum(), last = first + pipeline.Balance[r] - 1;
            long parameters = Enumerable.Range(first, pipeline.Balance[r]).Sum(i => chain[i].Parameters().Sum(t => (long)t.NumEl));
            return $"rank {r}: {chain.Names[first]}..{chain.Names[last]} ({parameters:N0} parameters)";
        });
        output.WriteLine($"pipeline stages: {string.Join("; ", stages)}");
        return pipelineTrainer = new PipelineTrainer(pipeline, model, optimizer, F.CrossEntropy);
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
        if (pipelineTrainer != null)
        {
            // each rank holds one stage, so a periodic checkpoint of rank 0 would hold one stage's optimizer state: none
            if (callbacks.RemoveAll(c => c is Training.Callbacks.PeriodicCheckpoint) > 0)
                trainer.Progress.Message("pipeline: no periodic checkpoints (each rank holds one stage); the model is saved at the end");
        }
        var sharded = zero ? new ZeroRedundancyOptimizer(trainer.Optimizer, group) : null;
        var wrapped = callbacks.Select(c => c is Training.Callbacks.PeriodicCheckpoint checkpoint && sharded != null
            ? new ZeroCheckpoint(checkpoint, sharded) : (Training.Callbacks.ICallback)new RankZeroOnly(c, group)).ToList();
        wrapped.Add(new SetEpochCallback(sampler ?? throw new InvalidOperationException("DistributedTrain: Loader first")));
        callbacks.Clear(); callbacks.AddRange(wrapped);
        // on every rank (not rank 0 only), first, so that later callbacks see the whole model
        if (pipelineTrainer != null) callbacks.Insert(0, pipelineTrainer.GatherAtEnd());
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
