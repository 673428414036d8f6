using DeepSharp.NN;

namespace DeepSharp.Compression.MixedPrecision;

/// <summary>A floating-point format for reduced-precision training and storage (torch.float32 / torch.bfloat16 / torch.float16).</summary>
public enum Precision
{
    /// <summary>IEEE single precision (torch.float32): no rounding.</summary>
    Float32,
    /// <summary>bfloat16 (torch.bfloat16): float32's 8-bit exponent, 7 mantissa bits.</summary>
    BFloat16,
    /// <summary>IEEE half precision, System.Half (torch.float16): 5-bit exponent, 10 mantissa bits, max 65504.</summary>
    Float16,
}

/// <summary>
/// Conversions between float32 and the 16-bit formats, rounding to nearest even as PyTorch's <c>.half()</c> and
/// <c>.bfloat16()</c> do, bit-exact including subnormals, overflow to ±∞ and signed zeros. NaN becomes 0x7E00 in float16
/// and 0xFFFF in bfloat16, the patterns PyTorch 1.13's vectorised CPU conversion writes.
/// <see cref="Round(Tensor, Precision)"/> gives a float32 tensor holding exactly the representable values (x.to(dtype).float()),
/// and <see cref="ToBits"/>/<see cref="FromBits"/> the 16-bit patterns; real 16-bit tensors are <c>t.To(DType.BFloat16)</c>
/// / <c>To(DType.Float16)</c>, which <see cref="Autocast"/> uses.
/// </summary>
public static class ReducedPrecision
{
    /// <summary>The bfloat16 bit pattern nearest to <paramref name="value"/>, ties to even (c10::BFloat16 round_to_nearest_even).</summary>
    public static ushort ToBFloat16Bits(float value)
    {
        if (float.IsNaN(value)) return 0xFFFF;
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint lsb = (bits >> 16) & 1;
        return (ushort)((bits + 0x7FFF + lsb) >> 16);
    }

    /// <summary>The float32 value of a bfloat16 bit pattern (exact).</summary>
    public static float FromBFloat16Bits(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>The float16 bit pattern nearest to <paramref name="value"/>, ties to even (System.Half's conversion; torch .half()).</summary>
    public static ushort ToHalfBits(float value) =>
        float.IsNaN(value) ? (ushort)0x7E00 : BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>The float32 value of a float16 bit pattern (exact).</summary>
    public static float FromHalfBits(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary><paramref name="value"/> rounded to <paramref name="precision"/> and widened back (x.to(dtype).float()).</summary>
    public static float Round(float value, Precision precision) => precision switch
    {
        Precision.BFloat16 => FromBFloat16Bits(ToBFloat16Bits(value)),
        Precision.Float16 => FromHalfBits(ToHalfBits(value)),
        _ => value,
    };

    /// <summary>The 16-bit storage of a float32 tensor's elements in row-major order (x.to(dtype).view(torch.int16)).</summary>
    public static ushort[] ToBits(Tensor tensor, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (precision == Precision.Float32) throw new ArgumentException("ReducedPrecision.ToBits: float32 has no 16-bit storage", nameof(precision));
        var values = tensor.Detach().ToArray<float>();
        var bits = new ushort[values.Length];
        for (int i = 0; i < values.Length; i++)
            bits[i] = precision == Precision.BFloat16 ? ToBFloat16Bits(values[i]) : ToHalfBits(values[i]);
        return bits;
    }

    /// <summary>A float32 tensor of <paramref name="shape"/> from 16-bit storage (x.float()).</summary>
    public static Tensor FromBits(ushort[] bits, int[] shape, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(bits);
        var values = new float[bits.Length];
        for (int i = 0; i < bits.Length; i++)
            values[i] = precision == Precision.BFloat16 ? FromBFloat16Bits(bits[i]) : FromHalfBits(bits[i]);
        return Tensor.FromArray(values, shape);
    }

    /// <summary>
    /// <paramref name="tensor"/> (float32) rounded to <paramref name="precision"/>, still float32 (x.to(dtype).float()).
    /// Differentiable as the straight-through identity, which is the backward of PyTorch's casts.
    /// </summary>
    public static Tensor Round(Tensor tensor, Precision precision)
    {
        ArgumentNullException.ThrowIfNull(tensor);
        if (precision == Precision.Float32) return tensor;
        if (tensor.DType != DType.Float32)
            throw new ArgumentException($"ReducedPrecision.Round: expected a float32 tensor, got {tensor.DType.TorchName()}", nameof(tensor));
        Tensor rounded;
        using (Autograd.NoGrad())
        {
            var values = tensor.Contiguous().ToArray<float>();
            for (int i = 0; i < values.Length; i++) values[i] = Round(values[i], precision);
            rounded = Tensor.FromArray(values, tensor.Shape.ToArray());
        }
        return tensor.RequiresGrad ? tensor + (rounded - tensor.Detach()) : rounded;
    }

    /// <summary>Bytes per element in <paramref name="precision"/> (torch.dtype.itemsize).</summary>
    public static int ElementSize(Precision precision) => precision == Precision.Float32 ? 4 : 2;
}
