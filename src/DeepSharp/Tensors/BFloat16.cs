using System.Runtime.InteropServices;

namespace DeepSharp;

/// <summary>
/// A bfloat16 value (torch.bfloat16): the upper 16 bits of a float32, 8 exponent bits and 7 mantissa bits. The element
/// type of <see cref="DType.BFloat16"/> tensors. Narrowing from float rounds to nearest even, as PyTorch does.
/// </summary>
[StructLayout(LayoutKind.Sequential, Size = 2)]
public readonly struct BFloat16 : IEquatable<BFloat16>, IComparable<BFloat16>
{
    /// <summary>The raw 16-bit pattern.</summary>
    public readonly ushort Bits;

    BFloat16(ushort bits) => Bits = bits;

    /// <summary>The value with the given bit pattern.</summary>
    public static BFloat16 FromBits(ushort bits) => new(bits);

    /// <summary>float32 → bfloat16, round to nearest even; NaN stays a quiet NaN.</summary>
    public static explicit operator BFloat16(float value) => new(ReducedFloat.SingleToBFloat16Bits(value));

    /// <summary>float64 → bfloat16 via float32 (as PyTorch's double → bfloat16 does).</summary>
    public static explicit operator BFloat16(double value) => (BFloat16)(float)value;

    /// <summary>bfloat16 → float32, exactly.</summary>
    public static implicit operator float(BFloat16 value) => BitConverter.UInt32BitsToSingle((uint)value.Bits << 16);

    /// <summary>bfloat16 → float64, exactly.</summary>
    public static explicit operator double(BFloat16 value) => (float)value;

    /// <inheritdoc/>
    public bool Equals(BFloat16 other) => (float)this == (float)other;
    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is BFloat16 b && Equals(b);
    /// <inheritdoc/>
    public override int GetHashCode() => ((float)this).GetHashCode();
    /// <inheritdoc/>
    public int CompareTo(BFloat16 other) => ((float)this).CompareTo((float)other);
    /// <summary>The value as float32 text.</summary>
    public override string ToString() => ((float)this).ToString(System.Globalization.CultureInfo.InvariantCulture);
}
