using DeepSharp.NN;

namespace DeepSharp.Distributed;

/// <summary>
/// Data-parallel training over MPI (torch.nn.parallel.DistributedDataParallel): every rank holds a replica of
/// <see cref="Module"/>, trains on its own share of each batch (see <see cref="DistributedSampler"/>), and after each
/// backward pass every parameter's Grad is the average over the ranks, so the optimizers step identically everywhere.
/// At construction the ranks check that their models have the same parameter shapes and copy rank 0's parameters and
/// buffers. Gradients are all-reduced in buckets of <c>bucketCapMb</c> while backward is still running (see
/// GradientReducer). Use it wherever the module was used (it is a <c>Module&lt;Tensor, Tensor&gt;</c>): the Trainer runs
/// unchanged. State-dict keys carry the "module." prefix, as in PyTorch; save <see cref="Module"/> for plain keys.
/// </summary>
public sealed class DistributedDataParallel : Module<Tensor, Tensor>, IDisposable
{
    readonly Module<Tensor, Tensor> module;
    [NotRegistered] readonly ProcessGroup group;
    [NotRegistered] readonly GradientReducer reducer;
    readonly bool broadcastBuffers;

    /// <summary>
    /// Wraps <paramref name="module"/> (DistributedDataParallel(module, process_group=None, bucket_cap_mb=25,
    /// broadcast_buffers=True)); <paramref name="group"/> defaults to <see cref="ProcessGroup.World"/>. The first bucket
    /// is capped at 1 MB (or <paramref name="bucketCapMb"/> if smaller) so communication starts early, as in PyTorch.
    /// </summary>
    public DistributedDataParallel(Module<Tensor, Tensor> module, ProcessGroup? group = null, double bucketCapMb = 25, bool broadcastBuffers = true)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (!(bucketCapMb > 0)) throw new ArgumentOutOfRangeException(nameof(bucketCapMb), $"DistributedDataParallel: bucketCapMb must be positive, got {bucketCapMb}");
        this.module = module;
        this.group = group ?? ProcessGroup.World;
        this.broadcastBuffers = broadcastBuffers;
        var parameters = module.Parameters().Where(p => p.RequiresGrad).ToArray();
        ModelCheck.VerifySameAcrossRanks(this.group, module);
        SyncFromRankZero(module.Parameters().Concat(module.Buffers()));
        long cap = (long)(bucketCapMb * 1024 * 1024);
        reducer = new GradientReducer(this.group, parameters, cap, Math.Min(cap, 1024 * 1024));
    }

    /// <summary>The wrapped replica (DistributedDataParallel.module).</summary>
    public Module<Tensor, Tensor> Module => module;

    /// <summary>The group the gradients are averaged over.</summary>
    public ProcessGroup Group => group;

    /// <summary>Number of elements in each gradient bucket, in the order they are all-reduced.</summary>
    public IReadOnlyList<int> BucketSizes => reducer.BucketSizes;

    /// <summary>The parameters of each gradient bucket, in the order they are all-reduced.</summary>
    public IReadOnlyList<IReadOnlyList<Tensor>> BucketParameters => reducer.BucketParameters;

    /// <summary>Runs the replica; in training mode first copies rank 0's buffers (broadcast_buffers=True).</summary>
    public override Tensor Forward(Tensor input)
    {
        reducer.Reset();
        if (broadcastBuffers && IsTraining) SyncFromRankZero(module.Buffers());
        return module.Call(input);
    }

    /// <summary>
    /// Until the returned scope is disposed, backward passes only accumulate gradients locally (DistributedDataParallel.no_sync());
    /// the first backward after it averages the accumulated gradients. Use for gradient accumulation.
    /// </summary>
    public IDisposable NoSync()
    {
        bool previous = reducer.Suspended;
        reducer.Suspended = true;
        return new Restore(() => reducer.Suspended = previous);
    }

    void SyncFromRankZero(IEnumerable<Tensor> tensors)
    {
        if (group.WorldSize == 1) return;
        using var _ = Autograd.NoGrad();
        var works = tensors.Where(t => t.DType is DType.Float32 or DType.Float64 or DType.Int64)
            .Select(t => group.BroadcastAsync(t, 0)).ToArray();
        Work.WaitAll(works);
    }

    /// <summary>Removes the gradient hooks; the replica trains locally afterwards.</summary>
    public void Dispose() => reducer.Dispose();

    sealed class Restore(Action action) : IDisposable
    {
        bool done;
        public void Dispose() { if (!done) { done = true; action(); } }
    }
}
