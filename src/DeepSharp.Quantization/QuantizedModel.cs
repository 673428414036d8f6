using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// A statically quantized feed-forward model (what torch.ao.quantization.convert produces for a QuantStub → layers →
/// DeQuantStub network): float input → quint8 → quantized layers → float output.
/// </summary>
public sealed class QuantizedModel : Module<Tensor, Tensor>
{
    readonly QuantizeStub quant;
    readonly DeQuantizeStub dequant = new();

    /// <summary>Chains <paramref name="layers"/> between a quantize and a dequantize step.</summary>
    public QuantizedModel(OutputQParams input, IReadOnlyList<Module<QuantizedTensor, QuantizedTensor>> layers)
    {
        quant = new QuantizeStub(input);
        Layers = layers;
        for (int i = 0; i < layers.Count; i++) RegisterModule($"layer{i}", layers[i]);
    }

    /// <summary>The input's scale and zero point.</summary>
    public OutputQParams Input => quant.QParams;
    /// <summary>The quantized layers in order.</summary>
    public IReadOnlyList<Module<QuantizedTensor, QuantizedTensor>> Layers { get; }

    /// <summary>Runs the quantized network (forward).</summary>
    public override Tensor Forward(Tensor input)
    {
        var x = quant.Call(input);
        x = ChannelsLastChain.Run(Layers, x);
        return dequant.Call(x);
    }

    /// <summary>Bytes of weights, scales, zero points and biases (what the quantized file stores).</summary>
    public long WeightBytes() => Layers.Sum(l => l switch
    {
        QuantizedConv2d c => Bytes(c.Weights),
        QuantizedLinear q => Bytes(q.Weights),
        _ => 0L,
    });

    static long Bytes(QuantizedLinearWeights w) => w.Weight.NumEl + w.Weight.Scales.Length * 12L + (w.Bias?.Length ?? 0) * 4L;
}
