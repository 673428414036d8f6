using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>
/// Grad-CAM on a chosen layer (captum.attr.LayerGradCam; Selvaraju et al. 2017). The layer's output A (N, K, h, w) is
/// recorded by a forward hook and the gradient of the target score with respect to it by autograd; each channel's
/// weight is the spatial mean of its gradient, and the map is Σ_k w_k A_k. <see cref="Attribute(Tensor, AttributionTarget, bool)"/>
/// returns the layer-sized map as Captum does; <see cref="Attribute(Tensor, AttributionTarget)"/> gives pytorch-grad-cam's
/// picture: ReLU, then bilinear upsampling to the input's size.
/// </summary>
public sealed class LayerGradCam : IInputAttribution
{
    readonly Module<Tensor, Tensor> model;

    /// <summary>Grad-CAM of <paramref name="model"/> at the layer called <paramref name="layerName"/> (Captum LayerGradCam(forward_func, layer)).</summary>
    public LayerGradCam(Module<Tensor, Tensor> model, string layerName)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        Layers.Find(model, layerName);
        LayerName = layerName;
    }

    /// <summary>The layer's name.</summary>
    public string LayerName { get; }

    /// <summary>
    /// The layer-sized map (N, 1, h, w): Σ_k mean_{ij}(∂score/∂A_k) A_k, with a ReLU when <paramref name="reluAttributions"/>
    /// (Captum LayerGradCam.attribute(inputs, target, relu_attributions=False)).
    /// </summary>
    public Tensor Attribute(Tensor input, AttributionTarget target, bool reluAttributions)
    {
        var (activation, gradient) = LayerGradients(model, LayerName, input, target, "LayerGradCam");
        var weights = gradient.Mean([2, 3], keepDim: true);                 // (N, K, 1, 1)
        var map = (weights * activation).Sum(1, keepDim: true);             // (N, 1, h, w)
        return reluAttributions ? map.Relu() : map;
    }

    /// <summary>
    /// The Grad-CAM picture (N, 1, H, W) at the input's size: relu(Σ_k w_k A_k) upsampled bilinearly
    /// (pytorch-grad-cam GradCAM without its min-max scaling; Captum LayerAttribution.interpolate(..., "bilinear")).
    /// </summary>
    public Tensor Attribute(Tensor input, AttributionTarget target) => Upsample(Attribute(input, target, reluAttributions: true), input);

    /// <summary>
    /// Resizes a layer attribution (N, C, h, w) to the input's spatial size, bilinear without aligned corners
    /// (captum.attr.LayerAttribution.interpolate(layer_attribution, interpolate_dims, "bilinear")).
    /// </summary>
    public static Tensor Upsample(Tensor layerAttribution, Tensor input)
    {
        if (input.Rank != 4)
            throw new ArgumentException($"Grad-CAM: upsampling needs a 4-D image input (N, C, H, W), got shape ({string.Join(", ", input.Shape)})", nameof(input));
        return F.Interpolate(layerAttribution, size: new Size2(input.Shape[2], input.Shape[3]), mode: UpsampleMode.Bilinear, alignCorners: false);
    }

    /// <summary>Runs the model with the layer recorded and returns its (detached) output and the target score's gradient with respect to it.</summary>
    internal static (Tensor Activation, Tensor Gradient) LayerGradients(Module<Tensor, Tensor> model, string layerName, Tensor input, AttributionTarget target, string op)
    {
        AttributionCore.CheckInput(input, op);
        using var capture = new LayerCapture(model, layerName);
        var x = input.Detach().RequiresGrad_();
        Tensor score;
        using (Autograd.EnableGrad()) score = target.Score(model.Call(x), op);
        var (activation, gradient) = capture.ActivationAndGradient(score);
        if (activation.Rank != 4)
            throw new ArgumentException($"{op}: layer '{layerName}' gives shape ({string.Join(", ", activation.Shape)}); Grad-CAM needs a 4-D (N, K, h, w) feature map", nameof(layerName));
        return (activation, gradient);
    }
}

/// <summary>
/// Grad-CAM++ on a chosen layer (Chattopadhyay et al. 2018, as pytorch-grad-cam's GradCAMPlusPlus computes it): with
/// g = ∂score/∂A, α = g² / (2g² + Σ_ij A · g³ + ε) where g ≠ 0 (else 0), channel weights w_k = Σ_ij α relu(g), and the
/// map relu(Σ_k w_k A_k) upsampled bilinearly to the input's size.
/// </summary>
public sealed class GradCamPlusPlus : IInputAttribution
{
    readonly Module<Tensor, Tensor> model;

    /// <summary>Grad-CAM++ of <paramref name="model"/> at <paramref name="layerName"/> (pytorch_grad_cam.GradCAMPlusPlus(model, target_layers)).</summary>
    public GradCamPlusPlus(Module<Tensor, Tensor> model, string layerName)
    {
        this.model = model ?? throw new ArgumentNullException(nameof(model));
        Layers.Find(model, layerName);
        LayerName = layerName;
    }

    /// <summary>The layer's name.</summary>
    public string LayerName { get; }

    /// <summary>The ε of the denominator (pytorch-grad-cam's 1e-6).</summary>
    public double Epsilon { get; init; } = 1e-6;

    /// <summary>The layer-sized map (N, 1, h, w) after the ReLU.</summary>
    public Tensor AttributeLayer(Tensor input, AttributionTarget target)
    {
        var (a, g) = LayerGradCam.LayerGradients(model, LayerName, input, target, "GradCamPlusPlus");
        var g2 = g * g;
        var g3 = g2 * g;
        var activationSums = a.Sum([2, 3], keepDim: true);                  // (N, K, 1, 1)
        var alpha = g2 / (g2 * 2 + activationSums * g3 + Epsilon);
        alpha = Tensor.Where(g.Ne(0), alpha, 0);
        var weights = (alpha * g.Relu()).Sum([2, 3], keepDim: true);
        return (weights * a).Sum(1, keepDim: true).Relu();
    }

    /// <summary>The Grad-CAM++ picture (N, 1, H, W) at the input's size (pytorch-grad-cam without its min-max scaling).</summary>
    public Tensor Attribute(Tensor input, AttributionTarget target) => LayerGradCam.Upsample(AttributeLayer(input, target), input);
}
