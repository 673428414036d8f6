namespace DeepSharp.NN;

/// <summary>
/// Shared implementation of the convolution layers (torch.nn.modules.conv._ConvNd): hyperparameters, parameter
/// "weight" — (out, in/groups, *kernel), or (in, out/groups, *kernel) when transposed — and "bias" (out,), and
/// PyTorch's default initialisation.
/// </summary>
public abstract class ConvBase : Module<Tensor, Tensor>
{
    /// <summary>Input channels (in_channels).</summary>
    public int InChannels { get; }
    /// <summary>Output channels (out_channels).</summary>
    public int OutChannels { get; }
    /// <summary>Kernel size per spatial dim (kernel_size).</summary>
    public IReadOnlyList<int> KernelSize { get; }
    /// <summary>Stride per spatial dim (stride).</summary>
    public IReadOnlyList<int> Stride { get; }
    /// <summary>Zero padding per spatial dim (padding).</summary>
    public IReadOnlyList<int> Padding { get; }
    /// <summary>Kernel dilation per spatial dim (dilation).</summary>
    public IReadOnlyList<int> Dilation { get; }
    /// <summary>Extra size added to one side of a transposed convolution's output (output_padding).</summary>
    public IReadOnlyList<int> OutputPadding { get; }
    /// <summary>Number of blocked connections from input to output channels (groups).</summary>
    public int Groups { get; }
    /// <summary>Whether this is a transposed convolution (transposed).</summary>
    public bool Transposed { get; }

    /// <summary>The filters (weight).</summary>
    [TorchName("weight")] public Tensor Weight { get; private set; }
    /// <summary>The per-output-channel bias, or null (bias).</summary>
    [TorchName("bias")] public Tensor? Bias { get; private set; }

    /// <summary>Validates the hyperparameters, creates the parameters and initialises them.</summary>
    protected ConvBase(int inChannels, int outChannels, int[] kernelSize, int[] stride, int[] padding, int[] dilation,
        int groups, bool bias, bool transposed, int[] outputPadding, DType dtype)
    {
        string name = GetType().Name;
        if (inChannels <= 0 || outChannels <= 0)
            throw new ArgumentOutOfRangeException(nameof(inChannels), $"{name}: channel counts must be positive, got in={inChannels}, out={outChannels}");
        if (groups <= 0 || inChannels % groups != 0 || outChannels % groups != 0)
            throw new ArgumentException($"{name}: inChannels ({inChannels}) and outChannels ({outChannels}) must both be divisible by groups ({groups})", nameof(groups));
        if (kernelSize.Any(k => k <= 0) || stride.Any(s => s <= 0) || dilation.Any(d => d <= 0) || padding.Any(p => p < 0))
            throw new ArgumentException($"{name}: kernel size {PyTuple(kernelSize)}, stride {PyTuple(stride)} and dilation {PyTuple(dilation)} must be positive and padding {PyTuple(padding)} non-negative");
        InChannels = inChannels; OutChannels = outChannels; KernelSize = kernelSize; Stride = stride; Padding = padding;
        Dilation = dilation; Groups = groups; Transposed = transposed; OutputPadding = outputPadding;
        int[] shape = transposed ? [inChannels, outChannels / groups, .. kernelSize] : [outChannels, inChannels / groups, .. kernelSize];
        // not zero-filled: ResetParameters writes every element
        Weight = Parameter(Tensor.AllocUninit(dtype, shape));
        Bias = bias ? Parameter(Tensor.AllocUninit(dtype, [outChannels])) : null;
        if (!Init.DefaultInitSkipped(Weight, Bias)) ResetParameters();
    }

    /// <summary>
    /// PyTorch's default initialisation (_ConvNd.reset_parameters): weight from kaiming_uniform(a=√5), bias from
    /// U(−1/√fan_in, 1/√fan_in) with fan_in = weight.size(1)·∏kernel (in/groups·∏kernel; out/groups·∏kernel when transposed).
    /// </summary>
    public void ResetParameters(Generator? generator = null)
    {
        Init.KaimingUniform(Weight, a: Math.Sqrt(5), generator: generator);
        if (Bias != null)
        {
            int fanIn = Init.CalculateFanInAndFanOut(Weight).FanIn;
            double bound = fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0;
            Init.Uniform(Bias, -bound, bound, generator);
        }
    }

    /// <inheritdoc/>
    public override string ExtraRepr()
    {
        var s = $"{InChannels}, {OutChannels}, kernel_size={PyTuple([.. KernelSize])}, stride={PyTuple([.. Stride])}";
        if (Padding.Any(p => p != 0)) s += $", padding={PyTuple([.. Padding])}";
        if (Dilation.Any(d => d != 1)) s += $", dilation={PyTuple([.. Dilation])}";
        if (OutputPadding.Any(p => p != 0)) s += $", output_padding={PyTuple([.. OutputPadding])}";
        if (Groups != 1) s += $", groups={Groups}";
        if (Bias == null) s += ", bias=False";
        return s;
    }

    /// <summary>A 2-D hyperparameter as a Size2.</summary>
    protected static Size2 Two(IReadOnlyList<int> v) => new(v[0], v[1]);
}

/// <summary>1-D convolution over (N, C, L) inputs (torch.nn.Conv1d).</summary>
public class Conv1d(int inChannels, int outChannels, int kernelSize, int stride = 1, int padding = 0, int dilation = 1,
    int groups = 1, bool bias = true, DType dtype = DType.Float32)
    : ConvBase(inChannels, outChannels, [kernelSize], [stride], [padding], [dilation], groups, bias, false, [0], dtype)
{
    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Conv1d(input, Weight, Bias, Stride[0], Padding[0], Dilation[0], Groups);
}

/// <summary>
/// Causal depthwise convolution along time over channels-last sequences (N, T, F) (<see cref="F.CausalDepthwiseConv1d"/>):
/// the parameters, initialisation and printout of nn.Conv1d(F, F, k, padding=k−1, groups=F) — weight (F, 1, k),
/// bias (F) — applied without transposing the sequence and cropped to the causal outputs. Primer's multi-dconv-head
/// attention puts one after the q/k/v projections (the GPT's CausalSelfAttention in DeepSharp.Text).
/// </summary>
public class CausalDepthwiseConv1d(int channels, int kernelSize, bool bias = false, DType dtype = DType.Float32)
    : ConvBase(channels, channels, [kernelSize], [1], [kernelSize - 1], [1], channels, bias, false, [0], dtype)
{
    /// <summary>Sets every channel to the identity (tap k−1, the current step, 1; earlier taps and the bias 0).</summary>
    public void ResetToIdentity()
    {
        using (Autograd.NoGrad())
        {
            Weight.FillInPlace(0);
            Weight.Narrow(2, KernelSize[0] - 1, 1).FillInPlace(1);
            Bias?.FillInPlace(0);
        }
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.CausalDepthwiseConv1d(input, Weight, Bias);
}

/// <summary>
/// 2-D convolution over (N, C, H, W) inputs (torch.nn.Conv2d). Sizes take an int or an (h, w) pair:
/// <c>new Conv2d(1, 32, 3, padding: 1)</c>, <c>new Conv2d(3, 8, (3, 5), stride: (1, 2))</c>.
/// </summary>
public class Conv2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
    Size2? dilation = null, int groups = 1, bool bias = true, DType dtype = DType.Float32)
    : ConvBase(inChannels, outChannels, [kernelSize.H, kernelSize.W], Pair(stride ?? 1), Pair(padding ?? 0), Pair(dilation ?? 1),
        groups, bias, false, [0, 0], dtype)
{
    static int[] Pair(Size2 s) => [s.H, s.W];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => F.Conv2d(input, Weight, Bias, Two(Stride), Two(Padding), Two(Dilation), Groups);
}

/// <summary>2-D transposed convolution ("deconvolution") over (N, C, H, W) inputs (torch.nn.ConvTranspose2d).</summary>
public class ConvTranspose2d(int inChannels, int outChannels, Size2 kernelSize, Size2? stride = null, Size2? padding = null,
    Size2? outputPadding = null, int groups = 1, bool bias = true, Size2? dilation = null, DType dtype = DType.Float32)
    : ConvBase(inChannels, outChannels, [kernelSize.H, kernelSize.W], Pair(stride ?? 1), Pair(padding ?? 0), Pair(dilation ?? 1),
        groups, bias, true, Pair(outputPadding ?? 0), dtype)
{
    static int[] Pair(Size2 s) => [s.H, s.W];

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) =>
        F.ConvTranspose2d(input, Weight, Bias, Two(Stride), Two(Padding), Two(OutputPadding), Groups, Two(Dilation));
}
