using DeepSharp.NN;

namespace DeepSharp.Distributed;

/// <summary>
/// Batch normalisation whose statistics are taken over the whole global batch, all ranks together (torch.nn.SyncBatchNorm):
/// in training each rank all-reduces its per-channel sums, so N ranks × batch B normalise exactly as one process × batch
/// N·B, and the running statistics (unbiased with the global count) agree on every rank. The forward is built from
/// differentiable ops around <see cref="DistributedFunctional.AllReduceSum"/>, whose backward all-reduces the gradient
/// sums, which is the backward of torch's SyncBatchNorm. Two all-reduces per forward (the sum, then the squared
/// deviations from the global mean: the two-pass variance of BatchNorm) and two per backward. Inputs of shape (N, C, *).
/// In evaluation, or on one rank, it is an ordinary BatchNorm. Every rank must call it the same number of times.
/// </summary>
public class SyncBatchNorm : BatchNormBase
{
    [NotRegistered] readonly ProcessGroup? group;

    /// <summary>Creates the layer (SyncBatchNorm(num_features, eps, momentum, affine, track_running_stats, process_group)); <paramref name="group"/> defaults to the world.</summary>
    public SyncBatchNorm(int numFeatures, double eps = 1e-5, double? momentum = 0.1, bool affine = true, bool trackRunningStats = true,
        ProcessGroup? group = null, DType dtype = DType.Float32)
        : base(numFeatures, eps, momentum, affine, trackRunningStats, dtype) => this.group = group;

    ProcessGroup? Group => group ?? (ProcessGroup.IsInitialized ? ProcessGroup.World : null);

    /// <inheritdoc/>
    protected override void CheckInputDim(Tensor input)
    {
        if (input.Rank < 2)
            throw new ArgumentException($"SyncBatchNorm: expected an input of at least 2 dimensions (N, C, *), got shape {Format(input)}", nameof(input));
    }

    /// <summary>Normalises with the global batch statistics in training (torch.nn.SyncBatchNorm.forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        var g = Group;
        if (!IsTraining || g == null || g.WorldSize == 1) return base.Forward(input);
        ArgumentNullException.ThrowIfNull(input);
        CheckInputDim(input);
        int c = input.Shape[1];
        if (c != NumFeatures)
            throw new ArgumentException($"SyncBatchNorm: input of shape {Format(input)} has {c} channels but the layer expects {NumFeatures}", nameof(input));
        var count = Tensor.FromArray([(long)(input.NumEl / c)]);
        g.AllReduce(count);
        long total = count.ToArray<long>()[0];
        if (total <= 1) throw new ArgumentException($"SyncBatchNorm: expected more than 1 value per channel over all ranks when training, got {total}", nameof(input));

        int[] reduced = [0, .. Enumerable.Range(2, input.Rank - 2)];   // every dim but the channel
        int[] view = [1, c, .. Enumerable.Repeat(1, input.Rank - 2)];
        var mean = DistributedFunctional.AllReduceSum(input.Sum(reduced), g) / total;                 // (C,)
        var centered = input - mean.Reshape(view);
        var variance = DistributedFunctional.AllReduceSum(centered.Square().Sum(reduced), g) / total;  // (C,), biased
        var y = centered * (variance + Eps).Rsqrt().Reshape(view);
        if (Weight != null) y = y * Weight.Reshape(view);
        if (Bias != null) y = y + Bias.Reshape(view);
        UpdateRunningStats(mean, variance, total);
        return y;
    }

    void UpdateRunningStats(Tensor mean, Tensor variance, long total)
    {
        if (!TrackRunningStats || NumBatchesTracked == null) return;
        using var _ = Autograd.NoGrad();
        NumBatchesTracked.AddInPlace(1);
        double factor = Momentum ?? 1.0 / NumBatchesTracked.Item();
        RunningMean?.MulInPlace(1 - factor).AddInPlace(mean.Detach().To(RunningMean.DType), factor);
        RunningVar?.MulInPlace(1 - factor).AddInPlace(variance.Detach().To(RunningVar.DType), factor * total / (total - 1));
    }

    /// <summary>
    /// Replaces every BatchNorm1d/2d inside <paramref name="module"/> by a SyncBatchNorm with the same settings, weights and
    /// running statistics (torch.nn.SyncBatchNorm.convert_sync_batchnorm), and returns the module (a new SyncBatchNorm when
    /// <paramref name="module"/> itself is a batch norm). Convert before creating the optimizer: the new layers have their
    /// own parameter tensors. A batch norm held in a field typed as BatchNorm1d/2d cannot be replaced (the exception names it).
    /// </summary>
    public static Module ConvertSyncBatchNorm(Module module, ProcessGroup? group = null)
    {
        ArgumentNullException.ThrowIfNull(module);
        if (module is BatchNormBase bn and not SyncBatchNorm) return Convert(bn, group);
        foreach (var (name, child) in module.NamedChildren().ToArray())
        {
            var converted = ConvertSyncBatchNorm(child, group);
            if (ReferenceEquals(converted, child)) continue;
            if (module is Sequential sequential) sequential[name] = (SyncBatchNorm)converted;
            else module.RegisterModule(name, converted);
        }
        return module;
    }

    static string Format(Tensor t) => "(" + string.Join(", ", t.Shape) + ")";

    static SyncBatchNorm Convert(BatchNormBase bn, ProcessGroup? group)
    {
        var dtype = bn.Weight?.DType ?? bn.RunningMean?.DType ?? DType.Float32;
        var sync = new SyncBatchNorm(bn.NumFeatures, bn.Eps, bn.Momentum, bn.Affine, bn.TrackRunningStats, group, dtype);
        sync.LoadStateDict(bn.StateDict());
        sync.Train(bn.IsTraining);
        return sync;
    }
}
