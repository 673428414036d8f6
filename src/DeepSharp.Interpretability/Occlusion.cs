using DeepSharp.NN;

namespace DeepSharp.Interpretability;

/// <summary>
/// Occlusion sensitivity (captum.attr.Occlusion; Zeiler and Fergus 2014): a window slides over each example (all
/// dimensions but the batch), is replaced by the baseline, and every element it covers is credited with the drop of
/// the target score; an element's attribution is the mean drop over the windows that cover it. Positions per
/// dimension: ceil((size − window) / stride) + 1, the last window cut at the border, as Captum counts them.
/// </summary>
public sealed class Occlusion : IInputAttribution
{
    readonly Func<Tensor, Tensor> forward;

    /// <summary>Occlusion of <paramref name="forward"/> (Captum Occlusion(forward_func)).</summary>
    public Occlusion(Func<Tensor, Tensor> forward) => this.forward = forward ?? throw new ArgumentNullException(nameof(forward));

    /// <summary>Occlusion of a model (Captum Occlusion(model)).</summary>
    public Occlusion(Module<Tensor, Tensor> model) : this(AttributionCore.ForwardOf(model)) { }

    /// <summary>
    /// Attributions of the input's shape (Captum Occlusion.attribute(inputs, sliding_window_shapes, strides=None,
    /// baselines=None, target)). <paramref name="slidingWindowShapes"/> and <paramref name="strides"/> have one entry per
    /// non-batch dimension (for images (C, h, w)); strides default to 1, the baseline to 0. Unlike Captum, an element no
    /// window covers (a stride larger than the window) gets 0 rather than NaN.
    /// </summary>
    public Tensor Attribute(Tensor input, AttributionTarget target, int[] slidingWindowShapes, int[]? strides = null, double baseline = 0)
    {
        const string op = "Occlusion";
        AttributionCore.CheckInput(input, op);
        ArgumentNullException.ThrowIfNull(slidingWindowShapes);
        var dims = input.Shape.Skip(1).ToArray();
        strides ??= Enumerable.Repeat(1, dims.Length).ToArray();
        Check(dims, slidingWindowShapes, strides);
        var counts = new int[dims.Length];
        for (int d = 0; d < dims.Length; d++) counts[d] = (dims[d] - slidingWindowShapes[d] + strides[d] - 1) / strides[d] + 1;
        int positions = counts.Aggregate(1, (a, b) => a * b);

        using var _ = Autograd.NoGrad();
        var x = input.Detach();
        int n = x.Shape[0];
        var initial = target.PerExample(forward(x), op);
        int[] perExampleShape = [n, .. Enumerable.Repeat(1, dims.Length)];
        var total = Tensor.ZerosLike(x);
        var coverage = new double[dims.Aggregate(1, (a, b) => a * b)];
        var index = new int[dims.Length];
        for (int p = 0; p < positions; p++)
        {
            int rest = p;
            for (int d = dims.Length - 1; d >= 0; d--) { index[d] = rest % counts[d]; rest /= counts[d]; }
            var maskValues = WindowMask(dims, index, slidingWindowShapes, strides);
            for (int i = 0; i < coverage.Length; i++) coverage[i] += maskValues[i];
            var mask = Tensor.FromArray(maskValues, [1, .. dims]).To(x.DType);
            var occluded = x * (1 - mask) + mask * baseline;
            var drop = initial - target.PerExample(forward(occluded), op);
            total = total + drop.Reshape(perExampleShape) * mask;
        }
        var counted = Tensor.FromArray(coverage.Select(c => Math.Max(c, 1)).ToArray(), [1, .. dims]).To(x.DType);
        return total / counted;
    }

    /// <inheritdoc/>
    /// <remarks>A 1×3×3 window for images (C, H, W) with stride 1 (other ranks: a window of 3 over the last dimension).</remarks>
    public Tensor Attribute(Tensor input, AttributionTarget target)
    {
        AttributionCore.CheckInput(input, "Occlusion");
        var window = Enumerable.Repeat(1, input.Rank - 1).ToArray();
        window[^1] = Math.Min(3, input.Shape[^1]);
        if (input.Rank == 4) window[^2] = Math.Min(3, input.Shape[^2]);
        return Attribute(input, target, window);
    }

    static void Check(int[] dims, int[] window, int[] strides)
    {
        string shape = $"({string.Join(", ", dims)})";
        if (window.Length != dims.Length)
            throw new ArgumentException($"Occlusion: slidingWindowShapes has {window.Length} entries ({string.Join(", ", window)}) for examples of shape {shape}; give one per dimension", "slidingWindowShapes");
        if (strides.Length != dims.Length)
            throw new ArgumentException($"Occlusion: strides has {strides.Length} entries ({string.Join(", ", strides)}) for examples of shape {shape}; give one per dimension", nameof(strides));
        for (int d = 0; d < dims.Length; d++)
        {
            if (window[d] < 1 || window[d] > dims[d])
                throw new ArgumentException($"Occlusion: window ({string.Join(", ", window)}) does not fit in examples of shape {shape} (dimension {d})", "slidingWindowShapes");
            if (strides[d] < 1)
                throw new ArgumentException($"Occlusion: strides must be positive, got ({string.Join(", ", strides)})", nameof(strides));
        }
    }

    /// <summary>A 0/1 mask over one example: 1 inside the window at <paramref name="index"/> (cut at the border).</summary>
    static double[] WindowMask(int[] dims, int[] index, int[] window, int[] strides)
    {
        int size = dims.Aggregate(1, (a, b) => a * b);
        var mask = new double[size];
        var coordinate = new int[dims.Length];
        for (int flat = 0; flat < size; flat++)
        {
            int rest = flat;
            bool inside = true;
            for (int d = dims.Length - 1; d >= 0; d--)
            {
                coordinate[d] = rest % dims[d];
                rest /= dims[d];
                int start = index[d] * strides[d];
                if (coordinate[d] < start || coordinate[d] >= start + window[d]) inside = false;
            }
            if (inside) mask[flat] = 1;
        }
        return mask;
    }
}
