using DeepSharp.Kernels;

namespace DeepSharp.NN;

/// <summary>
/// Neural-network functions (torch.nn.functional): stateless ops that layers call, e.g. F.Conv2d, F.MaxPool2d, F.Dropout.
/// </summary>
public static partial class F
{
    /// <summary>
    /// 2-D convolution over an input (N, C, H, W) or unbatched (C, H, W) with a weight (O, C/groups, kH, kW) and optional
    /// bias (O) (torch.nn.functional.conv2d). Output (N, O, OH, OW) with OH = floor((H + 2·padding - dilation·(kH-1) - 1) / stride) + 1.
    /// Stride, padding and dilation take an int or an (h, w) tuple.
    /// </summary>
    public static Tensor Conv2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null,
        Size2? dilation = null, int groups = 1)
    {
        Size2 s = stride ?? 1, p = padding ?? 0, d = dilation ?? 1;
        return Convolution("Conv2d", 2, input, weight, bias, [s.H, s.W], [p.H, p.W], [d.H, d.W], groups, default, transposed: false);
    }

    /// <summary>
    /// Causal depthwise convolution along time of a channels-last sequence: input (N, T, F), weight (F, 1, k), bias (F)
    /// or null → (N, T, F) with y[n, t, f] = b[f] + Σⱼ w[f, 0, j]·x[n, t − (k − 1) + j, f] (zeros before the first
    /// step), so step t sees steps t − k + 1 … t and never the future. Equals
    /// <c>conv1d(x.transpose(1, 2), w, b, padding=k−1, groups=F)[..., :T].transpose(1, 2)</c> in PyTorch, in one pass
    /// without the transposes. Used after the q/k/v projections of Primer's multi-dconv-head attention (the GPT's
    /// CausalSelfAttention in DeepSharp.Text).
    /// </summary>
    public static Tensor CausalDepthwiseConv1d(Tensor input, Tensor weight, Tensor? bias = null)
    {
        const string op = "CausalDepthwiseConv1d";
        ArgumentNullException.ThrowIfNull(input); ArgumentNullException.ThrowIfNull(weight);
        if (ReducedFloat.Any(input, weight, bias))
            return ReducedFloat.Apply(op, [input, weight, bias], t => CausalDepthwiseConv1d(t[0]!, t[1]!, t[2]));
        if (!input.IsFloatingPoint) throw new ArgumentException($"{op}: input must be float32 or float64, got {input.DType.TorchName()}", nameof(input));
        if (input.Rank != 3) throw new ArgumentException($"{op}: input must be (N, T, F), got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        int f = input.shape[2];
        if (weight.Rank != 3 || weight.shape[0] != f || weight.shape[1] != 1 || weight.shape[2] < 1)
            throw new ArgumentException($"{op}: weight must be (F, 1, k) = ({f}, 1, k) with k ≥ 1 for input {ShapeUtil.Format(input.shape)}, got {ShapeUtil.Format(weight.shape)}", nameof(weight));
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != f))
            throw new ArgumentException($"{op}: bias must be ({f},) for input {ShapeUtil.Format(input.shape)}, got {ShapeUtil.Format(bias.shape)}", nameof(bias));
        if (weight.DType != input.DType || (bias != null && bias.DType != input.DType))
            throw new ArgumentException($"{op}: input, weight and bias must share one dtype, got {input.DType.TorchName()}, {weight.DType.TorchName()}{(bias == null ? "" : ", " + bias.DType.TorchName())}");
        return CausalConvOp.Apply(input, weight, bias);
    }

    /// <summary>
    /// 1-D convolution over an input (N, C, L) or unbatched (C, L) with a weight (O, C/groups, k) and optional bias (O)
    /// (torch.nn.functional.conv1d).
    /// </summary>
    public static Tensor Conv1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0, int dilation = 1, int groups = 1)
        => Convolution("Conv1d", 1, input, weight, bias, [stride], [padding], [dilation], groups, default, transposed: false);

    /// <summary>
    /// 2-D transposed convolution ("deconvolution") over an input (N, C_in, H, W) or (C_in, H, W) with a weight
    /// (C_in, C_out/groups, kH, kW) and optional bias (C_out) (torch.nn.functional.conv_transpose2d). It is the input gradient of
    /// <see cref="Conv2d"/>; output size (H-1)·stride - 2·padding + dilation·(kH-1) + outputPadding + 1.
    /// </summary>
    public static Tensor ConvTranspose2d(Tensor input, Tensor weight, Tensor? bias = null, Size2? stride = null, Size2? padding = null,
        Size2? outputPadding = null, int groups = 1, Size2? dilation = null)
    {
        Size2 s = stride ?? 1, p = padding ?? 0, op = outputPadding ?? 0, d = dilation ?? 1;
        return Convolution("ConvTranspose2d", 2, input, weight, bias, [s.H, s.W], [p.H, p.W], [d.H, d.W], groups, [op.H, op.W], transposed: true);
    }

    /// <summary>
    /// 1-D transposed convolution over (N, C_in, L) or (C_in, L) with a weight (C_in, C_out/groups, k) (torch.nn.functional.conv_transpose1d).
    /// </summary>
    public static Tensor ConvTranspose1d(Tensor input, Tensor weight, Tensor? bias = null, int stride = 1, int padding = 0,
        int outputPadding = 0, int groups = 1, int dilation = 1)
        => Convolution("ConvTranspose1d", 1, input, weight, bias, [stride], [padding], [dilation], groups, [outputPadding], transposed: true);

    static string Dims(ReadOnlySpan<int> values) => values.Length == 1 ? values[0].ToString() : $"({string.Join(", ", values.ToArray())})";

    /// <summary>
    /// Validates a (transposed) convolution of <paramref name="dims"/> spatial dims and runs it as a 2-D one. The sizes come
    /// as spans (the callers' collection expressions live on the stack); <paramref name="outputPadding"/> is read only when
    /// <paramref name="transposed"/>.
    /// </summary>
    static Tensor Convolution(string op, int dims, Tensor input, Tensor weight, Tensor? bias, ReadOnlySpan<int> stride, ReadOnlySpan<int> padding,
        ReadOnlySpan<int> dilation, int groups, ReadOnlySpan<int> outputPadding, bool transposed)
    {
        bool oneReducedDType = input.DType.IsReducedPrecision() && weight.DType == input.DType && (bias == null || bias.DType == input.DType);
        if (!oneReducedDType && ReducedFloat.Any(input, weight, bias)) // mixed dtypes: the error of the float32 path names them
            return ConvolutionMixed(op, dims, input, weight, bias, stride.ToArray(), padding.ToArray(), dilation.ToArray(), groups, outputPadding.ToArray(), transposed);
        CheckArguments(op, dims, input, weight, bias, stride, padding, dilation, groups, outputPadding, transposed);
        bool unbatched = input.Rank == dims + 1;
        var x = unbatched ? input.Unsqueeze(0) : input;
        int outChannels = OutputChannels(op, x.shape[1], input, weight, groups, transposed);
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != outChannels))
            throw new ArgumentException($"{op}: bias of shape {ShapeUtil.Format(bias.shape)} does not match the {outChannels} output channels (expected {ShapeUtil.Format([outChannels])})", nameof(bias));

        Span<int> outSize = stackalloc int[dims];
        OutputSizes(op, dims, x, input, weight, stride, padding, dilation, outputPadding, transposed, outSize);

        // run as 2-D: a 1-D op gets a unit height
        Tensor x4 = x, w4 = weight;
        int sh = 1, sw = stride[0], ph = 0, pw = padding[0], dh = 1, dw = dilation[0], outH = 1, outW = outSize[0];
        if (dims == 1) { x4 = x.Unsqueeze(2); w4 = weight.Unsqueeze(2); }
        else { (sh, sw, ph, pw, dh, dw, outH, outW) = (stride[0], stride[1], padding[0], padding[1], dilation[0], dilation[1], outSize[0], outSize[1]); }
        var p = new ConvParams(sh, sw, ph, pw, dh, dw, groups);
        var y = transposed ? ConvOps.ConvTranspose(x4, w4, bias, p, outH, outW) : ConvOps.Conv(x4, w4, bias, p, outH, outW);
        if (dims == 1) y = y.Squeeze(2);
        return unbatched ? y.Squeeze(0) : y;
    }

    // a method of its own: a lambda capturing a parameter is allocated on entry to the method that declares it
    static Tensor ConvolutionMixed(string op, int dims, Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation,
        int groups, int[] outputPadding, bool transposed)
        => ReducedFloat.Apply(op, [input, weight, bias], t => Convolution(op, dims, t[0]!, t[1]!, t[2], stride, padding, dilation, groups, outputPadding, transposed));

    /// <summary>dtypes, ranks and hyperparameters of a (transposed) convolution, with errors naming the argument.</summary>
    static void CheckArguments(string op, int dims, Tensor input, Tensor weight, Tensor? bias, ReadOnlySpan<int> stride, ReadOnlySpan<int> padding,
        ReadOnlySpan<int> dilation, int groups, ReadOnlySpan<int> outputPadding, bool transposed)
    {
        AdjointOp.CheckFloat(input, op, nameof(input));
        AdjointOp.CheckFloat(weight, op, nameof(weight));
        if (weight.DType != input.DType)
            throw new ArgumentException($"{op}: input ({input.DType.TorchName()}) and weight ({weight.DType.TorchName()}) must have the same dtype", nameof(weight));
        if (bias != null && bias.DType != input.DType)
            throw new ArgumentException($"{op}: input ({input.DType.TorchName()}) and bias ({bias.DType.TorchName()}) must have the same dtype", nameof(bias));
        string layout = dims == 1 ? "(N, C, L)" : "(N, C, H, W)", unbatchedLayout = dims == 1 ? "(C, L)" : "(C, H, W)";
        if (input.Rank != dims + 1 && input.Rank != dims + 2)
            throw new ArgumentException($"{op}: expected a {dims + 2}-D input {layout} or a {dims + 1}-D unbatched input {unbatchedLayout}, got shape {ShapeUtil.Format(input.shape)}", nameof(input));
        if (weight.Rank != dims + 2)
            throw new ArgumentException($"{op}: expected a {dims + 2}-D weight, got shape {ShapeUtil.Format(weight.shape)}", nameof(weight));
        if (groups <= 0) throw new ArgumentOutOfRangeException(nameof(groups), $"{op}: groups must be positive, got {groups}");
        for (int i = 0; i < dims; i++)
        {
            if (stride[i] <= 0) throw new ArgumentOutOfRangeException(nameof(stride), $"{op}: stride must be positive, got {Dims(stride)}");
            if (padding[i] < 0) throw new ArgumentOutOfRangeException(nameof(padding), $"{op}: padding must be non-negative, got {Dims(padding)}");
            if (dilation[i] <= 0) throw new ArgumentOutOfRangeException(nameof(dilation), $"{op}: dilation must be positive, got {Dims(dilation)}");
            if (transposed && (outputPadding[i] < 0 || (outputPadding[i] >= stride[i] && outputPadding[i] >= dilation[i])))
                throw new ArgumentOutOfRangeException(nameof(outputPadding),
                    $"{op}: output padding must be non-negative and smaller than either stride or dilation, got outputPadding {Dims(outputPadding)}, stride {Dims(stride)}, dilation {Dims(dilation)}");
        }
    }

    /// <summary>The output channels of the convolution; throws when the input's channels or the groups do not fit the weight.</summary>
    static int OutputChannels(string op, int channels, Tensor input, Tensor weight, int groups, bool transposed)
    {
        if (!transposed)
        {
            int outChannels = weight.shape[0];
            if (outChannels % groups != 0)
                throw new ArgumentException($"{op}: weight {ShapeUtil.Format(weight.shape)} has {outChannels} output channels, which groups={groups} does not divide", nameof(groups));
            if (channels != weight.shape[1] * groups)
                throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} has {channels} channels but weight {ShapeUtil.Format(weight.shape)} with groups={groups} expects {weight.shape[1] * groups}", nameof(input));
            return outChannels;
        }
        else
        {
            if (channels != weight.shape[0])
                throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} has {channels} channels but weight {ShapeUtil.Format(weight.shape)} (in_channels, out_channels/groups, ...) expects {weight.shape[0]}", nameof(input));
            if (channels % groups != 0)
                throw new ArgumentException($"{op}: input channels {channels} are not divisible by groups={groups} (weight {ShapeUtil.Format(weight.shape)})", nameof(groups));
            return weight.shape[1] * groups;
        }
    }

    /// <summary>The spatial output sizes; throws when the kernel does not fit the padded input or the output would be empty.</summary>
    static void OutputSizes(string op, int dims, Tensor x, Tensor input, Tensor weight, ReadOnlySpan<int> stride, ReadOnlySpan<int> padding,
        ReadOnlySpan<int> dilation, ReadOnlySpan<int> outputPadding, bool transposed, Span<int> outSize)
    {
        for (int i = 0; i < dims; i++)
        {
            int inSize = x.shape[2 + i], kernel = weight.shape[2 + i];
            long dilated = (long)dilation[i] * (kernel - 1) + 1;
            if (!transposed)
            {
                long padded = inSize + 2L * padding[i];
                if (padded < dilated)
                {
                    var padAll = new int[dims]; var dilAll = new int[dims];
                    for (int j = 0; j < dims; j++) { padAll[j] = x.shape[2 + j] + 2 * padding[j]; dilAll[j] = dilation[j] * (weight.shape[2 + j] - 1) + 1; }
                    throw new ArgumentException($"{op}: kernel size {Dims(weight.shape.AsSpan(2))} (dilated {Dims(dilAll)}) is larger than the padded input size {Dims(padAll)} of input {ShapeUtil.Format(input.shape)}", nameof(weight));
                }
                outSize[i] = ConvShape.OutputSize(inSize, kernel, stride[i], padding[i], dilation[i]);
            }
            else
            {
                long size = (long)(inSize - 1) * stride[i] - 2L * padding[i] + dilated + outputPadding[i];
                if (size <= 0)
                    throw new ArgumentException($"{op}: input of shape {ShapeUtil.Format(input.shape)} with weight {ShapeUtil.Format(weight.shape)}, stride {Dims(stride)}, padding {Dims(padding)} gives a non-positive output size along spatial dim {i} ({size})", nameof(padding));
                outSize[i] = (int)size;
            }
        }
    }
}
