using DeepSharp.Kernels;

namespace DeepSharp.NN;

/// <summary>
/// Rewrites an eval-mode model for inference, the way <c>torch.jit.freeze</c> + <c>torch.fx</c>'s conv/BN fusion or
/// ONNX Runtime's graph optimizer do: every BatchNorm that follows a convolution (BatchNorm2d) or a Linear (BatchNorm1d)
/// is folded into that layer's weight and bias; a ReLU, ReLU6 or SiLU that follows is applied in the kernel's epilogue;
/// convolution and linear weights are packed once into the GEMM's panels (depthwise convolutions run a direct kernel;
/// float32 3×3 stride-1 convolutions with at least 16 channels each side run Winograd F(4×4, 3×3), whose outputs differ
/// from the direct sum by float rounding, about 1e-5 of the output's scale);
/// eval-mode Dropout and Identity disappear; and the whole forward runs without building an autograd graph.
/// <para>
/// What is rewritten: <see cref="Sequential"/> containers (the patterns conv → [BatchNorm2d] → [activation] and
/// Linear → [BatchNorm1d] → [activation] among their direct children), bare <see cref="Conv2d"/> and <see cref="Linear"/>
/// layers, and every module implementing <see cref="IInferenceFusible"/> (the zoo's ResNet, its BasicBlock and
/// Bottleneck, MobileNetV2 and its InvertedResidual and Conv2dNormActivation fold inside their residual blocks). Any
/// other module is kept as it is, shared with the original model (a custom module's forward cannot be rewritten
/// without tracing it), and still runs without autograd.
/// </para>
/// <para>
/// The original model is not modified. The returned <see cref="InferenceModel"/> is eval-only: its outputs equal the
/// eval-mode outputs of the original (to float rounding; BatchNorm folding changes the order of the arithmetic), it
/// throws if put back in training mode and run, and it is not a copy to train or save (it holds folded weights).
/// </para>
/// </summary>
public static class InferenceOptimizer
{
    /// <summary>
    /// Returns an inference-only, optimized equivalent of <paramref name="model"/>, which must be in eval mode
    /// (<c>model.Eval()</c>): BatchNorm folded into the preceding conv/linear, activations fused into the kernels' epilogue,
    /// weights prepacked, no autograd. PyTorch: <c>torch.jit.optimize_for_inference(torch.jit.freeze(model.eval()))</c>.
    /// </summary>
    public static InferenceModel Optimize(Module<Tensor, Tensor> model)
    {
        ArgumentNullException.ThrowIfNull(model);
        foreach (var (name, m) in model.NamedModules())
            if (m.IsTraining)
                throw new InvalidOperationException($"InferenceOptimizer.Optimize: the model is in training mode{(name.Length == 0 ? "" : $" (module \"{name}\")")}; call model.Eval() first: batch norm can only be folded with its running statistics, and the optimized model is eval-only");
        using (Autograd.NoGrad()) return new InferenceModel(Rewrite(model));
    }

    /// <summary>
    /// The rewrite of one module (see <see cref="InferenceOptimizer"/>); used by <see cref="IInferenceFusible"/>
    /// implementations for their children. Modules it does not know are returned unchanged.
    /// </summary>
    public static Module<Tensor, Tensor> Rewrite(Module<Tensor, Tensor> module)
    {
        ArgumentNullException.ThrowIfNull(module);
        return module switch
        {
            IInferenceFusible fusible => fusible.FuseForInference(),
            Sequential s when s.GetType() == typeof(Sequential) => RewriteSequence(s),
            Conv2d conv when conv.GetType() == typeof(Conv2d) => FuseConv(conv, null, null),
            Linear linear when linear.GetType() == typeof(Linear) => FuseLinear(linear, null, null),
            _ => module,
        };
    }

    /// <summary>
    /// Rewrites the children of a sequence: conv → [BatchNorm2d] → [activation] and Linear → [BatchNorm1d] → [activation]
    /// become one fused layer, eval-mode Dropout and Identity are dropped, other children are rewritten by
    /// <see cref="Rewrite"/>. Returns a single module when one is left, else a new <see cref="Sequential"/>.
    /// </summary>
    public static Module<Tensor, Tensor> RewriteSequence(IEnumerable<Module<Tensor, Tensor>> sequence)
    {
        ArgumentNullException.ThrowIfNull(sequence);
        var items = sequence.ToList();
        var result = new List<Module<Tensor, Tensor>>();
        for (int i = 0; i < items.Count; i++)
        {
            var m = items[i];
            if (m.GetType() == typeof(Conv2d) || m.GetType() == typeof(Linear))
            {
                BatchNormBase? bn = null;
                Module? act = null;
                int j = i + 1;
                var bnType = m is Conv2d ? typeof(BatchNorm2d) : typeof(BatchNorm1d);
                if (j < items.Count && items[j].GetType() == bnType && CanFold((BatchNormBase)items[j])) bn = (BatchNormBase)items[j++];
                if (j < items.Count && ActivationOf(items[j]) != FusedActivation.None) act = items[j++];
                result.Add(m is Conv2d conv ? FuseConv(conv, bn, act) : FuseLinear((Linear)m, bn, act));
                i = j - 1;
                continue;
            }
            if (m.GetType() == typeof(Identity) || m.GetType() == typeof(Dropout)) continue;
            result.Add(Rewrite(m));
        }
        if (result.Count == 1) return result[0];
        var seq = new Sequential(result.ToArray());
        seq.Eval();
        return seq;
    }

    /// <summary>The epilogue activation a module stands for (ReLU, ReLU6 / Hardtanh(0, 6), SiLU), or None.</summary>
    public static FusedActivation ActivationOf(Module? module) => module switch
    {
        null => FusedActivation.None,
        _ when module.GetType() == typeof(ReLU) => FusedActivation.Relu,
        _ when module.GetType() == typeof(SiLU) => FusedActivation.Silu,
        Hardtanh h when (h.GetType() == typeof(ReLU6) || h.GetType() == typeof(Hardtanh)) && h.MinVal == 0 && h.MaxVal == 6 => FusedActivation.Relu6,
        _ => FusedActivation.None,
    };

    /// <summary>Whether a batch norm can be folded: it normalises with running statistics in eval mode.</summary>
    public static bool CanFold(BatchNormBase? norm) => norm != null && !norm.IsTraining && norm.RunningMean != null && norm.RunningVar != null;

    /// <summary>
    /// A conv (with an optional following eval-mode batch norm folded in and an optional activation from
    /// <see cref="ActivationOf"/>) as one <see cref="FusedConv2d"/>. Throws if <paramref name="activation"/> is not fusable
    /// or <paramref name="norm"/> cannot be folded.
    /// </summary>
    public static FusedConv2d FuseConv(Conv2d conv, BatchNormBase? norm, Module? activation)
    {
        ArgumentNullException.ThrowIfNull(conv);
        var act = ActivationOf(activation);
        if (activation != null && act == FusedActivation.None)
            throw new ArgumentException($"InferenceOptimizer.FuseConv: {activation.GetType().Name} cannot be fused (ReLU, ReLU6 and SiLU can)", nameof(activation));
        var (w, b) = norm == null ? (conv.Weight, conv.Bias) : FoldBatchNorm(conv.Weight, conv.Bias, norm);
        return new FusedConv2d(w, b, new Size2(conv.Stride[0], conv.Stride[1]), new Size2(conv.Padding[0], conv.Padding[1]),
            new Size2(conv.Dilation[0], conv.Dilation[1]), conv.Groups, act);
    }

    /// <summary>A Linear (with an optional following eval-mode BatchNorm1d folded in and an optional activation) as one <see cref="FusedLinear"/>.</summary>
    public static FusedLinear FuseLinear(Linear linear, BatchNormBase? norm, Module? activation)
    {
        ArgumentNullException.ThrowIfNull(linear);
        var act = ActivationOf(activation);
        if (activation != null && act == FusedActivation.None)
            throw new ArgumentException($"InferenceOptimizer.FuseLinear: {activation.GetType().Name} cannot be fused (ReLU, ReLU6 and SiLU can)", nameof(activation));
        var (w, b) = norm == null ? (linear.Weight, linear.Bias) : FoldBatchNorm(linear.Weight, linear.Bias, norm);
        return new FusedLinear(w, b, act);
    }

    /// <summary>
    /// Folds an eval-mode batch norm into the layer before it (torch.nn.utils.fusion.fuse_conv_bn_weights /
    /// fuse_linear_bn_weights): with s = γ / √(running_var + ε), W' = W · s (per output channel, dim 0) and
    /// b' = (b − running_mean) · s + β (b = 0 when absent). Computed in float64 and rounded once to the weight's dtype.
    /// Returns new tensors; the inputs are unchanged.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) FoldBatchNorm(Tensor weight, Tensor? bias, BatchNormBase norm)
    {
        ArgumentNullException.ThrowIfNull(weight); ArgumentNullException.ThrowIfNull(norm);
        if (!CanFold(norm))
            throw new ArgumentException($"InferenceOptimizer.FoldBatchNorm: the batch norm must be in eval mode with running statistics (IsTraining={norm.IsTraining}, trackRunningStats={norm.TrackRunningStats})", nameof(norm));
        int o = weight.shape.Length == 0 ? 0 : weight.shape[0];
        if (norm.NumFeatures != o)
            throw new ArgumentException($"InferenceOptimizer.FoldBatchNorm: the batch norm has {norm.NumFeatures} features but the weight {ShapeUtil.Format(weight.shape)} has {o} output channels", nameof(norm));
        if (bias != null && (bias.Rank != 1 || bias.shape[0] != o))
            throw new ArgumentException($"InferenceOptimizer.FoldBatchNorm: bias {ShapeUtil.Format(bias.shape)} does not match {o} output channels", nameof(bias));
        double[] w = Values(weight), mean = Values(norm.RunningMean!), variance = Values(norm.RunningVar!);
        double[]? gamma = norm.Weight == null ? null : Values(norm.Weight), beta = norm.Bias == null ? null : Values(norm.Bias);
        double[]? b = bias == null ? null : Values(bias);
        int per = o == 0 ? 0 : w.Length / o;
        var nb = new double[o];
        for (int c = 0; c < o; c++)
        {
            double rsqrt = 1.0 / Math.Sqrt(variance[c] + norm.Eps);
            double scale = (gamma?[c] ?? 1.0) * rsqrt;
            for (int i = c * per; i < (c + 1) * per; i++) w[i] *= scale;
            nb[c] = ((b?[c] ?? 0.0) - mean[c]) * rsqrt * (gamma?[c] ?? 1.0) + (beta?[c] ?? 0.0);
        }
        var dtype = weight.DType;
        return (Tensor.FromArray(w, ShapeUtil.Copy(weight.shape)).To(dtype), Tensor.FromArray(nb, [o]).To(dtype));
    }

    static double[] Values(Tensor t) => t.Detach().To(DType.Float64).Contiguous().ToArray<double>();
}

/// <summary>
/// The result of <see cref="InferenceOptimizer.Optimize"/>: an eval-only module that runs the rewritten model under
/// <see cref="Autograd.NoGrad"/>. Running it in training mode throws.
/// </summary>
public sealed class InferenceModel : Module<Tensor, Tensor>
{
    readonly Module<Tensor, Tensor> optimized;

    internal InferenceModel(Module<Tensor, Tensor> optimized)
    {
        this.optimized = optimized;
        Eval();
    }

    /// <summary>The rewritten module tree.</summary>
    public Module<Tensor, Tensor> Optimized => optimized;

    /// <inheritdoc/>
    public override Tensor Forward(Tensor input)
    {
        if (IsTraining)
            throw new InvalidOperationException("InferenceModel: an optimized model is eval-only (batch norm is folded into its weights); optimize the original model again after training it");
        using (Autograd.NoGrad()) return optimized.Call(input);
    }
}
