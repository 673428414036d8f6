using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// The exponentials of a softmax row, e^(x − shift) written in place, and their sum, in one pass: the inner step of the
/// attention kernels (a 128-key row of scores per query). TensorPrimitives' float Exp evaluates in double precision and
/// measured 0.7 ns an element on these rows (three quarters of the attention forward's softmax, with its separate
/// subtract, max and sum passes); this one is float throughout: x = n·ln 2 + r with |r| ≤ ln 2 / 2 (ln 2 in two parts),
/// e^r by its degree-7 Taylor polynomial (truncation error below 6e-9 relative), 2^n built in the exponent. Measured
/// against double-precision exp: within 2 ulp over the range the softmax sees. Arguments below −87.3 (where e^x is no
/// longer a normal float), −∞ included (masked entries), give exactly 0; NaN stays NaN; arguments above 88 saturate at
/// e^88 (a softmax shift by its row maximum never gives one). Double rows take TensorPrimitives.
/// </summary>
public static unsafe class SoftmaxExp
{
    const float Low = -87.3f, High = 88f, Log2E = 1.44269504f, Ln2Hi = 0.693359375f, Ln2Lo = -2.12194440e-4f;

    /// <summary>Test hook: the widest vectors used (512, 256, or 0 for the scalar form), so every path runs on one machine.</summary>
    internal static int MaxVectorBits = 512;

    /// <summary>Writes e^(row[i] − shift) into row[i] and returns their sum.</summary>
    public static T ExpShiftedSum<T>(Span<T> row, T shift) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
        {
            float sum = ExpShiftedSum(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(row), Unsafe.As<T, float>(ref shift));
            return Unsafe.As<float, T>(ref sum);
        }
        TensorPrimitives.Subtract(row, shift, row);
        TensorPrimitives.Exp(row, row);
        return TensorPrimitives.Sum<T>(row);
    }

    /// <summary>The float form of <see cref="ExpShiftedSum{T}"/>.</summary>
    public static float ExpShiftedSum(Span<float> row, float shift)
    {
        int i = 0, n = row.Length;
        float sum = 0;
        fixed (float* p = row)
        {
            if (Avx512F.IsSupported && MaxVectorBits >= 512 && n >= 16)
            {
                var acc = Vector512<float>.Zero; var s = Vector512.Create(shift);
                for (; i + 16 <= n; i += 16)
                {
                    var e = Exp(Avx512F.LoadVector512(p + i) - s);
                    Avx512F.Store(p + i, e);
                    acc += e;
                }
                sum = Vector512.Sum(acc);
            }
            else if (Avx2.IsSupported && Fma.IsSupported && MaxVectorBits >= 256 && n >= 8)
            {
                var acc = Vector256<float>.Zero; var s = Vector256.Create(shift);
                for (; i + 8 <= n; i += 8)
                {
                    var e = Exp(Avx.LoadVector256(p + i) - s);
                    Avx.Store(p + i, e);
                    acc += e;
                }
                sum = Vector256.Sum(acc);
            }
            for (; i < n; i++)
            {
                float e = ExpScalar(p[i] - shift);
                p[i] = e;
                sum += e;
            }
        }
        return sum;
    }

    /// <summary>The scalar form (row tails, and CPUs without AVX2): the same reduction and polynomial.</summary>
    internal static float ExpScalar(float x)
    {
        if (float.IsNaN(x)) return x;
        if (x < Low) return 0f;
        x = MathF.Min(x, High);
        float n = MathF.Round(x * Log2E, MidpointRounding.ToEven);
        float r = MathF.FusedMultiplyAdd(n, -Ln2Lo, MathF.FusedMultiplyAdd(n, -Ln2Hi, x));
        float poly = Polynomial(r);
        return poly * BitConverter.Int32BitsToSingle(((int)n + 127) << 23);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static float Polynomial(float r)
    {
        float p = 1f / 5040;
        p = MathF.FusedMultiplyAdd(p, r, 1f / 720); p = MathF.FusedMultiplyAdd(p, r, 1f / 120);
        p = MathF.FusedMultiplyAdd(p, r, 1f / 24); p = MathF.FusedMultiplyAdd(p, r, 1f / 6);
        p = MathF.FusedMultiplyAdd(p, r, 0.5f); p = MathF.FusedMultiplyAdd(p, r, 1f);
        return MathF.FusedMultiplyAdd(p, r, 1f);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp(Vector512<float> x)
    {
        var tiny = Avx512F.CompareLessThan(x, Vector512.Create(Low));                            // −∞ and underflow: 0
        x = Avx512F.Max(Vector512.Create(Low), Avx512F.Min(Vector512.Create(High), x));           // NaN (second operand) passes
        var n = Avx512F.RoundScale(x * Vector512.Create(Log2E), 0);                               // round to nearest even
        var r = Avx512F.FusedMultiplyAdd(n, Vector512.Create(-Ln2Lo), Avx512F.FusedMultiplyAdd(n, Vector512.Create(-Ln2Hi), x));
        var p = Vector512.Create(1f / 5040);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 720)); p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24)); p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5f)); p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Vector512.AndNot(Avx512F.Scale(p, n), tiny);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Exp(Vector256<float> x)
        => Vector256.AndNot(ExpClamped(x, Low, High), Avx.CompareLessThan(x, Vector256.Create(Low)));   // −∞ and underflow: 0

    /// <summary>
    /// e^x on 8 lanes (AVX2 + FMA) with x first clamped to [<paramref name="low"/>, <paramref name="high"/>] (within
    /// [−87.3, 88], so 2^n stays a normal float; NaN passes): x = n·ln 2 + r, ln 2 in two parts, e^r by its degree-7 Taylor
    /// polynomial, 2^n built in the exponent bits. Shared with the int8 recurrent step's σ and tanh.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> ExpClamped(Vector256<float> x, float low, float high)
    {
        x = Avx.Max(Vector256.Create(low), Avx.Min(Vector256.Create(high), x));
        var n = Avx.RoundToNearestInteger(x * Vector256.Create(Log2E));
        var r = Fma.MultiplyAdd(n, Vector256.Create(-Ln2Lo), Fma.MultiplyAdd(n, Vector256.Create(-Ln2Hi), x));
        var p = Vector256.Create(1f / 5040);
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 720)); p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 120));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 24)); p = Fma.MultiplyAdd(p, r, Vector256.Create(1f / 6));
        p = Fma.MultiplyAdd(p, r, Vector256.Create(0.5f)); p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        p = Fma.MultiplyAdd(p, r, Vector256<float>.One);
        var scale = Avx2.ShiftLeftLogical(Avx.ConvertToVector256Int32(n) + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }
}
