using DeepSharp.Kernels;
using KConv = DeepSharp.Kernels.Conv2d;

namespace DeepSharp.NN;

/// <summary>
/// An inference-only 2-D convolution made by <see cref="InferenceOptimizer"/>: a convolution with any following batch norm
/// folded into its weight and bias, its activation (ReLU, ReLU6, SiLU) and optionally a residual addition applied in the
/// kernel's epilogue, and its weight packed once into the GEMM's panels (depthwise weights feed a direct kernel). It
/// builds no autograd graph and has no parameters to train (the folded weight and bias are plain tensors). PyTorch's
/// nearest equivalent is the frozen conv of <c>torch.jit.freeze</c> / the fused Conv2d of
/// <c>torch.nn.utils.fusion.fuse_conv_bn_eval</c> followed by the activation.
/// </summary>
public sealed class FusedConv2d : Module<Tensor, Tensor>
{
    readonly Conv2dPackedWeight<float>? packedFloat;
    readonly Conv2dPackedWeight<double>? packedDouble;

    /// <summary>The folded weight (O, C/groups, kH, kW).</summary>
    public Tensor Weight { get; }
    /// <summary>The folded bias (O), or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>The activation applied in the epilogue.</summary>
    public FusedActivation Activation { get; }
    /// <summary>Stride (h, w).</summary>
    public Size2 Stride { get; }
    /// <summary>Zero padding (h, w).</summary>
    public Size2 Padding { get; }
    /// <summary>Dilation (h, w).</summary>
    public Size2 Dilation { get; }
    /// <summary>Groups.</summary>
    public int Groups { get; }

    /// <summary>
    /// Builds the layer from a weight (O, C/groups, kH, kW) and bias (copied) and packs the weight.
    /// </summary>
    public FusedConv2d(Tensor weight, Tensor? bias, Size2 stride, Size2 padding, Size2 dilation, int groups, FusedActivation activation)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!weight.IsFloatingPoint || weight.Rank != 4)
            throw new ArgumentException($"FusedConv2d: weight must be a float32/float64 (O, C/groups, kH, kW) tensor, got {weight.DType.TorchName()} {ShapeUtil.Format(weight.shape)}", nameof(weight));
        if (groups <= 0 || weight.shape[0] % groups != 0)
            throw new ArgumentException($"FusedConv2d: groups ({groups}) must divide the {weight.shape[0]} output channels", nameof(groups));
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != weight.shape[0] || bias.DType != weight.DType))
            throw new ArgumentException($"FusedConv2d: bias must be ({weight.shape[0]},) of {weight.DType.TorchName()}, got {bias.DType.TorchName()} {ShapeUtil.Format(bias.shape)}", nameof(bias));
        Weight = weight.Detach().Contiguous().Clone();
        Bias = bias?.Detach().Contiguous().Clone();
        Stride = stride; Padding = padding; Dilation = dilation; Groups = groups; Activation = activation;
        int o = weight.shape[0], cg = weight.shape[1], kh = weight.shape[2], kw = weight.shape[3];
        if (weight.DType == DType.Float32) packedFloat = KConv.PackWeight<float>(o, cg, kh, kw, groups, Weight.Span<float>());
        else packedDouble = KConv.PackWeight<double>(o, cg, kh, kw, groups, Weight.Span<double>());
        Eval();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input) => Forward(input, null);

    /// <summary>act(conv(input) + bias + residual); <paramref name="residual"/> (the output's shape) may be null.</summary>
    public Tensor Forward(Tensor input, Tensor? residual)
    {
        const string op = "FusedConv2d";
        ArgumentNullException.ThrowIfNull(input);
        if (input.Rank != 4 || input.DType != Weight.DType)
            throw new ArgumentException($"{op}: input must be a (N, C, H, W) {Weight.DType.TorchName()} tensor, got {input.DType.TorchName()} {ShapeUtil.Format(input.shape)}", nameof(input));
        int o = Weight.shape[0], c = Weight.shape[1] * Groups, kh = Weight.shape[2], kw = Weight.shape[3];
        if (input.shape[1] != c)
            throw new ArgumentException($"{op}: expected {c} input channels for weight {ShapeUtil.Format(Weight.shape)} and groups={Groups}, got input {ShapeUtil.Format(input.shape)}", nameof(input));
        int n = input.shape[0], h = input.shape[2], w = input.shape[3];
        int oh = ConvShape.OutputSize(h, kh, Stride.H, Padding.H, Dilation.H), ow = ConvShape.OutputSize(w, kw, Stride.W, Padding.W, Dilation.W);
        if (oh <= 0 || ow <= 0)
            throw new ArgumentException($"{op}: input {ShapeUtil.Format(input.shape)} is smaller than the kernel ({kh}, {kw}) with padding ({Padding.H}, {Padding.W})", nameof(input));
        int[] outShape = [n, o, oh, ow];
        if (residual != null && (!residual.shape.AsSpan().SequenceEqual(outShape) || residual.DType != input.DType))
            throw new ArgumentException($"{op}: residual must be {ShapeUtil.Format(outShape)} of {input.DType.TorchName()}, got {residual.DType.TorchName()} {ShapeUtil.Format(residual.shape)}", nameof(residual));
        var s = new ConvShape(n, c, h, w, o, oh, ow, kh, kw, Stride.H, Stride.W, Padding.H, Padding.W, Dilation.H, Dilation.W, Groups);
        var x = AdjointOp.Dense(input);
        var r = residual == null ? null : AdjointOp.Dense(residual);
        var y = Tensor.AllocUninit(input.DType, outShape);
        if (packedFloat != null)
            KConv.ForwardPacked<float>(s, x.Span<float>(), packedFloat, Bias == null ? default : Bias.Span<float>(),
                r == null ? default : r.Span<float>(), Activation, y.Span<float>());
        else
            KConv.ForwardPacked<double>(s, x.Span<double>(), packedDouble!, Bias == null ? default : Bias.Span<double>(),
                r == null ? default : r.Span<double>(), Activation, y.Span<double>());
        return y;
    }

    /// <inheritdoc/>
    public override string ExtraRepr() =>
        $"{Weight.shape[1] * Groups}, {Weight.shape[0]}, kernel_size=({Weight.shape[2]}, {Weight.shape[3]}), stride=({Stride.H}, {Stride.W}), padding=({Padding.H}, {Padding.W}), groups={Groups}, activation={Activation}";
}

/// <summary>
/// An inference-only fully connected layer made by <see cref="InferenceOptimizer"/>: y = act(x·Wᵀ + b) with a following
/// BatchNorm1d folded into W and b, and Wᵀ packed once into the GEMM's panels. Builds no autograd graph.
/// </summary>
public sealed class FusedLinear : Module<Tensor, Tensor>
{
    readonly GemmPackedB<float>? packedFloat;
    readonly GemmPackedB<double>? packedDouble;

    /// <summary>Up to this many input rows take Linear's unpacked path instead of the packed GEMM.</summary>
    const int SmallBatchRows = 4;

    /// <summary>The folded weight (out_features, in_features).</summary>
    public Tensor Weight { get; }
    /// <summary>The folded bias (out_features), or null.</summary>
    public Tensor? Bias { get; }
    /// <summary>The activation applied in the epilogue.</summary>
    public FusedActivation Activation { get; }

    /// <summary>Builds the layer from a weight (out, in) and bias (copied) and packs Wᵀ.</summary>
    public FusedLinear(Tensor weight, Tensor? bias, FusedActivation activation)
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (!weight.IsFloatingPoint || weight.Rank != 2 || weight.shape[0] == 0 || weight.shape[1] == 0)
            throw new ArgumentException($"FusedLinear: weight must be a non-empty float32/float64 (out, in) tensor, got {weight.DType.TorchName()} {ShapeUtil.Format(weight.shape)}", nameof(weight));
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != weight.shape[0] || bias.DType != weight.DType))
            throw new ArgumentException($"FusedLinear: bias must be ({weight.shape[0]},) of {weight.DType.TorchName()}, got {bias.DType.TorchName()} {ShapeUtil.Format(bias.shape)}", nameof(bias));
        Weight = weight.Detach().Contiguous().Clone();
        Bias = bias?.Detach().Contiguous().Clone();
        Activation = activation;
        int outF = weight.shape[0], inF = weight.shape[1];
        if (weight.DType == DType.Float32) packedFloat = Gemm.PackB<float>(true, inF, outF, Weight.Span<float>(), inF);
        else packedDouble = Gemm.PackB<double>(true, inF, outF, Weight.Span<double>(), inF);
        Eval();
    }

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        ArgumentNullException.ThrowIfNull(input);
        int outF = Weight.shape[0], inF = Weight.shape[1];
        if (input.Rank < 1 || input.shape[^1] != inF || input.DType != Weight.DType)
            throw new ArgumentException($"FusedLinear: input must be (*, {inF}) of {Weight.DType.TorchName()}, got {input.DType.TorchName()} {ShapeUtil.Format(input.shape)}", nameof(input));
        var x = AdjointOp.Dense(input);
        int rows = inF == 0 ? 0 : x.NumEl / inF;
        var shape = ShapeUtil.Copy(input.shape); shape[^1] = outF;
        if (rows > 0 && rows <= SmallBatchRows)
        {
            // one or a few rows: the unpacked matrix-vector path of Linear beats the packed GEMM (whose panels are sized
            // for many rows) by about 3x on the single-sample MLP; the activation is applied to the fresh result in place
            Tensor small;
            using (Autograd.NoGrad()) small = Tensor.LinearFused(x, Weight, Bias);
            if (Activation != FusedActivation.None)
            {
                if (small.DType == DType.Float32) KConv.ApplyEpilogue(small.Span<float>(), 0f, default, Activation);
                else KConv.ApplyEpilogue(small.Span<double>(), 0.0, default, Activation);
            }
            return small.Reshape(shape);
        }
        var y = Tensor.AllocUninit(input.DType, shape);
        if (rows == 0) return y;
        if (packedFloat != null) Run(x.Span<float>(), packedFloat, Bias == null ? default : Bias.Span<float>(), y.Span<float>());
        else Run(x.Span<double>(), packedDouble!, Bias == null ? default : Bias.Span<double>(), y.Span<double>());
        return y;

        void Run<T>(ReadOnlySpan<T> xs, GemmPackedB<T> packed, ReadOnlySpan<T> b, Span<T> ys) where T : unmanaged, System.Numerics.INumber<T>
        {
            Gemm.ComputePacked(false, rows, T.One, xs, inF, packed, T.Zero, ys, outF);
            if (b.IsEmpty && Activation == FusedActivation.None) return;
            for (int i = 0; i < rows; i++)
            {
                var row = ys.Slice(i * outF, outF);
                if (!b.IsEmpty) System.Numerics.Tensors.TensorPrimitives.Add(row, b, row);
                KConv.ApplyEpilogue(row, T.Zero, default, Activation);
            }
        }
    }

    /// <inheritdoc/>
    public override string ExtraRepr() => $"in_features={Weight.shape[1]}, out_features={Weight.shape[0]}, activation={Activation}";
}

/// <summary>
/// A module that knows how to rewrite itself for inference (used by <see cref="InferenceOptimizer.Optimize"/>): the model
/// zoo's residual blocks and networks implement it, folding their batch norms and fusing their activations inside the
/// block. The result is eval-only and may share layers that need no rewriting with the original.
/// </summary>
public interface IInferenceFusible
{
    /// <summary>Returns an inference-only equivalent of this module (in eval mode).</summary>
    Module<Tensor, Tensor> FuseForInference();
}
