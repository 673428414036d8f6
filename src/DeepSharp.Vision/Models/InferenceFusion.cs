using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// A residual block after <see cref="InferenceOptimizer"/>: fused convolutions in sequence, the last one adding the
/// shortcut (the input itself, or the folded downsample's output) and applying the block's final activation in its
/// epilogue. The inference form of <see cref="BasicBlock"/>, <see cref="Bottleneck"/> and <see cref="InvertedResidual"/>.
/// </summary>
public sealed class FusedResidualBlock : Module<Tensor, Tensor>
{
    readonly ModuleList stages;
    readonly FusedConv2d last;
    readonly Module<Tensor, Tensor>? shortcut;

    /// <summary>
    /// Builds the block: <paramref name="stages"/> then <paramref name="last"/> with the shortcut added before its activation;
    /// the shortcut is <paramref name="shortcut"/>(input), or the input itself when <paramref name="shortcut"/> is null.
    /// </summary>
    public FusedResidualBlock(IEnumerable<FusedConv2d> stages, FusedConv2d last, Module<Tensor, Tensor>? shortcut)
    {
        ArgumentNullException.ThrowIfNull(stages); ArgumentNullException.ThrowIfNull(last);
        this.stages = new ModuleList(stages);
        this.last = last;
        this.shortcut = shortcut;
        Eval();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        var x = input;
        foreach (var stage in stages) x = ((FusedConv2d)stage).Forward(x);
        var residual = shortcut?.Call(input) ?? input;
        return last.Forward(x, residual);
    }
}

/// <summary>A zoo classifier after <see cref="InferenceOptimizer"/>: its input checks, then the rewritten layers in sequence.</summary>
public sealed class FusedClassifier : Module<Tensor, Tensor>
{
    readonly Sequential body;
    readonly string model;
    readonly int inChannels;

    /// <summary>Wraps the rewritten layers of <paramref name="model"/>, which takes <paramref name="inChannels"/> input channels.</summary>
    public FusedClassifier(Sequential body, string model, int inChannels)
    {
        ArgumentNullException.ThrowIfNull(body);
        this.body = body; this.model = model; this.inChannels = inChannels;
        Eval();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ZooChecks.Image(input, 1, model, inChannels);
        return body.Call(input);
    }
}
