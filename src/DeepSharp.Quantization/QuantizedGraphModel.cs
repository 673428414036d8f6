using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// A statically quantized model with any data flow (what torch.ao.quantization.convert makes of a prepared residual or
/// multi-branch model; built by <see cref="PreparedModel.Convert"/>): float input → quint8 → the quantized nodes in the
/// order the float forward ran them, each reading earlier values (residual adds and concatenations through
/// <see cref="QFunctional"/>) → float output. Every intermediate value is a quint8 tensor. Saved and loaded without the
/// float model by <see cref="QuantizedFile.SaveGraph"/> / <see cref="QuantizedFile.LoadGraph"/>.
/// </summary>
public sealed class QuantizedGraphModel : Module<Tensor, Tensor>
{
    /// <summary>One node: a quantized layer, or an add/add_relu/cat, reading the values <paramref name="Inputs"/>
    /// (0 is the quantized input, k the output of node k − 1); neither layer nor functional is the identity.</summary>
    public sealed record Node(int[] Inputs, Module<QuantizedTensor, QuantizedTensor>? Layer = null, QFunctional? Functional = null,
        bool AddRelu = false, int CatDim = -1);

    readonly QuantizeStub quant;
    readonly DeQuantizeStub dequant = new();

    internal QuantizedGraphModel(OutputQParams input, IReadOnlyList<Node> nodes, int output)
    {
        quant = new QuantizeStub(input);
        Nodes = nodes; OutputValue = output;
        for (int i = 0; i < nodes.Count; i++)
            if (nodes[i].Layer is { } layer) RegisterModule($"node{i}", layer);
    }

    /// <summary>The input's scale and zero point.</summary>
    public OutputQParams Input => quant.QParams;
    /// <summary>The nodes in execution order.</summary>
    public IReadOnlyList<Node> Nodes { get; }
    /// <summary>The value the model returns (dequantized).</summary>
    public int OutputValue { get; }

    /// <summary>Runs the quantized graph (forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        var values = new QuantizedTensor[Nodes.Count + 1];
        values[0] = quant.Call(input);
        for (int i = 0; i < Nodes.Count; i++)
        {
            var n = Nodes[i];
            var x = values[n.Inputs[0]];
            values[i + 1] = n switch
            {
                { Layer: { } layer } => layer.Call(x),
                { Functional: { } f, CatDim: >= 0 } => f.Cat(n.Inputs.Select(j => values[j]).ToArray(), n.CatDim),
                { Functional: { } f, AddRelu: true } => f.AddRelu(x, values[n.Inputs[1]]),
                { Functional: { } f } => f.Add(x, values[n.Inputs[1]]),
                _ => x,
            };
        }
        return dequant.Call(values[OutputValue]);
    }

    /// <summary>Bytes of weights, scales, zero points and biases.</summary>
    public long WeightBytes() => Nodes.Sum(n => n.Layer switch
    {
        QuantizedConv2d c => Bytes(c.Weights),
        QuantizedLinear q => Bytes(q.Weights),
        _ => 0L,
    });

    static long Bytes(QuantizedLinearWeights w) => w.Weight.NumEl + w.Weight.Scales.Length * 12L + (w.Bias?.Length ?? 0) * 4L;
}

/// <summary>Reshapes to (batch, <c>tail</c>…) (a flatten or view between quantized layers; values and parameters unchanged).</summary>
public sealed class QuantizedReshape(int[] tail) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>The dimensions after the batch dimension.</summary>
    public IReadOnlyList<int> Tail { get; } = tail;

    /// <summary>Reshapes (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        int b = input.Shape[0];
        int[] shape = [b, .. Tail];
        if ((long)b * Tail.Aggregate(1L, (a, d) => a * d) != input.NumEl)
            throw new ArgumentException($"QuantizedReshape: input shape ({string.Join(", ", input.Shape)}) cannot be viewed as ({string.Join(", ", shape)})", nameof(input));
        return QuantizedTensor.FromRaw(input.Data.ToArray(), shape, input.DType, input.Scales, input.ZeroPoints, input.Axis);
    }
}

/// <summary>
/// Adaptive average pooling on quint8 values (torch.nn.AdaptiveAvgPool2d on a quantized tensor): output bins as in
/// float (start ⌊i·H/oh⌋, end ⌈(i+1)·H/oh⌉), the input's scale and zero point kept, each output
/// z + round((Σq − n·z)·(1/n)) with round half to even, as ATen's quantized kernel computes it.
/// </summary>
public sealed class QuantizedAdaptiveAvgPool2d(Size2 outputSize) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Target (H, W).</summary>
    public Size2 OutputSize { get; } = outputSize;

    /// <summary>Pools (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedAdaptiveAvgPool2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3], oh = OutputSize.H, ow = OutputSize.W;
        var x = input.Data; var y = new byte[b * c * oh * ow];
        int z = (int)input.ZeroPoints[0];
        for (int p = 0; p < b * c; p++)
            for (int i = 0; i < oh; i++)
            {
                int r0 = i * h / oh, r1 = ((i + 1) * h + oh - 1) / oh;
                for (int j = 0; j < ow; j++)
                {
                    int s0 = j * w / ow, s1 = ((j + 1) * w + ow - 1) / ow, n = (r1 - r0) * (s1 - s0);
                    int acc = -n * z;
                    for (int r = r0; r < r1; r++)
                        for (int s = s0; s < s1; s++) acc += x[(p * h + r) * w + s];
                    float v = z + MathF.Round(acc * (1f / n));
                    y[(p * oh + i) * ow + j] = (byte)Math.Clamp(v, 0f, 255f);
                }
            }
        return QuantizedTensor.FromRaw(y, [b, c, oh, ow], input.DType, input.Scales, input.ZeroPoints);
    }
}
