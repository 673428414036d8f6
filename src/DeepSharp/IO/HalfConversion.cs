namespace DeepSharp.IO;

/// <summary>
/// Conversions between float32/float64 and the 16-bit float formats, as raw bits: IEEE half (torch.float16) and
/// bfloat16 (torch.bfloat16, the upper 16 bits of a float32). Narrowing rounds to nearest even, as PyTorch does.
/// </summary>
public static class HalfConversion
{
    /// <summary>float32 → float16 bits (torch.Tensor.half()).</summary>
    public static ushort SingleToHalf(float value) => BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>float16 bits → float32, exactly (torch.Tensor.float() on a half tensor).</summary>
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>float32 → bfloat16 bits with round-to-nearest-even; NaN stays a (quiet) NaN (torch.Tensor.bfloat16()).</summary>
    public static ushort SingleToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x0040);
        uint roundingBias = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + roundingBias) >> 16);
    }

    /// <summary>bfloat16 bits → float32, exactly.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>Converts a span of float32 values to float16 bits.</summary>
    public static void SingleToHalf(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = SingleToHalf(source[i]);
    }

    /// <summary>Converts a span of float64 values to float16 bits, rounding once (double → half directly).</summary>
    public static void DoubleToHalf(ReadOnlySpan<double> source, Span<ushort> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = BitConverter.HalfToUInt16Bits((Half)source[i]);
    }

    /// <summary>Converts a span of float16 bits to float32.</summary>
    public static void HalfToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = HalfToSingle(source[i]);
    }

    /// <summary>Converts a span of float32 values to bfloat16 bits.</summary>
    public static void SingleToBFloat16(ReadOnlySpan<float> source, Span<ushort> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = SingleToBFloat16(source[i]);
    }

    /// <summary>Converts a span of float64 values to bfloat16 bits via float32 (as PyTorch's double → bfloat16 does).</summary>
    public static void DoubleToBFloat16(ReadOnlySpan<double> source, Span<ushort> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = SingleToBFloat16((float)source[i]);
    }

    /// <summary>Converts a span of bfloat16 bits to float32.</summary>
    public static void BFloat16ToSingle(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++) destination[i] = BFloat16ToSingle(source[i]);
    }
}
