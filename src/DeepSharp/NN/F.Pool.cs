using DeepSharp.Kernels;

namespace DeepSharp.NN;

// Pooling: max, average and adaptive, 1-D and 2-D, batched (N, C, ...) or unbatched (C, ...).
public static partial class F
{
    /// <summary>
    /// 2-D max pooling over (N, C, H, W) or (C, H, W) (torch.nn.functional.max_pool2d). Stride defaults to the kernel size;
    /// padding (implicit -inf) may be at most half the kernel; ceilMode rounds the output size up.
    /// </summary>
    public static Tensor MaxPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false)
    {
        Size2 s = stride ?? kernelSize, p = padding ?? 0, d = dilation ?? 1;
        var shape = PoolShapeFor("MaxPool2d", 2, input, [kernelSize.H, kernelSize.W], [s.H, s.W], [p.H, p.W], [d.H, d.W], ceilMode);
        // nothing to route a gradient to (no_grad, or an input that needs none): the values alone, no indices
        return PoolOps.NeedsIndices(input) ? PoolOps.MaxPool(input, shape).Output : PoolOps.MaxPoolValues(input, shape);
    }

    /// <summary>
    /// 2-D max pooling that also returns, for each output, the flat index h·W + w of the maximum within its input plane, as int64
    /// (torch.nn.functional.max_pool2d(..., return_indices=True); the indices MaxUnpool2d takes).
    /// </summary>
    public static (Tensor Output, Tensor Indices) MaxPool2dWithIndices(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, bool ceilMode = false)
    {
        Size2 s = stride ?? kernelSize, p = padding ?? 0, d = dilation ?? 1;
        var shape = PoolShapeFor("MaxPool2d", 2, input, [kernelSize.H, kernelSize.W], [s.H, s.W], [p.H, p.W], [d.H, d.W], ceilMode);
        return PoolOps.MaxPool(input, shape);
    }

    /// <summary>1-D max pooling over (N, C, L) or (C, L) (torch.nn.functional.max_pool1d). Stride defaults to the kernel size.</summary>
    public static Tensor MaxPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        if (PoolOps.NeedsIndices(input)) return MaxPool1dWithIndices(input, kernelSize, stride, padding, dilation, ceilMode).Output;
        var shape = PoolShapeFor("MaxPool1d", 1, input, [kernelSize], [stride ?? kernelSize], [padding], [dilation], ceilMode);
        return PoolOps.MaxPoolValues(input.Unsqueeze(-2), shape).Squeeze(-2);
    }

    /// <summary>1-D max pooling returning int64 indices into the length dimension (torch.nn.functional.max_pool1d(return_indices=True)).</summary>
    public static (Tensor Output, Tensor Indices) MaxPool1dWithIndices(Tensor input, int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false)
    {
        var shape = PoolShapeFor("MaxPool1d", 1, input, [kernelSize], [stride ?? kernelSize], [padding], [dilation], ceilMode);
        var (y, indices) = PoolOps.MaxPool(input.Unsqueeze(-2), shape, "MaxPool1DWithIndicesBackward");
        return (y.Squeeze(-2), indices.Squeeze(-2));
    }

    /// <summary>
    /// 2-D average pooling over (N, C, H, W) or (C, H, W) (torch.nn.functional.avg_pool2d). With countIncludePad the zero padding
    /// counts in the divisor; divisorOverride replaces the divisor when given.
    /// </summary>
    public static Tensor AvgPool2d(Tensor input, Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false,
        bool countIncludePad = true, int? divisorOverride = null)
    {
        Size2 s = stride ?? kernelSize, p = padding ?? 0;
        if (divisorOverride is <= 0) throw new ArgumentOutOfRangeException(nameof(divisorOverride), $"AvgPool2d: divisorOverride must be positive, got {divisorOverride}");
        var shape = PoolShapeFor("AvgPool2d", 2, input, [kernelSize.H, kernelSize.W], [s.H, s.W], [p.H, p.W], [1, 1], ceilMode);
        return PoolOps.AvgPool(input, shape, countIncludePad, divisorOverride ?? 0);
    }

    /// <summary>1-D average pooling over (N, C, L) or (C, L) (torch.nn.functional.avg_pool1d).</summary>
    public static Tensor AvgPool1d(Tensor input, int kernelSize, int? stride = null, int padding = 0, bool ceilMode = false, bool countIncludePad = true)
    {
        var shape = PoolShapeFor("AvgPool1d", 1, input, [kernelSize], [stride ?? kernelSize], [padding], [1], ceilMode);
        return PoolOps.AvgPool(input.Unsqueeze(-2), shape, countIncludePad, 0).Squeeze(-2);
    }

    /// <summary>
    /// Adaptive average pooling of (N, C, H, W) or (C, H, W) to a fixed (outH, outW) (torch.nn.functional.adaptive_avg_pool2d):
    /// output i averages input rows floor(i·H/outH) to ceil((i+1)·H/outH), likewise for columns.
    /// </summary>
    public static Tensor AdaptiveAvgPool2d(Tensor input, Size2 outputSize)
    {
        CheckAdaptive("AdaptiveAvgPool2d", 2, input, [outputSize.H, outputSize.W]);
        return PoolOps.AdaptiveAvgPool(input, outputSize.H, outputSize.W);
    }

    /// <summary>Adaptive average pooling of (N, C, L) or (C, L) to length <paramref name="outputSize"/> (torch.nn.functional.adaptive_avg_pool1d).</summary>
    public static Tensor AdaptiveAvgPool1d(Tensor input, int outputSize)
    {
        CheckAdaptive("AdaptiveAvgPool1d", 1, input, [outputSize]);
        return PoolOps.AdaptiveAvgPool(input.Unsqueeze(-2), 1, outputSize).Squeeze(-2);
    }

    /// <summary>Adaptive max pooling to (outH, outW) over the same bins as <see cref="AdaptiveAvgPool2d"/> (torch.nn.functional.adaptive_max_pool2d).</summary>
    public static Tensor AdaptiveMaxPool2d(Tensor input, Size2 outputSize) => AdaptiveMaxPool2dWithIndices(input, outputSize).Output;

    /// <summary>Adaptive max pooling returning flat h·W + w int64 indices (torch.nn.functional.adaptive_max_pool2d(return_indices=True)).</summary>
    public static (Tensor Output, Tensor Indices) AdaptiveMaxPool2dWithIndices(Tensor input, Size2 outputSize)
    {
        CheckAdaptive("AdaptiveMaxPool2d", 2, input, [outputSize.H, outputSize.W]);
        return PoolOps.AdaptiveMaxPool(input, outputSize.H, outputSize.W);
    }

    static void CheckPoolInput(string op, int dims, Tensor input)
    {
        AdjointOp.CheckFloat(input, op, nameof(input));
        string layout = dims == 1 ? "(N, C, L) or (C, L)" : "(N, C, H, W) or (C, H, W)";
        if (input.Rank != dims + 1 && input.Rank != dims + 2)
            throw new ArgumentException($"{op}: expected a {dims + 1}-D or {dims + 2}-D input {layout}, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
    }

    static void CheckAdaptive(string op, int dims, Tensor input, ReadOnlySpan<int> outputSize)
    {
        CheckPoolInput(op, dims, input);
        foreach (var o in outputSize)
            if (o <= 0) throw new ArgumentOutOfRangeException(nameof(outputSize), $"{op}: output size must be positive, got {Dims(outputSize)}");
        for (int i = 0; i < dims; i++)
            if (input.shape[input.Rank - dims + i] == 0)
                throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} has an empty spatial dimension", nameof(input));
    }

    /// <summary>Validates pooling hyperparameters and returns the 2-D geometry (a 1-D pool gets a unit height).</summary>
    static PoolShape PoolShapeFor(string op, int dims, Tensor input, ReadOnlySpan<int> kernel, ReadOnlySpan<int> stride, ReadOnlySpan<int> padding,
        ReadOnlySpan<int> dilation, bool ceilMode)
    {
        CheckPoolInput(op, dims, input);
        Span<int> outSize = stackalloc int[dims];
        for (int i = 0; i < dims; i++)
        {
            if (kernel[i] <= 0) throw new ArgumentOutOfRangeException("kernelSize", $"{op}: kernel size must be positive, got {Dims(kernel)}");
            if (stride[i] <= 0) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be positive, got {Dims(stride)}");
            if (dilation[i] <= 0) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be positive, got {Dims(dilation)}");
            if (padding[i] < 0 || padding[i] > kernel[i] / 2)
                throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative and at most half the kernel size, got padding {Dims(padding)} for kernel {Dims(kernel)}");
            int inSize = input.shape[input.Rank - dims + i];
            outSize[i] = PoolShape.OutputSize(inSize, kernel[i], stride[i], padding[i], dilation[i], ceilMode);
        }
        if (outSize.ContainsAnyInRange(int.MinValue, 0))
            throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} is too small for kernel {Dims(kernel)} with padding {Dims(padding)} and dilation {Dims(dilation)}: the output size would be {Dims(outSize)}", nameof(input));
        int inH = dims == 1 ? 1 : input.shape[^2], inW = input.shape[^1];
        return dims == 1
            ? new PoolShape(0, 1, inW, 1, outSize[0], 1, kernel[0], 1, stride[0], 0, padding[0], 1, dilation[0])
            : new PoolShape(0, inH, inW, outSize[0], outSize[1], kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1]);
    }
}
