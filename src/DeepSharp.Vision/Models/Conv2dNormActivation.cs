using DeepSharp.NN;

namespace DeepSharp.Vision.Models;

/// <summary>
/// Convolution, batch norm, activation as one Sequential (torchvision.ops.Conv2dNormActivation with its defaults: padding
/// (kernel−1)/2·dilation, no convolution bias since a norm follows). Keys read "0.weight" (conv), "1.weight" (norm), as in
/// torchvision. The activation defaults to ReLU; MobileNetV2 passes <see cref="ReLU6"/>.
/// </summary>
public sealed class Conv2dNormActivation : Sequential, IInferenceFusible
{
    /// <summary>
    /// Builds conv → BatchNorm2d → activation (Conv2dNormActivation(in_channels, out_channels, kernel_size, stride,
    /// groups=groups, activation_layer=...)). A null <paramref name="activation"/> means ReLU.
    /// </summary>
    public Conv2dNormActivation(int inChannels, int outChannels, int kernelSize = 3, int stride = 1, int groups = 1,
        int dilation = 1, Func<Module<Tensor, Tensor>>? activation = null)
        : base(
            new Conv2d(inChannels, outChannels, kernelSize, stride: stride, padding: (kernelSize - 1) / 2 * dilation,
                dilation: dilation, groups: groups, bias: false),
            new BatchNorm2d(outChannels),
            activation?.Invoke() ?? new ReLU())
    {
    }

    /// <summary>The three layers as one <see cref="FusedConv2d"/>: batch norm folded, activation in the epilogue (ReLU, ReLU6, SiLU; another activation stays a separate layer).</summary>
    public Module<Tensor, Tensor> FuseForInference() => InferenceOptimizer.RewriteSequence(this);
}
