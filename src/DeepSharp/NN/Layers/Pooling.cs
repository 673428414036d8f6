namespace DeepSharp.NN;

/// <summary>2-D max pooling over (N, C, H, W) inputs (torch.nn.MaxPool2d); stride defaults to the kernel size.</summary>
public class MaxPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, Size2? dilation = null, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <summary>Window size (kernel_size).</summary>
    public Size2 KernelSize { get; } = kernelSize;
    /// <summary>Window step (stride).</summary>
    public Size2 Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding (padding).</summary>
    public Size2 Padding { get; } = padding ?? 0;
    /// <summary>Spacing between window elements (dilation).</summary>
    public Size2 Dilation { get; } = dilation ?? 1;
    /// <summary>Round the output size up instead of down (ceil_mode).</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.MaxPool2d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"kernel_size={PySize(KernelSize)}, stride={PySize(Stride)}, padding={PySize(Padding)}, dilation={PySize(Dilation)}, ceil_mode={PyBool(CeilMode)}";

    internal static string PySize(Size2 s) => s.H == s.W ? s.H.ToString(System.Globalization.CultureInfo.InvariantCulture) : s.ToString();
}

/// <summary>1-D max pooling over (N, C, L) inputs (torch.nn.MaxPool1d).</summary>
public class MaxPool1d(int kernelSize, int? stride = null, int padding = 0, int dilation = 1, bool ceilMode = false) : Module<Tensor, Tensor>
{
    /// <summary>Window size (kernel_size).</summary>
    public int KernelSize { get; } = kernelSize;
    /// <summary>Window step (stride).</summary>
    public int Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit −∞ padding (padding).</summary>
    public int Padding { get; } = padding;
    /// <summary>Spacing between window elements (dilation).</summary>
    public int Dilation { get; } = dilation;
    /// <summary>Round the output size up (ceil_mode).</summary>
    public bool CeilMode { get; } = ceilMode;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.MaxPool1d(input, KernelSize, Stride, Padding, Dilation, CeilMode);

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"kernel_size={KernelSize}, stride={Stride}, padding={Padding}, dilation={Dilation}, ceil_mode={PyBool(CeilMode)}";
}

/// <summary>2-D average pooling over (N, C, H, W) inputs (torch.nn.AvgPool2d); stride defaults to the kernel size.</summary>
public class AvgPool2d(Size2 kernelSize, Size2? stride = null, Size2? padding = null, bool ceilMode = false, bool countIncludePad = true) : Module<Tensor, Tensor>
{
    /// <summary>Window size (kernel_size).</summary>
    public Size2 KernelSize { get; } = kernelSize;
    /// <summary>Window step (stride).</summary>
    public Size2 Stride { get; } = stride ?? kernelSize;
    /// <summary>Implicit zero padding (padding).</summary>
    public Size2 Padding { get; } = padding ?? 0;
    /// <summary>Round the output size up (ceil_mode).</summary>
    public bool CeilMode { get; } = ceilMode;
    /// <summary>Count padded zeros in the average (count_include_pad).</summary>
    public bool CountIncludePad { get; } = countIncludePad;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AvgPool2d(input, KernelSize, Stride, Padding, CeilMode, CountIncludePad);

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"kernel_size={MaxPool2d.PySize(KernelSize)}, stride={MaxPool2d.PySize(Stride)}, padding={MaxPool2d.PySize(Padding)}";
}

/// <summary>Average pooling to a fixed output size (torch.nn.AdaptiveAvgPool2d); <c>new AdaptiveAvgPool2d(1)</c> is global average pooling.</summary>
public class AdaptiveAvgPool2d(Size2 outputSize) : Module<Tensor, Tensor>
{
    /// <summary>Target (H, W) (output_size).</summary>
    public Size2 OutputSize { get; } = outputSize;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.AdaptiveAvgPool2d(input, OutputSize);

    /// <inheritdoc/>
    public override string ExtraRepr() => $"output_size={MaxPool2d.PySize(OutputSize)}";
}
