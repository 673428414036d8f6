using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepSharp.Quantization;

/// <summary>
/// An affinely quantized tensor (a torch.Tensor with dtype torch.qint8 / torch.quint8): 8-bit integers q with
/// x ≈ (q − zero_point)·scale, one scale and zero point for the whole tensor or one per channel along <see cref="Axis"/>.
/// The integers are stored row-major in <see cref="Data"/> (qint8 values as their two's-complement bytes).
/// </summary>
public sealed class QuantizedTensor
{
    readonly byte[] data;
    readonly int[] shape;

    internal QuantizedTensor(byte[] data, int[] shape, QuantDType dtype, double[] scales, long[] zeroPoints, int axis)
    {
        this.data = data; this.shape = shape; DType = dtype; Scales = scales; ZeroPoints = zeroPoints; Axis = axis;
    }

    /// <summary>qint8 or quint8 (torch.Tensor.dtype).</summary>
    public QuantDType DType { get; }
    /// <summary>Sizes of each dimension (torch.Tensor.shape).</summary>
    public IReadOnlyList<int> Shape => shape;
    /// <summary>Scales: one for per-tensor (torch.Tensor.q_scale), else one per channel (q_per_channel_scales).</summary>
    public double[] Scales { get; }
    /// <summary>Zero points (q_zero_point / q_per_channel_zero_points).</summary>
    public long[] ZeroPoints { get; }
    /// <summary>The channel axis (q_per_channel_axis), or -1 for a per-tensor quantized tensor.</summary>
    public int Axis { get; }
    /// <summary>torch.Tensor.qscheme(): per-tensor or per-channel affine.</summary>
    public QScheme QScheme => Axis < 0 ? QScheme.PerTensorAffine : QScheme.PerChannelAffine;
    /// <summary>Number of elements (torch.Tensor.numel()).</summary>
    public int NumEl => data.Length;
    internal byte[] RawData => data;
    /// <summary>The raw bytes, row-major.</summary>
    public ReadOnlySpan<byte> Data => data;
    /// <summary>The values of a qint8 tensor.</summary>
    public ReadOnlySpan<sbyte> Int8Data => MemoryMarshal.Cast<byte, sbyte>(data);

    /// <summary>The integer values as an int32 tensor (torch.Tensor.int_repr(), which returns int8/uint8 there).</summary>
    public Tensor IntRepr()
    {
        var v = new int[data.Length];
        if (DType == QuantDType.QInt8) { var s = Int8Data; for (int i = 0; i < v.Length; i++) v[i] = s[i]; }
        else for (int i = 0; i < v.Length; i++) v[i] = data[i];
        return Tensor.FromArray(v, shape);
    }

    /// <summary>(q − zero_point)·scale as float32 (torch.Tensor.dequantize()).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public Tensor Dequantize()
    {
        var y = new float[data.Length];
        int inner = Inner(shape, Axis), channels = Axis < 0 ? 1 : shape[Axis];
        bool signed = DType == QuantDType.QInt8;
        for (int i = 0; i < y.Length; i++)
        {
            int c = Axis < 0 ? 0 : i / inner % channels;
            int q = signed ? (sbyte)data[i] : data[i];
            y[i] = (float)(q - ZeroPoints[c]) * (float)Scales[c];
        }
        return Tensor.FromArray(y, shape);
    }

    /// <summary>
    /// Quantizes with one scale and zero point (torch.quantize_per_tensor): q = clamp(round(x·(1/scale)) + zero_point) to the
    /// dtype's full range, rounding half to even, the reciprocal taken in float32 as ATen does.
    /// </summary>
    public static QuantizedTensor QuantizePerTensor(Tensor input, double scale, long zeroPoint, QuantDType dtype)
    {
        CheckScale("QuantizePerTensor", scale);
        CheckZeroPoint("QuantizePerTensor", zeroPoint, dtype);
        return Quantize(input, [scale], [zeroPoint], -1, dtype);
    }

    /// <summary>Quantizes channel c along <paramref name="axis"/> with scales[c], zeroPoints[c] (torch.quantize_per_channel).</summary>
    public static QuantizedTensor QuantizePerChannel(Tensor input, double[] scales, long[] zeroPoints, int axis, QuantDType dtype)
    {
        const string op = "QuantizePerChannel";
        if (axis < 0 || axis >= input.Rank) throw new ArgumentException($"{op}: axis {axis} is out of range for input of shape ({string.Join(", ", input.Shape)})", nameof(axis));
        if (scales.Length != input.Shape[axis] || zeroPoints.Length != input.Shape[axis])
            throw new ArgumentException($"{op}: {scales.Length} scales and {zeroPoints.Length} zero points for axis {axis} of size {input.Shape[axis]} (input shape ({string.Join(", ", input.Shape)}))", nameof(scales));
        foreach (var s in scales) CheckScale(op, s);
        foreach (var z in zeroPoints) CheckZeroPoint(op, z, dtype);
        return Quantize(input, scales, zeroPoints, axis, dtype);
    }

    /// <summary>Quantizes with observer-computed parameters (per-tensor or per-channel as <paramref name="qparams"/> says).</summary>
    public static QuantizedTensor Quantize(Tensor input, QParams qparams, QuantDType dtype) => qparams.IsPerTensor
        ? QuantizePerTensor(input, qparams.Scale[0], qparams.ZeroPoint[0], dtype)
        : QuantizePerChannel(input, Array.ConvertAll(qparams.Scale, s => (double)s), qparams.ZeroPoint, qparams.Axis, dtype);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static QuantizedTensor Quantize(Tensor input, double[] scales, long[] zeroPoints, int axis, QuantDType dtype)
    {
        if (!input.IsFloatingPoint) throw new ArgumentException($"Quantize: input must be float32 or float64, got {input.DType.TorchName()}", nameof(input));
        var shape = input.Shape.ToArray();
        var range = QuantRange.Full(dtype);
        if (axis < 0)
        {
            // per tensor (a model's QuantizeStub on every call): vectorised, same values as QuantizeValue element by element
            var data = input.DType == DeepSharp.DType.Float32 && input.IsContiguous ? input.AsReadOnlySpan<float>() : input.ToArray<float>();
            var bytes = new byte[data.Length];
            QuantizePerTensorInto(data, 1f / (float)scales[0], zeroPoints[0], range, bytes);
            return new QuantizedTensor(bytes, shape, dtype, scales, zeroPoints, axis);
        }
        var x = input.ToArray<float>();
        var q = new byte[x.Length];
        int inner = Inner(shape, axis), channels = shape[axis];
        for (int i = 0; i < x.Length; i++)
        {
            int c = i / inner % channels;
            q[i] = (byte)QuantizeValue(x[i], 1f / (float)scales[c], zeroPoints[c], range);
        }
        return new QuantizedTensor(q, shape, dtype, scales, zeroPoints, axis);
    }

    /// <summary>
    /// q[i] = (byte)QuantizeValue(x[i], invScale, zeroPoint, range) for every i, 32 values per step: x·invScale rounded
    /// half to even (the vector round is the same IEEE operation as MathF.Round), plus the zero point in float32 as the
    /// scalar form adds it, clamped to the range (NaN gives the clamped zero point), narrowed to bytes (qint8 values as
    /// their two's-complement bytes).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    internal static void QuantizePerTensorInto(ReadOnlySpan<float> x, float invScale, long zeroPoint, QuantRange range, Span<byte> q)
    {
        if (q.Length < x.Length) throw new ArgumentException($"QuantizePerTensorInto: q has {q.Length} bytes for {x.Length} values", nameof(q));
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var inv = Vector256.Create(invScale);
            var zp = Vector256.Create((float)zeroPoint);
            var lo = Vector256.Create((float)range.Min);
            var hi = Vector256.Create((float)range.Max);
            var nanValue = Vector256.Create((int)Math.Clamp(zeroPoint, range.Min, range.Max));
            ref float src = ref MemoryMarshal.GetReference(x);
            ref byte dst = ref MemoryMarshal.GetReference(q);
            for (; i + 32 <= x.Length; i += 32)
            {
                var a = Quantize8(Vector256.LoadUnsafe(ref src, (nuint)i), inv, zp, lo, hi, nanValue);
                var b = Quantize8(Vector256.LoadUnsafe(ref src, (nuint)(i + 8)), inv, zp, lo, hi, nanValue);
                var c = Quantize8(Vector256.LoadUnsafe(ref src, (nuint)(i + 16)), inv, zp, lo, hi, nanValue);
                var d = Quantize8(Vector256.LoadUnsafe(ref src, (nuint)(i + 24)), inv, zp, lo, hi, nanValue);
                // truncating narrows: every value already lies in [-128, 255], so its low byte is the stored byte
                var ab = Vector256.Narrow(a.AsUInt32(), b.AsUInt32());
                var cd = Vector256.Narrow(c.AsUInt32(), d.AsUInt32());
                Vector256.Narrow(ab, cd).StoreUnsafe(ref dst, (nuint)i);
            }
        }
        for (; i < x.Length; i++) q[i] = (byte)QuantizeValue(x[i], invScale, zeroPoint, range);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<int> Quantize8(Vector256<float> x, Vector256<float> inv, Vector256<float> zp, Vector256<float> lo, Vector256<float> hi, Vector256<int> nanValue)
    {
        var v = zp + Vector256.Round(x * inv);
        var clamped = Vector256.ConvertToInt32(Vector256.Min(Vector256.Max(v, lo), hi));
        return Vector256.ConditionalSelect(Vector256.Equals(v, v).AsInt32(), clamped, nanValue);
    }

    /// <summary>ATen's quantize_val: clamp((int64)(zero_point + nearbyint(x·inv_scale)), qmin, qmax).</summary>
    internal static int QuantizeValue(float x, float invScale, long zeroPoint, QuantRange range)
    {
        float v = zeroPoint + MathF.Round(x * invScale);
        if (float.IsNaN(v)) return (int)Math.Clamp(zeroPoint, range.Min, range.Max);
        return (int)Math.Clamp((long)Math.Clamp(v, -9.2e18f, 9.2e18f), range.Min, range.Max);
    }

    internal static int Inner(IReadOnlyList<int> shape, int axis)
    {
        int inner = 1;
        if (axis >= 0) for (int d = axis + 1; d < shape.Count; d++) inner *= shape[d];
        return inner;
    }

    static void CheckScale(string op, double scale)
    {
        if (!(scale > 0) || double.IsInfinity(scale)) throw new ArgumentException($"{op}: scale must be positive and finite, got {scale}", nameof(scale));
    }

    static void CheckZeroPoint(string op, long zeroPoint, QuantDType dtype)
    {
        var r = QuantRange.Full(dtype);
        if (zeroPoint < r.Min || zeroPoint > r.Max) throw new ArgumentException($"{op}: zero point {zeroPoint} is outside the {dtype} range [{r.Min}, {r.Max}]", nameof(zeroPoint));
    }

    /// <summary>Wraps existing quantized values (they are not copied).</summary>
    public static QuantizedTensor FromRaw(byte[] data, int[] shape, QuantDType dtype, double[] scales, long[] zeroPoints, int axis = -1)
    {
        long n = 1; foreach (var d in shape) n *= d;
        if (n != data.Length) throw new ArgumentException($"FromRaw: {data.Length} bytes cannot fill shape ({string.Join(", ", shape)})", nameof(data));
        int channels = axis < 0 ? 1 : shape[axis];
        if (scales.Length != channels || zeroPoints.Length != channels)
            throw new ArgumentException($"FromRaw: {scales.Length} scales / {zeroPoints.Length} zero points for {channels} channel(s)", nameof(scales));
        return new QuantizedTensor(data, (int[])shape.Clone(), dtype, scales, zeroPoints, axis);
    }
}
