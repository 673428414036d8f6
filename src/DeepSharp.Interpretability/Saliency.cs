using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>A method that attributes a model's target score to the elements of its input (Captum's Attribution).</summary>
public interface IInputAttribution
{
    /// <summary>Attributions of the shape of <paramref name="input"/> (Captum Attribution.attribute).</summary>
    Tensor Attribute(Tensor input, AttributionTarget target);
}

/// <summary>
/// Vanilla-gradient saliency (captum.attr.Saliency; Simonyan et al. 2013): the gradient of the target score with
/// respect to the input, its absolute value by default (Captum's <c>abs=True</c>). The model's mode is left as it is:
/// call <c>Eval()</c> first, as with Captum.
/// </summary>
public sealed class Saliency : IInputAttribution
{
    readonly Func<Tensor, Tensor> forward;

    /// <summary>Saliency of <paramref name="forward"/>, a function from a batch to (N, classes) scores (Captum forward_func).</summary>
    public Saliency(Func<Tensor, Tensor> forward) => this.forward = forward ?? throw new ArgumentNullException(nameof(forward));

    /// <summary>Saliency of a model (Captum Saliency(model)).</summary>
    public Saliency(Module<Tensor, Tensor> model) : this(AttributionCore.ForwardOf(model)) { }

    /// <summary>The input gradient, its absolute value when <paramref name="abs"/> (Captum Saliency.attribute(inputs, target, abs=True)).</summary>
    public Tensor Attribute(Tensor input, AttributionTarget target, bool abs)
    {
        AttributionCore.CheckInput(input, "Saliency");
        var grad = AttributionCore.InputGradient(forward, input, target, "Saliency");
        return abs ? grad.Abs() : grad;
    }

    /// <inheritdoc/>
    public Tensor Attribute(Tensor input, AttributionTarget target) => Attribute(input, target, abs: true);
}

/// <summary>
/// Gradient × input (captum.attr.InputXGradient; Shrikumar et al. 2016): the input multiplied elementwise by the
/// gradient of the target score with respect to it.
/// </summary>
public sealed class InputXGradient : IInputAttribution
{
    readonly Func<Tensor, Tensor> forward;

    /// <summary>Gradient × input of <paramref name="forward"/> (Captum InputXGradient(forward_func)).</summary>
    public InputXGradient(Func<Tensor, Tensor> forward) => this.forward = forward ?? throw new ArgumentNullException(nameof(forward));

    /// <summary>Gradient × input of a model (Captum InputXGradient(model)).</summary>
    public InputXGradient(Module<Tensor, Tensor> model) : this(AttributionCore.ForwardOf(model)) { }

    /// <summary>input · ∂score/∂input (Captum InputXGradient.attribute(inputs, target)).</summary>
    public Tensor Attribute(Tensor input, AttributionTarget target)
    {
        AttributionCore.CheckInput(input, "InputXGradient");
        return input.Detach() * AttributionCore.InputGradient(forward, input, target, "InputXGradient");
    }
}

/// <summary>How <see cref="NoiseTunnel"/> combines the attributions of the noisy copies (Captum's nt_type).</summary>
public enum NoiseTunnelType
{
    /// <summary>The mean (Captum "smoothgrad"; Smilkov et al. 2017).</summary>
    SmoothGrad,
    /// <summary>The mean of the squares (Captum "smoothgrad_sq").</summary>
    SmoothGradSquared,
    /// <summary>The variance: mean of squares minus the squared mean (Captum "vargrad").</summary>
    VarGrad,
}

/// <summary>
/// SmoothGrad and its variants (captum.attr.NoiseTunnel): the wrapped method's attributions of
/// <c>nt_samples</c> copies of the input with Gaussian noise of standard deviation <c>stdevs</c> added, combined as
/// <see cref="NoiseTunnelType"/> says. <c>NoiseTunnel(Saliency)</c> with the defaults is SmoothGrad.
/// </summary>
public sealed class NoiseTunnel(IInputAttribution attribution)
{
    readonly IInputAttribution attribution = attribution ?? throw new ArgumentNullException(nameof(attribution));

    /// <summary>
    /// Attributions averaged over noisy copies (Captum NoiseTunnel.attribute(inputs, nt_type="smoothgrad", nt_samples=5,
    /// stdevs=1.0)); <paramref name="generator"/> draws the noise (the global generator when null).
    /// </summary>
    public Tensor Attribute(Tensor input, AttributionTarget target, NoiseTunnelType type = NoiseTunnelType.SmoothGrad,
        int samples = 5, double stdevs = 1.0, Generator? generator = null)
    {
        AttributionCore.CheckInput(input, "NoiseTunnel");
        if (samples < 1) throw new ArgumentException($"NoiseTunnel: samples (nt_samples) must be at least 1, got {samples}", nameof(samples));
        if (!(stdevs >= 0)) throw new ArgumentException($"NoiseTunnel: stdevs must be non-negative, got {stdevs}", nameof(stdevs));
        int[] shape = [samples, .. input.Shape];
        var noise = Tensor.Randn(shape, input.DType, generator: generator) * stdevs;
        return AttributeWithNoise(input, target, noise, type);
    }

    /// <summary>
    /// The same with the noise given, (samples, N, ...) of the input's shape per sample: for reproducing a run or a
    /// reference computed elsewhere.
    /// </summary>
    public Tensor AttributeWithNoise(Tensor input, AttributionTarget target, Tensor noise, NoiseTunnelType type = NoiseTunnelType.SmoothGrad)
    {
        AttributionCore.CheckInput(input, "NoiseTunnel");
        ArgumentNullException.ThrowIfNull(noise);
        if (noise.Rank != input.Rank + 1 || !noise.Shape.Skip(1).SequenceEqual(input.Shape))
            throw new ArgumentException($"NoiseTunnel: noise must be (samples, {string.Join(", ", input.Shape)}), got ({string.Join(", ", noise.Shape)})", nameof(noise));
        Tensor? sum = null, sumSquares = null;
        int samples = noise.Shape[0];
        for (int s = 0; s < samples; s++)
        {
            var attr = attribution.Attribute(input.Detach() + noise.Select(0, s).To(input.DType), target);
            sum = sum == null ? attr : sum + attr;
            if (type != NoiseTunnelType.SmoothGrad) sumSquares = sumSquares == null ? attr * attr : sumSquares + attr * attr;
        }
        var mean = sum! / samples;
        return type switch
        {
            NoiseTunnelType.SmoothGrad => mean,
            NoiseTunnelType.SmoothGradSquared => sumSquares! / samples,
            _ => sumSquares! / samples - mean * mean,
        };
    }
}
