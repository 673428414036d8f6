using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

public static unsafe partial class Int8Gemm
{
    /// <summary>
    /// Scalar reference of <see cref="MultiplyDequantize"/>: y[m, n] = (float)(Σ_k A[m, k]·B[n, k] − zA·Σ_k B[n, k]) ·
    /// (sA·sB[n]) + bias[n], then + addend[m, n] when an addend is given (B unpacked N×K row-major, A M×K).
    /// </summary>
    public static void DequantizeReference(ReadOnlySpan<byte> a, ReadOnlySpan<sbyte> b, Span<float> c, int m, int n, int k,
        float aScale, int aZeroPoint, ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> addend)
    {
        var acc = new int[m * n];
        Reference(a, b, acc, m, n, k);
        for (int j = 0; j < n; j++)
        {
            int sum = 0;
            for (int kk = 0; kk < k; kk++) sum += b[j * k + kk];
            float scale = aScale * weightScales[j];
            for (int i = 0; i < m; i++)
            {
                float y = (acc[i * n + j] - aZeroPoint * sum) * scale;
                if (!bias.IsEmpty) y += bias[j];
                if (!addend.IsEmpty) y += addend[i * n + j];
                c[i * n + j] = y;
            }
        }
    }

    /// <summary>
    /// C (M×N float32, row-major) = dequantize(A · Bᵀ) (+ addend): the int8 GEMM of a dynamic quantized Linear with the
    /// zero-point correction, the rescale by sA·sB[n], the bias and an optional M×N float addend fused into the tile
    /// epilogue (no M×N int32 buffer). A rows are <paramref name="lda"/> bytes apart (used in place when lda is K rounded up
    /// to a multiple of 4 and the pad bytes are 0, otherwise copied once into a pooled buffer). <paramref name="parallel"/>
    /// false runs on the calling thread (small M, e.g. a recurrent step, where a pool dispatch costs more than it saves).
    /// The addend may alias C.
    /// </summary>
    public static void MultiplyDequantize(ReadOnlySpan<byte> a, int lda, PackedInt8Weights b, Span<float> c, int m,
        float aScale, int aZeroPoint, ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias = default, ReadOnlySpan<float> addend = default,
        bool parallel = true, Int8GemmPath path = Int8GemmPath.Auto)
    {
        if (lda < b.K) throw new ArgumentException($"Int8Gemm.MultiplyDequantize: lda ({lda}) is smaller than K ({b.K})", nameof(lda));
        if (m < 0) throw new ArgumentException($"Int8Gemm.MultiplyDequantize: M ({m}) must not be negative", nameof(m));
        if (m > 0 && a.Length < (long)(m - 1) * lda + b.K) throw new ArgumentException($"Int8Gemm.MultiplyDequantize: A has {a.Length} bytes, M = {m} rows of lda {lda} need {(long)(m - 1) * lda + b.K}", nameof(a));
        if (c.Length < (long)m * b.N) throw new ArgumentException($"Int8Gemm.MultiplyDequantize: C has {c.Length} elements, M×N = {m}×{b.N} needs {(long)m * b.N}", nameof(c));
        if (weightScales.Length != b.N || (!bias.IsEmpty && bias.Length != b.N))
            throw new ArgumentException($"Int8Gemm.MultiplyDequantize: {weightScales.Length} weight scales / {bias.Length} biases for N = {b.N} outputs", nameof(weightScales));
        if (!addend.IsEmpty && addend.Length < (long)m * b.N) throw new ArgumentException($"Int8Gemm.MultiplyDequantize: addend has {addend.Length} elements, M×N = {m}×{b.N} needs {(long)m * b.N}", nameof(addend));
        if (m == 0) return;
        int kPadded = b.KQuads * 4;
        a = PadRows(a, m, lda, b.K, kPadded, out var copy);
        if (!IsSupported(path)) throw new PlatformNotSupportedException($"Int8Gemm.MultiplyDequantize: the {path} path is not supported on this CPU");
        byte[]? groupExact = null;
        // the combined scale per output, computed in float32 exactly as the reference does
        float[]? scaleArray = null;
        try
        {
            scaleArray = ArrayPool<float>.Shared.Rent(b.N);
            for (int j = 0; j < b.N; j++) scaleArray[j] = aScale * weightScales[j];
            if (path == Int8GemmPath.Auto) path = SelectRows(a, m, kPadded, b, out groupExact);
            fixed (byte* pa = a) fixed (sbyte* pb = b.Data) fixed (float* pc = c) fixed (int* sums = b.ColumnSums) fixed (float* ps = scaleArray)
            fixed (float* pbias = bias) fixed (float* padd = addend) fixed (byte* flags = groupExact)
            {
                var body = new RowBody
                {
                    A = pa, B = pb, OutF = pc, AddF = addend.IsEmpty ? null : padd, M = m, N = b.N, KPadded = kPadded, Quads = b.KQuads, Path = path, GroupExact = flags,
                    Sums = sums, Scale = ps, Bias = bias.IsEmpty ? null : pbias, Inv = 1f, Zx = aZeroPoint,
                };
                Run(ref body, parallel);
            }
        }
        finally
        {
            if (copy != null) ArrayPool<byte>.Shared.Return(copy);
            if (groupExact != null) ArrayPool<byte>.Shared.Return(groupExact);
            if (scaleArray != null) ArrayPool<float>.Shared.Return(scaleArray);
        }
    }

    /// <summary>Dequantizes one tile row of ≤ 16 int32 sums into floats (AVX 8 at a time, scalar rest).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void DequantizeRow(int* acc, float* output, float* add, int cols, int* sums, float* scale, float* bias, float unused, int zx)
    {
        int j = 0;
        if (Avx512Epilogue && cols == 16)
        {
            // the 8-lane loop's operations (multiply, then adds in the same order), 16 lanes at once
            var d = Avx512F.Subtract(Avx512F.LoadVector512(acc), Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(sums)));
            var y = Avx512F.Multiply(Avx512F.ConvertToVector512Single(d), Avx512F.LoadVector512(scale));
            if (bias != null) y = Avx512F.Add(y, Avx512F.LoadVector512(bias));
            if (add != null) y = Avx512F.Add(y, Avx512F.LoadVector512(add));
            y.Store(output);
            return;
        }
        if (Avx2.IsSupported)
        {
            var vzx = Vector256.Create(zx);
            for (; j + 8 <= cols; j += 8)
            {
                var d = Avx2.Subtract(Avx.LoadVector256(acc + j), Avx2.MultiplyLow(vzx, Avx.LoadVector256(sums + j)));
                var y = Avx.Multiply(Avx.ConvertToVector256Single(d), Avx.LoadVector256(scale + j));
                if (bias != null) y = Avx.Add(y, Avx.LoadVector256(bias + j));
                if (add != null) y = Avx.Add(y, Avx.LoadVector256(add + j));
                y.Store(output + j);
            }
        }
        for (; j < cols; j++)
        {
            float y = (acc[j] - zx * sums[j]) * scale[j];
            if (bias != null) y += bias[j];
            if (add != null) y += add[j];
            output[j] = y;
        }
    }
}

/// <summary>
/// Float32 → u8 affine quantization (ATen's quantize_val with the reciprocal scale: q = clamp(zp + round_half_even(x·inv),
/// qmin, qmax)), AVX2 16 values at a time, with the scalar loop as reference and tail.
/// </summary>
public static unsafe class Int8Quantize
{
    /// <summary>Scalar reference of <see cref="MinMax"/>.</summary>
    public static (float Min, float Max) MinMaxReference(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return (0f, 0f);
        float min = x[0], max = x[0];
        foreach (var v in x)
        {
            if (float.IsNaN(v)) return (float.NaN, float.NaN);
            if (v < min) min = v;
            if (v > max) max = v;
        }
        return (min, max);
    }

    /// <summary>
    /// The smallest and largest element of <paramref name="x"/> in one vectorised pass, the range a dynamic activation
    /// quantization chooses its parameters from (torch.aminmax); both NaN when any element is NaN (so the caller's
    /// parameter choice rejects it), both 0 for an empty span.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static (float Min, float Max) MinMax(ReadOnlySpan<float> x)
    {
        if (x.IsEmpty) return (0f, 0f);
        int i = 0, n = x.Length;
        float min = x[0], max = x[0];
        bool nan = false;
        fixed (float* px = x)
        {
            if (Vector512.IsHardwareAccelerated && n >= 32)
            {
                Vector512<float> lo0 = Vector512.Load(px), hi0 = lo0, lo1 = lo0, hi1 = lo0, ordered = Vector512<float>.AllBitsSet.AsSingle();
                for (; i + 32 <= n; i += 32)
                {
                    var v0 = Vector512.Load(px + i); var v1 = Vector512.Load(px + i + 16);
                    lo0 = Vector512.MinNative(lo0, v0); hi0 = Vector512.MaxNative(hi0, v0); lo1 = Vector512.MinNative(lo1, v1); hi1 = Vector512.MaxNative(hi1, v1);
                    ordered &= Vector512.Equals(v0, v0) & Vector512.Equals(v1, v1);
                }
                nan = ordered.ExtractMostSignificantBits() != 0xFFFFu;
                min = Vector512.Min(lo0, lo1).ToScalarMin(); max = Vector512.Max(hi0, hi1).ToScalarMax();
            }
            else if (Vector256.IsHardwareAccelerated && n >= 16)
            {
                Vector256<float> lo0 = Vector256.Load(px), hi0 = lo0, lo1 = lo0, hi1 = lo0, ordered = Vector256<float>.AllBitsSet.AsSingle();
                for (; i + 16 <= n; i += 16)
                {
                    var v0 = Vector256.Load(px + i); var v1 = Vector256.Load(px + i + 8);
                    lo0 = Vector256.MinNative(lo0, v0); hi0 = Vector256.MaxNative(hi0, v0); lo1 = Vector256.MinNative(lo1, v1); hi1 = Vector256.MaxNative(hi1, v1);
                    ordered &= Vector256.Equals(v0, v0) & Vector256.Equals(v1, v1);
                }
                nan = ordered.ExtractMostSignificantBits() != 0xFFu;
                min = Vector256.Min(lo0, lo1).ToScalarMin(); max = Vector256.Max(hi0, hi1).ToScalarMax();
            }
            for (; i < n; i++)
            {
                float v = px[i];
                if (float.IsNaN(v)) nan = true;
                if (v < min) min = v;
                if (v > max) max = v;
            }
        }
        return nan ? (float.NaN, float.NaN) : (min, max);
    }

    /// <summary>Scalar reference of <see cref="QuantizeU8"/>.</summary>
    public static void QuantizeU8Reference(ReadOnlySpan<float> x, float inverseScale, int zeroPoint, Span<byte> destination, int qmin = 0, int qmax = 255)
    {
        Check(x.Length, destination.Length, qmin, qmax);
        for (int i = 0; i < x.Length; i++)
        {
            float v = zeroPoint + MathF.Round(x[i] * inverseScale);
            destination[i] = (byte)(v < qmin ? qmin : v > qmax ? qmax : (int)v);
        }
    }

    /// <summary>q[i] = clamp(zp + round_half_even(x[i]·inverseScale), qmin, qmax) as bytes (finite inputs; the dynamic
    /// callers reject NaN ranges before quantizing).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void QuantizeU8(ReadOnlySpan<float> x, float inverseScale, int zeroPoint, Span<byte> destination, int qmin = 0, int qmax = 255)
    {
        Check(x.Length, destination.Length, qmin, qmax);
        int i = 0, n = x.Length;
        fixed (float* px = x) fixed (byte* pd = destination)
        {
            if (Avx2.IsSupported && n >= 16)
            {
                var vinv = Vector256.Create(inverseScale); var vzp = Vector256.Create((float)zeroPoint);
                var vlo = Vector256.Create((float)qmin); var vhi = Vector256.Create((float)qmax);
                for (; i + 16 <= n; i += 16)
                {
                    var v0 = Avx.Min(Avx.Max(Avx.Add(vzp, Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(px + i), vinv))), vlo), vhi);
                    var v1 = Avx.Min(Avx.Max(Avx.Add(vzp, Avx.RoundToNearestInteger(Avx.Multiply(Avx.LoadVector256(px + i + 8), vinv))), vlo), vhi);
                    var words = Avx2.Permute4x64(Avx2.PackSignedSaturate(Avx.ConvertToVector256Int32(v0), Avx.ConvertToVector256Int32(v1)).AsInt64(), 0b11_01_10_00).AsInt16();
                    var bytes = Avx2.Permute4x64(Avx2.PackUnsignedSaturate(words, words).AsInt64(), 0b11_01_10_00).AsByte();
                    bytes.GetLower().Store(pd + i);
                }
            }
            for (; i < n; i++)
            {
                float v = zeroPoint + MathF.Round(px[i] * inverseScale);
                pd[i] = (byte)(v < qmin ? qmin : v > qmax ? qmax : (int)v);
            }
        }
    }

    static float ToScalarMin(this Vector512<float> v) => Math.Min(v.GetLower().ToScalarMin(), v.GetUpper().ToScalarMin());
    static float ToScalarMax(this Vector512<float> v) => Math.Max(v.GetLower().ToScalarMax(), v.GetUpper().ToScalarMax());
    static float ToScalarMin(this Vector256<float> v)
    {
        var m = Vector128.Min(v.GetLower(), v.GetUpper());
        return Math.Min(Math.Min(m[0], m[1]), Math.Min(m[2], m[3]));
    }
    static float ToScalarMax(this Vector256<float> v)
    {
        var m = Vector128.Max(v.GetLower(), v.GetUpper());
        return Math.Max(Math.Max(m[0], m[1]), Math.Max(m[2], m[3]));
    }

    static void Check(int n, int destination, int qmin, int qmax)
    {
        if (destination < n) throw new ArgumentException($"Int8Quantize: destination has {destination} bytes for {n} values", nameof(destination));
        if (qmin < 0 || qmax > 255 || qmin > qmax) throw new ArgumentException($"Int8Quantize: [{qmin}, {qmax}] is not a u8 range", nameof(qmin));
    }
}
