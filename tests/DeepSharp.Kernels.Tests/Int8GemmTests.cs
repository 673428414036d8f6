using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

[Collection("KernelThreads")]
public class Int8GemmTests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 16, 4), (3, 5, 7), (4, 17, 9), (5, 15, 3), (7, 33, 17), (9, 31, 64), (13, 48, 65),
        (2, 1, 130), (64, 10, 784), (65, 129, 27), (200, 40, 50),
    ];

    public static TheoryData<Int8GemmPath> Paths() =>
        new(Int8GemmPath.Auto, Int8GemmPath.Scalar, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW, Int8GemmPath.AvxVnni);

    static (byte[] A, sbyte[] B) Operands(int m, int n, int k, int maxA, int seed)
    {
        var rng = new System.Random(seed);
        var a = new byte[m * k]; var b = new sbyte[n * k];
        for (int i = 0; i < a.Length; i++) a[i] = (byte)rng.Next(0, maxA + 1);
        for (int i = 0; i < b.Length; i++) b[i] = (sbyte)rng.Next(-128, 128);
        return (a, b);
    }

    static bool SaturationFree(Int8GemmPath path) => path is not (Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW);

    [Theory]
    [MemberData(nameof(Paths))]
    public void EveryPathMatchesScalarReferenceOnOddSizes(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        // vpmaddubsw paths are exact for 7-bit activations (reduce_range); the others for the full u8 range
        int maxA = SaturationFree(path) ? 255 : 127;
        foreach (var (m, n, k) in Shapes)
        {
            var (a, b) = Operands(m, n, k, maxA, m * 1000 + n * 10 + k);
            var expected = new int[m * n]; var actual = new int[m * n];
            Int8Gemm.Reference(a, b, expected, m, n, k);
            Int8Gemm.Multiply(a, Int8Gemm.Pack(b, n, k), actual, m, path);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path} differs from the reference at M={m} N={n} K={k}");
        }
    }

    [Fact]
    public void AutoIsExactOnExtremeValues()
    {
        // every product at its extreme: a = 255 against b = -128 / 127, where vpmaddubsw alone would saturate
        int m = 5, n = 19, k = 33;
        var a = Enumerable.Repeat((byte)255, m * k).ToArray();
        var b = Enumerable.Range(0, n * k).Select(i => (sbyte)(i % 3 == 0 ? 127 : -128)).ToArray();
        var packed = Int8Gemm.Pack(b, n, k);
        var expected = new int[m * n]; var actual = new int[m * n];
        Int8Gemm.Reference(a, b, expected, m, n, k);
        Int8Gemm.Multiply(a, packed, actual, m);
        Assert.Equal(expected, actual);
        Assert.NotEqual(Int8GemmPath.Avx2, Int8Gemm.Select(packed, 255));
        Assert.NotEqual(Int8GemmPath.Avx512BW, Int8Gemm.Select(packed, 255));
    }

    [Fact]
    public void AutoWithSevenBitRowsAndAFewOutliersIsExactOnEveryForm()
    {
        // rows in [0, 127] (reduce_range activations) except a few up to 255, weights at the extremes: the groups that
        // hold an outlier must take the widening path, the others the vpmaddubsw one, and all three forms stay exact
        int m = 23, n = 35, k = 37;
        var rng = new System.Random(11);
        var a = Enumerable.Range(0, m * k).Select(_ => (byte)rng.Next(0, 128)).ToArray();
        a[5 * k + 3] = 255; a[17 * k + 36] = 200;   // groups 1 and 4 of six
        var b = Enumerable.Range(0, n * k).Select(_ => (sbyte)(rng.Next(2) == 0 ? -128 : 127)).ToArray();
        var packed = Int8Gemm.Pack(b, n, k);
        var expected = new int[m * n]; var actual = new int[m * n];
        Int8Gemm.Reference(a, b, expected, m, n, k);
        Int8Gemm.Multiply(a, packed, actual, m);
        Assert.Equal(expected, actual);

        int kPadded = packed.KQuads * 4;
        var padded = new byte[m * kPadded];
        for (int i = 0; i < m; i++) a.AsSpan(i * k, k).CopyTo(padded.AsSpan(i * kPadded));
        var path = Int8Gemm.SelectRows(padded, m, kPadded, packed, out var flags);
        try
        {
            if (Int8Gemm.IsSupported(Int8GemmPath.AvxVnni)) Assert.Equal(Int8GemmPath.AvxVnni, path);
            else if (Int8Gemm.IsSupported(Int8GemmPath.Avx2))
            {
                Assert.Equal(Int8Gemm.IsSupported(Int8GemmPath.Avx512BW) ? Int8GemmPath.Avx512BW : Int8GemmPath.Avx2, path);
                Assert.Equal(new byte[] { 1, 0, 1, 1, 0, 1 }, flags!.AsSpan(0, 6).ToArray());
            }
        }
        finally
        {
            if (flags != null) System.Buffers.ArrayPool<byte>.Shared.Return(flags);
        }

        var scales = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 1e-5 + 1e-6)).ToArray();
        var r = new Int8Requantization(100, scales, null, 1f / 0.05f, 128, 0);
        var q0 = new byte[m * n]; var q1 = new byte[m * n];
        Int8Gemm.RequantizeReference(a, b, q0, m, n, k, r);
        Int8Gemm.MultiplyRequantize(a, k, packed, q1, m, r);
        Assert.Equal(q0, q1);
        var f0 = new float[m * n]; var f1 = new float[m * n];
        Int8Gemm.MultiplyDequantize(a, k, packed, f0, m, 0.01f, 100, scales, path: Int8GemmPath.Scalar);
        Int8Gemm.MultiplyDequantize(a, k, packed, f1, m, 0.01f, 100, scales);
        Assert.Equal(f0, f1);
    }

    [Fact]
    public void Avx2MaddubsSaturatesOnFullRangeInputs()
    {
        if (!Int8Gemm.IsSupported(Int8GemmPath.Avx2)) Assert.Skip("AVX2 is not supported on this CPU");
        // the reason for the dispatcher's check: 255·(-128) + 255·(-128) = -65280 clamps to -32768 in vpmaddubsw
        var a = new byte[] { 255, 255, 255, 255 };
        var b = new sbyte[] { -128, -128, -128, -128 };
        var c = new int[1];
        Int8Gemm.Multiply(a, Int8Gemm.Pack(b, 1, 4), c, 1, Int8GemmPath.Avx2);
        Assert.Equal(-65536, c[0]);
        Int8Gemm.Multiply(a, Int8Gemm.Pack(b, 1, 4), c, 1, Int8GemmPath.Avx2Widening);
        Assert.Equal(-130560, c[0]);
    }

    [Fact]
    public void PackRecordsColumnSumsAndPairBound()
    {
        var packed = Int8Gemm.Pack(new sbyte[] { 1, -2, 3, 100, -90, 5 }, 2, 3);
        Assert.Equal(new[] { 2, 15 }, packed.ColumnSums);
        Assert.Equal(190, packed.MaxPairAbsSum);
    }

    [Fact]
    public void BadSizesAreNamed()
    {
        var packed = Int8Gemm.Pack(new sbyte[12], 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(new byte[7], packed, new int[6], 2));
        Assert.Contains("M×K = 2×4", e.Message);
        Assert.Throws<ArgumentException>(() => Int8Gemm.Multiply(new byte[8], packed, new int[5], 2));
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void RequantizingGemmMatchesScalarReferenceOnOddSizes(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int maxA = SaturationFree(path) ? 255 : 127;
        foreach (var (m, n, k) in Shapes)
            foreach (bool relu in new[] { false, true })
            {
                var (a, b) = Operands(m, n, k, maxA, m * 7 + n * 3 + k);
                var rng = new System.Random(m + n + k);
                var scale = new float[n]; var bias = new float[n];
                for (int j = 0; j < n; j++) { scale[j] = (float)(0.0005 + rng.NextDouble() * 0.002); bias[j] = (float)(rng.NextDouble() * 4 - 2); }
                // output scale chosen so that values spread over the u8 range and some clamp at both ends
                var r = new Int8Requantization(37, scale, bias, 1f / (0.05f * MathF.Sqrt(k)), 100, relu ? 100 : 0);
                var expected = new byte[m * n];
                Int8Gemm.RequantizeReference(a, b, expected, m, n, k, r);
                // rows stored with a stride larger than K (lda = K + 5), as a caller's pooled buffer may be
                int lda = k + 5;
                var strided = new byte[m * lda];
                for (int i = 0; i < m; i++) a.AsSpan(i * k, k).CopyTo(strided.AsSpan(i * lda));
                var actual = new byte[m * n];
                Int8Gemm.MultiplyRequantize(strided, lda, Int8Gemm.Pack(b, n, k), actual, m, r, path);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path} M={m} N={n} K={k} relu={relu}: first difference at {expected.AsSpan().CommonPrefixLength(actual)}");
                if (m * n > 20) Assert.True(expected.Distinct().Count() > 10, "the test values should spread over the u8 range");
            }
    }

    [Fact]
    public void RequantizingGemmRejectsBadShapes()
    {
        var packed = Int8Gemm.Pack(new sbyte[12], 3, 4);
        var r = new Int8Requantization(0, new float[3], null, 1f, 0, 0);
        Assert.Contains("lda", Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyRequantize(new byte[8], 3, packed, new byte[6], 2, r)).Message);
        Assert.Contains("scales", Assert.Throws<ArgumentException>(() =>
            Int8Gemm.MultiplyRequantize(new byte[8], 4, packed, new byte[6], 2, r with { Scale = new float[2] })).Message);
    }

    [Fact]
    public void EightLaneRequantizeEpilogueMatchesTheReferenceToo()
    {
        // the 16-lane AVX-512 epilogue takes full tiles on this machine; hold the 8-lane form against the reference too
        bool saved = Int8Gemm.Avx512Epilogue;
        Int8Gemm.Avx512Epilogue = false;
        try
        {
            foreach (var path in new[] { Int8GemmPath.Avx2, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx512BW })
                if (Int8Gemm.IsSupported(path)) RequantizingGemmMatchesScalarReferenceOnOddSizes(path);
        }
        finally { Int8Gemm.Avx512Epilogue = saved; }
    }
}
