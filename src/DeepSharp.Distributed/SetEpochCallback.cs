using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Distributed;

/// <summary>
/// Calls <see cref="DistributedSampler.SetEpoch"/> before each epoch of a <see cref="Trainer"/> (what Lightning does for
/// a DistributedSampler), with the 0-based epoch as in PyTorch loops (<c>sampler.set_epoch(epoch)</c>).
/// </summary>
public sealed class SetEpochCallback(DistributedSampler sampler) : ICallback
{
    /// <inheritdoc/>
    public void OnEpochBegin(Trainer trainer, int epoch) => sampler.SetEpoch(epoch - 1);
}
