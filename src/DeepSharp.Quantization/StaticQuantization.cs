using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Static post-training quantization of a feed-forward CNN (torch.ao.quantization eager mode: fuse_modules, prepare,
/// calibrate, convert, with get_default_qconfig(backend): HistogramObserver activations, reduce_range for the x86/fbgemm
/// backends and not for onednn (<see cref="QConfig.DefaultBackend"/> picks by CPU when no backend is given), and
/// per-channel symmetric qint8 weights). The model's leaf modules, in the order its forward calls them (recorded on the first
/// calibration batch), must form a chain: Conv2d [BatchNorm2d] [ReLU], Linear [ReLU], MaxPool2d, Flatten, Dropout, ReLU
/// (the Fashion CNN is such a chain); functional operations between them (F.relu, x.Flatten) are not seen and not allowed.
/// </summary>
public static class StaticQuantization
{
    /// <summary>One fused group of leaf modules: its head (Conv2d/Linear/other), an optional BatchNorm2d and ReLU.</summary>
    internal sealed record Stage(Module Head, BatchNorm2d? Norm, bool Relu, Module Last);

    /// <summary>
    /// Quantizes <paramref name="model"/>: groups its leaves (Conv2d+BatchNorm2d+ReLU, Conv2d+ReLU, Linear+ReLU), calibrates
    /// activation observers through forward hooks while the float model (in eval mode) runs every calibration batch, folds
    /// batch norms into the convolutions (fuse_conv_bn_weights) and builds the quantized layers. The activation observers
    /// are <paramref name="activationObserver"/>'s when given, otherwise <paramref name="backend"/>'s default
    /// (<see cref="QConfig.ActivationObserver"/>; <see cref="QConfig.DefaultBackend"/> when null).
    /// </summary>
    public static QuantizedModel Quantize(Module<Tensor, Tensor> model, IEnumerable<Tensor> calibration, Func<Observer>? activationObserver = null,
        QuantBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        var batchList = calibration.ToList();
        if (batchList.Count == 0)
            throw new ArgumentException("StaticQuantization: static quantization needs calibration data (no batch was given); use dynamic quantization or pass calibration batches", nameof(calibration));
        calibration = batchList;
        var stages = Fuse(model, ForwardOrder(model, batchList[0]));
        var observe = activationObserver ?? QConfig.ActivationObserver(backend ?? QConfig.DefaultBackend);
        var inputObserver = observe();
        var observers = stages.Select(s => s.Head is Conv2d or Linear ? observe() : null).ToArray();
        var hooks = new List<HookHandle> { model.RegisterForwardPreHook((Module _, Tensor x) => { inputObserver.Call(x); }) };
        for (int i = 0; i < stages.Length; i++)
            if (observers[i] is { } obs)
                hooks.Add(((Module<Tensor, Tensor>)stages[i].Last).RegisterForwardHook((Module _, Tensor _, Tensor y) => { obs.Call(y); }));
        bool wasTraining = model.IsTraining;
        int batches = 0;
        try
        {
            model.Eval();
            using (Autograd.NoGrad())
                foreach (var batch in calibration) { model.Call(batch); batches++; }
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.Train(wasTraining);
        }
        if (batches == 0)
            throw new ArgumentException("StaticQuantization: static quantization needs calibration data (no batch was given); use dynamic quantization or pass calibration batches", nameof(calibration));
        var layers = new List<Module<QuantizedTensor, QuantizedTensor>>();
        for (int i = 0; i < stages.Length; i++)
            if (Convert(stages[i], observers[i]) is { } layer) layers.Add(layer);
        return new QuantizedModel(OutputQParams.From(inputObserver.CalculateQParams()), layers);
    }

    /// <summary>
    /// Prepares any model for static quantization (torch.ao.quantization.prepare with fusion done at convert): returns a
    /// <see cref="PreparedModel"/> whose hooks record each forward as a graph and feed activation observers (default
    /// <see cref="HistogramObserver"/> with the range of <paramref name="backend"/>'s get_default_qconfig, by default
    /// <see cref="QConfig.DefaultBackend"/>) at the input and at the outputs of
    /// Conv2d[+BatchNorm2d][+ReLU], Linear[+ReLU], adds (<see cref="FloatFunctional"/>, or x + identity recognised by value)
    /// and concatenations (<see cref="FloatFunctional.Cat"/>). Calibrate by calling the model or
    /// <see cref="PreparedModel.Calibrate"/>, then <see cref="PreparedModel.Convert"/>. Residual nets (the zoo ResNets)
    /// and branching nets work; a shared stateless layer (one ReLU used twice) is fine.
    /// </summary>
    public static PreparedModel Prepare(Module<Tensor, Tensor> model, Func<Observer>? activationObserver = null, QuantBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        return new PreparedModel(model, activationObserver ?? QConfig.ActivationObserver(backend ?? QConfig.DefaultBackend));
    }

    /// <summary>Prepare, calibrate on every batch of <paramref name="calibration"/> and convert, in one call (the graph form
    /// of <see cref="Quantize"/> for residual and branching models).</summary>
    public static QuantizedGraphModel QuantizeGraph(Module<Tensor, Tensor> model, IEnumerable<Tensor> calibration, Func<Observer>? activationObserver = null,
        QuantBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(calibration);
        using var prepared = Prepare(model, activationObserver, backend);
        foreach (var batch in calibration) prepared.Calibrate(batch);
        if (prepared.Batches == 0)
            throw new ArgumentException("StaticQuantization: static quantization needs calibration data (no batch was given); use dynamic quantization or pass calibration batches", nameof(calibration));
        return prepared.Convert();
    }

    /// <summary>
    /// The model's leaf modules in the order its forward calls them, recorded with forward pre-hooks on one calibration
    /// batch (so a model whose fields are declared in another order than it uses them quantizes correctly). A leaf called
    /// twice (a shared ReLU) cannot become one quantized layer per call and is refused; leaves the forward never calls
    /// are left out.
    /// </summary>
    internal static List<Module> ForwardOrder(Module<Tensor, Tensor> model, Tensor batch)
    {
        var leaves = model.Modules().Where(m => !m.Children().Any() && !ReferenceEquals(m, model)).ToList();
        var order = new List<Module>();
        var hooks = leaves.Select(leaf => leaf.RegisterForwardPreHook((Module m, IReadOnlyList<object?> _) => { order.Add(m); })).ToList();
        bool wasTraining = model.IsTraining;
        try
        {
            model.Eval();
            using (Autograd.NoGrad()) model.Call(batch);
        }
        finally
        {
            foreach (var h in hooks) h.Dispose();
            model.Train(wasTraining);
        }
        var repeated = order.GroupBy(m => m, ReferenceEqualityComparer.Instance).FirstOrDefault(g => g.Count() > 1);
        if (repeated != null)
            throw new ArgumentException($"StaticQuantization: the {repeated.Key!.GetType().Name} layer is called {repeated.Count()} times in one forward; give each use its own module", nameof(model));
        return order;
    }

    internal static Stage[] Fuse(Module model, List<Module>? forwardOrder = null)
    {
        var leaves = forwardOrder ?? model.Modules().Where(m => !m.Children().Any() && !ReferenceEquals(m, model)).ToList();
        if (leaves.Count == 0) throw new ArgumentException($"StaticQuantization: {model.GetType().Name} has no layers to quantize", nameof(model));
        var stages = new List<Stage>();
        for (int i = 0; i < leaves.Count; i++)
        {
            var head = leaves[i];
            if (head is not (Conv2d or Linear or MaxPool2d or Flatten or Dropout or ReLU))
                throw new ArgumentException($"StaticQuantization: layer {i} ({head.GetType().Name}) has no quantized form here (supported: Conv2d, BatchNorm2d after a Conv2d, Linear, ReLU, MaxPool2d, Flatten, Dropout)", nameof(model));
            if (head is Conv2d { Groups: not 1 } or Conv2d { Transposed: true })
                throw new ArgumentException($"StaticQuantization: layer {i} is a grouped or transposed Conv2d, which is not supported", nameof(model));
            BatchNorm2d? norm = null; bool relu = false; var last = head;
            if (head is Conv2d && i + 1 < leaves.Count && leaves[i + 1] is BatchNorm2d bn) { norm = bn; last = bn; i++; }
            if (head is Conv2d or Linear && i + 1 < leaves.Count && leaves[i + 1] is ReLU r) { relu = true; last = r; i++; }
            stages.Add(new Stage(head, norm, relu, last));
        }
        return [.. stages];
    }

    static Module<QuantizedTensor, QuantizedTensor>? Convert(Stage stage, Observer? observer)
    {
        switch (stage.Head)
        {
            case Conv2d conv:
            {
                var (w, b) = FoldBatchNorm(conv, stage.Norm);
                var weights = QuantizedLinearWeights.FromFloat(w.Reshape(conv.OutChannels, -1), b);
                return new QuantizedConv2d(weights, conv.InChannels, (conv.KernelSize[0], conv.KernelSize[1]), (conv.Stride[0], conv.Stride[1]),
                    (conv.Padding[0], conv.Padding[1]), (conv.Dilation[0], conv.Dilation[1]), OutputQParams.From(observer!.CalculateQParams()), stage.Relu);
            }
            case Linear linear:
                return new QuantizedLinear(QuantizedLinearWeights.FromFloat(linear.Weight, linear.Bias), OutputQParams.From(observer!.CalculateQParams()), stage.Relu);
            case MaxPool2d pool:
                if (pool.Dilation != new Size2(1, 1) || pool.CeilMode)
                    throw new ArgumentException("StaticQuantization: MaxPool2d with dilation or ceil_mode is not supported");
                return new QuantizedMaxPool2d(pool.KernelSize, pool.Stride, pool.Padding);
            case Flatten: return new QuantizedFlatten();
            case ReLU: return new QuantizedReLU();
            default: return null;   // Dropout: identity in eval mode
        }
    }

    /// <summary>
    /// Folds an eval-mode batch norm into the preceding convolution (torch.nn.utils.fusion.fuse_conv_bn_weights):
    /// w' = w·γ/√(var + eps) per output channel, b' = (b − mean)·γ/√(var + eps) + β.
    /// </summary>
    public static (Tensor Weight, Tensor Bias) FoldBatchNorm(Conv2d conv, BatchNorm2d? norm)
    {
        using var _ = Autograd.NoGrad();
        var w = conv.Weight.Detach();
        var b = conv.Bias?.Detach() ?? Tensor.Zeros(conv.OutChannels);
        if (norm == null) return (w, b);
        if (norm.RunningMean == null || norm.RunningVar == null)
            throw new ArgumentException("StaticQuantization: a BatchNorm2d without running statistics cannot be folded", nameof(norm));
        var rsqrt = norm.RunningVar.Add(Tensor.Full([conv.OutChannels], norm.Eps)).Rsqrt();
        var gamma = norm.Weight?.Detach() ?? Tensor.Ones(conv.OutChannels);
        var beta = norm.Bias?.Detach() ?? Tensor.Zeros(conv.OutChannels);
        var factor = gamma.Mul(rsqrt);
        var foldedW = w.Mul(factor.Reshape(conv.OutChannels, 1, 1, 1));
        var foldedB = b.Sub(norm.RunningMean).Mul(rsqrt).Mul(gamma).Add(beta);
        return (foldedW, foldedB);
    }
}
