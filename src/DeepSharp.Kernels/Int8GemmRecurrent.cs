using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// One step of a dynamic-int8 recurrent cell in one pass (the per-step work of ATen's quantized_lstm / quantized_gru):
// the int8 GEMM h_q·W_hhᵀ (int32 sums), its dequantizing epilogue (zero point, sA·sW[n], b_hh, for the LSTM + the input
// projection), then the gate non-linearities and the state update, 4 batch rows at a time so the gate pre-activations
// (4 × gates·H floats) never leave L1. h and c are updated in place (the GEMM reads the quantized copy of h).
public static unsafe partial class Int8Gemm
{
    /// <summary>
    /// One LSTM step with int8 recurrent weights: gates = (dequantize(h_q·W_hhᵀ) + b_hh) + inputGates (ATen's order of the sum,
    /// inputGates = x_t·W_ihᵀ + b_ih, B × 4H, gate order i, f, g, o), then c = σ(f)·c + σ(i)·tanh(g) and h = σ(o)·tanh(c),
    /// written over <paramref name="h"/> and <paramref name="c"/> (B × H). <paramref name="hq"/> holds h_{t−1} quantized
    /// (B rows, <paramref name="ldh"/> bytes apart: K rounded up to a multiple of 4 with zero pad bytes is used in place).
    /// <paramref name="parallel"/> splits the batch rows across <see cref="KernelThreadPool"/> (for large batches only).
    /// Scalar reference: <see cref="LstmStepReference"/>.
    /// </summary>
    public static void LstmStep(ReadOnlySpan<byte> hq, int ldh, PackedInt8Weights whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputGates, Span<float> h, Span<float> c,
        int batch, bool parallel = false, Int8GemmPath path = Int8GemmPath.Auto) =>
        RecurrentStep(true, hq, ldh, whh, hScale, hZeroPoint, weightScales, bias, inputGates, h, c, batch, parallel, path);

    /// <summary>
    /// One GRU step with int8 recurrent weights: hg = dequantize(h_q·W_hhᵀ) + b_hh (B × 3H, gate order r, z, n), r = σ(x_r + hg_r),
    /// z = σ(x_z + hg_z), n = tanh(x_n + r·hg_n), h' = (h − n)·z + n (ATen's quantized GRU cell), written over
    /// <paramref name="h"/>; <paramref name="inputGates"/> = x_t·W_ihᵀ + b_ih (B × 3H). Scalar reference: <see cref="GruStepReference"/>.
    /// </summary>
    public static void GruStep(ReadOnlySpan<byte> hq, int ldh, PackedInt8Weights whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputGates, Span<float> h,
        int batch, bool parallel = false, Int8GemmPath path = Int8GemmPath.Auto) =>
        RecurrentStep(false, hq, ldh, whh, hScale, hZeroPoint, weightScales, bias, inputGates, h, default, batch, parallel, path);

    /// <summary>
    /// <see cref="LstmStep(ReadOnlySpan{byte}, int, PackedInt8Weights, float, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, Span{float}, int, bool, Int8GemmPath)"/>
    /// with the input projection x_t·W_ihᵀ + b_ih computed inside the step from the quantized x_t (<paramref name="input"/>),
    /// tile by tile into the same L1 scratch, instead of read from a T·B × 4H buffer: the same numbers bit for bit.
    /// </summary>
    public static void LstmStep(ReadOnlySpan<byte> hq, int ldh, PackedInt8Weights whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, Int8StepInput input, Span<float> h, Span<float> c,
        int batch, bool parallel = false, Int8GemmPath path = Int8GemmPath.Auto) =>
        RecurrentStep(true, hq, ldh, whh, hScale, hZeroPoint, weightScales, bias, default, h, c, batch, parallel, path, input, true);

    /// <summary><see cref="GruStep(ReadOnlySpan{byte}, int, PackedInt8Weights, float, int, ReadOnlySpan{float}, ReadOnlySpan{float}, ReadOnlySpan{float}, Span{float}, int, bool, Int8GemmPath)"/>
    /// with the input projection computed inside the step (see the LSTM overload).</summary>
    public static void GruStep(ReadOnlySpan<byte> hq, int ldh, PackedInt8Weights whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, Int8StepInput input, Span<float> h,
        int batch, bool parallel = false, Int8GemmPath path = Int8GemmPath.Auto) =>
        RecurrentStep(false, hq, ldh, whh, hScale, hZeroPoint, weightScales, bias, default, h, default, batch, parallel, path, input, true);

    /// <summary>Scalar reference of the LSTM step (<c>LstmStep</c>) (W_hh unpacked, 4H × H row-major; h_q B × H dense).</summary>
    public static void LstmStepReference(ReadOnlySpan<byte> hq, ReadOnlySpan<sbyte> whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputGates, Span<float> h, Span<float> c, int batch, int hidden)
    {
        int H = hidden, G = 4 * H;
        var gates = new float[batch * G];
        DequantizeReference(hq, whh, gates, batch, G, H, hScale, hZeroPoint, weightScales, bias, inputGates);
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < H; j++)
            {
                int at = b * G + j;
                float i = SigmoidScalar(gates[at]), f = SigmoidScalar(gates[at + H]), g = MathF.Tanh(gates[at + 2 * H]), o = SigmoidScalar(gates[at + 3 * H]);
                float cv = f * c[b * H + j] + i * g;
                c[b * H + j] = cv;
                h[b * H + j] = o * MathF.Tanh(cv);
            }
    }

    /// <summary>Scalar reference of the GRU step (<c>GruStep</c>) (W_hh unpacked, 3H × H row-major; h_q B × H dense).</summary>
    public static void GruStepReference(ReadOnlySpan<byte> hq, ReadOnlySpan<sbyte> whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputGates, Span<float> h, int batch, int hidden)
    {
        int H = hidden, G = 3 * H;
        var hg = new float[batch * G];
        DequantizeReference(hq, whh, hg, batch, G, H, hScale, hZeroPoint, weightScales, bias, default);
        for (int b = 0; b < batch; b++)
            for (int j = 0; j < H; j++)
            {
                int at = b * G + j;
                float r = SigmoidScalar(hg[at] + inputGates[at]), z = SigmoidScalar(hg[at + H] + inputGates[at + H]);
                float n = MathF.Tanh(inputGates[at + 2 * H] + r * hg[at + 2 * H]);
                h[b * H + j] = (h[b * H + j] - n) * z + n;
            }
    }

    static float SigmoidScalar(float x) => 1f / (1f + MathF.Exp(-x));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void RecurrentStep(bool lstm, ReadOnlySpan<byte> hq, int ldh, PackedInt8Weights whh, float hScale, int hZeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias, ReadOnlySpan<float> inputGates, Span<float> h, Span<float> c,
        int batch, bool parallel, Int8GemmPath path, Int8StepInput input = default, bool fusedInput = false)
    {
        string who = lstm ? "Int8Gemm.LstmStep" : "Int8Gemm.GruStep";
        int gates = lstm ? 4 : 3, H = whh.K, G = whh.N;
        if (G != gates * H) throw new ArgumentException($"{who}: W_hh is {G}×{H}, expected {gates}·H × H", nameof(whh));
        if (batch < 0) throw new ArgumentException($"{who}: batch ({batch}) must not be negative", nameof(batch));
        if (ldh < H) throw new ArgumentException($"{who}: ldh ({ldh}) is smaller than H ({H})", nameof(ldh));
        if (batch > 0 && hq.Length < (long)(batch - 1) * ldh + H) throw new ArgumentException($"{who}: hq has {hq.Length} bytes, {batch} rows of ldh {ldh} need {(long)(batch - 1) * ldh + H}", nameof(hq));
        if (weightScales.Length != G || (!bias.IsEmpty && bias.Length != G))
            throw new ArgumentException($"{who}: {weightScales.Length} weight scales / {bias.Length} biases for {G} gate outputs", nameof(weightScales));
        if (fusedInput) input.Check(who, G, batch);
        else if (inputGates.Length < (long)batch * G) throw new ArgumentException($"{who}: inputGates has {inputGates.Length} elements, B×{gates}H = {batch}×{G} needs {(long)batch * G}", nameof(inputGates));
        if (h.Length < (long)batch * H) throw new ArgumentException($"{who}: h has {h.Length} elements, B×H = {batch}×{H} needs {(long)batch * H}", nameof(h));
        if (lstm && c.Length < (long)batch * H) throw new ArgumentException($"{who}: c has {c.Length} elements, B×H = {batch}×{H} needs {(long)batch * H}", nameof(c));
        if (batch == 0) return;
        int kPadded = whh.KQuads * 4, xPadded = fusedInput ? input.Weights.KQuads * 4 : 0;
        hq = PadRows(hq, batch, ldh, H, kPadded, out var copy);
        byte[]? xCopy = null;
        var xq = fusedInput ? PadRows(input.Activations, batch, input.Lda, input.Weights.K, xPadded, out xCopy) : default;
        float[]? scaleArray = null;
        try
        {
            var xPath = path;
            if (path == Int8GemmPath.Auto)
            {
                path = AvxVnni.IsSupported ? Int8GemmPath.AvxVnni : Select(whh, MaxOf(hq[..(batch * kPadded)]));
                if (fusedInput) xPath = AvxVnni.IsSupported ? Int8GemmPath.AvxVnni : Select(input.Weights, MaxOf(xq[..(batch * xPadded)]));
            }
            if (!IsSupported(path)) throw new PlatformNotSupportedException($"{who}: the {path} path is not supported on this CPU");
            // the combined scales per output, in float32 exactly as MultiplyDequantize and its reference compute them
            scaleArray = System.Buffers.ArrayPool<float>.Shared.Rent(2 * G);
            for (int j = 0; j < G; j++) scaleArray[j] = hScale * weightScales[j];
            if (fusedInput) for (int j = 0; j < G; j++) scaleArray[G + j] = input.Scale * input.WeightScales[j];
            fixed (float* scale = scaleArray) fixed (byte* pa = hq) fixed (sbyte* pb = whh.Data) fixed (int* sums = whh.ColumnSums)
            fixed (float* pbias = bias) fixed (float* px = inputGates) fixed (float* ph = h) fixed (float* pc = c)
            fixed (byte* pxa = xq) fixed (sbyte* pxb = fusedInput ? input.Weights.Data : null) fixed (int* xsums = fusedInput ? input.Weights.ColumnSums : null)
            fixed (float* pxbias = input.Bias)
            {
                var body = new StepBody
                {
                    A = pa, B = pb, M = batch, N = G, H = H, KPadded = kPadded, Quads = whh.KQuads, Path = path, Sums = sums, Scale = scale,
                    Bias = bias.IsEmpty ? null : pbias, Zx = hZeroPoint, InputGates = px, Hidden = ph, Cell = lstm ? pc : null,
                    VectorBits = GateVectorBits,
                    XA = fusedInput ? pxa : null, XB = pxb, XKPadded = xPadded, XQuads = fusedInput ? input.Weights.KQuads : 0, XPath = xPath,
                    XSums = xsums, XScale = scale + G, XBias = input.Bias.IsEmpty ? null : pxbias, XZ = input.ZeroPoint,
                };
                int groups = (batch + RowsPerTile - 1) / RowsPerTile;
                if (parallel && groups > 1) KernelThreadPool.ParallelFor(groups, ref body);
                else for (int g = 0; g < groups; g++) body.Invoke(g);
            }
        }
        finally
        {
            if (copy != null) System.Buffers.ArrayPool<byte>.Shared.Return(copy);
            if (xCopy != null) System.Buffers.ArrayPool<byte>.Shared.Return(xCopy);
            if (scaleArray != null) System.Buffers.ArrayPool<float>.Shared.Return(scaleArray);
        }
    }

    [ThreadStatic] static float[]? stepScratch;

    /// <summary>Widest vector the gate epilogue uses: 512 where Vector512 is hardware-accelerated, else 256 (tests lower it
    /// to hold the 256-bit and scalar loops against the reference on an AVX-512 machine).</summary>
    internal static int GateVectorBits = Vector512.IsHardwareAccelerated && Avx512F.IsSupported ? 512 : Avx2.IsSupported && Fma.IsSupported ? 256 : 0;

    /// <summary>One group of ≤ 4 batch rows: every 16-output tile of the recurrent GEMM, dequantized into a row-group scratch
    /// (4 × G floats), then the gates of those rows.</summary>
    struct StepBody : IParallelBody
    {
        public byte* A; public sbyte* B; public int M, N, H, KPadded, Quads; public Int8GemmPath Path;
        public int* Sums; public float* Scale; public float* Bias; public int Zx;
        public float* InputGates, Hidden, Cell;   // Cell null: GRU
        public int VectorBits;
        // the fused input projection (XA non-null): x_t rows, packed W_ih, its paths, sums, combined scales, b_ih, zero point
        public byte* XA; public sbyte* XB; public int XKPadded, XQuads; public Int8GemmPath XPath;
        public int* XSums; public float* XScale; public float* XBias; public int XZ;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public void Invoke(int group)
        {
            int r0 = group * RowsPerTile, rows = Math.Min(RowsPerTile, M - r0);
            var scratch = stepScratch;
            if (scratch == null || scratch.Length < 2 * RowsPerTile * N) stepScratch = scratch = new float[2 * RowsPerTile * N];
            int* tile = stackalloc int[RowsPerTile * 16];
            byte* a0 = A + (long)r0 * KPadded;
            byte* a1 = rows > 1 ? a0 + KPadded : a0, a2 = rows > 2 ? a0 + 2L * KPadded : a0, a3 = rows > 3 ? a0 + 3L * KPadded : a0;
            byte* x0 = null, x1 = null, x2 = null, x3 = null;
            if (XA != null)
            {
                x0 = XA + (long)r0 * XKPadded;
                x1 = rows > 1 ? x0 + XKPadded : x0; x2 = rows > 2 ? x0 + 2L * XKPadded : x0; x3 = rows > 3 ? x0 + 3L * XKPadded : x0;
            }
            bool lstm = Cell != null;
            fixed (float* pre = scratch)
            {
                // pre: 4 rows × N of the hidden side (LSTM: the whole gate sum); xg: 4 rows × N of the fused input projection
                float* xg = pre + RowsPerTile * N;
                int blocks = (N + 15) / 16;
                for (int jb = 0; jb < blocks; jb++)
                {
                    int cols = Math.Min(16, N - jb * 16);
                    if (XA != null)
                    {
                        TileSums(XPath, x0, x1, x2, x3, XB + (long)jb * XQuads * 64, XQuads, tile);
                        for (int r = 0; r < rows; r++)
                            DequantizeRow(tile + r * 16, xg + r * N + jb * 16, null, cols, XSums + jb * 16, XScale + jb * 16,
                                XBias == null ? null : XBias + jb * 16, 1f, XZ);
                    }
                    TileSums(Path, a0, a1, a2, a3, B + (long)jb * Quads * 64, Quads, tile);
                    for (int r = 0; r < rows; r++)
                    {
                        float* add = !lstm ? null : XA != null ? xg + r * N + jb * 16 : InputGates + (long)(r0 + r) * N + jb * 16;
                        DequantizeRow(tile + r * 16, pre + r * N + jb * 16, add, cols, Sums + jb * 16, Scale + jb * 16,
                            Bias == null ? null : Bias + jb * 16, 1f, Zx);
                    }
                }
                for (int r = 0; r < rows; r++)
                {
                    long row = r0 + r;
                    if (lstm) LstmGates(pre + r * N, Cell + row * H, Hidden + row * H, H, VectorBits);
                    else GruGates(pre + r * N, XA != null ? xg + r * N : InputGates + row * N, Hidden + row * H, H, VectorBits);
                }
            }
        }
    }

    /// <summary>c = σ(f)·c + σ(i)·tanh(g), h = σ(o)·tanh(c) over one row (pre: i, f, g, o pre-activations, 4H).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void LstmGates(float* pre, float* c, float* h, int H, int bits)
    {
        int j = 0;
        if (bits >= 512 && Avx512F.IsSupported)
            for (; j + 16 <= H; j += 16)
            {
                var i = Sigmoid(Vector512.Load(pre + j)); var f = Sigmoid(Vector512.Load(pre + H + j));
                var g = Tanh(Vector512.Load(pre + 2 * H + j)); var o = Sigmoid(Vector512.Load(pre + 3 * H + j));
                var cv = f * Vector512.Load(c + j) + i * g;
                cv.Store(c + j);
                (o * Tanh(cv)).Store(h + j);
            }
        if (bits >= 256 && Avx2.IsSupported && Fma.IsSupported)
            for (; j + 8 <= H; j += 8)
            {
                var i = Sigmoid(Vector256.Load(pre + j)); var f = Sigmoid(Vector256.Load(pre + H + j));
                var g = Tanh(Vector256.Load(pre + 2 * H + j)); var o = Sigmoid(Vector256.Load(pre + 3 * H + j));
                var cv = f * Vector256.Load(c + j) + i * g;
                cv.Store(c + j);
                (o * Tanh(cv)).Store(h + j);
            }
        for (; j < H; j++)
        {
            float i = SigmoidScalar(pre[j]), f = SigmoidScalar(pre[H + j]), g = MathF.Tanh(pre[2 * H + j]), o = SigmoidScalar(pre[3 * H + j]);
            float cv = f * c[j] + i * g;
            c[j] = cv;
            h[j] = o * MathF.Tanh(cv);
        }
    }

    /// <summary>r = σ(x_r + hg_r), z = σ(x_z + hg_z), n = tanh(x_n + r·hg_n), h = (h − n)·z + n over one row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void GruGates(float* hg, float* x, float* h, int H, int bits)
    {
        int j = 0;
        if (bits >= 512 && Avx512F.IsSupported)
            for (; j + 16 <= H; j += 16)
            {
                var r = Sigmoid(Vector512.Load(hg + j) + Vector512.Load(x + j));
                var z = Sigmoid(Vector512.Load(hg + H + j) + Vector512.Load(x + H + j));
                var n = Tanh(Vector512.Load(x + 2 * H + j) + r * Vector512.Load(hg + 2 * H + j));
                ((Vector512.Load(h + j) - n) * z + n).Store(h + j);
            }
        if (bits >= 256 && Avx2.IsSupported && Fma.IsSupported)
            for (; j + 8 <= H; j += 8)
            {
                var r = Sigmoid(Vector256.Load(hg + j) + Vector256.Load(x + j));
                var z = Sigmoid(Vector256.Load(hg + H + j) + Vector256.Load(x + H + j));
                var n = Tanh(Vector256.Load(x + 2 * H + j) + r * Vector256.Load(hg + 2 * H + j));
                ((Vector256.Load(h + j) - n) * z + n).Store(h + j);
            }
        for (; j < H; j++)
        {
            float r = SigmoidScalar(hg[j] + x[j]), z = SigmoidScalar(hg[H + j] + x[H + j]);
            float n = MathF.Tanh(x[2 * H + j] + r * hg[2 * H + j]);
            h[j] = (h[j] - n) * z + n;
        }
    }

    // σ(x) = 1 / (1 + e^−x); tanh(x) = 1 − 2 / (1 + e^2x) (±1 as e^2x saturates; absolute error near 0 a few 1e-8, far
    // below the int8 quantization error of the recurrent GEMM). e^x is computed here rather than with Vector512.Exp, which
    // measured about 10× slower in this loop: the argument is clamped to [−87, 87] (so e^x and 1/(1 + e^x) stay normal floats; σ and tanh
    // are saturated there anyway) with vminps/vmaxps in the operand order that passes a NaN through, split as
    // x = n·ln 2 + r (|r| ≤ ln 2 / 2, ln 2 in two parts), e^r by its degree-7 Taylor polynomial (relative error < 1e-8)
    // and 2^n built in the exponent bits (the 256-bit form is SoftmaxExp.ExpClamped, shared with the attention softmax).
    const float ExpLow = -87f, ExpHigh = 87f, Log2E = 1.44269504f, Ln2 = 0.693147181f;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Exp(Vector512<float> x, bool negate = false)
    {
        // e^x, or e^−x with negate (σ's argument, the negation folded into the reduction). The 512-bit form differs from
        // the 256-bit one where the gates are FMA-bound: ln 2 in one part (|r|'s extra error n·1.9e-9 ≤ 2.4e-7 at the
        // clamp, where σ and tanh are saturated), a degree-6 polynomial (relative error < 1.3e-7 on |r| ≤ ln 2 / 2) and
        // 2^n by vscalefps
        x = Avx512F.Max(Vector512.Create(ExpLow), Avx512F.Min(Vector512.Create(ExpHigh), x));   // NaN (second operand) passes
        var n = Avx512F.RoundScale(x * Vector512.Create(negate ? -Log2E : Log2E), 0);            // round to nearest even
        var r = negate ? Avx512F.FusedMultiplySubtractNegated(n, Vector512.Create(Ln2), x)        // −x − n·ln 2
                       : Avx512F.FusedMultiplyAddNegated(n, Vector512.Create(Ln2), x);            // x − n·ln 2
        var p = Vector512.Create(1f / 720);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 120));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 24)); p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(1f / 6));
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512.Create(0.5f)); p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        p = Avx512F.FusedMultiplyAdd(p, r, Vector512<float>.One);
        return Avx512F.Scale(p, n);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Exp(Vector256<float> x) => SoftmaxExp.ExpClamped(x, ExpLow, ExpHigh);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Sigmoid(Vector512<float> x) => Vector512<float>.One / (Vector512<float>.One + Exp(x, negate: true));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Tanh(Vector512<float> x) => Vector512<float>.One - Vector512.Create(2f) / (Vector512<float>.One + Exp(x + x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Sigmoid(Vector256<float> x) => Vector256<float>.One / (Vector256<float>.One + Exp(-x));
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<float> Tanh(Vector256<float> x) => Vector256<float>.One - Vector256.Create(2f) / (Vector256<float>.One + Exp(x + x));
}

/// <summary>
/// The input side of a fused int8 recurrent step (<see cref="Int8Gemm.LstmStep(ReadOnlySpan{byte}, int, PackedInt8Weights, float, int, ReadOnlySpan{float}, ReadOnlySpan{float}, Int8StepInput, Span{float}, Span{float}, int, bool, Int8GemmPath)"/>):
/// x_t quantized (B rows of u8, <see cref="Lda"/> bytes apart, with its scale and zero point) and W_ih packed with its
/// per-output scales and float bias b_ih.
/// </summary>
public readonly ref struct Int8StepInput
{
    /// <summary>Describes x_t and W_ih.</summary>
    public Int8StepInput(ReadOnlySpan<byte> activations, int lda, PackedInt8Weights weights, float scale, int zeroPoint,
        ReadOnlySpan<float> weightScales, ReadOnlySpan<float> bias)
    {
        ArgumentNullException.ThrowIfNull(weights);
        Activations = activations; Lda = lda; Weights = weights; Scale = scale; ZeroPoint = zeroPoint; WeightScales = weightScales; Bias = bias;
    }

    /// <summary>x_t quantized, B rows.</summary>
    public ReadOnlySpan<byte> Activations { get; }
    /// <summary>Bytes between rows of <see cref="Activations"/> (≥ the input size).</summary>
    public int Lda { get; }
    /// <summary>W_ih packed (gates·H outputs × input size).</summary>
    public PackedInt8Weights Weights { get; }
    /// <summary>Activation scale of x.</summary>
    public float Scale { get; }
    /// <summary>Activation zero point of x.</summary>
    public int ZeroPoint { get; }
    /// <summary>Weight scale per gate output.</summary>
    public ReadOnlySpan<float> WeightScales { get; }
    /// <summary>b_ih (empty for none).</summary>
    public ReadOnlySpan<float> Bias { get; }

    internal void Check(string who, int gateOutputs, int batch)
    {
        if (Weights == null) throw new ArgumentException($"{who}: the input projection has no W_ih", "input");
        if (Weights.N != gateOutputs) throw new ArgumentException($"{who}: W_ih has {Weights.N} outputs, W_hh {gateOutputs}", "input");
        if (Lda < Weights.K) throw new ArgumentException($"{who}: the input's lda ({Lda}) is smaller than its size ({Weights.K})", "input");
        if (batch > 0 && Activations.Length < (long)(batch - 1) * Lda + Weights.K)
            throw new ArgumentException($"{who}: the input has {Activations.Length} bytes, {batch} rows of lda {Lda} need {(long)(batch - 1) * Lda + Weights.K}", "input");
        if (WeightScales.Length != gateOutputs || (!Bias.IsEmpty && Bias.Length != gateOutputs))
            throw new ArgumentException($"{who}: {WeightScales.Length} input weight scales / {Bias.Length} input biases for {gateOutputs} gate outputs", "input");
    }
}
