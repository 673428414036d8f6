using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

[Collection("KernelThreads")]
public class Int8ConvTests
{
    // batch, height, width, channels, kernel, stride, padding, dilation, outputs: odd sizes, K not a multiple of 4,
    // more than 16 outputs with a tail, strided, dilated, padded beyond the window, 1×1, large enough to go parallel
    static readonly (Int8ConvShape S, int N)[] Cases =
    [
        (new(1, 5, 5, 1, 3, 3, 1, 1, 1, 1), 3),
        (new(2, 7, 6, 3, 3, 3, 1, 1, 1, 1), 17),
        (new(3, 9, 8, 5, 3, 2, 2, 1, 0, 1), 7),
        (new(1, 11, 10, 4, 5, 5, 2, 2, 2, 2), 33),
        (new(2, 8, 9, 6, 3, 3, 1, 1, 2, 2, 2, 2), 16),
        (new(1, 6, 6, 13, 1, 1), 5),
        (new(2, 28, 28, 32, 3, 3, 1, 1, 1, 1), 32),
        (new(3, 4, 4, 2, 3, 3, 1, 1, 3, 3), 9),
        // kw·C a multiple of 4 (receptive fields read in place): strided, dilated in H, a 5-wide window, no padding
        (new(2, 9, 10, 8, 3, 3, 2, 2, 1, 1), 20),
        (new(1, 11, 9, 4, 3, 3, 1, 1, 2, 1, 2, 1), 7),
        (new(2, 7, 8, 4, 1, 5, 1, 1, 0, 2), 18),
        (new(3, 6, 6, 12, 2, 2), 16),
        // at most 4 channels with kw·C not a multiple of 4 (the padded-window form): the Fashion CNN's first layer at batch 3,
        // strided, dilated in H, a 5 × 5 window on 3 channels, 1 × 1 on 2 channels, a 6-wide window (kw' = 8)
        (new(3, 28, 28, 1, 3, 3, 1, 1, 1, 1), 32),
        // 14-wide rows (two per task, 28 pixels) and 7- and 13-wide ones (four per task) read in place, edge rows gathered
        (new(2, 14, 14, 32, 3, 3, 1, 1, 1, 1), 64),
        (new(2, 7, 7, 8, 3, 3, 1, 1, 1, 1), 17),
        (new(1, 13, 13, 4, 3, 3, 1, 1, 0, 1), 16),
        (new(2, 9, 11, 1, 3, 3, 2, 2, 1, 1), 19),
        (new(2, 10, 9, 1, 3, 3, 1, 1, 2, 0, 2, 1), 16),
        (new(1, 7, 9, 3, 5, 5, 2, 1, 2, 2), 21),
        (new(2, 5, 6, 2, 1, 1), 16),
        (new(1, 6, 7, 1, 2, 6, 1, 3, 0, 1), 17),
    ];

    public static TheoryData<Int8GemmPath> Paths() =>
        new(Int8GemmPath.Auto, Int8GemmPath.Scalar, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW, Int8GemmPath.AvxVnni);

    [Theory]
    [MemberData(nameof(Paths))]
    public void ConvolutionMatchesScalarReferenceByteForByte(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
        foreach (var (s, n) in Cases)
            foreach (bool relu in new[] { false, true })
            {
                var rng = new System.Random(s.Height * 131 + s.Channels * 17 + n);
                var x = new byte[s.Batch * s.Height * s.Width * s.Channels];
                for (int i = 0; i < x.Length; i++) x[i] = (byte)rng.Next(0, maxA + 1);
                var w = new sbyte[n * s.K];
                for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
                // zero points in the middle and at the ends; scales that make some outputs saturate at 0 and 255
                int zx = rng.Next(0, maxA + 1), zy = relu ? rng.Next(0, 256) : 255 - rng.Next(0, 40);
                var scale = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2e-3 + 1e-5)).ToArray();
                var bias = rng.Next(2) == 0 ? null : Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
                var r = new Int8Requantization(zx, scale, bias, 1f / 0.05f, zy, relu ? zy : 0);
                var (expected, actual) = AssertMatchesReference(x, w, Int8Gemm.Pack(w, n, s.K), n, s, r, $"{path}, N = {n}, relu = {relu}", path);
                if (relu) Assert.All(actual, v => Assert.True(v >= zy));
                Assert.Contains(expected, v => v == 255 || v == (relu ? zy : 0));   // the clamps are exercised
            }
    }

    /// <summary>Runs the convolution (on <paramref name="path"/>) and its scalar reference and asserts they agree byte for byte.</summary>
    static (byte[] Expected, byte[] Actual) AssertMatchesReference(byte[] x, sbyte[] w, PackedInt8Weights packed, int n, Int8ConvShape s,
        Int8Requantization r, string what, Int8GemmPath path = Int8GemmPath.Auto)
    {
        var expected = new byte[s.Batch * s.OutH * s.OutW * n];
        var actual = new byte[expected.Length];
        Int8Conv.Conv2dNhwcReference(x, w, n, s, r, expected);
        Int8Conv.Conv2dNhwc(x, packed, s, r, actual, path);
        Assert.True(expected.AsSpan().SequenceEqual(actual), $"{what}: differs from the reference for {s}");
        return (expected, actual);
    }

    [Fact]
    public void AutoTakesTheMaddubsPathForSevenBitActivationsAndStaysExact()
    {
        // weights at the extremes (pair sums of |b| up to 256): vpmaddubsw is exact for max(a) ≤ 127 only
        var s = new Int8ConvShape(3, 9, 7, 6, 3, 3, 1, 1, 1, 1);
        int n = 19;
        var rng = new System.Random(7);
        var w = Enumerable.Range(0, n * s.K).Select(i => (sbyte)(rng.Next(2) == 0 ? -128 : 127)).ToArray();
        var packed = Int8Gemm.Pack(w, n, s.K);
        foreach (var (maxA, zx) in new[] { (127, 0), (127, 127), (127, 200), (255, 3), (100, 255) })
        {
            var x = Enumerable.Range(0, s.Batch * s.Height * s.Width * s.Channels).Select(_ => (byte)rng.Next(0, maxA + 1)).ToArray();
            x[^1] = (byte)maxA;
            var path = Int8Conv.Select(x, packed, s, zx);
            bool sevenBit = Math.Max(maxA, zx) <= 127;   // the zero point pads the window, so it bounds the bytes too
            if (Int8Gemm.IsSupported(Int8GemmPath.AvxVnni)) Assert.Equal(Int8GemmPath.AvxVnni, path);
            else if (Int8Gemm.IsSupported(Int8GemmPath.Avx512BW)) Assert.Equal(sevenBit ? Int8GemmPath.Avx512BW : Int8GemmPath.Avx2Widening, path);
            else if (Int8Gemm.IsSupported(Int8GemmPath.Avx2)) Assert.Equal(sevenBit ? Int8GemmPath.Avx2 : Int8GemmPath.Avx2Widening, path);
            var scale = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2e-5 + 1e-6)).ToArray();
            var r = new Int8Requantization(zx, scale, null, 1f / 0.05f, 128, 0);
            AssertMatchesReference(x, w, packed, n, s, r, $"Auto ({path}), max(a) = {maxA}, zero point {zx}");
        }
    }

    [Fact]
    public void AutoWithSevenBitInputsAndAFewOutliersIsExact()
    {
        // the tiles whose receptive fields hold an outlier (> 127) take the widening path, the rest vpmaddubsw
        foreach (var s in new[] { new Int8ConvShape(2, 12, 11, 5, 3, 3, 1, 1, 1, 1), new Int8ConvShape(2, 12, 11, 8, 3, 3, 1, 1, 1, 1) })
            SevenBitWithOutliers(s);
    }

    static void SevenBitWithOutliers(Int8ConvShape s)
    {
        int n = 21;
        var rng = new System.Random(13);
        var w = Enumerable.Range(0, n * s.K).Select(_ => (sbyte)(rng.Next(2) == 0 ? -128 : 127)).ToArray();
        var x = Enumerable.Range(0, s.Batch * s.Height * s.Width * s.Channels).Select(_ => (byte)rng.Next(0, 128)).ToArray();
        x[37] = 255; x[700] = 180; x[^1] = 129;
        var scale = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2e-5 + 1e-6)).ToArray();
        foreach (bool relu in new[] { false, true })
        {
            var r = new Int8Requantization(60, scale, null, 1f / 0.05f, 100, relu ? 100 : 0);
            AssertMatchesReference(x, w, Int8Gemm.Pack(w, n, s.K), n, s, r, $"Auto, relu = {relu}");
        }
    }

    [Fact]
    public void GatheringFormMatchesTheReferenceToo()
    {
        // where receptive fields are read in place, hold the gathering form (Int8Conv.Implicit off) against the reference too
        bool saved = Int8Conv.Implicit;
        Int8Conv.Implicit = false;
        try
        {
            foreach (var path in new[] { Int8GemmPath.Auto, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW })
                if (Int8Gemm.IsSupported(path)) ConvolutionMatchesScalarReferenceByteForByte(path);
            AutoWithSevenBitInputsAndAFewOutliersIsExact();
        }
        finally { Int8Conv.Implicit = saved; }
    }

    [Fact]
    public void OnePackedWeightUnderTwoWindowShapesMatchesTheReferenceBothTimes()
    {
        // the few-channel form caches its repacked weight on the packed one: a 3 × 3 and a 1 × 9 window of the same
        // K = 9 (both padded to K' = 12) must not share it
        var rng = new System.Random(9);
        const int n = 18;
        var w = new sbyte[n * 9];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
        var packed = Int8Gemm.Pack(w, n, 9);
        var r = new Int8Requantization(7, Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2e-3 + 1e-5)).ToArray(), null, 1f / 0.05f, 3, 0);
        foreach (var s in new[] { new Int8ConvShape(2, 9, 12, 1, 3, 3, 1, 1, 1, 1), new Int8ConvShape(2, 9, 12, 1, 1, 9, 1, 1, 0, 4), new Int8ConvShape(2, 9, 12, 1, 3, 3, 1, 1, 1, 1) })
        {
            var x = new byte[s.Batch * s.Height * s.Width];
            for (int i = 0; i < x.Length; i++) x[i] = (byte)rng.Next(0, 128);
            AssertMatchesReference(x, w, packed, n, s, r, "one packed weight, two window shapes");
        }
    }

    [Fact]
    public void FewChannelFormOffMatchesTheReferenceToo()
    {
        // hold the per-pixel gathering of few-channel windows (Int8Conv.FewChannels off) against the reference too
        bool saved = Int8Conv.FewChannels;
        Int8Conv.FewChannels = false;
        try
        {
            foreach (var path in new[] { Int8GemmPath.Auto, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW })
                if (Int8Gemm.IsSupported(path)) ConvolutionMatchesScalarReferenceByteForByte(path);
        }
        finally { Int8Conv.FewChannels = saved; }
    }

    [Fact]
    public void ReferenceEqualsTheDefinitionOnAHandCase()
    {
        // 1 image 3×3, 1 channel, 2×2 kernel of ones, no padding: sums of (q − z) over each window, scale 1, zero point 0
        var s = new Int8ConvShape(1, 3, 3, 1, 2, 2);
        byte[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        sbyte[] w = [1, 1, 1, 1];
        var r = new Int8Requantization(1, [1f], null, 1f, 0, 0);
        var y = new byte[4];
        Int8Conv.Conv2dNhwc(x, Int8Gemm.Pack(w, 1, 4), s, r, y);
        Assert.Equal(new byte[] { 12 - 4, 16 - 4, 24 - 4, 28 - 4 }, y);
    }

    [Fact]
    public void MaxPoolMatchesScalarReference()
    {
        var shapes = new[]
        {
            new Int8ConvShape(2, 28, 28, 32, 2, 2, 2, 2), new Int8ConvShape(3, 7, 9, 5, 2, 2, 2, 2), new Int8ConvShape(1, 8, 7, 48, 3, 3, 2, 2, 1, 1),
            new Int8ConvShape(2, 5, 5, 17, 3, 2, 1, 2, 1, 0, 2, 1), new Int8ConvShape(64, 14, 14, 64, 2, 2, 2, 2),
            // the 2 × 2 stride-2 fast path: odd sizes (the last row and column unused), 49 channels (32 + 16 + 1), one channel
            new Int8ConvShape(2, 9, 11, 49, 2, 2, 2, 2), new Int8ConvShape(1, 6, 7, 1, 2, 2, 2, 2),
        };
        foreach (var s in shapes)
        {
            var rng = new System.Random(s.Channels + s.Height);
            var x = new byte[s.Batch * s.Height * s.Width * s.Channels];
            rng.NextBytes(x);
            var expected = new byte[s.Batch * s.OutH * s.OutW * s.Channels];
            var actual = new byte[expected.Length];
            Int8Conv.MaxPool2dNhwcReference(x, s, expected);
            Int8Conv.MaxPool2dNhwc(x, s, actual);
            Assert.True(expected.AsSpan().SequenceEqual(actual), $"max pool differs for {s}");
        }
    }

    [Theory]
    [MemberData(nameof(Paths))]
    public void ConvolutionWithFusedPoolingMatchesConvolutionThenPooling(Int8GemmPath path)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
        // every case of the convolution test whose output takes a 2 × 2 window (odd output sizes drop their last row and
        // column), in place and gathered, plus the Fashion CNN's 28- and 14-wide layers at a batch that goes parallel
        var cases = Cases.Where(c => c.S.OutH >= 2 && c.S.OutW >= 2)
            .Append((new Int8ConvShape(5, 28, 28, 32, 3, 3, 1, 1, 1, 1), 32)).Append((new Int8ConvShape(5, 14, 14, 64, 3, 3, 1, 1, 1, 1), 64));
        foreach (bool implicitRows in new[] { true, false })
        {
            bool saved = Int8Conv.Implicit;
            Int8Conv.Implicit = implicitRows;
            try
            {
                foreach (var (s, n) in cases)
                {
                    var rng = new System.Random(s.Height * 7 + s.Channels * 3 + n);
                    var x = new byte[s.Batch * s.Height * s.Width * s.Channels];
                    for (int i = 0; i < x.Length; i++) x[i] = (byte)rng.Next(0, maxA + 1);
                    var w = new sbyte[n * s.K];
                    for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
                    var scale = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2e-3 + 1e-5)).ToArray();
                    int zy = rng.Next(0, 256);
                    var r = new Int8Requantization(rng.Next(0, maxA + 1), scale, null, 1f / 0.05f, zy, rng.Next(2) == 0 ? zy : 0);
                    var conv = new byte[s.Batch * s.OutH * s.OutW * n];
                    Int8Conv.Conv2dNhwcReference(x, w, n, s, r, conv);
                    var poolShape = new Int8ConvShape(s.Batch, s.OutH, s.OutW, n, 2, 2, 2, 2);
                    var expected = new byte[s.Batch * poolShape.OutH * poolShape.OutW * n];
                    Int8Conv.MaxPool2dNhwcReference(conv, poolShape, expected);
                    var actual = new byte[expected.Length];
                    Int8Conv.Conv2dMaxPool2x2Nhwc(x, Int8Gemm.Pack(w, n, s.K), s, r, actual, path);
                    Assert.True(expected.AsSpan().SequenceEqual(actual), $"{path}, implicit = {implicitRows}: conv + pool differs for {s}, N = {n}");
                }
            }
            finally { Int8Conv.Implicit = saved; }
        }
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        var s = new Int8ConvShape(1, 4, 4, 2, 3, 3);
        var packed = Int8Gemm.Pack(new sbyte[3 * 18], 3, 18);
        var r = new Int8Requantization(0, new float[3], null, 1f, 0, 0);
        var e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dNhwc(new byte[31], packed, s, r, new byte[12]));
        Assert.Contains("x has 31", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dNhwc(new byte[32], packed, s, r, new byte[11]));
        Assert.Contains("y has 11", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dNhwc(new byte[32], Int8Gemm.Pack(new sbyte[3 * 9], 3, 9), s, r, new byte[12]));
        Assert.Contains("K = 9", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dNhwc(new byte[32], packed, s with { KernelH = 7 }, r, new byte[12]));
        Assert.Contains("does not fit", e.Message);
        // the fused pooling: output (1, 1, 1, 3) after pooling the (2, 2) convolution; a (1, 1) convolution has no window
        e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dMaxPool2x2Nhwc(new byte[32], packed, s, r, new byte[2]));
        Assert.Contains("y has 2", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Conv.Conv2dMaxPool2x2Nhwc(new byte[32], packed, s with { KernelH = 4, KernelW = 4 }, r, new byte[12]));
        Assert.Contains("2 × 2 pooling window", e.Message);
    }

    [Fact]
    public void EightLaneConvEpilogueMatchesTheReferenceToo()
    {
        // the 16-lane AVX-512 epilogue takes full tiles on this machine; hold the 8-lane form against the reference too
        bool saved = Int8Gemm.Avx512Epilogue;
        Int8Gemm.Avx512Epilogue = false;
        try
        {
            foreach (var path in new[] { Int8GemmPath.Avx2, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx512BW })
                if (Int8Gemm.IsSupported(path)) ConvolutionMatchesScalarReferenceByteForByte(path);
        }
        finally { Int8Gemm.Avx512Epilogue = saved; }
    }
}
