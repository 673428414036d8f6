namespace DeepSharp.Quantization;

/// <summary>Output parameters of a static quantized layer (torch.ao.nn.quantized modules' scale / zero_point).</summary>
public readonly record struct OutputQParams(float Scale, int ZeroPoint)
{
    /// <summary>From an observer's per-tensor result.</summary>
    public static OutputQParams From(QParams p) => new(p.Scale[0], (int)p.ZeroPoint[0]);
}

/// <summary>Float → quint8 with ATen's quantize_val rounding (half to even), clamped to [lo, 255] (lo = zero point after a fused ReLU).</summary>
internal static class Requantize
{
    public static byte One(float y, float invScale, int zeroPoint, int lo)
    {
        float v = zeroPoint + MathF.Round(y * invScale);
        return (byte)(v < lo ? lo : v > 255 ? 255 : (int)v);
    }

    /// <summary>Quantized tensor of a float result with per-tensor quint8 parameters.</summary>
    public static QuantizedTensor Wrap(byte[] data, int[] shape, OutputQParams q) =>
        QuantizedTensor.FromRaw(data, shape, QuantDType.QUInt8, [q.Scale], [q.ZeroPoint]);

    public static void CheckActivation(QuantizedTensor x, string op, int rank)
    {
        if (x.DType != QuantDType.QUInt8 || x.Axis >= 0)
            throw new ArgumentException($"{op}: expected a per-tensor quint8 activation, got {x.DType} {(x.Axis >= 0 ? "per-channel" : "per-tensor")}", "input");
        if (rank > 0 && x.Shape.Count != rank)
            throw new ArgumentException($"{op}: expected a {rank}-D input, got shape ({string.Join(", ", x.Shape)})", "input");
    }
}

/// <summary>Byte layout transposes between NCHW and channels-last (NHWC), blocked so both sides stay in cache.</summary>
internal static class Layout
{
    /// <summary>(B, C, P) → (B, P, C).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ToChannelsLast(ReadOnlySpan<byte> x, Span<byte> y, int b, int c, int plane)
    {
        const int Block = 32;
        for (int batch = 0; batch < b; batch++)
        {
            var src = x.Slice(batch * c * plane, c * plane); var dst = y.Slice(batch * c * plane, c * plane);
            for (int p0 = 0; p0 < plane; p0 += Block)
                for (int c0 = 0; c0 < c; c0 += Block)
                {
                    int pe = Math.Min(plane, p0 + Block), ce = Math.Min(c, c0 + Block);
                    for (int p = p0; p < pe; p++)
                        for (int ch = c0; ch < ce; ch++) dst[p * c + ch] = src[ch * plane + p];
                }
        }
    }

    /// <summary>(B, P, C) → (B, C, P).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization)]
    public static void ToChannelsFirst(ReadOnlySpan<byte> x, Span<byte> y, int b, int c, int plane)
    {
        const int Block = 32;
        for (int batch = 0; batch < b; batch++)
        {
            var src = x.Slice(batch * c * plane, c * plane); var dst = y.Slice(batch * c * plane, c * plane);
            for (int c0 = 0; c0 < c; c0 += Block)
                for (int p0 = 0; p0 < plane; p0 += Block)
                {
                    int pe = Math.Min(plane, p0 + Block), ce = Math.Min(c, c0 + Block);
                    for (int ch = c0; ch < ce; ch++)
                        for (int p = p0; p < pe; p++) dst[ch * plane + p] = src[p * c + ch];
                }
        }
    }
}
