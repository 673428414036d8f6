using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;

namespace DeepSharp.Kernels;

/// <summary>
/// The geometry of a grouped, strided, padded, dilated 2-D convolution: input (N, C, H, W), weight
/// (O, C/groups, kH, kW), output (N, O, OH, OW). A transposed convolution uses the same description with the roles
/// of input and output swapped (its input is this convolution's output).
/// </summary>
public readonly record struct ConvShape(int Batch, int InChannels, int InHeight, int InWidth,
    int OutChannels, int OutHeight, int OutWidth, int KernelH, int KernelW,
    int StrideH = 1, int StrideW = 1, int PadH = 0, int PadW = 0, int DilationH = 1, int DilationW = 1, int Groups = 1)
{
    /// <summary>Input channels per group (C / groups).</summary>
    public int GroupInChannels => InChannels / Groups;
    /// <summary>Output channels per group (O / groups).</summary>
    public int GroupOutChannels => OutChannels / Groups;
    /// <summary>Rows of the im2col matrix: C/groups * kH * kW.</summary>
    public int ColRows => GroupInChannels * KernelH * KernelW;
    /// <summary>Elements of one input image (C * H * W).</summary>
    public int InImage => InChannels * InHeight * InWidth;
    /// <summary>Elements of one output image (O * OH * OW).</summary>
    public int OutImage => OutChannels * OutHeight * OutWidth;
    /// <summary>Elements of the weight (O * C/groups * kH * kW).</summary>
    public int WeightSize => OutChannels * ColRows;
    /// <summary>A 1x1, stride-1, unpadded convolution: the input image is already its own column matrix.</summary>
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && StrideH == 1 && StrideW == 1 && PadH == 0 && PadW == 0;

    /// <summary>PyTorch's output length: floor((in + 2*pad - dilation*(k-1) - 1) / stride) + 1 (may be ≤ 0 when the kernel does not fit).</summary>
    public static int OutputSize(int input, int kernel, int stride, int pad, int dilation)
    {
        int span = input + 2 * pad - dilation * (kernel - 1) - 1;
        return span < 0 ? 0 : span / stride + 1;
    }
}

/// <summary>
/// 2-D convolution kernels (forward, input gradient, weight gradient) built on im2col + GEMM. Work is split over the
/// images of the batch on <see cref="KernelThreadPool"/> (each task unfolds its image a panel of output rows at a time
/// into one pooled column buffer, and calls a single-threaded GEMM); a batch smaller than the thread count runs image
/// by image with the GEMM parallel instead. The weight gradient sums per-chunk partial gradients in a fixed order, so
/// every result is bitwise identical whatever the thread count. Transposed convolution is <see cref="BackwardData{T}"/>.
/// Float32 and float64 only (the GEMM precisions).
/// </summary>
public static unsafe partial class Conv2d
{
    /// <summary>
    /// Upper bound, in elements, of the im2col panel (larger only when one output row needs more); tests lower it.
    /// 64K elements (256 KiB of float) keep the panel in L2 between its unfolding and the GEMM that reads it.
    /// </summary>
    internal static int PanelElements = 1 << 16;

    /// <summary>Upper bound on the number of batch chunks whose partial weight gradients are summed.</summary>
    internal const int MaxWeightChunks = 16;

    /// <summary>Upper bound, in elements, of the partial weight-gradient buffers together.</summary>
    const int MaxPartialElements = 1 << 22;

    /// <summary>Output rows per im2col panel for this geometry.</summary>
    static int PanelRows(in ConvShape s)
    {
        long perRow = (long)s.ColRows * s.OutWidth;
        if (perRow == 0) return Math.Max(1, s.OutHeight);
        return (int)Math.Clamp(PanelElements / perRow, 1, Math.Max(1, s.OutHeight));
    }

    /// <summary>Elements of the column buffer one image needs (0 for a pointwise convolution, which needs none).</summary>
    static int PanelSize(in ConvShape s) => s.IsPointwise ? 0 : s.ColRows * PanelRows(s) * s.OutWidth;

    /// <summary>Whether to split the batch over the pool's threads (else image by image, each GEMM parallel).</summary>
    static bool ImageParallel(in ConvShape s) => s.Batch > 1 && s.Batch >= KernelThreadPool.ThreadCount;

    static void CheckSizes<T>(in ConvShape s, int input, int weight, int output, string op)
    {
        if (s.Groups <= 0 || s.InChannels % s.Groups != 0 || s.OutChannels % s.Groups != 0)
            throw new ArgumentException($"{op}: groups={s.Groups} must divide InChannels={s.InChannels} and OutChannels={s.OutChannels}");
        if (input < (long)s.Batch * s.InImage) throw new ArgumentException($"{op}: input span of length {input} is too small for {s}");
        if (weight < s.WeightSize) throw new ArgumentException($"{op}: weight span of length {weight} is too small for {s}");
        if (output < (long)s.Batch * s.OutImage) throw new ArgumentException($"{op}: output span of length {output} is too small for {s}");
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"{op}: element type {typeof(T).Name} is not supported (float and double are)");
    }

    /// <summary>Runs body.Invoke(i) for i in [0, count): on the pool when <paramref name="parallel"/>, else in order here.</summary>
    static void Run<TBody>(int count, bool parallel, ref TBody body) where TBody : struct, IParallelBody
    {
        if (parallel) KernelThreadPool.ParallelFor(count, ref body);
        else for (int i = 0; i < count; i++) body.Invoke(i);
    }

    /// <summary>
    /// output = conv2d(input, weight) + bias (torch.nn.functional.conv2d). <paramref name="bias"/> may be empty.
    /// </summary>
    public static void Forward<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> output)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, input.Length, weight.Length, output.Length, "Conv2d");
        if (!bias.IsEmpty && bias.Length < s.OutChannels) throw new ArgumentException($"Conv2d: bias of length {bias.Length} for {s.OutChannels} output channels");
        if (s.Batch == 0 || s.OutImage == 0) return;
        fixed (T* x = input, w = weight, b = bias, y = output)
        {
            var body = new ForwardBody<T> { S = s, X = x, W = w, B = bias.IsEmpty ? null : b, Y = y };
            Run(s.Batch, ImageParallel(s), ref body);
        }
    }

    /// <summary>
    /// gradInput = conv2d's input gradient for <paramref name="gradOutput"/> (the adjoint of <see cref="Forward{T}"/> in its
    /// input); this is also the forward of torch.nn.functional.conv_transpose2d. <paramref name="gradInput"/> is overwritten.
    /// </summary>
    public static void BackwardData<T>(in ConvShape s, ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> weight, Span<T> gradInput)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, gradInput.Length, weight.Length, gradOutput.Length, "Conv2dBackwardData");
        if (s.Batch == 0 || s.InImage == 0) return;
        fixed (T* gy = gradOutput, w = weight, gx = gradInput)
        {
            var body = new BackwardDataBody<T> { S = s, GY = gy, W = w, GX = gx };
            Run(s.Batch, ImageParallel(s), ref body);
        }
    }

    /// <summary>
    /// gradWeight = sum over the batch of gradOutput · im2col(input)ᵀ (conv2d's weight gradient). <paramref name="gradWeight"/>
    /// is overwritten.
    /// </summary>
    public static void BackwardWeight<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput, Span<T> gradWeight)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, input.Length, gradWeight.Length, gradOutput.Length, "Conv2dBackwardWeight");
        int size = s.WeightSize;
        if (size == 0) return;
        // The batch is cut into chunks whose number depends on the shape only; chunk 0 accumulates into gradWeight,
        // chunk c into partial buffer c-1, and the partials are added in chunk order: the same sums for any thread count.
        int chunks = Math.Max(1, Math.Min(Math.Min(s.Batch, MaxWeightChunks), MaxPartialElements / size));
        T[]? partials = chunks > 1 ? ArrayPool<T>.Shared.Rent((chunks - 1) * size) : null;
        try
        {
            fixed (T* x = input, gy = gradOutput, gw = gradWeight, part = partials)
            {
                var body = new BackwardWeightBody<T> { S = s, X = x, GY = gy, GW = gw, Partials = part, Chunks = chunks };
                Run(chunks, chunks > 1 && KernelThreadPool.ThreadCount > 1, ref body);
                for (int c = 1; c < chunks; c++)
                {
                    var dst = new Span<T>(gw, size);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<T>(part + (long)(c - 1) * size, size), dst);
                }
            }
        }
        finally { if (partials != null) ArrayPool<T>.Shared.Return(partials); }
    }

    /// <summary>One image of <see cref="Forward{T}"/>.</summary>
    struct ForwardBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public T* X, W, B, Y;

        public readonly void Invoke(int n)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            var x = new ReadOnlySpan<T>(X + (long)n * s.InImage, s.InImage);
            var y = new Span<T>(Y + (long)n * s.OutImage, s.OutImage);
            var weight = new ReadOnlySpan<T>(W, s.WeightSize);
            int panelRows = PanelRows(s), panelSize = PanelSize(s);
            T[]? rented = panelSize == 0 ? null : ArrayPool<T>.Shared.Rent(panelSize);
            try
            {
                for (int g = 0; g < s.Groups; g++)
                {
                    var xg = x.Slice(g * cg * inPlane, cg * inPlane);
                    var wg = weight.Slice(g * og * k, og * k);
                    var yg = y.Slice(g * og * plane, og * plane);
                    if (rented == null) { Gemm<T>(false, false, og, plane, k, wg, k, xg, plane, false, yg, plane); continue; }
                    for (int r0 = 0; r0 < s.OutHeight; r0 += panelRows)
                    {
                        int r1 = Math.Min(s.OutHeight, r0 + panelRows), cols = (r1 - r0) * s.OutWidth;
                        var panel = rented.AsSpan(0, k * cols);
                        Im2Col.Unfold(xg, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW,
                            s.DilationH, s.DilationW, s.OutWidth, r0, r1, panel);
                        // (og, k) @ (k, cols) into the output rows r0..r1 of every channel (row stride = plane)
                        Gemm<T>(false, false, og, cols, k, wg, k, panel, cols, false, yg.Slice(r0 * s.OutWidth), plane);
                    }
                }
            }
            finally { if (rented != null) ArrayPool<T>.Shared.Return(rented); }
            if (B != null)
                for (int o = 0; o < s.OutChannels; o++)
                {
                    var row = y.Slice(o * plane, plane);
                    System.Numerics.Tensors.TensorPrimitives.Add(row, B[o], row);
                }
        }
    }

    /// <summary>One image of <see cref="BackwardData{T}"/>.</summary>
    struct BackwardDataBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public T* GY, W, GX;

        public readonly void Invoke(int n)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            var gy = new ReadOnlySpan<T>(GY + (long)n * s.OutImage, s.OutImage);
            var gx = new Span<T>(GX + (long)n * s.InImage, s.InImage);
            var weight = new ReadOnlySpan<T>(W, s.WeightSize);
            int panelRows = PanelRows(s), panelSize = PanelSize(s);
            T[]? rented = panelSize == 0 ? null : ArrayPool<T>.Shared.Rent(panelSize);
            try
            {
                if (rented != null) gx.Clear();
                for (int g = 0; g < s.Groups; g++)
                {
                    var gyg = gy.Slice(g * og * plane, og * plane);
                    var wg = weight.Slice(g * og * k, og * k);
                    var gxg = gx.Slice(g * cg * inPlane, cg * inPlane);
                    if (rented == null) { Gemm<T>(true, false, k, plane, og, wg, k, gyg, plane, false, gxg, plane); continue; }
                    for (int r0 = 0; r0 < s.OutHeight; r0 += panelRows)
                    {
                        int r1 = Math.Min(s.OutHeight, r0 + panelRows), cols = (r1 - r0) * s.OutWidth;
                        var panel = rented.AsSpan(0, k * cols);
                        // (k, og) = W^T times (og, cols) gradient panel
                        Gemm<T>(true, false, k, cols, og, wg, k, gyg.Slice(r0 * s.OutWidth), plane, false, panel, cols);
                        Im2Col.FoldAdd<T>(panel, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW,
                            s.DilationH, s.DilationW, s.OutWidth, r0, r1, gxg);
                    }
                }
            }
            finally { if (rented != null) ArrayPool<T>.Shared.Return(rented); }
        }
    }

    /// <summary>One chunk of images of <see cref="BackwardWeight{T}"/>, accumulated into its own buffer.</summary>
    struct BackwardWeightBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public T* X, GY, GW, Partials;
        public int Chunks;

        public readonly void Invoke(int chunk)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            int first = (int)((long)chunk * s.Batch / Chunks), last = (int)((long)(chunk + 1) * s.Batch / Chunks);
            var gradWeight = new Span<T>(chunk == 0 ? GW : Partials + (long)(chunk - 1) * s.WeightSize, s.WeightSize);
            gradWeight.Clear();
            int panelRows = PanelRows(s), panelSize = PanelSize(s);
            T[]? rented = panelSize == 0 ? null : ArrayPool<T>.Shared.Rent(panelSize);
            try
            {
                for (int n = first; n < last; n++)
                {
                    var x = new ReadOnlySpan<T>(X + (long)n * s.InImage, s.InImage);
                    var gy = new ReadOnlySpan<T>(GY + (long)n * s.OutImage, s.OutImage);
                    for (int g = 0; g < s.Groups; g++)
                    {
                        var xg = x.Slice(g * cg * inPlane, cg * inPlane);
                        var gyg = gy.Slice(g * og * plane, og * plane);
                        var gwg = gradWeight.Slice(g * og * k, og * k);
                        if (rented == null) { Gemm<T>(false, true, og, k, plane, gyg, plane, xg, plane, true, gwg, k); continue; }
                        for (int r0 = 0; r0 < s.OutHeight; r0 += panelRows)
                        {
                            int r1 = Math.Min(s.OutHeight, r0 + panelRows), cols = (r1 - r0) * s.OutWidth;
                            var panel = rented.AsSpan(0, k * cols);
                            Im2Col.Unfold(xg, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW,
                                s.DilationH, s.DilationW, s.OutWidth, r0, r1, panel);
                            // (og, cols) @ (k, cols)^T accumulated into (og, k)
                            Gemm<T>(false, true, og, k, cols, gyg.Slice(r0 * s.OutWidth), plane, panel, cols, true, gwg, k);
                        }
                    }
                }
            }
            finally { if (rented != null) ArrayPool<T>.Shared.Return(rented); }
        }
    }

    /// <summary>gradBias[o] = sum of gradOutput over the batch and the output positions of channel o.</summary>
    public static void BackwardBias<T>(in ConvShape s, ReadOnlySpan<T> gradOutput, Span<T> gradBias) where T : unmanaged, INumber<T>
    {
        int plane = s.OutHeight * s.OutWidth;
        gradBias.Slice(0, s.OutChannels).Clear();
        for (int n = 0; n < s.Batch; n++)
            for (int o = 0; o < s.OutChannels; o++)
                gradBias[o] += System.Numerics.Tensors.TensorPrimitives.Sum(gradOutput.Slice(n * s.OutImage + o * plane, plane));
    }

    /// <summary>Row-major GEMM for float or double (C = op(A)·op(B) + (accumulate ? C : 0)); the span lengths are trimmed to the matrices.</summary>
    static void Gemm<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        bool accumulate, Span<T> c, int ldc) where T : unmanaged, INumber<T>
    {
        if (m == 0 || n == 0) return;
        a = a.Slice(0, Extent(transA ? k : m, transA ? m : k, lda));
        b = b.Slice(0, Extent(transB ? n : k, transB ? k : n, ldb));
        c = c.Slice(0, Extent(m, n, ldc));
        if (typeof(T) == typeof(float))
            Kernels.Gemm.Sgemm(transA, transB, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                accumulate ? 1f : 0f, MemoryMarshal.Cast<T, float>(c), ldc);
        else if (typeof(T) == typeof(double))
            Kernels.Gemm.Dgemm(transA, transB, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                accumulate ? 1.0 : 0.0, MemoryMarshal.Cast<T, double>(c), ldc);
        else
            Kernels.Gemm.Reference(transA, transB, m, n, k, T.One, a, lda, b, ldb, accumulate ? T.One : T.Zero, c, ldc);
    }

    static int Extent(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    /// <summary>
    /// Plain direct-loop convolution: the definition <see cref="Forward{T}"/>, <see cref="BackwardData{T}"/> and
    /// <see cref="BackwardWeight{T}"/> are tested against. Computes output (overwritten) from input and weight, plus bias.
    /// </summary>
    public static void ReferenceForward<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> output)
        where T : unmanaged, INumber<T>
    {
        int og = s.GroupOutChannels, cg = s.GroupInChannels;
        for (int n = 0; n < s.Batch; n++)
            for (int o = 0; o < s.OutChannels; o++)
            {
                int g = o / og;
                for (int oh = 0; oh < s.OutHeight; oh++)
                    for (int ow = 0; ow < s.OutWidth; ow++)
                    {
                        T sum = bias.IsEmpty ? T.Zero : bias[o];
                        for (int c = 0; c < cg; c++)
                            for (int ki = 0; ki < s.KernelH; ki++)
                                for (int kj = 0; kj < s.KernelW; kj++)
                                {
                                    int ih = oh * s.StrideH - s.PadH + ki * s.DilationH, iw = ow * s.StrideW - s.PadW + kj * s.DilationW;
                                    if ((uint)ih >= (uint)s.InHeight || (uint)iw >= (uint)s.InWidth) continue;
                                    sum += input[((n * s.InChannels + g * cg + c) * s.InHeight + ih) * s.InWidth + iw]
                                         * weight[((o * cg + c) * s.KernelH + ki) * s.KernelW + kj];
                                }
                        output[((n * s.OutChannels + o) * s.OutHeight + oh) * s.OutWidth + ow] = sum;
                    }
            }
    }
}
