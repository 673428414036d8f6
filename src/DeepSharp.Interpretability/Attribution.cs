using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>The attribution methods <see cref="Attribution.Explain"/> runs (the `deepsharp explain --method` names).</summary>
public enum ExplainMethod
{
    /// <summary>|gradient| (<see cref="Interpretability.Saliency"/>; "saliency").</summary>
    Saliency,
    /// <summary>Gradient × input (<see cref="Interpretability.InputXGradient"/>; "inputxgradient").</summary>
    InputXGradient,
    /// <summary>SmoothGrad over |gradient| (<see cref="NoiseTunnel"/>; "smoothgrad").</summary>
    SmoothGrad,
    /// <summary>Integrated Gradients (<see cref="Interpretability.IntegratedGradients"/>; "ig").</summary>
    IntegratedGradients,
    /// <summary>Grad-CAM at a layer (<see cref="LayerGradCam"/>; "gradcam").</summary>
    GradCam,
    /// <summary>Grad-CAM++ at a layer (<see cref="Interpretability.GradCamPlusPlus"/>; "gradcam++").</summary>
    GradCamPlusPlus,
    /// <summary>Occlusion sensitivity (<see cref="Interpretability.Occlusion"/>; "occlusion").</summary>
    Occlusion,
}

/// <summary>One explained image: the raw attribution, its heat map, and what produced it.</summary>
/// <param name="Attributions">The method's output for the (1, C, H, W) input: (1, C, H, W), or (1, 1, H, W) for the CAMs.</param>
/// <param name="Heat">The heat map (H, W) in [0, 1] (<see cref="Heatmap.FromAttribution"/>).</param>
/// <param name="Layer">The layer of Grad-CAM / Grad-CAM++, else null.</param>
/// <param name="Delta">Integrated Gradients' convergence delta, else null.</param>
public sealed record Explanation(Tensor Attributions, Tensor Heat, string? Layer, double? Delta);

/// <summary>
/// The attribution API in one place (Captum's captum.attr methods as functions): each returns a tensor of attributions;
/// <see cref="Explain"/> runs a method by name with settings suited to small images and returns its heat map too.
/// </summary>
public static class Attribution
{
    /// <summary>|∂score/∂input| (captum.attr.Saliency(model).attribute(inputs, target, abs)).</summary>
    public static Tensor Saliency(Module<Tensor, Tensor> model, Tensor input, AttributionTarget target, bool abs = true) =>
        new Saliency(model).Attribute(input, target, abs);

    /// <summary>input · ∂score/∂input (captum.attr.InputXGradient(model).attribute(inputs, target)).</summary>
    public static Tensor InputXGradient(Module<Tensor, Tensor> model, Tensor input, AttributionTarget target) =>
        new InputXGradient(model).Attribute(input, target);

    /// <summary>SmoothGrad of |gradient| (captum.attr.NoiseTunnel(Saliency(model)).attribute(inputs, nt_type="smoothgrad", nt_samples, stdevs)).</summary>
    public static Tensor SmoothGrad(Module<Tensor, Tensor> model, Tensor input, AttributionTarget target, int samples = 5, double stdevs = 1.0, Generator? generator = null) =>
        new NoiseTunnel(new Saliency(model)).Attribute(input, target, NoiseTunnelType.SmoothGrad, samples, stdevs, generator);

    /// <summary>Integrated Gradients with its convergence delta (captum.attr.IntegratedGradients(model).attribute(..., return_convergence_delta=True)).</summary>
    public static AttributionWithDelta IntegratedGradients(Module<Tensor, Tensor> model, Tensor input, AttributionTarget target, Tensor? baselines = null,
        int steps = 50, IntegrationMethod method = IntegrationMethod.GaussLegendre) =>
        new IntegratedGradients(model).AttributeWithDelta(input, target, baselines, steps, method);

    /// <summary>The Grad-CAM picture (N, 1, H, W) at <paramref name="layerName"/>: relu(Σ_k w_k A_k) upsampled bilinearly (pytorch-grad-cam GradCAM).</summary>
    public static Tensor GradCam(Module<Tensor, Tensor> model, string layerName, Tensor input, AttributionTarget target) =>
        new LayerGradCam(model, layerName).Attribute(input, target);

    /// <summary>The Grad-CAM++ picture (N, 1, H, W) at <paramref name="layerName"/> (pytorch-grad-cam GradCAMPlusPlus).</summary>
    public static Tensor GradCamPlusPlus(Module<Tensor, Tensor> model, string layerName, Tensor input, AttributionTarget target) =>
        new GradCamPlusPlus(model, layerName).Attribute(input, target);

    /// <summary>Occlusion sensitivity (captum.attr.Occlusion(model).attribute(inputs, sliding_window_shapes, strides, baselines, target)).</summary>
    public static Tensor Occlusion(Module<Tensor, Tensor> model, Tensor input, AttributionTarget target, int[] slidingWindowShapes, int[]? strides = null, double baseline = 0) =>
        new Occlusion(model).Attribute(input, target, slidingWindowShapes, strides, baseline);

    /// <summary>
    /// Explains one image (1, C, H, W) for <paramref name="target"/> with <paramref name="method"/>: SmoothGrad takes 20
    /// samples with noise of 15 % of the input's range (Smilkov et al.'s advice; Captum's stdevs=1.0 suits standardised
    /// inputs), Integrated Gradients 50 Gauss–Legendre steps from a black image, occlusion a window of about a seventh of
    /// the side with half-window strides, Grad-CAM(++) <paramref name="layerName"/> or else the last Conv2d with a feature map larger than 1×1
    /// (<see cref="Layers.DefaultCamLayer"/>).
    /// </summary>
    public static Explanation Explain(Module<Tensor, Tensor> model, Tensor input, int target, ExplainMethod method, string? layerName = null, long seed = 0)
    {
        ArgumentNullException.ThrowIfNull(model);
        AttributionCore.CheckInput(input, "Explain");
        if (input.Rank != 4 || input.Shape[0] != 1)
            throw new ArgumentException($"Explain: expects one image (1, C, H, W), got shape ({string.Join(", ", input.Shape)})", nameof(input));
        string? layer = method is ExplainMethod.GradCam or ExplainMethod.GradCamPlusPlus ? layerName ?? Layers.DefaultCamLayer(model, input) : null;
        double? delta = null;
        Tensor attributions;
        switch (method)
        {
            case ExplainMethod.Saliency: attributions = Saliency(model, input, target); break;
            case ExplainMethod.InputXGradient: attributions = InputXGradient(model, input, target); break;
            case ExplainMethod.SmoothGrad:
                double range = Math.Max(1e-6, input.Max().Item<float>() - (double)input.Min().Item<float>());
                attributions = SmoothGrad(model, input, target, samples: 20, stdevs: 0.15 * range, generator: new Generator(seed));
                break;
            case ExplainMethod.IntegratedGradients:
                var ig = IntegratedGradients(model, input, target);
                attributions = ig.Attributions;
                delta = ig.Delta.To(DType.Float64).Item<double>();
                break;
            case ExplainMethod.GradCam: attributions = GradCam(model, layer!, input, target); break;
            case ExplainMethod.GradCamPlusPlus: attributions = GradCamPlusPlus(model, layer!, input, target); break;
            case ExplainMethod.Occlusion:
                int side = Math.Max(2, Math.Min(input.Shape[2], input.Shape[3]) / 7);
                attributions = Occlusion(model, input, target, [input.Shape[1], side, side], [1, Math.Max(1, side / 2), Math.Max(1, side / 2)]);
                break;
            default: throw new ArgumentException($"Explain: unknown method {method}", nameof(method));
        }
        var sign = method is ExplainMethod.InputXGradient or ExplainMethod.IntegratedGradients or ExplainMethod.Occlusion ? HeatmapSign.Positive : HeatmapSign.Absolute;
        // the CAMs are smooth and non-negative: scaled by their maximum (pytorch-grad-cam's min-max with min 0), the pixel
        // attributions as Captum's visualize_image_attr with 2 % outliers
        double outliers = layer != null ? 0 : 2;
        return new Explanation(attributions, Heatmap.FromAttribution(attributions, sign, outliers), layer, delta);
    }

    /// <summary>The picture of an explanation: the input, the heat map and the overlay side by side, enlarged <paramref name="scale"/> times.</summary>
    public static Tensor Picture(Tensor image, Tensor heat, ColorMapKind colorMap = ColorMapKind.Viridis, int scale = 1) =>
        Heatmap.Panel([image.Detach().Clamp(0, 1), ColorMap.Apply(heat, colorMap), Heatmap.Overlay(image.Detach().Clamp(0, 1), heat, colorMap)], scale);
}
