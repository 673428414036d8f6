using System.Buffers;
using System.Numerics.Tensors;
using DeepSharp.Kernels;
using DeepSharp.NN;

namespace DeepSharp.Quantization;

/// <summary>
/// Runs a static quantized layer chain with the activations of consecutive convolutions, max poolings and ReLUs kept
/// channels-last (NHWC bytes in pooled buffers): one NCHW → NHWC transpose where such a run starts (none for one
/// channel), one NHWC → NCHW transpose where it ends (before a Flatten, say), none between. Layers with forward hooks, and
/// every other layer kind, run through their own <c>Call</c> on NCHW tensors, so the results are byte for byte those of
/// calling the layers one by one. A convolution followed by a 2 × 2, stride-2 max pooling runs as one fused kernel
/// (<see cref="Int8Conv.Conv2dMaxPool2x2Nhwc"/>: the same bytes, without writing and re-reading the unpooled output).
/// </summary>
internal static class ChannelsLastChain
{
    static bool Fits(Module<QuantizedTensor, QuantizedTensor> layer) =>
        layer is QuantizedConv2d or QuantizedMaxPool2d or QuantizedReLU && !layer.HasForwardHooks;

    public static QuantizedTensor Run(IReadOnlyList<Module<QuantizedTensor, QuantizedTensor>> layers, QuantizedTensor x)
    {
        int i = 0;
        while (i < layers.Count)
        {
            int end = i;
            while (end < layers.Count && Fits(layers[end])) end++;
            bool hasConv = false;
            for (int t = i; t < end; t++) hasConv |= layers[t] is QuantizedConv2d;
            if (hasConv && x.Shape.Count == 4 && x.DType == QuantDType.QUInt8 && x.Axis < 0)
            {
                x = RunSegment(layers, i, end, x);
                i = end;
            }
            else x = layers[i++].Call(x);
        }
        return x;
    }

    static QuantizedTensor RunSegment(IReadOnlyList<Module<QuantizedTensor, QuantizedTensor>> layers, int start, int end, QuantizedTensor input)
    {
        var shared = ArrayPool<byte>.Shared;
        int b = input.Shape[0], c = input.Shape[1], h = input.Shape[2], w = input.Shape[3];
        double[] scales = input.Scales.ToArray(); long[] zeroPoints = input.ZeroPoints.ToArray();
        byte[] current = shared.Rent(Math.Max(1, input.NumEl));
        if (c == 1) input.RawData.AsSpan(0, input.NumEl).CopyTo(current); else Layout.ToChannelsLast(input.RawData, current, b, c, h * w);
        try
        {
            for (int t = start; t < end; t++)
            {
                switch (layers[t])
                {
                    case QuantizedConv2d conv:
                    {
                        var shape = conv.Geometry(b, c, h, w);
                        int n = conv.Weights.OutFeatures;
                        // a 2 × 2, stride-2 max pooling right after: pooled inside the convolution, its output never written
                        bool pooled = t + 1 < end && layers[t + 1] is QuantizedMaxPool2d { Kernel: (2, 2), Stride: (2, 2), Padding: (0, 0) }
                            && shape.OutH >= 2 && shape.OutW >= 2;
                        int oh = pooled ? shape.OutH / 2 : shape.OutH, ow = pooled ? shape.OutW / 2 : shape.OutW;
                        var next = shared.Rent(Math.Max(1, b * oh * ow * n));
                        conv.ForwardChannelsLast(current, shape, (float)scales[0], (int)zeroPoints[0], next, pooled);
                        shared.Return(current); current = next;
                        c = n; h = oh; w = ow; scales = [conv.Output.Scale]; zeroPoints = [conv.Output.ZeroPoint];
                        if (pooled) t++;
                        break;
                    }
                    case QuantizedMaxPool2d pool:
                    {
                        var shape = new Int8ConvShape(b, h, w, c, pool.Kernel.H, pool.Kernel.W, pool.Stride.H, pool.Stride.W, pool.Padding.H, pool.Padding.W);
                        if (shape.OutH <= 0 || shape.OutW <= 0) throw new ArgumentException($"QuantizedMaxPool2d: kernel {pool.Kernel} is larger than the padded input ({h}, {w})", "input");
                        var next = shared.Rent(Math.Max(1, b * shape.OutH * shape.OutW * c));
                        Int8Conv.MaxPool2dNhwc(current, shape, next);
                        shared.Return(current); current = next;
                        h = shape.OutH; w = shape.OutW;
                        break;
                    }
                    case QuantizedReLU:
                    {
                        var span = current.AsSpan(0, b * h * w * c);
                        TensorPrimitives.Max(span, (byte)zeroPoints[0], span);
                        break;
                    }
                }
            }
            var q = new byte[(long)b * c * h * w];
            if (c == 1) current.AsSpan(0, q.Length).CopyTo(q); else Layout.ToChannelsFirst(current, q, b, c, h * w);
            return QuantizedTensor.FromRaw(q, [b, c, h, w], QuantDType.QUInt8, scales, zeroPoints);
        }
        finally
        {
            shared.Return(current);
        }
    }
}
