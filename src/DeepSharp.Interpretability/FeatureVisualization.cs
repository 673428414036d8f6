using DeepSharp.NN;
using DeepSharp.Optim;

namespace DeepSharp.Interpretability;

/// <summary>
/// Settings of activation maximisation (the knobs of lucent/lucid's render.render_vis and of Olah et al. 2017,
/// "Feature Visualization"): Adam steps on the image, random jitter before each forward, L2 and total-variation penalties.
/// </summary>
/// <param name="Steps">Gradient-ascent steps (Adam steps on the image).</param>
/// <param name="LearningRate">Adam's learning rate on the pixels.</param>
/// <param name="Jitter">Largest random shift in pixels, in each direction, applied (cyclically) before each forward; 0 for none.</param>
/// <param name="L2">Weight of the penalty Σ x².</param>
/// <param name="TotalVariation">Weight of the penalty Σ (x[i+1,j] − x[i,j])² + (x[i,j+1] − x[i,j])².</param>
/// <param name="Seed">Seed of the start image and of the jitter.</param>
public sealed record FeatureVisualizationOptions(int Steps = 128, double LearningRate = 0.05, int Jitter = 2, double L2 = 1e-3,
    double TotalVariation = 1e-2, long Seed = 0);

/// <summary>
/// Feature visualisation by activation maximisation (Erhan et al. 2009; Olah et al. 2017): gradient ascent on the input
/// of a channel's mean activation at a layer or of a class score, regularised so the picture stays smooth and bounded;
/// and the grid of a model's first-layer filters.
/// </summary>
public static class FeatureVisualization
{
    /// <summary>
    /// The image (1, C, H, W) that maximises the mean activation of <paramref name="channel"/> at the layer called
    /// <paramref name="layerName"/> (lucent objectives.channel). <paramref name="start"/>: the first image (default
    /// 0.01 · randn of <paramref name="inputShape"/> from the seed). The model's parameters are not changed and their Grad is not touched.
    /// </summary>
    public static Tensor Channel(Module<Tensor, Tensor> model, string layerName, int channel, int[] inputShape,
        FeatureVisualizationOptions? options = null, Tensor? start = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        using var capture = new LayerCapture(model, layerName);
        return Maximise(model, inputShape, options ?? new(), start, output =>
        {
            var a = capture.Output ?? throw new InvalidOperationException($"layer '{layerName}' did not run in the model's forward");
            if (a.Rank < 2 || channel < 0 || channel >= a.Shape[1])
                throw new ArgumentException($"FeatureVisualization: channel {channel} does not exist in layer '{layerName}' of output shape ({string.Join(", ", a.Shape)})", nameof(channel));
            return a.Select(1, channel).Mean();
        });
    }

    /// <summary>The image (1, C, H, W) that maximises the score of class <paramref name="classIndex"/> (lucent objectives.channel on the logits).</summary>
    public static Tensor Class(Module<Tensor, Tensor> model, int classIndex, int[] inputShape, FeatureVisualizationOptions? options = null, Tensor? start = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Maximise(model, inputShape, options ?? new(), start, output =>
        {
            if (output.Rank != 2 || classIndex < 0 || classIndex >= output.Shape[1])
                throw new ArgumentException($"FeatureVisualization: class {classIndex} does not exist in an output of shape ({string.Join(", ", output.Shape)})", nameof(classIndex));
            return output.Select(1, classIndex).Mean();
        });
    }

    static Tensor Maximise(Module<Tensor, Tensor> model, int[] inputShape, FeatureVisualizationOptions options, Tensor? start, Func<Tensor, Tensor> objective)
    {
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Length != 4 || inputShape[0] != 1 || inputShape.Any(d => d < 1))
            throw new ArgumentException($"FeatureVisualization: inputShape must be (1, C, H, W), got ({string.Join(", ", inputShape)})", nameof(inputShape));
        if (options.Steps < 0 || options.Jitter < 0 || !(options.LearningRate > 0))
            throw new ArgumentException($"FeatureVisualization: steps and jitter must be non-negative and the learning rate positive, got {options}", nameof(options));
        var generator = new Generator(options.Seed);
        var dtype = model.Parameters().FirstOrDefault()?.DType ?? DType.Float32;
        var x = start != null
            ? CheckedStart(start, inputShape)
            : Tensor.Randn(inputShape, dtype, generator: generator) * 0.01;
        x = x.Detach().Clone().RequiresGrad_();
        var optimizer = new Adam([x], lr: options.LearningRate);
        for (int step = 0; step < options.Steps; step++)
        {
            int dy = Shift(generator, options.Jitter), dx = Shift(generator, options.Jitter);
            Tensor loss;
            using (Autograd.EnableGrad())
            {
                var output = model.Call(Roll(Roll(x, dy, 2), dx, 3));
                loss = -objective(output) + (x * x).Sum() * options.L2 + TotalVariation(x) * options.TotalVariation;
            }
            x.Grad = Autograd.Grad(loss, x);
            optimizer.Step();
        }
        return x.Detach();
    }

    static Tensor CheckedStart(Tensor start, int[] inputShape)
    {
        if (!start.Shape.SequenceEqual(inputShape))
            throw new ArgumentException($"FeatureVisualization: start has shape ({string.Join(", ", start.Shape)}), inputShape is ({string.Join(", ", inputShape)})", nameof(start));
        return start;
    }

    static int Shift(Generator generator, int jitter) => jitter == 0 ? 0 : (int)generator.NextInt64(-jitter, jitter + 1);

    /// <summary>Σ of squared differences between vertical and horizontal neighbours of a (N, C, H, W) image.</summary>
    public static Tensor TotalVariation(Tensor x)
    {
        int h = x.Shape[2], w = x.Shape[3];
        var dy = h > 1 ? x.Narrow(2, 1, h - 1) - x.Narrow(2, 0, h - 1) : null;
        var dx = w > 1 ? x.Narrow(3, 1, w - 1) - x.Narrow(3, 0, w - 1) : null;
        var total = Tensor.ZerosLike(x).Sum();
        if (dy != null) total = total + (dy * dy).Sum();
        if (dx != null) total = total + (dx * dx).Sum();
        return total;
    }

    /// <summary>Cyclic shift by <paramref name="shift"/> along <paramref name="dim"/> (torch.roll), differentiable.</summary>
    internal static Tensor Roll(Tensor x, int shift, int dim)
    {
        int size = x.Shape[dim];
        shift = ((shift % size) + size) % size;
        if (shift == 0) return x;
        return Tensor.Cat([x.Narrow(dim, size - shift, shift), x.Narrow(dim, 0, size - shift)], dim);
    }

    /// <summary>
    /// The first Conv2d's filters as one picture (3, H', W'): each filter scaled to [0, 1] by its own minimum and maximum
    /// and tiled <paramref name="nrow"/> per row (torchvision.utils.make_grid(conv.weight, normalize=True, scale_each=True)).
    /// Filters with 1 or 3 input channels are shown as grey or colour; others as the mean over their input channels.
    /// </summary>
    public static Tensor FilterGrid(Module model, int nrow = 8, int padding = 1)
    {
        var weight = Layers.FirstConv(model).Weight.Detach();                 // (O, I, kh, kw)
        if (weight.Shape[1] is not (1 or 3)) weight = weight.Mean(1, keepDim: true);
        return Vision.Utils.MakeGrid(weight, nrow: nrow, padding: padding, normalize: true, scaleEach: true);
    }
}
