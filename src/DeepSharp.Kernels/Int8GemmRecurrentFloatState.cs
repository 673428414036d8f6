using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// The LSTM step of a whole dynamic-int8 layer (DeepSharp.Quantization's DynamicQuantizedLSTM) with every per-step pass
// folded into the row-group tasks: each task quantizes its own ≤ 4 rows of h_{t−1} (float, with the step's per-tensor
// scale and zero point) into a thread-local buffer, runs both int8 GEMMs (x_t·W_ihᵀ and h_q·W_hhᵀ), dequantizes both
// tiles in one pass into the L1 gate scratch, applies the gates, writes h_t straight to its (strided) place in the
// layer output and c_t in place, and records the min/max of its h_t rows, from which the caller chooses the next step's
// parameters. So a step makes no separate min/max, quantization or output-copy pass over B × H.
public static unsafe partial class Int8Gemm
{
    /// <summary>
    /// One LSTM step (as <see cref="LstmStep(ReadOnlySpan{byte}, int, PackedInt8Weights, float, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Int8StepInput, Span{float}, Span{float}, int, bool, Int8GemmPath)"/>,
    /// the same numbers) taking h_{t−1} as floats: <paramref name="hPrev"/> (B rows, <paramref name="ldPrev"/> floats
    /// apart) is quantized inside the step as <see cref="Int8Quantize.QuantizeU8"/> does with 1/<paramref name="hScale"/>,
    /// <paramref name="hZeroPoint"/> and the range [0, 255]; h_t is written to <paramref name="hOut"/> (B rows,
    /// <paramref name="ldOut"/> floats apart; it may be <paramref name="hPrev"/> itself) and c_t over <paramref name="c"/>
    /// (B × H). Returns the smallest and largest element of h_t (both NaN when one is NaN), the range the next step's
    /// per-tensor parameters are chosen from. Scalar reference: <see cref="Int8Quantize.QuantizeU8Reference"/> then
    /// <see cref="LstmStepReference"/> with the input projection from <see cref="DequantizeReference"/>.
    /// </summary>
    public static (float Min, float Max) LstmStepFromFloat(ReadOnlySpan<float> hPrev, int ldPrev, float hScale, int hZeroPoint,
        PackedInt8Weights whh, ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, Int8StepInput input,
        Span<float> c, Span<float> hOut, int ldOut, int batch, bool parallel = false, Int8GemmPath path = Int8GemmPath.Auto)
    {
        const string who = "Int8Gemm.LstmStepFromFloat";
        ArgumentNullException.ThrowIfNull(whh);
        int H = whh.K, G = whh.N;
        if (G != 4 * H) throw new ArgumentException($"{who}: W_hh is {G}×{H}, expected 4·H × H", nameof(whh));
        if (batch < 0) throw new ArgumentException($"{who}: batch ({batch}) must not be negative", nameof(batch));
        if (ldPrev < H || ldOut < H) throw new ArgumentException($"{who}: ldPrev ({ldPrev}) and ldOut ({ldOut}) must be at least H ({H})", nameof(ldPrev));
        if (batch > 0 && hPrev.Length < (long)(batch - 1) * ldPrev + H) throw new ArgumentException($"{who}: hPrev has {hPrev.Length} elements, {batch} rows of ld {ldPrev} need {(long)(batch - 1) * ldPrev + H}", nameof(hPrev));
        if (batch > 0 && hOut.Length < (long)(batch - 1) * ldOut + H) throw new ArgumentException($"{who}: hOut has {hOut.Length} elements, {batch} rows of ld {ldOut} need {(long)(batch - 1) * ldOut + H}", nameof(hOut));
        if (c.Length < (long)batch * H) throw new ArgumentException($"{who}: c has {c.Length} elements, B×H = {batch}×{H} needs {(long)batch * H}", nameof(c));
        if (weightScales.Length != G || (!bias.IsEmpty && bias.Length != G))
            throw new ArgumentException($"{who}: {weightScales.Length} weight scales / {bias.Length} biases for {G} gate outputs", nameof(weightScales));
        if (!(hScale > 0) || float.IsInfinity(1f / hScale)) throw new ArgumentException($"{who}: hScale ({hScale}) must be positive with a finite reciprocal", nameof(hScale));
        if (hZeroPoint is < 0 or > 255) throw new ArgumentException($"{who}: hZeroPoint ({hZeroPoint}) must be in [0, 255]", nameof(hZeroPoint));
        input.Check(who, G, batch);
        if (batch == 0) return (0f, 0f);
        if (path != Int8GemmPath.Auto && !IsSupported(path)) throw new PlatformNotSupportedException($"{who}: the {path} path is not supported on this CPU");
        int xPadded = input.Weights.KQuads * 4;
        var xq = PadRows(input.Activations, batch, input.Lda, input.Weights.K, xPadded, out var xCopy);
        int groups = (batch + RowsPerTile - 1) / RowsPerTile;
        var scaleArray = System.Buffers.ArrayPool<float>.Shared.Rent(2 * G + 2 * groups);
        try
        {
            var xPath = path == Int8GemmPath.Auto ? (AvxVnni.IsSupported ? Int8GemmPath.AvxVnni : Select(input.Weights, MaxOf(xq[..(batch * xPadded)]))) : path;
            // the combined scales per output, in float32 exactly as MultiplyDequantize and its reference compute them
            System.Numerics.Tensors.TensorPrimitives.Multiply(weightScales, hScale, scaleArray.AsSpan(0, G));
            System.Numerics.Tensors.TensorPrimitives.Multiply(input.WeightScales, input.Scale, scaleArray.AsSpan(G, G));
            fixed (float* scale = scaleArray) fixed (float* prev = hPrev) fixed (sbyte* pb = whh.Data) fixed (int* sums = whh.ColumnSums)
            fixed (float* pbias = bias) fixed (float* ph = hOut) fixed (float* pc = c)
            fixed (byte* pxa = xq) fixed (sbyte* pxb = input.Weights.Data) fixed (int* xsums = input.Weights.ColumnSums) fixed (float* pxbias = input.Bias)
            {
                var body = new FloatStateBody
                {
                    Prev = prev, LdPrev = ldPrev, Inv = 1f / hScale, Zh = hZeroPoint,
                    B = pb, M = batch, N = G, H = H, Quads = whh.KQuads, Path = path, MaxPairAbsSum = whh.MaxPairAbsSum,
                    Sums = sums, Scale = scale, Bias = bias.IsEmpty ? null : pbias, Out = ph, LdOut = ldOut, Cell = pc,
                    VectorBits = GateVectorBits, Range = scale + 2 * G,
                    XA = pxa, XB = pxb, XKPadded = xPadded, XQuads = input.Weights.KQuads, XPath = xPath,
                    XSums = xsums, XScale = scale + G, XBias = input.Bias.IsEmpty ? null : pxbias, Zx = input.ZeroPoint,
                };
                if (parallel && groups > 1) KernelThreadPool.ParallelFor(groups, ref body);
                else for (int g = 0; g < groups; g++) body.Invoke(g);
                float min = body.Range[0], max = body.Range[1];
                for (int g = 1; g < groups; g++)
                {
                    float lo = body.Range[2 * g], hi = body.Range[2 * g + 1];
                    if (float.IsNaN(lo) || float.IsNaN(min)) { min = max = float.NaN; continue; }
                    min = Math.Min(min, lo); max = Math.Max(max, hi);
                }
                return (min, max);
            }
        }
        finally
        {
            if (xCopy != null) System.Buffers.ArrayPool<byte>.Shared.Return(xCopy);
            System.Buffers.ArrayPool<float>.Shared.Return(scaleArray);
        }
    }

    [ThreadStatic] static byte[]? stepQuantized;

    /// <summary>One group of ≤ 4 batch rows of <see cref="LstmStepFromFloat"/>.</summary>
    struct FloatStateBody : IParallelBody
    {
        public float* Prev; public int LdPrev; public float Inv; public int Zh;
        public sbyte* B; public int M, N, H, Quads, MaxPairAbsSum; public Int8GemmPath Path;
        public int* Sums; public float* Scale; public float* Bias;
        public float* Out; public int LdOut; public float* Cell;
        public int VectorBits;
        public float* Range;   // 2 per group: min, max of the group's h_t
        public byte* XA; public sbyte* XB; public int XKPadded, XQuads; public Int8GemmPath XPath;
        public int* XSums; public float* XScale; public float* XBias; public int Zx;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int group)
        {
            int r0 = group * RowsPerTile, rows = Math.Min(RowsPerTile, M - r0);
            int kPadded = Quads * 4;
            var scratch = stepScratch;
            if (scratch == null || scratch.Length < 2 * RowsPerTile * N) stepScratch = scratch = new float[2 * RowsPerTile * N];
            var quantized = stepQuantized;
            if (quantized == null || quantized.Length < RowsPerTile * kPadded) stepQuantized = quantized = new byte[RowsPerTile * kPadded];
            int* xt = stackalloc int[RowsPerTile * 16];
            int* ht = stackalloc int[RowsPerTile * 16];
            fixed (float* pre = scratch) fixed (byte* hq = quantized)
            {
                // h_{t−1} of these rows, quantized (pad bytes of each row zero)
                int maxA = 0;
                for (int r = 0; r < rows; r++)
                {
                    byte* q = hq + r * kPadded;
                    QuantizeRow(Prev + (long)(r0 + r) * LdPrev, q, H, Inv, Zh);
                    for (int k = H; k < kPadded; k++) q[k] = 0;
                    maxA = Math.Max(maxA, MaxOf(new ReadOnlySpan<byte>(q, H)));
                }
                var path = Path != Int8GemmPath.Auto ? Path
                    : AvxVnni.IsSupported ? Int8GemmPath.AvxVnni
                    : (long)maxA * MaxPairAbsSum <= short.MaxValue && Avx512BW.IsSupported ? Int8GemmPath.Avx512BW
                    : (long)maxA * MaxPairAbsSum <= short.MaxValue && Avx2.IsSupported ? Int8GemmPath.Avx2
                    : Avx2.IsSupported ? Int8GemmPath.Avx2Widening : Int8GemmPath.Scalar;
                byte* a0 = hq, a1 = rows > 1 ? hq + kPadded : a0, a2 = rows > 2 ? hq + 2 * kPadded : a0, a3 = rows > 3 ? hq + 3 * kPadded : a0;
                byte* x0 = XA + (long)r0 * XKPadded;
                byte* x1 = rows > 1 ? x0 + XKPadded : x0, x2 = rows > 2 ? x0 + 2L * XKPadded : x0, x3 = rows > 3 ? x0 + 3L * XKPadded : x0;
                int blocks = (N + 15) / 16;
                // both GEMMs on AVX-512BW with whole 16-output blocks: the tiles stay in registers through the epilogue
                bool registers = Avx512Epilogue && path == Int8GemmPath.Avx512BW && XPath == Int8GemmPath.Avx512BW;
                for (int jb = 0; jb < blocks; jb++)
                {
                    int cols = Math.Min(16, N - jb * 16), at = jb * 16;
                    if (registers && cols == 16)
                    {
                        TileAvx512Dequantize(a0, a1, a2, a3, B + (long)jb * Quads * 64, Quads, x0, x1, x2, x3, XB + (long)jb * XQuads * 64, XQuads,
                            pre + at, N, rows, Sums + at, Scale + at, Bias == null ? null : Bias + at, Zh,
                            XSums + at, XScale + at, XBias == null ? null : XBias + at, Zx);
                        continue;
                    }
                    TileSums(XPath, x0, x1, x2, x3, XB + (long)jb * XQuads * 64, XQuads, xt);
                    TileSums(path, a0, a1, a2, a3, B + (long)jb * Quads * 64, Quads, ht);
                    for (int r = 0; r < rows; r++)
                        DequantizePairRow(ht + r * 16, xt + r * 16, pre + r * N + at, cols, Sums + at, Scale + at, Bias == null ? null : Bias + at, Zh,
                            XSums + at, XScale + at, XBias == null ? null : XBias + at, Zx);
                }
                float min = float.PositiveInfinity, max = float.NegativeInfinity;
                bool nan = false;
                for (int r = 0; r < rows; r++)
                {
                    long row = r0 + r;
                    float* h = Out + row * LdOut;
                    LstmGates(pre + r * N, Cell + row * H, h, H, VectorBits);
                    var (lo, hi) = Int8Quantize.MinMax(new ReadOnlySpan<float>(h, H));
                    if (float.IsNaN(lo)) nan = true;
                    else { min = Math.Min(min, lo); max = Math.Max(max, hi); }
                }
                Range[2 * group] = nan ? float.NaN : min;
                Range[2 * group + 1] = nan ? float.NaN : max;
            }
        }
    }

    /// <summary>
    /// The 4 × 16 tiles of h_q·W_hhᵀ and x_q·W_ihᵀ (AVX-512BW, as <see cref="TileAvx512"/>) and their dequantization into
    /// <paramref name="pre"/> (rows <paramref name="ld"/> floats apart, the first <paramref name="rows"/> written) without
    /// leaving registers: the operations of <see cref="DequantizePairRow"/>, the per-column terms loaded once per tile.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void TileAvx512Dequantize(byte* a0, byte* a1, byte* a2, byte* a3, sbyte* b, int quads,
        byte* x0, byte* x1, byte* x2, byte* x3, sbyte* bx, int xquads, float* pre, int ld, int rows,
        int* hsums, float* hscale, float* hbias, int zh, int* xsums, float* xscale, float* xbias, int zx)
    {
        var ones = Vector512.Create((short)1);
        Vector512<int> h0 = default, h1 = default, h2 = default, h3 = default;
        for (int q = 0; q < quads; q++, b += 64)
        {
            var bv = Avx512F.LoadVector512(b);
            h0 = Avx512F.Add(h0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a0 + q * 4)).AsByte(), bv), ones));
            h1 = Avx512F.Add(h1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a1 + q * 4)).AsByte(), bv), ones));
            h2 = Avx512F.Add(h2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a2 + q * 4)).AsByte(), bv), ones));
            h3 = Avx512F.Add(h3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(a3 + q * 4)).AsByte(), bv), ones));
        }
        Vector512<int> s0 = default, s1 = default, s2 = default, s3 = default;
        for (int q = 0; q < xquads; q++, bx += 64)
        {
            var bv = Avx512F.LoadVector512(bx);
            s0 = Avx512F.Add(s0, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x0 + q * 4)).AsByte(), bv), ones));
            s1 = Avx512F.Add(s1, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x1 + q * 4)).AsByte(), bv), ones));
            s2 = Avx512F.Add(s2, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x2 + q * 4)).AsByte(), bv), ones));
            s3 = Avx512F.Add(s3, Avx512BW.MultiplyAddAdjacent(Avx512BW.MultiplyAddAdjacent(Vector512.Create(*(int*)(x3 + q * 4)).AsByte(), bv), ones));
        }
        var zhs = Avx512F.MultiplyLow(Vector512.Create(zh), Avx512F.LoadVector512(hsums));
        var zxs = Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(xsums));
        var sh = Avx512F.LoadVector512(hscale); var sx = Avx512F.LoadVector512(xscale);
        bool hasHb = hbias != null, hasXb = xbias != null;
        var hb = hasHb ? Avx512F.LoadVector512(hbias) : default; var xb = hasXb ? Avx512F.LoadVector512(xbias) : default;
        DequantizeTileRow(h0, s0, pre, zhs, sh, hasHb, hb, zxs, sx, hasXb, xb);
        if (rows > 1) DequantizeTileRow(h1, s1, pre + ld, zhs, sh, hasHb, hb, zxs, sx, hasXb, xb);
        if (rows > 2) DequantizeTileRow(h2, s2, pre + 2 * ld, zhs, sh, hasHb, hb, zxs, sx, hasXb, xb);
        if (rows > 3) DequantizeTileRow(h3, s3, pre + 3 * ld, zhs, sh, hasHb, hb, zxs, sx, hasXb, xb);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void DequantizeTileRow(Vector512<int> h, Vector512<int> x, float* output, Vector512<int> zhs, Vector512<float> sh, bool hasHb, Vector512<float> hb,
        Vector512<int> zxs, Vector512<float> sx, bool hasXb, Vector512<float> xb)
    {
        var yh = Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(h, zhs)), sh);
        if (hasHb) yh = Avx512F.Add(yh, hb);
        var yx = Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(x, zxs)), sx);
        if (hasXb) yx = Avx512F.Add(yx, xb);
        Avx512F.Add(yh, yx).Store(output);
    }

    /// <summary>q[i] = clamp(zp + round_half_even(x[i]·inv), 0, 255), the operations of <see cref="Int8Quantize.QuantizeU8"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void QuantizeRow(float* x, byte* q, int n, float inv, int zp)
    {
        int i = 0;
        if (Avx512F.IsSupported && Avx512BW.IsSupported)
        {
            var vinv = Vector512.Create(inv); var vzp = Vector512.Create((float)zp);
            var vlo = Vector512<float>.Zero; var vhi = Vector512.Create(255f);
            for (; i + 16 <= n; i += 16)
            {
                var v = Avx512F.Min(Avx512F.Max(Avx512F.Add(vzp, Avx512F.RoundScale(Avx512F.Multiply(Avx512F.LoadVector512(x + i), vinv), 0)), vlo), vhi);
                Avx512F.ConvertToVector128Byte(Avx512F.ConvertToVector512Int32(v)).Store(q + i);
            }
        }
        for (; i < n; i++)
        {
            float v = zp + MathF.Round(x[i] * inv);
            q[i] = (byte)(v < 0 ? 0 : v > 255 ? 255 : (int)v);
        }
    }

    /// <summary>Both tiles of one row dequantized and summed in ATen's order: ((h − z_h·Σw_hh)·s_h·s_hh + b_hh) +
    /// ((x − z_x·Σw_ih)·s_x·s_ih + b_ih), the operations of two <see cref="DequantizeRow"/> calls.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void DequantizePairRow(int* h, int* x, float* output, int cols, int* hsums, float* hscale, float* hbias, int zh,
        int* xsums, float* xscale, float* xbias, int zx)
    {
        if (Avx512Epilogue && cols == 16)
        {
            var yh = Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(Avx512F.LoadVector512(h),
                Avx512F.MultiplyLow(Vector512.Create(zh), Avx512F.LoadVector512(hsums)))), Avx512F.LoadVector512(hscale));
            if (hbias != null) yh = Avx512F.Add(yh, Avx512F.LoadVector512(hbias));
            var yx = Avx512F.Multiply(Avx512F.ConvertToVector512Single(Avx512F.Subtract(Avx512F.LoadVector512(x),
                Avx512F.MultiplyLow(Vector512.Create(zx), Avx512F.LoadVector512(xsums)))), Avx512F.LoadVector512(xscale));
            if (xbias != null) yx = Avx512F.Add(yx, Avx512F.LoadVector512(xbias));
            Avx512F.Add(yh, yx).Store(output);
            return;
        }
        for (int j = 0; j < cols; j++)
        {
            float yh = (h[j] - zh * hsums[j]) * hscale[j];
            if (hbias != null) yh += hbias[j];
            float yx = (x[j] - zx * xsums[j]) * xscale[j];
            if (xbias != null) yx += xbias[j];
            output[j] = yh + yx;
        }
    }
}
