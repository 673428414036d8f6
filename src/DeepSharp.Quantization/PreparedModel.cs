using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// A float model prepared for static quantization (what torch.ao.quantization.prepare returns in eager mode, with the
/// observers held beside the model instead of inside it): forward hooks on the model and its leaf layers record every
/// forward as a data-flow graph (<see cref="GraphTrace"/>) and feed activation observers at the model input and at the
/// outputs of the fused groups — Conv2d [BatchNorm2d] [ReLU], Linear [ReLU], add [ReLU] (a <see cref="FloatFunctional"/>
/// or a residual x + identity) and concatenation. Calibrate by calling the model (in eval mode) on representative batches,
/// then <see cref="Convert"/>. Dispose (or Convert) removes the hooks.
/// </summary>
public sealed class PreparedModel : IDisposable
{
    readonly Module<Tensor, Tensor> model;
    readonly Func<Observer> observe;
    readonly List<HookHandle> hooks = [];
    readonly Dictionary<Module, string> names = new(ReferenceEqualityComparer.Instance);
    GraphTrace? trace;
    GraphEvent[]? template;
    int output = -1;
    QuantGroup[]? groups;
    Dictionary<int, Observer>? observers;

    internal PreparedModel(Module<Tensor, Tensor> model, Func<Observer> observe)
    {
        this.model = model; this.observe = observe;
        foreach (var (name, m) in model.NamedModules()) names[m] = name.Length == 0 ? model.GetType().Name : name;
        var leaves = model.Modules().Where(m => !ReferenceEquals(m, model) && !m.Children().Any() && m is not FloatFunctional and not Observer).ToList();
        foreach (var leaf in leaves)
            hooks.Add(leaf.RegisterForwardHook((Module m, IReadOnlyList<object?> inputs, object? y) =>
            {
                if (trace == null) return;
                if (inputs.Count != 1 || inputs[0] is not Tensor x || y is not Tensor t)
                    throw new ArgumentException($"StaticQuantization: layer '{names[m]}' ({m.GetType().Name}) does not map one tensor to one tensor", nameof(model));
                trace.Leaf(m, x, t);
            }));
        hooks.Add(model.RegisterForwardPreHook((Module _, IReadOnlyList<object?> inputs) =>
        {
            if (inputs.Count == 1 && inputs[0] is Tensor x) trace = GraphTrace.Begin(x, m => names.GetValueOrDefault(m, m.GetType().Name));
        }));
        hooks.Add(model.RegisterForwardHook((Module _, IReadOnlyList<object?> _, object? y) => Finish(y as Tensor)));
    }

    /// <summary>The fused groups and the traced output of the first forward (for quantization-aware training).</summary>
    internal (QuantGroup[] Groups, GraphEvent[] Events, int Output, Dictionary<Module, string> Names) Graph =>
        (groups ?? throw new InvalidOperationException("StaticQuantization: the model has not run yet"), template!, output, names);

    /// <summary>Forward passes observed so far.</summary>
    public int Batches { get; private set; }

    /// <summary>Runs the float model on <paramref name="batch"/> in eval mode without gradients (one calibration step; the
    /// same as calling the model, which the hooks observe too).</summary>
    public Tensor Calibrate(Tensor batch)
    {
        bool wasTraining = model.IsTraining;
        try
        {
            model.Eval();
            using (Autograd.NoGrad()) return model.Call(batch);
        }
        finally
        {
            GraphTrace.Abort(); trace = null;
            model.Train(wasTraining);
        }
    }

    void Finish(Tensor? y)
    {
        var t = trace;
        if (t == null) return;
        trace = null;
        t.End(y ?? throw new ArgumentException("StaticQuantization: the model's forward must return one tensor", nameof(model)));
        if (template == null)
        {
            template = [.. t.Events];
            output = t.Output;
            groups = QuantGroup.Fuse(template, output, t.Values, names);
            observers = [];
            observers[0] = observe();
            foreach (var g in groups) if (g.Observed) observers[g.Last] = observe();
        }
        else if (t.Events.Count != template.Length || t.Output != output || !t.Events.Zip(template).All(p => p.First.SameAs(p.Second)))
            throw new InvalidOperationException("StaticQuantization: this forward ran other layers (or in another order) than the first calibration batch; static quantization needs one fixed graph");
        foreach (var (id, obs) in observers!) obs.Call(t.Values[id].Detach());
        Batches++;
    }

    /// <summary>
    /// Builds the quantized model (torch.ao.quantization.convert): batch norms folded into their convolutions, weights
    /// quantized per channel (symmetric qint8), each group's output scale and zero point from its observer; adds and
    /// concatenations become <see cref="QFunctional"/>s. Removes the hooks.
    /// </summary>
    public QuantizedGraphModel Convert()
    {
        Dispose();
        if (Batches == 0 || groups == null || observers == null)
            throw new InvalidOperationException("StaticQuantization: static quantization needs calibration data (the prepared model was never run); use dynamic quantization or call the model on calibration batches first");
        OutputQParams QParamsOf(int value) => OutputQParams.From(observers[value].CalculateQParams());
        var nodes = new List<QuantizedGraphModel.Node>();
        var map = new Dictionary<int, int> { [0] = 0 };   // traced value → converted value (0: quantized input)
        foreach (var g in groups)
        {
            var inputs = g.Inputs.Select(i => map[i]).ToArray();
            nodes.Add(g.Build(inputs, g.Observed ? QParamsOf(g.Last) : default));
            map[g.Last] = nodes.Count;
        }
        return new QuantizedGraphModel(QParamsOf(0), nodes, map[output]);
    }

    /// <summary>Removes the hooks (the model is a plain float model again).</summary>
    public void Dispose()
    {
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
    }
}

/// <summary>One fused group of traced steps that becomes one quantized node.</summary>
internal sealed class QuantGroup
{
    public required GraphEvent Head;
    public BatchNorm2d? Norm;
    public bool Relu;
    public required int Last;              // the traced value the node produces
    public int[] Inputs => Head.Inputs;
    public bool Observed => Head.Op is GraphOp.Add or GraphOp.AddRelu or GraphOp.Cat || Head.Module is Conv2d or Linear;

    public static QuantGroup[] Fuse(GraphEvent[] events, int output, List<Tensor> values, Dictionary<Module, string> names)
    {
        var uses = new int[values.Count];
        foreach (var e in events) foreach (var i in e.Inputs) uses[i]++;
        uses[output]++;
        var byInput = new Dictionary<int, GraphEvent>();
        foreach (var e in events) foreach (var i in e.Inputs) byInput[i] = e;
        GraphEvent? SoleConsumer(int v) => uses[v] == 1 && byInput.TryGetValue(v, out var e) ? e : null;

        var groups = new List<QuantGroup>();
        var absorbed = new HashSet<GraphEvent>(ReferenceEqualityComparer.Instance);
        foreach (var e in events)
        {
            if (absorbed.Contains(e)) continue;
            string Name() => e.Module != null ? $"layer '{names.GetValueOrDefault(e.Module, "?")}' ({e.Module.GetType().Name})" : e.Op.ToString();
            switch (e.Module)
            {
                case Conv2d { Groups: not 1 } or Conv2d { Transposed: true }:
                    throw new ArgumentException($"StaticQuantization: {Name()} is a grouped or transposed Conv2d, which is not supported", "model");
                case BatchNorm2d:
                    throw new ArgumentException($"StaticQuantization: {Name()} does not directly follow a Conv2d whose output only it reads, so it cannot be folded", "model");
                case null or FloatFunctional or Conv2d or Linear or ReLU or MaxPool2d or Flatten or Dropout or Identity or AdaptiveAvgPool2d: break;
                default:
                    throw new ArgumentException($"StaticQuantization: {Name()} has no quantized form here (supported: Conv2d, BatchNorm2d after a Conv2d, Linear, ReLU, MaxPool2d, AdaptiveAvgPool2d, Flatten, Dropout, Identity, FloatFunctional add/add_relu/cat, residual adds and reshapes)", "model");
            }
            var g = new QuantGroup { Head = e, Last = e.Output };
            if (e.Module is Conv2d && SoleConsumer(g.Last) is { Module: BatchNorm2d bn } bnEvent)
            {
                g.Norm = bn; g.Last = bnEvent.Output; absorbed.Add(bnEvent);
            }
            if ((e.Module is Conv2d or Linear || e.Op == GraphOp.Add) && SoleConsumer(g.Last) is { Module: ReLU } reluEvent)
            {
                g.Relu = true; g.Last = reluEvent.Output; absorbed.Add(reluEvent);
            }
            groups.Add(g);
        }
        return [.. groups];
    }

    public QuantizedGraphModel.Node Build(int[] inputs, OutputQParams q, QuantizedLinearWeights? trained = null)
    {
        switch (Head.Op)
        {
            case GraphOp.Add: return new(inputs, Functional: new QFunctional(q), AddRelu: Relu);
            case GraphOp.AddRelu: return new(inputs, Functional: new QFunctional(q), AddRelu: true);
            case GraphOp.Cat: return new(inputs, Functional: new QFunctional(q), CatDim: Head.Dim);
            case GraphOp.Reshape: return new(inputs, Layer: new QuantizedReshape(Head.Tail!));
        }
        switch (Head.Module)
        {
            case Conv2d conv:
            {
                var (w, b) = StaticQuantization.FoldBatchNorm(conv, Norm);
                var weights = trained ?? QuantizedLinearWeights.FromFloat(w.Reshape(conv.OutChannels, -1), b);
                return new(inputs, Layer: new QuantizedConv2d(weights, conv.InChannels, (conv.KernelSize[0], conv.KernelSize[1]), (conv.Stride[0], conv.Stride[1]),
                    (conv.Padding[0], conv.Padding[1]), (conv.Dilation[0], conv.Dilation[1]), q, Relu));
            }
            case Linear linear:
                return new(inputs, Layer: new QuantizedLinear(trained ?? QuantizedLinearWeights.FromFloat(linear.Weight, linear.Bias), q, Relu));
            case MaxPool2d pool:
                if (pool.Dilation != new Size2(1, 1) || pool.CeilMode)
                    throw new ArgumentException("StaticQuantization: MaxPool2d with dilation or ceil_mode is not supported", "model");
                return new(inputs, Layer: new QuantizedMaxPool2d(pool.KernelSize, pool.Stride, pool.Padding));
            case AdaptiveAvgPool2d avg: return new(inputs, Layer: new QuantizedAdaptiveAvgPool2d(avg.OutputSize));
            case Flatten: return new(inputs, Layer: new QuantizedReshape(Head.Tail!));
            case ReLU: return new(inputs, Layer: new QuantizedReLU());
            default: return new(inputs);   // Dropout, Identity: the identity in eval mode
        }
    }
}
