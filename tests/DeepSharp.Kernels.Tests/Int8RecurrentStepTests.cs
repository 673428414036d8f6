using DeepSharp.Kernels;

namespace DeepSharp.Kernels.Tests;

/// <summary>The fused int8 LSTM/GRU steps against their scalar references on every GEMM path and every gate vector width
/// (512-bit where the CPU has it, 256-bit, scalar), odd batch and hidden sizes, padded and unpadded h rows.</summary>
[Collection("KernelThreads")]
public class Int8RecurrentStepTests
{
    static readonly (int B, int H)[] Shapes = [(1, 1), (1, 16), (3, 5), (4, 17), (5, 8), (7, 24), (9, 33), (64, 128), (6, 71)];

    public static TheoryData<Int8GemmPath, int> Cases()
    {
        var data = new TheoryData<Int8GemmPath, int>();
        foreach (var path in new[] { Int8GemmPath.Auto, Int8GemmPath.Scalar, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW, Int8GemmPath.AvxVnni })
            foreach (int bits in new[] { 512, 256, 0 }) data.Add(path, bits);
        return data;
    }

    sealed record Step(byte[] Hq, int Ldh, byte[] Dense, sbyte[] W, float[] Scales, float[] Bias, float[] Gates, float[] H, float[] C, int Zero);

    static Step Make(int batch, int hidden, int gates, int maxA, bool withBias, int seed)
    {
        var rng = new System.Random(seed);
        int G = gates * hidden, ldh = (hidden + 3) / 4 * 4 + (seed % 2) * 4;   // some rows padded beyond the quad
        var dense = new byte[batch * hidden];
        for (int i = 0; i < dense.Length; i++) dense[i] = (byte)rng.Next(0, maxA + 1);
        var hq = new byte[batch * ldh];
        for (int b = 0; b < batch; b++) dense.AsSpan(b * hidden, hidden).CopyTo(hq.AsSpan(b * ldh));
        var w = new sbyte[G * hidden];
        for (int i = 0; i < w.Length; i++) w[i] = (sbyte)rng.Next(-128, 128);
        var scales = Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() * 0.002 + 1e-4)).ToArray();
        var bias = withBias ? Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray() : [];
        var inputGates = Enumerable.Range(0, batch * G).Select(_ => (float)(rng.NextDouble() * 8 - 4)).ToArray();
        var h = Enumerable.Range(0, batch * hidden).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var c = Enumerable.Range(0, batch * hidden).Select(_ => (float)(rng.NextDouble() * 6 - 3)).ToArray();
        return new Step(hq, ldh, dense, w, scales, bias, inputGates, h, c, rng.Next(0, maxA + 1));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LstmStepMatchesScalarReference(Int8GemmPath path, int bits)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int saved = Int8Gemm.GateVectorBits;
        try
        {
            Int8Gemm.GateVectorBits = bits;
            int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
            foreach (var (batch, hidden) in Shapes)
                foreach (bool withBias in new[] { false, true })
                    foreach (bool parallel in new[] { false, true })
                    {
                        var s = Make(batch, hidden, 4, maxA, withBias, batch * 131 + hidden);
                        float hScale = 0.0123f;
                        float[] h0 = (float[])s.H.Clone(), c0 = (float[])s.C.Clone(), hRef = (float[])s.H.Clone(), cRef = (float[])s.C.Clone();
                        Int8Gemm.LstmStepReference(s.Dense, s.W, hScale, s.Zero, s.Scales, s.Bias, s.Gates, hRef, cRef, batch, hidden);
                        Int8Gemm.LstmStep(s.Hq, s.Ldh, Int8Gemm.Pack(s.W, 4 * hidden, hidden), hScale, s.Zero, s.Scales, s.Bias, s.Gates, h0, c0, batch, parallel, path);
                        AssertClose(cRef, c0, $"c: {path} {bits}-bit B={batch} H={hidden} bias={withBias} parallel={parallel}");
                        AssertClose(hRef, h0, $"h: {path} {bits}-bit B={batch} H={hidden} bias={withBias} parallel={parallel}");
                    }
        }
        finally { Int8Gemm.GateVectorBits = saved; }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void GruStepMatchesScalarReference(Int8GemmPath path, int bits)
    {
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int saved = Int8Gemm.GateVectorBits;
        try
        {
            Int8Gemm.GateVectorBits = bits;
            int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
            foreach (var (batch, hidden) in Shapes)
                foreach (bool withBias in new[] { false, true })
                    foreach (bool parallel in new[] { false, true })
                    {
                        var s = Make(batch, hidden, 3, maxA, withBias, batch * 17 + hidden * 3);
                        float hScale = 0.0087f;
                        float[] h0 = (float[])s.H.Clone(), hRef = (float[])s.H.Clone();
                        Int8Gemm.GruStepReference(s.Dense, s.W, hScale, s.Zero, s.Scales, s.Bias, s.Gates, hRef, batch, hidden);
                        Int8Gemm.GruStep(s.Hq, s.Ldh, Int8Gemm.Pack(s.W, 3 * hidden, hidden), hScale, s.Zero, s.Scales, s.Bias, s.Gates, h0, batch, parallel, path);
                        AssertClose(hRef, h0, $"h: {path} {bits}-bit B={batch} H={hidden} bias={withBias} parallel={parallel}");
                    }
        }
        finally { Int8Gemm.GateVectorBits = saved; }
    }

    public static TheoryData<Int8GemmPath> Paths() =>
        new(Int8GemmPath.Auto, Int8GemmPath.Scalar, Int8GemmPath.Avx2Widening, Int8GemmPath.Avx2, Int8GemmPath.Avx512BW, Int8GemmPath.AvxVnni);

    [Theory]
    [MemberData(nameof(Paths))]
    public void FusedInputProjectionEqualsPrecomputedBitForBit(Int8GemmPath path)
    {
        // the overloads taking x_t quantized compute x_t·W_ihᵀ + b_ih inside the step: the same numbers as the projection
        // computed first by MultiplyDequantize and passed as inputGates
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int maxA = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW ? 127 : 255;
        foreach (bool lstm in new[] { true, false })
            foreach (var (batch, hidden) in Shapes)
                foreach (int inSize in new[] { 1, 7, 32, 13 })
                    foreach (bool parallel in new[] { false, true })
                    {
                        int gates = lstm ? 4 : 3, G = gates * hidden;
                        var s = Make(batch, hidden, gates, maxA, withBias: (batch + inSize) % 2 == 0, batch * 7 + hidden + inSize);
                        var rng = new System.Random(batch + 100 * inSize);
                        int ldx = inSize + (inSize % 3);
                        var xq = new byte[batch * ldx];
                        for (int i = 0; i < xq.Length; i++) xq[i] = (byte)rng.Next(0, maxA + 1);
                        var wih = new sbyte[G * inSize];
                        for (int i = 0; i < wih.Length; i++) wih[i] = (sbyte)rng.Next(-128, 128);
                        var packedIh = Int8Gemm.Pack(wih, G, inSize);
                        var ihScales = Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() * 0.003 + 1e-4)).ToArray();
                        var ihBias = Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
                        float xScale = 0.031f; int xZero = rng.Next(0, maxA + 1);
                        var gx = new float[batch * G];
                        Int8Gemm.MultiplyDequantize(xq, ldx, packedIh, gx, batch, xScale, xZero, ihScales, ihBias, default, false, path);
                        var packedHh = Int8Gemm.Pack(s.W, G, hidden);
                        float[] h1 = (float[])s.H.Clone(), c1 = (float[])s.C.Clone(), h2 = (float[])s.H.Clone(), c2 = (float[])s.C.Clone();
                        var input = new Int8StepInput(xq, ldx, packedIh, xScale, xZero, ihScales, ihBias);
                        if (lstm)
                        {
                            Int8Gemm.LstmStep(s.Hq, s.Ldh, packedHh, 0.01f, s.Zero, s.Scales, s.Bias, gx, h1, c1, batch, parallel, path);
                            Int8Gemm.LstmStep(s.Hq, s.Ldh, packedHh, 0.01f, s.Zero, s.Scales, s.Bias, input, h2, c2, batch, parallel, path);
                        }
                        else
                        {
                            Int8Gemm.GruStep(s.Hq, s.Ldh, packedHh, 0.01f, s.Zero, s.Scales, s.Bias, gx, h1, batch, parallel, path);
                            Int8Gemm.GruStep(s.Hq, s.Ldh, packedHh, 0.01f, s.Zero, s.Scales, s.Bias, input, h2, batch, parallel, path);
                        }
                        string what = $"{(lstm ? "LSTM" : "GRU")} {path} B={batch} H={hidden} I={inSize} parallel={parallel}";
                        Assert.True(h1.AsSpan().SequenceEqual(h2), "h: " + what);
                        Assert.True(c1.AsSpan().SequenceEqual(c2), "c: " + what);
                    }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void LstmStepFromFloatMatchesQuantizeThenStepAndTheReference(Int8GemmPath path, int bits)
    {
        // h_{t−1} given as floats (rows ldPrev apart) and quantized inside the step, h_t written to rows ldOut apart:
        // bit for bit the quantize-then-step path (QuantizeU8, then LstmStep with the fused input), within 2e-6 of the
        // scalar references (QuantizeU8Reference, DequantizeReference for the input projection, LstmStepReference),
        // and the returned range is the min/max of h_t
        if (!Int8Gemm.IsSupported(path)) Assert.Skip($"{path} is not supported on this CPU");
        int saved = Int8Gemm.GateVectorBits;
        try
        {
            Int8Gemm.GateVectorBits = bits;
            // vpmaddubsw paths need 7-bit h_q: a zero point and scale that keep every quantized h at most 127
            bool sevenBit = path is Int8GemmPath.Avx2 or Int8GemmPath.Avx512BW;
            foreach (var (batch, hidden) in Shapes)
                foreach (int inSize in new[] { 1, 7, 32 })
                    foreach (bool parallel in new[] { false, true })
                    {
                        int G = 4 * hidden, seed = batch * 31 + hidden * 7 + inSize;
                        var s = Make(batch, hidden, 4, 127, withBias: seed % 2 == 0, seed);
                        var rng = new System.Random(seed);
                        int ldPrev = hidden + seed % 3, ldOut = hidden + (seed + 1) % 4, ldx = inSize + inSize % 3;
                        var prev = new float[batch * ldPrev];
                        for (int i = 0; i < prev.Length; i++) prev[i] = (float)(rng.NextDouble() * 2 - 1);
                        float hScale = sevenBit ? 2f / 127 : 2f / 255 * (float)(0.5 + rng.NextDouble());
                        int hZero = sevenBit ? 63 : rng.Next(100, 156);
                        var xq = new byte[batch * ldx];
                        for (int i = 0; i < xq.Length; i++) xq[i] = (byte)rng.Next(0, (sevenBit ? 127 : 255) + 1);
                        var wih = new sbyte[G * inSize];
                        for (int i = 0; i < wih.Length; i++) wih[i] = (sbyte)rng.Next(-128, 128);
                        var packedIh = Int8Gemm.Pack(wih, G, inSize);
                        var ihScales = Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() * 0.003 + 1e-4)).ToArray();
                        var ihBias = seed % 3 == 0 ? [] : Enumerable.Range(0, G).Select(_ => (float)(rng.NextDouble() - 0.5)).ToArray();
                        float xScale = 0.031f; int xZero = rng.Next(0, 128);
                        var packedHh = Int8Gemm.Pack(s.W, G, hidden);
                        var input = new Int8StepInput(xq, ldx, packedIh, xScale, xZero, ihScales, ihBias);
                        string what = $"{path} {bits}-bit B={batch} H={hidden} I={inSize} parallel={parallel}";

                        // quantize, then the step
                        int ldh = (hidden + 3) / 4 * 4;
                        var hq = new byte[batch * ldh];
                        var dense = new byte[batch * hidden];
                        var hPrevDense = new float[batch * hidden];
                        for (int b = 0; b < batch; b++)
                        {
                            Int8Quantize.QuantizeU8(prev.AsSpan(b * ldPrev, hidden), 1f / hScale, hZero, hq.AsSpan(b * ldh, hidden));
                            Int8Quantize.QuantizeU8Reference(prev.AsSpan(b * ldPrev, hidden), 1f / hScale, hZero, dense.AsSpan(b * hidden, hidden));
                            prev.AsSpan(b * ldPrev, hidden).CopyTo(hPrevDense.AsSpan(b * hidden));
                        }
                        float[] h1 = (float[])hPrevDense.Clone(), c1 = (float[])s.C.Clone();
                        Int8Gemm.LstmStep(hq, ldh, packedHh, hScale, hZero, s.Scales, s.Bias, input, h1, c1, batch, parallel, path);

                        var c2 = (float[])s.C.Clone();
                        var hOut = Enumerable.Repeat(-7f, batch * ldOut).ToArray();
                        var (min, max) = Int8Gemm.LstmStepFromFloat(prev, ldPrev, hScale, hZero, packedHh, s.Scales, s.Bias, input, c2, hOut, ldOut, batch, parallel, path);
                        Assert.True(c1.AsSpan().SequenceEqual(c2), "c: " + what);
                        for (int b = 0; b < batch; b++)
                        {
                            Assert.True(h1.AsSpan(b * hidden, hidden).SequenceEqual(hOut.AsSpan(b * ldOut, hidden)), $"h row {b}: {what}");
                            for (int j = hidden; j < ldOut && b * ldOut + j < hOut.Length; j++) Assert.Equal(-7f, hOut[b * ldOut + j]);
                        }
                        Assert.Equal(h1.Min(), min);
                        Assert.Equal(h1.Max(), max);

                        // the scalar references
                        var gx = new float[batch * G];
                        var xDense = new byte[batch * inSize];
                        for (int b = 0; b < batch; b++) xq.AsSpan(b * ldx, inSize).CopyTo(xDense.AsSpan(b * inSize));
                        Int8Gemm.DequantizeReference(xDense, wih, gx, batch, G, inSize, xScale, xZero, ihScales, ihBias, default);
                        float[] hRef = (float[])hPrevDense.Clone(), cRef = (float[])s.C.Clone();
                        Int8Gemm.LstmStepReference(dense, s.W, hScale, hZero, s.Scales, s.Bias, gx, hRef, cRef, batch, hidden);
                        AssertClose(cRef, c2, "c vs reference: " + what);
                        AssertClose(hRef, h1, "h vs reference: " + what);
                    }
        }
        finally { Int8Gemm.GateVectorBits = saved; }
    }

    [Fact]
    public void LstmStepFromFloatInPlaceRangeNaNAndBadShapes()
    {
        // h_t written over h_{t−1} (the same rows) equals writing it elsewhere; a NaN in h_t makes both ends of the range NaN
        int batch = 9, hidden = 21, G = 4 * hidden;
        var s = Make(batch, hidden, 4, 127, true, 5);
        var whh = Int8Gemm.Pack(s.W, G, hidden);
        var xq = new byte[batch * 4];
        var wih = Int8Gemm.Pack(new sbyte[G * 3], G, 3);
        var ihScales = Enumerable.Repeat(0.01f, G).ToArray();
        Int8StepInput In() => new(xq, 4, wih, 0.1f, 3, ihScales, default);
        var input = In();
        float[] h = (float[])s.H.Clone(), c1 = (float[])s.C.Clone(), c2 = (float[])s.C.Clone(), hOut = new float[batch * hidden];
        var r1 = Int8Gemm.LstmStepFromFloat(h, hidden, 2f / 127, 64, whh, s.Scales, s.Bias, input, c1, hOut, hidden, batch);
        var r2 = Int8Gemm.LstmStepFromFloat(h, hidden, 2f / 127, 64, whh, s.Scales, s.Bias, input, c2, h, hidden, batch, parallel: true);
        Assert.True(hOut.AsSpan().SequenceEqual(h));
        Assert.Equal(r1, r2);
        c1[batch * hidden - 3] = float.NaN;
        var r3 = Int8Gemm.LstmStepFromFloat(h, hidden, 2f / 127, 64, whh, s.Scales, s.Bias, input, c1, hOut, hidden, batch, parallel: true);
        Assert.True(float.IsNaN(r3.Min) && float.IsNaN(r3.Max));
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStepFromFloat(h, hidden, 2f / 127, 64, whh, s.Scales, s.Bias, In(), c1, new float[batch * hidden - 1], hidden, batch));
        Assert.Contains("hOut has", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStepFromFloat(h, hidden - 1, 2f / 127, 64, whh, s.Scales, s.Bias, In(), c1, hOut, hidden, batch));
        Assert.Contains("ldPrev", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStepFromFloat(h, hidden, 0f, 64, whh, s.Scales, s.Bias, In(), c1, hOut, hidden, batch));
        Assert.Contains("hScale", e.Message);
    }

    [Fact]
    public void FusedInputRejectsBadShapes()
    {
        var w = Int8Gemm.Pack(new sbyte[16 * 4], 16, 4);
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[8], 4, w, 1f, 0, new float[16], default,
            new Int8StepInput(new byte[6], 3, Int8Gemm.Pack(new sbyte[12 * 3], 12, 3), 1f, 0, new float[12], default), new float[8], new float[8], 2));
        Assert.Contains("W_ih has 12 outputs", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[8], 4, w, 1f, 0, new float[16], default,
            new Int8StepInput(new byte[5], 3, Int8Gemm.Pack(new sbyte[16 * 3], 16, 3), 1f, 0, new float[16], default), new float[8], new float[8], 2));
        Assert.Contains("the input has 5 bytes", e.Message);
    }

    [Fact]
    public void GatesSaturateAndPropagateNaN()
    {
        // huge pre-activations: σ → 1 and tanh → ±1 exactly, σ → 0 within 1e-37 (the argument of e^x is clamped to ±87),
        // no NaN from ∞/∞; a NaN input gate stays NaN
        int hidden = 20, G = 4 * hidden;
        foreach (int bits in new[] { 512, 256, 0 })
        {
            int saved = Int8Gemm.GateVectorBits;
            try
            {
                Int8Gemm.GateVectorBits = bits;
                var gates = new float[G];
                for (int j = 0; j < G; j++) gates[j] = j % 2 == 0 ? 1e30f : -1e30f;
                gates[3 * hidden + 5] = float.NaN;
                var h = new float[hidden]; var c = Enumerable.Repeat(2f, hidden).ToArray();
                Int8Gemm.LstmStep(new byte[hidden + 4], (hidden + 3) / 4 * 4, Int8Gemm.Pack(new sbyte[G * hidden], G, hidden), 0.1f, 0,
                    Enumerable.Repeat(0.01f, G).ToArray(), default, gates, h, c, 1);
                for (int j = 0; j < hidden; j++)
                {
                    // even j: i, f, g, o all saturate to 1 → c = 2 + 1 = 3, h = tanh(3); odd j: all 0 / −1 → c = 0, h = 0
                    Assert.Equal(j % 2 == 0 ? 3f : 0f, c[j], 1e-37f);
                    if (j == 5) Assert.True(float.IsNaN(h[j]), $"{bits}-bit: NaN gate gave {h[j]}");
                    else Assert.Equal(j % 2 == 0 ? MathF.Tanh(3f) : 0f, h[j], 1e-6f);
                }
            }
            finally { Int8Gemm.GateVectorBits = saved; }
        }
    }

    [Fact]
    public void StepsRejectBadShapes()
    {
        var w = Int8Gemm.Pack(new sbyte[16 * 4], 16, 4);
        var e = Assert.Throws<ArgumentException>(() => Int8Gemm.GruStep(new byte[8], 4, w, 1f, 0, new float[16], default, new float[32], new float[8], 2));
        Assert.Contains("expected 3·H", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[8], 4, w, 1f, 0, new float[16], default, new float[31], new float[8], new float[8], 2));
        Assert.Contains("inputGates has 31", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[8], 4, w, 1f, 0, new float[16], default, new float[32], new float[8], new float[7], 2));
        Assert.Contains("c has 7", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[7], 4, w, 1f, 0, new float[16], default, new float[32], new float[8], new float[8], 2));
        Assert.Contains("hq has 7", e.Message);
        e = Assert.Throws<ArgumentException>(() => Int8Gemm.LstmStep(new byte[8], 4, w, 1f, 0, new float[15], default, new float[32], new float[8], new float[8], 2));
        Assert.Contains("15 weight scales", e.Message);
    }

    [Fact]
    public void MinMaxMatchesReference()
    {
        var rng = new System.Random(5);
        foreach (int n in new[] { 0, 1, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 1000 })
        {
            var x = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 200 - 100)).ToArray();
            Assert.Equal(Int8Quantize.MinMaxReference(x), Int8Quantize.MinMax(x));
            if (n == 0) { Assert.Equal((0f, 0f), Int8Quantize.MinMax(x)); continue; }
            // extremes at every position, NaN anywhere
            for (int at = 0; at < n; at += Math.Max(1, n / 9))
            {
                var y = (float[])x.Clone(); y[at] = -1e9f; y[n - 1 - at] = 1e9f;
                Assert.Equal(Int8Quantize.MinMaxReference(y), Int8Quantize.MinMax(y));
                y[at] = float.NaN;
                var (lo, hi) = Int8Quantize.MinMax(y);
                Assert.True(float.IsNaN(lo) && float.IsNaN(hi), $"n={n}: NaN at {at} gave ({lo}, {hi})");
            }
        }
    }

    static void AssertClose(float[] expected, float[] actual, string what)
    {
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 2e-6f + 2e-6f * Math.Abs(expected[i]),
                $"{what}: element {i} is {actual[i]}, reference {expected[i]}");
    }
}
