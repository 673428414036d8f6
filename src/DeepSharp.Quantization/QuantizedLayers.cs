using System.Runtime.CompilerServices;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>Float → quint8 at the model's entry (torch.ao.nn.quantized.Quantize, what a QuantStub becomes).</summary>
public sealed class QuantizeStub(OutputQParams qparams) : Module<Tensor, QuantizedTensor>
{
    /// <summary>Scale and zero point.</summary>
    public OutputQParams QParams { get; } = qparams;

    /// <summary>Quantizes per tensor to quint8 (forward).</summary>
    public override QuantizedTensor Forward(Tensor input) => QuantizedTensor.QuantizePerTensor(input, QParams.Scale, QParams.ZeroPoint, QuantDType.QUInt8);
}

/// <summary>quint8 → float at the model's exit (torch.ao.nn.quantized.DeQuantize).</summary>
public sealed class DeQuantizeStub : Module<QuantizedTensor, Tensor>
{
    /// <summary>Dequantizes (forward).</summary>
    public override Tensor Forward(QuantizedTensor input) => input.Dequantize();
}

/// <summary>
/// Static quantized Linear, optionally with a fused ReLU (torch.ao.nn.quantized.Linear / torch.ao.nn.intrinsic.quantized.LinearReLU):
/// quint8 (batch, in) → int8 GEMM with int32 accumulation → float rescale plus bias → quint8 (batch, out) with the output
/// scale and zero point found in calibration.
/// </summary>
public sealed class QuantizedLinear(QuantizedLinearWeights weights, OutputQParams output, bool relu = false) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Weights and bias.</summary>
    public QuantizedLinearWeights Weights { get; } = weights;
    /// <summary>Output scale and zero point (scale / zero_point).</summary>
    public OutputQParams Output { get; } = output;
    /// <summary>Whether a ReLU is fused (LinearReLU).</summary>
    public bool Relu { get; } = relu;

    /// <summary>Runs the layer (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedLinear", 2);
        int m = input.Shape[0], k = input.Shape[1], n = Weights.OutFeatures;
        if (k != Weights.InFeatures) throw new ArgumentException($"QuantizedLinear: input shape ({m}, {k}) does not match {Weights.InFeatures} input features", nameof(input));
        var q = new byte[m * n];
        var scale = new float[n];
        float sx = (float)input.Scales[0];
        for (int j = 0; j < n; j++) scale[j] = sx * Weights.Scales[j];
        Int8Gemm.MultiplyRequantize(input.Data, k, Weights.Packed, q, m,
            new Int8Requantization((int)input.ZeroPoints[0], scale, Weights.Bias, 1f / Output.Scale, Output.ZeroPoint, Relu ? Output.ZeroPoint : 0));
        return Requantize.Wrap(q, [m, n], Output);
    }
}

/// <summary>2-D max pooling on quint8 values (torch.nn.MaxPool2d on a quantized tensor): max commutes with the monotone
/// dequantization, so it runs on the bytes and keeps the input's scale and zero point.</summary>
public sealed class QuantizedMaxPool2d(Size2 kernel, Size2 stride, Size2 padding) : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Window size (kernel_size).</summary>
    public Size2 Kernel { get; } = kernel;
    /// <summary>Window step (stride).</summary>
    public Size2 Stride { get; } = stride;
    /// <summary>Padding (never selected: padded positions are skipped).</summary>
    public Size2 Padding { get; } = padding;

    /// <summary>Pools (forward).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedMaxPool2d", 4);
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        int oh = (h + 2 * Padding.H - Kernel.H) / Stride.H + 1, ow = (w + 2 * Padding.W - Kernel.W) / Stride.W + 1;
        if (oh <= 0 || ow <= 0) throw new ArgumentException($"QuantizedMaxPool2d: kernel {Kernel} is larger than the padded input ({h}, {w})", nameof(input));
        var x = input.Data; var y = new byte[b * c * oh * ow];
        for (int plane = 0; plane < b * c; plane++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++)
                {
                    int best = -1;
                    for (int u = 0; u < Kernel.H; u++)
                    {
                        int r = i * Stride.H - Padding.H + u;
                        if ((uint)r >= (uint)h) continue;
                        for (int v = 0; v < Kernel.W; v++)
                        {
                            int s = j * Stride.W - Padding.W + v;
                            if ((uint)s < (uint)w) best = Math.Max(best, x[(plane * h + r) * w + s]);
                        }
                    }
                    y[(plane * oh + i) * ow + j] = (byte)best;
                }
        return QuantizedTensor.FromRaw(y, [b, c, oh, ow], input.DType, input.Scales, input.ZeroPoints);
    }
}

/// <summary>Flattens all but the batch dimension (torch.nn.Flatten on a quantized tensor; values and parameters unchanged).</summary>
public sealed class QuantizedFlatten : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Reshapes to (batch, rest) (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        int b = input.Shape[0];
        return QuantizedTensor.FromRaw(input.Data.ToArray(), [b, b == 0 ? 0 : input.NumEl / b], input.DType, input.Scales, input.ZeroPoints, input.Axis);
    }
}

/// <summary>ReLU on quint8 values (torch.nn.ReLU on a quantized tensor): max(q, zero_point), parameters unchanged.</summary>
public sealed class QuantizedReLU : Module<QuantizedTensor, QuantizedTensor>
{
    /// <summary>Clamps below at the zero point (forward).</summary>
    public override QuantizedTensor Forward(QuantizedTensor input)
    {
        Requantize.CheckActivation(input, "QuantizedReLU", 0);
        var y = input.Data.ToArray(); byte z = (byte)input.ZeroPoints[0];
        for (int i = 0; i < y.Length; i++) if (y[i] < z) y[i] = z;
        return QuantizedTensor.FromRaw(y, input.Shape.ToArray(), input.DType, input.Scales, input.ZeroPoints);
    }
}
