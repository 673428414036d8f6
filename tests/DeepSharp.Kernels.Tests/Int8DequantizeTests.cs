using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

[Collection("KernelThreads")]
public class Int8DequantizeTests
{
    static readonly (int M, int N, int K)[] Shapes =
    [
        (1, 1, 1), (1, 16, 4), (3, 5, 7), (4, 17, 9), (5, 15, 3), (7, 33, 17), (13, 48, 65), (64, 512, 128), (65, 129, 27),
    ];

    public static TheoryData<Int8GemmPath> Paths() =>
        new(Int8GemmPath.Auto, Int8GemmPath.Scalar, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW, Int8GemmPath.AvxVnni);

    [Theory]
    [MemberData(nameof(Paths))]
    public void DequantizingGemmMatchesScalarReferenceBitForBit(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
        foreach (var (m, n, k) in Shapes)
            foreach (bool withBias in new[] { false, true })
                foreach (bool withAddend in new[] { false, true })
                    foreach (bool parallel in new[] { false, true })
                    {
                        var rng = new System.Random(m * 7919 + n * 31 + k);
                        int lda = k + (m % 3);                 // a row stride beyond K for some shapes (copied), K itself for the rest
                        var a = new byte[m * lda]; var b = new sbyte[n * k];
                        for (int i = 0; i < a.Length; i++) a[i] = (byte)rng.Next(0, maxA + 1);
                        for (int i = 0; i < b.Length; i++) b[i] = (sbyte)rng.Next(-128, 128);
                        var dense = new byte[m * k];
                        for (int i = 0; i < m; i++) a.AsSpan(i * lda, k).CopyTo(dense.AsSpan(i * k));
                        var scales = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 0.01 + 1e-4)).ToArray();
                        var bias = withBias ? Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray() : [];
                        var addend = withAddend ? Enumerable.Range(0, m * n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray() : [];
                        int zeroPoint = rng.Next(0, maxA + 1);
                        float aScale = 0.0173f;
                        var expected = new float[m * n]; var actual = new float[m * n];
                        Int8Gemm.DequantizeReference(dense, b, expected, m, n, k, aScale, zeroPoint, scales, bias, addend);
                        Int8Gemm.MultiplyDequantize(a, lda, Int8Gemm.Pack(b, n, k), actual, m, aScale, zeroPoint, scales, bias, addend, parallel, path);
                        Assert.True(expected.AsSpan().SequenceEqual(actual),
                            $"{path} differs from the reference at M={m} N={n} K={k} lda={lda} bias={withBias} addend={withAddend} parallel={parallel}");
                    }
    }

    [Fact]
    public void AddendMayAliasTheOutput()
    {
        int m = 6, n = 21, k = 10;
        var rng = new System.Random(3);
        var a = Enumerable.Range(0, m * k).Select(_ => (byte)rng.Next(256)).ToArray();
        var b = Enumerable.Range(0, n * k).Select(_ => (sbyte)rng.Next(-128, 128)).ToArray();
        var scales = Enumerable.Repeat(0.02f, n).ToArray();
        var start = Enumerable.Range(0, m * n).Select(i => i * 0.5f).ToArray();
        var expected = new float[m * n];
        Int8Gemm.DequantizeReference(a, b, expected, m, n, k, 0.1f, 9, scales, default, start);
        var inPlace = (float[])start.Clone();
        Int8Gemm.MultiplyDequantize(a, k, Int8Gemm.Pack(b, n, k), inPlace, m, 0.1f, 9, scales, default, inPlace);
        Assert.Equal(expected, inPlace);
    }

    [Fact]
    public void DequantizingGemmRejectsBadShapes()
    {
        var packed = Int8Gemm.Pack(new sbyte[12], 3, 4);
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyDequantize(new byte[8], 4, packed, new float[5], 2, 1f, 0, new float[3]));
        Assert.Contains("C has 5", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyDequantize(new byte[8], 4, packed, new float[6], 2, 1f, 0, new float[2]));
        Assert.Contains("2 weight scales", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyDequantize(new byte[8], 4, packed, new float[6], 2, 1f, 0, new float[3], default, new float[4]));
        Assert.Contains("addend has 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.MultiplyDequantize(new byte[8], 3, packed, new float[6], 2, 1f, 0, new float[3]));
        Assert.Contains("lda (3)", e.Message);
    }

    [Fact]
    public void VectorQuantizeMatchesScalarReference()
    {
        // ties (x·inv = k + 0.5 rounds to even), saturation at both ends, zero points, every tail length 0..15
        var rng = new System.Random(11);
        foreach (int n in new[] { 0, 1, 15, 16, 17, 31, 33, 100, 1027 })
            foreach (var (inv, zp, qmin, qmax) in new[] { (1f, 0, 0, 255), (4f, 128, 0, 255), (10f, 64, 0, 127), (0.5f, 3, 0, 127), (2f, 255, 0, 255) })
            {
                var x = new float[n];
                for (int i = 0; i < n; i++)
                    x[i] = (i % 5) switch
                    {
                        0 => (rng.Next(-300, 300) + 0.5f) / inv,            // exact ties
                        1 => rng.Next(2) == 0 ? 1e6f : -1e6f,                // saturates
                        _ => (float)(rng.NextDouble() * 80 - 40),
                    };
                var expected = new byte[n]; var actual = new byte[n];
                Int8Quantize.QuantizeU8Reference(x, inv, zp, expected, qmin, qmax);
                Int8Quantize.QuantizeU8(x, inv, zp, actual, qmin, qmax);
                Assert.True(expected.AsSpan().SequenceEqual(actual), $"n={n} inv={inv} zp={zp} [{qmin}, {qmax}]");
                Assert.All(actual, v => Assert.InRange(v, qmin, qmax));
            }
        Assert.Equal(new byte[] { 2, 4, 2 }, Quantized([2.5f, 3.5f, 1.5f], 1f, 0));     // half to even
    }

    static byte[] Quantized(float[] x, float inv, int zp)
    {
        var y = new byte[x.Length]; Int8Quantize.QuantizeU8(x, inv, zp, y); return y;
    }

    [Fact]
    public void QuantizeRejectsBadArguments()
    {
        Assert.Throws<ArgumentException>(() => Int8Quantize.QuantizeU8(new float[4], 1f, 0, new byte[3]));
        Assert.Throws<ArgumentException>(() => Int8Quantize.QuantizeU8(new float[4], 1f, 0, new byte[4], 0, 300));
    }

    [Fact]
    public void EightLaneEpilogueMatchesTheReferenceToo()
    {
        // the 16-lane AVX-512 epilogue takes full tiles on this machine; hold the 8-lane form against the reference too
        bool saved = Int8Gemm.Avx512Epilogue;
        Int8Gemm.Avx512Epilogue = false;
        try
        {
            foreach (var path in new[] { Int8GemmPath.Avx2, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx512BW })
                if (Int8Gemm.IsSupported(path)) DequantizingGemmMatchesScalarReferenceBitForBit(path);
        }
        finally { Int8Gemm.Avx512Epilogue = saved; }
    }
}
