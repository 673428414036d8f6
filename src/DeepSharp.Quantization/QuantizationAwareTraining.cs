using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Quantization-aware training (torch.ao.quantization.prepare_qat / convert with get_default_qat_qconfig(backend), by
/// default <see cref="QConfig.DefaultBackend"/>: the activation fake quantizers use reduce_range for x86/fbgemm, not for onednn):
/// <see cref="Prepare"/> traces the model once, fuses its groups as static quantization does and hooks fake quantization
/// into its forward — the input and each group's output through <see cref="FakeQuantize"/> (MovingAverageMinMaxObserver,
/// quint8), the weights of every Conv2d/Linear through a per-channel symmetric qint8 <see cref="FakeQuantize"/>
/// (MovingAveragePerChannelMinMaxObserver, scales chosen as PyTorch's FusedMovingAvgObsFakeQuantize does: see FusedWeightObserver). A conv followed by a batch norm trains as PyTorch's ConvBn2d does: the
/// convolution uses fake_quant(w·γ/√(running_var+ε)), is divided back by γ/√(running_var+ε), gets its bias, and the
/// batch norm then runs normally (batch statistics in training). The model trains with any optimizer (gradients pass
/// the rounding by the straight-through estimator); <see cref="QatModel.Convert"/> folds the batch norms and builds the
/// int8 <see cref="QuantizedGraphModel"/> with the fake quantizers' scales and zero points.
/// </summary>
public static class QuantizationAwareTraining
{
    /// <summary>Prepares <paramref name="model"/> for QAT; <paramref name="example"/> is one input batch, run once in eval
    /// mode to trace the graph; <paramref name="backend"/> chooses the activation range (<see cref="QConfig"/>).</summary>
    public static QatModel Prepare(Module<Tensor, Tensor> model, Tensor example, QuantBackend? backend = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(example);
        using var trace = new PreparedModel(model, () => new MinMaxObserver());
        trace.Calibrate(example);
        return new QatModel(model, trace.Graph, backend ?? QConfig.DefaultBackend);
    }
}

/// <summary>A model with fake quantization hooked in (prepare_qat's result); dispose to remove the hooks.</summary>
public sealed class QatModel : IDisposable
{
    readonly Module<Tensor, Tensor> model;
    readonly QuantGroup[] groups;
    readonly int output;
    readonly List<HookHandle> hooks = [];
    readonly Dictionary<Module, List<List<Func<Tensor, Tensor, Tensor>>>> perCall = new(ReferenceEqualityComparer.Instance);
    readonly Dictionary<Module, int> calls = new(ReferenceEqualityComparer.Instance);
    readonly List<FloatFunctional> functionals = [];

    /// <summary>The input's fake quantizer.</summary>
    public FakeQuantize InputFakeQuant { get; }
    /// <summary>Each fused group's output fake quantizer, by the group's traced output value.</summary>
    internal Dictionary<int, FakeQuantize> Activations { get; } = [];
    /// <summary>Weight fake quantizers of the Conv2d/Linear heads.</summary>
    internal Dictionary<QuantGroup, FakeQuantize> Weights { get; } = new(ReferenceEqualityComparer.Instance);

    internal QatModel(Module<Tensor, Tensor> model, (QuantGroup[] Groups, GraphEvent[] Events, int Output, Dictionary<Module, string> Names) graph,
        QuantBackend backend)
    {
        this.model = model; groups = graph.Groups; output = graph.Output;
        InputFakeQuant = QConfig.ActivationFakeQuantize(backend);
        var callIndex = new Dictionary<GraphEvent, int>(ReferenceEqualityComparer.Instance);
        var seen = new Dictionary<Module, int>(ReferenceEqualityComparer.Instance);
        foreach (var e in graph.Events)
            if (e.Op == GraphOp.Module) { callIndex[e] = seen.GetValueOrDefault(e.Module!); seen[e.Module!] = callIndex[e] + 1; }
        void At(GraphEvent e, Func<Tensor, Tensor, Tensor> f)
        {
            if (!perCall.TryGetValue(e.Module!, out var list))
                perCall[e.Module!] = list = Enumerable.Range(0, seen[e.Module!]).Select(_ => new List<Func<Tensor, Tensor, Tensor>>()).ToList();
            list[callIndex[e]].Add(f);
        }
        var producer = graph.Events.ToDictionary(e => e.Output);
        foreach (var g in groups)
        {
            if (g.Head.Module is Conv2d or Linear)
            {
                var wfq = new FakeQuantize(new FusedWeightObserver());
                Weights[g] = wfq;
                var norm = g.Norm;
                At(g.Head, g.Head.Module switch
                {
                    Conv2d conv => (x, _) => FakeConv(conv, norm, wfq, x),
                    Linear linear => (x, _) => F.Linear(x, wfq.Call(linear.Weight), linear.Bias),
                    _ => throw new InvalidOperationException(),
                });
            }
            if (!g.Observed) continue;
            var fq = QConfig.ActivationFakeQuantize(backend);
            Activations[g.Last] = fq;
            var last = producer[g.Last];
            if (last.Op == GraphOp.Module) At(last, (_, y) => fq.Call(y));
            else if (last.Module is FloatFunctional ff)
            {
                if (ff.PostProcess != null) throw new ArgumentException($"QuantizationAwareTraining: FloatFunctional '{graph.Names.GetValueOrDefault(ff)}' is called more than once; give each add/cat its own", "model");
                ff.PostProcess = fq.Call; functionals.Add(ff);
            }
            else throw new ArgumentException("QuantizationAwareTraining: a residual add written as x.Add(identity) must be followed by a ReLU module or go through a FloatFunctional to be fake-quantized", "model");
        }
        foreach (var (module, list) in perCall)
            hooks.Add(module.RegisterForwardHook((Module m, IReadOnlyList<object?> inputs, object? y) =>
            {
                int k = calls.GetValueOrDefault(m);
                calls[m] = k + 1;
                if (k >= list.Count || y is not Tensor t || inputs[0] is not Tensor x) return null;
                foreach (var f in list[k]) t = f(x, t);
                return t;
            }));
        hooks.Add(model.RegisterForwardPreHook((Module _, IReadOnlyList<object?> inputs) =>
        {
            calls.Clear();
            return inputs.Count == 1 && inputs[0] is Tensor x ? new object?[] { InputFakeQuant.Call(x) } : null;
        }));
    }

    // ConvBn2d._forward_approximate: conv(x, fq(w·f)) / f + b, then the batch norm (which runs after this hook)
    static Tensor FakeConv(Conv2d conv, BatchNorm2d? norm, FakeQuantize wfq, Tensor x)
    {
        int c = conv.OutChannels;
        Tensor? factor = null;
        var w = conv.Weight;
        if (norm != null)
        {
            if (norm.RunningVar == null) throw new ArgumentException("QuantizationAwareTraining: a BatchNorm2d without running statistics cannot be folded", nameof(norm));
            factor = (norm.Weight ?? Tensor.Ones(c)).Mul(norm.RunningVar.Add(Tensor.Full([c], norm.Eps)).Rsqrt());
            w = w.Mul(factor.Reshape(c, 1, 1, 1));
        }
        var y = F.Conv2d(x, wfq.Call(w), null, (conv.Stride[0], conv.Stride[1]), (conv.Padding[0], conv.Padding[1]), (conv.Dilation[0], conv.Dilation[1]));
        if (factor != null) y = y.Div(factor.Reshape(1, c, 1, 1));
        if (conv.Bias != null) y = y.Add(conv.Bias.Reshape(1, c, 1, 1));
        return y;
    }

    /// <summary>The fake quantizers' modules (to save or inspect): the input's, each group output's, each weight's.</summary>
    public IEnumerable<FakeQuantize> FakeQuantizers => [InputFakeQuant, .. Activations.Values, .. Weights.Values];

    /// <summary>
    /// Builds the int8 model (convert): batch norms folded with their running statistics, weights quantized with their
    /// fake quantizers' per-channel scales, activations with the output fake quantizers' scales and zero points.
    /// Removes the hooks.
    /// </summary>
    public QuantizedGraphModel Convert()
    {
        Dispose();
        OutputQParams Of(FakeQuantize fq) => OutputQParams.From(fq.QParams);
        var nodes = new List<QuantizedGraphModel.Node>();
        var map = new Dictionary<int, int> { [0] = 0 };
        using (Autograd.NoGrad())
            foreach (var g in groups)
            {
                QuantizedLinearWeights? trained = null;
                if (Weights.TryGetValue(g, out var wfq))
                {
                    var (w, b) = g.Head.Module is Conv2d conv ? StaticQuantization.FoldBatchNorm(conv, g.Norm) : (((Linear)g.Head.Module!).Weight.Detach(), ((Linear)g.Head.Module!).Bias?.Detach());
                    var w2 = w.Reshape(w.Shape[0], -1);
                    var qp = wfq.CalculateQParams();
                    var q = QuantizedTensor.QuantizePerChannel(w2, [.. qp.Scale.Select(s => (double)s)], qp.ZeroPoint, 0, QuantDType.QInt8);
                    trained = new QuantizedLinearWeights(q, b?.ToArray<float>());
                }
                nodes.Add(g.Build([.. g.Inputs.Select(i => map[i])], g.Observed ? Of(Activations[g.Last]) : default, trained));
                map[g.Last] = nodes.Count;
            }
        return new QuantizedGraphModel(Of(InputFakeQuant), nodes, map[output]);
    }

    /// <summary>Removes the hooks (the model runs in plain float again).</summary>
    public void Dispose()
    {
        foreach (var h in hooks) h.Dispose();
        hooks.Clear();
        foreach (var f in functionals) f.PostProcess = null;
        functionals.Clear();
    }
}

/// <summary>
/// The weight observer of get_default_qat_qconfig('onednn') (FusedMovingAvgObsFakeQuantize with
/// MovingAveragePerChannelMinMaxObserver, qint8 −128..127, per-channel symmetric): per-channel moving averages of minimum
/// and maximum (averaging constant 0.01, the first batch sets them), and scales chosen as the fused kernel's
/// ChooseQuantizationParams with preserve_sparsity does — max(|min|/128, max/127) per channel, zero point 0 — rather
/// than the plain observer's max(|min|, max)/127.5.
/// </summary>
internal sealed class FusedWeightObserver() : PerChannelMinMaxObserver(0, QuantDType.QInt8, QScheme.PerChannelSymmetric)
{
    protected override void Observe(Tensor input)
    {
        var (lo, hi) = BatchMinMax(input);
        if (MinVal.Length == 0) { MinVal = lo; MaxVal = hi; return; }
        for (int c = 0; c < lo.Length; c++)
        {
            MinVal[c] += 0.01f * (lo[c] - MinVal[c]);
            MaxVal[c] += 0.01f * (hi[c] - MaxVal[c]);
        }
    }

    public override QParams CalculateQParams()
    {
        if (MinVal.Length == 0) return new QParams([1f], [0], Axis);
        var scales = new float[MinVal.Length];
        for (int c = 0; c < scales.Length; c++)
        {
            float lo = Math.Min(MinVal[c], 0f), hi = Math.Max(MaxVal[c], 0f);
            double maxScale = Math.Max(Math.Abs(lo / -128.0), Math.Abs(hi / 127.0));
            float min = (float)(maxScale * -128), max = (float)(maxScale * 127);
            double scale = ((double)max - min) / 255;
            scales[c] = (float)scale == 0f || float.IsInfinity(1f / (float)scale) ? 0.1f : (float)scale;
        }
        return new QParams(scales, new long[scales.Length], Axis);
    }
}
