namespace DeepSharp;

// Fake quantization (quantize then dequantize in floating point) with the straight-through estimator:
// y = (clamp(round(x / s) + z, qmin, qmax) − z)·s, dy/dx = 1 where qmin ≤ round(x / s) + z ≤ qmax, else 0.
// The arithmetic follows ATen's CPU kernel: inv_scale = 1f / (float)scale, round half to even (std::nearbyint),
// the product x·inv_scale in the input's precision, the scale as float.
public sealed partial class Tensor
{
    /// <summary>
    /// Quantizes and dequantizes with one scale and zero point (torch.fake_quantize_per_tensor_affine); the gradient is
    /// the straight-through estimator: it passes where the rounded value lies in [quantMin, quantMax] and is 0 outside.
    /// </summary>
    public Tensor FakeQuantizePerTensorAffine(double scale, long zeroPoint, long quantMin, long quantMax)
    {
        CheckFakeQuantArgs("FakeQuantizePerTensorAffine", quantMin, quantMax, zeroPoint);
        if (!(scale > 0) || double.IsInfinity(scale))
            throw new ArgumentException($"FakeQuantizePerTensorAffine: scale must be positive and finite, got {scale}", nameof(scale));
        return FakeQuantize("FakeQuantizePerTensorAffine", [(float)scale], [zeroPoint], -1, quantMin, quantMax);
    }

    /// <summary>
    /// Per-channel fake quantization along <paramref name="axis"/> (torch.fake_quantize_per_channel_affine): channel c uses
    /// scale[c] and zeroPoint[c]; straight-through gradient as in <see cref="FakeQuantizePerTensorAffine"/>.
    /// </summary>
    public Tensor FakeQuantizePerChannelAffine(Tensor scale, Tensor zeroPoint, int axis, long quantMin, long quantMax)
    {
        const string op = "FakeQuantizePerChannelAffine";
        int ax = ShapeUtil.NormalizeDim(axis, Rank, op);
        if (scale.Rank != 1 || zeroPoint.Rank != 1 || scale.NumEl != shape[ax] || zeroPoint.NumEl != shape[ax])
            throw new ArgumentException($"{op}: scale {ShapeUtil.Format(scale.shape)} and zeroPoint {ShapeUtil.Format(zeroPoint.shape)} must be 1-D with {shape[ax]} elements (size of axis {ax} of input {ShapeUtil.Format(shape)})", nameof(scale));
        var scales = scale.ToArray<float>();
        var zps = zeroPoint.ToArray<long>();
        foreach (var s in scales)
            if (!(s > 0) || float.IsInfinity(s)) throw new ArgumentException($"{op}: every scale must be positive and finite, got {s}", nameof(scale));
        foreach (var z in zps) CheckFakeQuantArgs(op, quantMin, quantMax, z);
        return FakeQuantize(op, scales, zps, ax, quantMin, quantMax);
    }

    static void CheckFakeQuantArgs(string op, long quantMin, long quantMax, long zeroPoint)
    {
        if (quantMin > quantMax) throw new ArgumentException($"{op}: quantMin ({quantMin}) must not exceed quantMax ({quantMax})", nameof(quantMin));
        if (zeroPoint < quantMin || zeroPoint > quantMax)
            throw new ArgumentException($"{op}: zero point {zeroPoint} is outside [quantMin, quantMax] = [{quantMin}, {quantMax}]", nameof(zeroPoint));
    }

    Tensor FakeQuantize(string op, float[] scales, long[] zeroPoints, int axis, long quantMin, long quantMax)
    {
        if (!IsFloatingPoint) throw new ArgumentException($"{op}: input must be float32 or float64, got {DType.TorchName()}");
        var src = Contiguous();
        int n = NumEl;
        // the elements come in blocks of `inner` that share one channel: block b belongs to channel b % channels
        int inner = n, channels = 1;
        if (axis >= 0) { channels = shape[axis]; inner = 1; for (int d = axis + 1; d < Rank; d++) inner *= shape[d]; }
        int blocks = inner == 0 ? 0 : n / inner;
        var result = AllocUninit(DType, shape);
        var mask = new bool[n];
        bool single = DType == DType.Float32;
        for (int b = 0; b < blocks; b++)
        {
            int c = b % channels, start = b * inner;
            float s = scales[c], inv = 1f / s; long z = zeroPoints[c];
            if (single)
            {
                var x = src.Span<float>().Slice(start, inner); var y = result.Span<float>().Slice(start, inner);
                for (int i = 0; i < inner; i++)
                {
                    float qf = z + MathF.Round(x[i] * inv);
                    y[i] = ((long)Math.Min(Math.Max(qf, quantMin), quantMax) - z) * s;
                    mask[start + i] = quantMin <= qf && qf <= quantMax;
                }
            }
            else
            {
                var x = src.Span<double>().Slice(start, inner); var y = result.Span<double>().Slice(start, inner);
                for (int i = 0; i < inner; i++)
                {
                    double qf = z + Math.Round(x[i] * inv);
                    y[i] = ((long)Math.Min(Math.Max(qf, quantMin), quantMax) - z) * (double)s;
                    mask[start + i] = quantMin <= qf && qf <= quantMax;
                }
            }
        }
        if (Autograd.ShouldRecord(this))
        {
            var maskTensor = new Tensor(new Storage(mask, DType.Bool), shape);
            Autograd.Record(result, op.Replace("Affine", "Backward"), [this], g => [g.Mul(maskTensor.To(g.DType))]);
        }
        return result;
    }
}
