using DeepSharp.NN;
using DeepSharp.Training;
using DeepSharp.Training.Callbacks;

namespace DeepSharp.Generative;

/// <summary>
/// An exponential moving average of a model's weights (torch.optim.swa_utils.AveragedModel with an EMA; the DDPM
/// recipe's decay 0.9999): a second model of the same architecture whose parameters follow
/// θ_ema ← decay·θ_ema + (1 − decay)·θ after each optimizer step, and whose buffers are copied. As a trainer callback it
/// updates after every batch. Sample from <see cref="Averaged"/>.
/// </summary>
public sealed class ExponentialMovingAverage : ICallback
{
    readonly (Tensor Source, Tensor Target)[] parameters, buffers;

    /// <summary>Follows <paramref name="model"/> into <paramref name="averaged"/> (a fresh instance of the same architecture, overwritten now).</summary>
    public ExponentialMovingAverage(Module model, Module averaged, double decay = 0.999)
    {
        ArgumentNullException.ThrowIfNull(model); ArgumentNullException.ThrowIfNull(averaged);
        if (decay is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(decay), $"ExponentialMovingAverage: decay must be in [0, 1], got {decay}");
        var source = model.NamedParameters().ToArray(); var target = averaged.NamedParameters().ToArray();
        if (!source.Select(p => p.Name).SequenceEqual(target.Select(p => p.Name)))
            throw new ArgumentException("ExponentialMovingAverage: the averaged model's parameters differ from the model's", nameof(averaged));
        parameters = source.Zip(target, (s, t) => (s.Tensor, t.Tensor)).ToArray();
        buffers = model.Buffers().Zip(averaged.Buffers(), (s, t) => (s, t)).ToArray();
        Model = model; Averaged = averaged; Decay = decay;
        averaged.RequiresGrad(false);
        using var _ = Autograd.NoGrad();
        foreach (var (s, t) in parameters.Concat(buffers)) t.CopyFrom(s);
    }

    /// <summary>The model being trained.</summary>
    public Module Model { get; }
    /// <summary>The averaged copy.</summary>
    public Module Averaged { get; }
    /// <summary>The decay per update.</summary>
    public double Decay { get; }

    /// <summary>One update: θ_ema ← decay·θ_ema + (1 − decay)·θ; buffers copied.</summary>
    public void Update()
    {
        using var _ = Autograd.NoGrad();
        foreach (var (s, t) in parameters) t.MulInPlace(Decay).AddInPlace(s, 1 - Decay);
        foreach (var (s, t) in buffers) t.CopyFrom(s);
    }

    /// <inheritdoc/>
    public void OnBatchEnd(Trainer trainer, int batch, IReadOnlyDictionary<string, double> logs) => Update();
}
