using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// Training kernels of the stride-1 and stride-2 depthwise convolution in float32 (groups = C = O, weight (C, 1, kH, kW): MobileNet's
/// 3×3 layers), computed directly per (image, channel) plane. Each plane is first copied into a zero-padded scratch plane,
/// so every tap of a row of outputs reads a contiguous, always-valid run: the forward is a 2-D correlation of the padded
/// input with the kernel, the input gradient the same correlation of the padded output gradient with the flipped kernel,
/// and the weight gradient keeps one 8-lane accumulator per tap over all rows and images of a channel. The im2col route
/// treats each channel as a group of its own: one 1-row GEMM per channel and image, whose unfolding and packing cost
/// more than the multiplies. Dilated depthwise layers, strides above 2 and float64 keep the im2col route.
/// </summary>
public static unsafe partial class Conv2d
{
    /// <summary>Whether <see cref="Forward{T}"/>, <see cref="BackwardData{T}"/> and <see cref="BackwardWeight{T}"/> take
    /// the direct depthwise kernels where they apply (tests turn it off to hold them against the im2col route).</summary>
    internal static bool DepthwiseEnabled = true;

    const int MaxDepthwiseTaps = 64;

    /// <summary>A float32, undilated depthwise convolution with more than one channel, stride 1 or 2, whose padding is at
    /// most kernel − 1 (so the input gradient is a correlation with the flipped kernel) and whose output has PyTorch's size.
    /// A stride-2 layer runs as the stride-1 one: its forward computes the full stride-1 rows it keeps and drops every
    /// other column, its gradients see the output gradient with zeros inserted between the values (the transposed
    /// convolution's dilation of its input), so three quarters of the multiplies are by zero: still well ahead of one
    /// 1-row GEMM per channel.</summary>
    static bool UseDepthwise<T>(in ConvShape s) where T : unmanaged =>
        DepthwiseEnabled && typeof(T) == typeof(float) && Avx2.IsSupported && Fma.IsSupported
        && s.Groups > 1 && s.Groups == s.InChannels && s.Groups == s.OutChannels
        && s.StrideH is 1 or 2 && s.StrideW is 1 or 2 && s.DilationH == 1 && s.DilationW == 1
        && s.KernelH * s.KernelW <= MaxDepthwiseTaps && s.PadH <= s.KernelH - 1 && s.PadW <= s.KernelW - 1
        && FullRows(s) > 0 && FullCols(s) > 0
        && s.OutHeight == (FullRows(s) - 1) / s.StrideH + 1 && s.OutWidth == (FullCols(s) - 1) / s.StrideW + 1;

    /// <summary>Rows and columns of the stride-1 output of the same kernel and padding: IH + 2·pad − kh + 1.</summary>
    static int FullRows(in ConvShape s) => s.InHeight + 2 * s.PadH - s.KernelH + 1;
    static int FullCols(in ConvShape s) => s.InWidth + 2 * s.PadW - s.KernelW + 1;

    [ThreadStatic] static float[]? depthwiseScratch;

    /// <summary>A thread-local scratch of at least <paramref name="floats"/> floats.</summary>
    static float[] DepthwiseScratch(int floats)
    {
        var scratch = depthwiseScratch;
        if (scratch == null || scratch.Length < floats) depthwiseScratch = scratch = new float[Math.Max(floats, 1024)];
        return scratch;
    }

    /// <summary>dst (rows × cols) = src (srcRows × srcCols) placed at (top, left), zeros elsewhere (the source lies inside
    /// the destination: top, left ≥ 0). The border is zeroed, the rows copied.</summary>
    static void PadPlane(float* src, int srcRows, int srcCols, int top, int left, float* dst, int rows, int cols)
    {
        int right = cols - left - srcCols, bottom = rows - top - srcRows;
        new Span<float>(dst, top * cols + left).Clear();
        for (int r = 0; r < srcRows; r++)
        {
            float* d = dst + (long)(top + r) * cols + left;
            Buffer.MemoryCopy(src + (long)r * srcCols, d, srcCols * 4L, srcCols * 4L);
            // this row's right border and the next row's left border are adjacent
            int gap = right + (r + 1 < srcRows ? left : 0);
            for (int t = 0; t < gap; t++) d[srcCols + t] = 0;
        }
        new Span<float>(dst + (long)(top + srcRows) * cols, bottom * cols).Clear();
    }

    /// <summary>y (rows × cols) = Σ_taps w[t] · p[r · rowPitch + c + offsets[t]] + bias, 8 outputs at a time with fused
    /// multiply-adds in tap order; a row's last 1-7 outputs are computed the same way and stored under a mask, so every
    /// output takes the same operations in the same order (the loads of those last lanes may read up to 7 floats past the
    /// source's last row: callers leave that slack). Stride 1: offsets i·pitch + j; stride-2 columns read phase-split
    /// rows (see <see cref="SplitColumnPhases"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Correlate(float* p, int rowPitch, int* offsets, float* w, int taps, float* y, int rows, int cols, float bias,
        FusedActivation act = FusedActivation.None)
    {
        if (taps == 9) { Correlate3x3(p, rowPitch, offsets, w, y, rows, cols, bias, act); return; }
        var vb = Vector256.Create(bias);
        bool low = act is FusedActivation.Relu or FusedActivation.Relu6, high = act == FusedActivation.Relu6;
        var tailMask = TailMask(cols);
        for (int r = 0; r < rows; r++)
        {
            float* yRow = y + (long)r * cols;
            float* pRow = p + (long)r * rowPitch;
            for (int c = 0; c < cols; c += 8)
            {
                var acc = Vector256<float>.Zero;
                float* q = pRow + c;
                for (int t = 0; t < taps; t++) acc = Fma.MultiplyAdd(Avx.LoadVector256(q + offsets[t]), Vector256.Create(w[t]), acc);
                acc = Avx.Add(acc, vb);
                if (low) acc = Vector256.Max(acc, Vector256<float>.Zero);
                if (high) acc = Vector256.Min(acc, Vector256.Create(6f));
                if (c + 8 <= cols) Avx.Store(yRow + c, acc);
                else Avx.MaskStore(yRow + c, tailMask, acc);
            }
        }
    }

    /// <summary>Lanes [0, cols mod 8) set (all clear when cols is a multiple of 8: no partial vector is stored then).</summary>
    internal static Vector256<float> TailMask(int cols) => Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(cols & 7)).AsSingle();

    /// <summary><see cref="Correlate"/> for nine taps (a 3 × 3 kernel): the weights held in registers, the taps unrolled
    /// (the same operations in the same order).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Correlate3x3(float* p, int rowPitch, int* o, float* w, float* y, int rows, int cols, float bias, FusedActivation act)
    {
        bool low = act is FusedActivation.Relu or FusedActivation.Relu6, high = act == FusedActivation.Relu6;
        var six = Vector256.Create(6f);
        Vector256<float> w0 = Vector256.Create(w[0]), w1 = Vector256.Create(w[1]), w2 = Vector256.Create(w[2]);
        Vector256<float> w3 = Vector256.Create(w[3]), w4 = Vector256.Create(w[4]), w5 = Vector256.Create(w[5]);
        Vector256<float> w6 = Vector256.Create(w[6]), w7 = Vector256.Create(w[7]), w8 = Vector256.Create(w[8]);
        nint o0 = o[0], o1 = o[1], o2 = o[2], o3 = o[3], o4 = o[4], o5 = o[5], o6 = o[6], o7 = o[7], o8 = o[8];
        var vb = Vector256.Create(bias);
        var tailMask = TailMask(cols);
        for (int r = 0; r < rows; r++)
        {
            float* yRow = y + (long)r * cols;
            float* pRow = p + (long)r * rowPitch;
            for (int c = 0; c < cols; c += 8)
            {
                float* q = pRow + c;
                var acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o0), w0, Vector256<float>.Zero);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o1), w1, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o2), w2, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o3), w3, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o4), w4, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o5), w5, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o6), w6, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o7), w7, acc);
                acc = Fma.MultiplyAdd(Avx.LoadVector256(q + o8), w8, acc);
                acc = Avx.Add(acc, vb);
                if (low) acc = Vector256.Max(acc, Vector256<float>.Zero);
                if (high) acc = Vector256.Min(acc, six);
                if (c + 8 <= cols) Avx.Store(yRow + c, acc);
                else Avx.MaskStore(yRow + c, tailMask, acc);
            }
        }
    }

    /// <summary>Tap offsets of a kh × kw kernel with dilation (dh, dw): i·dh·pitch + j·dw over a plain plane of row pitch
    /// <paramref name="pitch"/> (<paramref name="half"/> = 0), or, over rows split by <see cref="SplitColumnPhases"/>
    /// (row pitch 2·half), column j·dw read at (j·dw mod 2)·half + j·dw / 2.</summary>
    internal static void TapOffsets(int* offsets, int kh, int kw, int dh, int dw, int pitch, int half)
    {
        for (int i = 0; i < kh; i++)
            for (int j = 0; j < kw; j++)
            {
                int col = j * dw;
                offsets[i * kw + j] = half == 0 ? i * dh * pitch + col : i * dh * 2 * half + (col & 1) * half + (col >> 1);
            }
    }

    /// <summary>The phase width <see cref="SplitColumnPhases"/> needs for rows of <paramref name="pitch"/> floats: half of
    /// them, rounded up to a multiple of 8.</summary>
    internal static int PhaseHalf(int pitch) => ((pitch + 1) / 2 + 7) & ~7;

    /// <summary>
    /// The padded plane (rows × width, <paramref name="padded"/>) with each row's even columns followed by its odd columns:
    /// row r of <paramref name="dst"/> (pitch 2·half) holds padded[r][2t] at t and padded[r][2t + 1] at half + t, so a
    /// stride-2 tap j reads the contiguous run at (j mod 2)·half + j / 2. <paramref name="half"/> is a multiple of 8 with
    /// 2·half ≥ width; the padded rows must be readable up to 2·half (the caller's pitch).
    /// </summary>
    internal static void SplitColumnPhases(float* padded, int rows, int pitch, int half, float* dst)
    {
        for (int r = 0; r < rows; r++)
        {
            float* src = padded + (long)r * pitch, even = dst + (long)r * 2 * half, odd = even + half;
            for (int t = 0; t < half; t += 8)
            {
                Pool.Deinterleave(src + 2 * t, out var e, out var o);
                Avx.Store(even + t, e);
                Avx.Store(odd + t, o);
            }
        }
    }

    /// <summary>output = depthwise(input) + bias, plane by plane (overwritten).</summary>
    static void DepthwiseForwardDirect(in ConvShape s, float* x, float* w, float* b, float* y)
    {
        var body = new DepthwisePlaneBody { S = s, Source = x, W = w, Bias = b, Target = y, Gradient = false };
        int planes = s.Batch * s.InChannels;
        Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref body);
    }

    /// <summary>gradInput of the depthwise convolution (overwritten): each plane the correlation of the output gradient,
    /// padded by kernel − 1 − padding, with the flipped kernel.</summary>
    static void DepthwiseBackwardData(in ConvShape s, float* gy, float* w, float* gx)
    {
        var body = new DepthwisePlaneBody { S = s, Source = gy, W = w, Target = gx, Gradient = true };
        int planes = s.Batch * s.InChannels;
        Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref body);
    }

    /// <summary>gradWeight of the depthwise convolution (overwritten): per channel one accumulator per tap over every row
    /// and image in a fixed order, split across threads by channel only (the same bits at any thread count).</summary>
    static void DepthwiseBackwardWeight(in ConvShape s, float* x, float* gy, float* gw)
    {
        var body = new DepthwiseWeightBody { S = s, X = x, GY = gy, GW = gw };
        Run(s.OutChannels, s.OutChannels > 1 && KernelThreadPool.ThreadCount > 1, ref body);
    }

    struct DepthwisePlaneBody : IParallelBody
    {
        public ConvShape S;
        public float* Source, W, Bias, Target;
        /// <summary>Forward only: added to the output (its shape; null for none), then the activation, per plane.</summary>
        public float* Residual;
        public FusedActivation Act;
        // false: forward (source = input, target = output); true: input gradient (source = output gradient, target = input gradient)
        public bool Gradient;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int index)
        {
            ConvShape s = S;
            int c = index % s.InChannels, kh = s.KernelH, kw = s.KernelW, taps = kh * kw;
            int fullRows = FullRows(s), fullCols = FullCols(s);
            float* w = W + (long)c * taps;
            if (Gradient)
            {
                // the output gradient placed every stride-th position (zeros between) into a plane padded by kernel − 1 −
                // padding, correlated with the flipped kernel: the input gradient
                int rows = s.InHeight, cols = s.InWidth, pitch = cols + kw - 1, padded = (rows + kh - 1) * pitch;
                var scratch = DepthwiseScratch(padded + 2 * MaxDepthwiseTaps);
                fixed (float* p = scratch)
                {
                    float* k = p + padded;
                    int* offsets = stackalloc int[taps];
                    TapOffsets(offsets, kh, kw, 1, 1, pitch, 0);
                    for (int t = 0; t < taps; t++) k[t] = w[taps - 1 - t];   // flipped in both directions
                    float* gy = Source + (long)index * s.OutHeight * s.OutWidth;
                    int top = kh - 1 - s.PadH, left = kw - 1 - s.PadW;
                    if (s.StrideH == 1 && s.StrideW == 1) PadPlane(gy, s.OutHeight, s.OutWidth, top, left, p, rows + kh - 1, pitch);
                    else
                    {
                        new Span<float>(p, padded).Clear();
                        for (int oh = 0; oh < s.OutHeight; oh++)
                        {
                            float* d = p + (long)(top + oh * s.StrideH) * pitch + left;
                            float* g = gy + (long)oh * s.OutWidth;
                            for (int ow = 0; ow < s.OutWidth; ow++) d[ow * s.StrideW] = g[ow];
                        }
                    }
                    Correlate(p, pitch, offsets, k, taps, Target + (long)index * rows * cols, rows, cols, 0f);
                }
                return;
            }
            {
                // the input padded, then correlated straight into the output: stride 1 reads the padded rows, a stride-2
                // row step skips rows, and stride-2 columns read the rows split into their even and odd columns
                int pitch = fullCols + kw - 1, paddedRows = fullRows + kh - 1, padded = paddedRows * pitch;
                int half = s.StrideW == 2 ? PhaseHalf(pitch) : 0, phased = half == 0 ? 0 : paddedRows * 2 * half;
                // slack: the last vector's lanes read up to 7 floats past a plane; the phase split reads each row to 2·half
                var scratch = DepthwiseScratch(padded + 2 * half + phased + 2 * MaxDepthwiseTaps);
                fixed (float* p = scratch)
                {
                    float* k = p + padded + 2 * half;
                    for (int t = 0; t < taps; t++) k[t] = w[t];
                    int* offsets = stackalloc int[taps];
                    PadPlane(Source + (long)index * s.InHeight * s.InWidth, s.InHeight, s.InWidth, s.PadH, s.PadW, p, paddedRows, pitch);
                    float* y = Target + (long)index * s.OutHeight * s.OutWidth;
                    float bias = Bias == null ? 0f : Bias[c];
                    // ReLU and ReLU6 without a residual clamp in registers; a residual or SiLU takes a pass over the plane
                    bool inRegisters = Residual == null && Act is FusedActivation.Relu or FusedActivation.Relu6;
                    var act = inRegisters ? Act : FusedActivation.None;
                    if (half == 0)
                    {
                        TapOffsets(offsets, kh, kw, 1, 1, pitch, 0);
                        Correlate(p, s.StrideH * pitch, offsets, k, taps, y, s.OutHeight, s.OutWidth, bias, act);
                    }
                    else
                    {
                        new Span<float>(p + padded, 2 * half).Clear();   // the last row's columns past the padded width read as zeros
                        float* phases = k + MaxDepthwiseTaps;
                        SplitColumnPhases(p, paddedRows, pitch, half, phases);
                        TapOffsets(offsets, kh, kw, 1, 1, pitch, half);
                        Correlate(phases, s.StrideH * 2 * half, offsets, k, taps, y, s.OutHeight, s.OutWidth, bias, act);
                    }
                    if (!inRegisters && (Residual != null || Act != FusedActivation.None))
                    {
                        int plane = s.OutHeight * s.OutWidth;
                        ApplyEpilogue(new Span<float>(y, plane), 0f, Residual == null ? default : new ReadOnlySpan<float>(Residual + (long)index * plane, plane), Act);
                    }
                }
            }
        }
    }

    struct DepthwiseWeightBody : IParallelBody
    {
        public ConvShape S;
        public float* X, GY, GW;

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public readonly void Invoke(int c)
        {
            ConvShape s = S;
            int kh = s.KernelH, kw = s.KernelW, taps = kh * kw, fullRows = FullRows(s), cols = FullCols(s);
            int pitch = cols + kw - 1, padded = (fullRows + kh - 1) * pitch;
            var acc = stackalloc Vector256<float>[taps];
            var tail = stackalloc float[taps];
            for (int t = 0; t < taps; t++) { acc[t] = Vector256<float>.Zero; tail[t] = 0; }
            var scratch = DepthwiseScratch(padded + cols);
            if (kh == 3 && kw == 3) { Weight3x3(c, p: scratch, pitch, fullRows, cols); return; }
            fixed (float* p = scratch)
                for (int n = 0; n < s.Batch; n++)
                {
                    long index = (long)n * s.InChannels + c;
                    PadPlane(X + index * s.InHeight * s.InWidth, s.InHeight, s.InWidth, s.PadH, s.PadW, p, fullRows + kh - 1, pitch);
                    float* gy = GY + index * s.OutHeight * s.OutWidth;
                    for (int oh = 0; oh < s.OutHeight; oh++)
                    {
                        float* gyRow = GradientRow(gy, oh, p + padded, cols);
                        float* pRow = p + (long)oh * s.StrideH * pitch;
                        int col = 0;
                        for (; col + 8 <= cols; col += 8)
                        {
                            var g = Avx.LoadVector256(gyRow + col);
                            for (int i = 0; i < kh; i++)
                            {
                                float* q = pRow + (long)i * pitch + col;
                                for (int j = 0; j < kw; j++) acc[i * kw + j] = Fma.MultiplyAdd(Avx.LoadVector256(q + j), g, acc[i * kw + j]);
                            }
                        }
                        for (; col < cols; col++)
                            for (int i = 0; i < kh; i++)
                                for (int j = 0; j < kw; j++)
                                    tail[i * kw + j] = MathF.FusedMultiplyAdd(pRow[(long)i * pitch + col + j], gyRow[col], tail[i * kw + j]);
                    }
                }
            float* gw = GW + (long)c * taps;
            for (int t = 0; t < taps; t++) gw[t] = Vector256.Sum(acc[t]) + tail[t];
        }

        /// <summary>Output-gradient row <paramref name="oh"/> as the stride-1 row it stands for: itself at stride 1 in W, else
        /// its values every stride-th position of <paramref name="row"/> (<paramref name="cols"/> wide), zeros between.</summary>
        readonly float* GradientRow(float* gy, int oh, float* row, int cols)
        {
            float* g = gy + (long)oh * S.OutWidth;
            if (S.StrideW == 1) return g;
            new Span<float>(row, cols).Clear();
            for (int ow = 0; ow < S.OutWidth; ow++) row[ow * S.StrideW] = g[ow];
            return row;
        }

        /// <summary>The 3 × 3 case with the nine accumulators in registers (the same operations in the same order).</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        readonly void Weight3x3(int c, float[] p, int pitch, int fullRows, int cols)
        {
            ConvShape s = S;
            Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default, a5 = default, a6 = default, a7 = default, a8 = default;
            var tail = stackalloc float[9];
            for (int t = 0; t < 9; t++) tail[t] = 0;
            fixed (float* pad = p)
                for (int n = 0; n < s.Batch; n++)
                {
                    long index = (long)n * s.InChannels + c;
                    PadPlane(X + index * s.InHeight * s.InWidth, s.InHeight, s.InWidth, s.PadH, s.PadW, pad, fullRows + 2, pitch);
                    float* gy = GY + index * s.OutHeight * s.OutWidth;
                    for (int oh = 0; oh < s.OutHeight; oh++)
                    {
                        float* gyRow = GradientRow(gy, oh, pad + (long)(fullRows + 2) * pitch, cols);
                        float* q0 = pad + (long)oh * s.StrideH * pitch, q1 = q0 + pitch, q2 = q1 + pitch;
                        int col = 0;
                        for (; col + 8 <= cols; col += 8)
                        {
                            var g = Avx.LoadVector256(gyRow + col);
                            a0 = Fma.MultiplyAdd(Avx.LoadVector256(q0 + col), g, a0);
                            a1 = Fma.MultiplyAdd(Avx.LoadVector256(q0 + col + 1), g, a1);
                            a2 = Fma.MultiplyAdd(Avx.LoadVector256(q0 + col + 2), g, a2);
                            a3 = Fma.MultiplyAdd(Avx.LoadVector256(q1 + col), g, a3);
                            a4 = Fma.MultiplyAdd(Avx.LoadVector256(q1 + col + 1), g, a4);
                            a5 = Fma.MultiplyAdd(Avx.LoadVector256(q1 + col + 2), g, a5);
                            a6 = Fma.MultiplyAdd(Avx.LoadVector256(q2 + col), g, a6);
                            a7 = Fma.MultiplyAdd(Avx.LoadVector256(q2 + col + 1), g, a7);
                            a8 = Fma.MultiplyAdd(Avx.LoadVector256(q2 + col + 2), g, a8);
                        }
                        for (; col < cols; col++)
                            for (int i = 0; i < 3; i++)
                                for (int j = 0; j < 3; j++)
                                    tail[i * 3 + j] = MathF.FusedMultiplyAdd(q0[(long)i * pitch + col + j], gyRow[col], tail[i * 3 + j]);
                    }
                }
            float* gw = GW + (long)c * 9;
            gw[0] = Vector256.Sum(a0) + tail[0]; gw[1] = Vector256.Sum(a1) + tail[1]; gw[2] = Vector256.Sum(a2) + tail[2];
            gw[3] = Vector256.Sum(a3) + tail[3]; gw[4] = Vector256.Sum(a4) + tail[4]; gw[5] = Vector256.Sum(a5) + tail[5];
            gw[6] = Vector256.Sum(a6) + tail[6]; gw[7] = Vector256.Sum(a7) + tail[7]; gw[8] = Vector256.Sum(a8) + tail[8];
        }
    }
}
