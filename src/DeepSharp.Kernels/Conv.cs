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
    /// 256K elements (1 MiB of float, Zen 4's L2) measured 5-15 % faster than 64K on the generative models' layers
    /// (issue #14): wider GEMMs, fewer repacks of the weight, and small images grouped up to ten at a time instead of two.
    /// </summary>
    internal static int PanelElements = 1 << 18;

    /// <summary>Upper bound on the number of batch chunks whose partial weight gradients are summed.</summary>
    internal const int MaxWeightChunks = 16;

    /// <summary>Upper bound, in elements, of the partial weight-gradient buffers together.</summary>
    const int MaxPartialElements = 1 << 22;

    /// <summary>Images whose output planes are at most this many positions are unfolded several to one column matrix.</summary>
    internal static int GroupPlaneLimit = 256;

    /// <summary>Upper bound on the images unfolded side by side into one column matrix.</summary>
    const int MaxImagesPerGroup = 16;

    /// <summary>
    /// How a batch is cut into GEMMs. Small images (output plane up to <see cref="GroupPlaneLimit"/>) go
    /// <see cref="ImagesPerGroup"/> at a time into one column matrix (C/g*kH*kW, images*OH*OW) so the GEMM is wide enough to
    /// run near its peak; their output goes through a (O/g, images*OH*OW) buffer. Larger images go one at a time,
    /// <see cref="PanelRows"/> output rows per column panel, the GEMM writing the output directly. A pointwise
    /// convolution needs no column matrix (<see cref="PanelSize"/> 0). Depends on the shape only, so every thread count
    /// computes the same sums.
    /// </summary>
    readonly record struct Plan(int ImagesPerGroup, int PanelRows, int PanelSize, int TempSize)
    {
        public bool Grouped => ImagesPerGroup > 1;
    }

    static Plan MakePlan(in ConvShape s)
    {
        int plane = s.OutHeight * s.OutWidth;
        long perImage = (long)s.ColRows * plane;
        if (!s.IsPointwise && s.Batch > 1 && plane <= GroupPlaneLimit && perImage > 0 && 2 * perImage <= PanelElements)
        {
            int images = (int)Math.Min(Math.Min(s.Batch, MaxImagesPerGroup), PanelElements / perImage);
            // a multiple of 4 groups where the batch allows (64 images of at most 10: 8 groups of 8, not 7 of 10), so 2 or 4
            // threads get equal shares; the plan still depends on the shape only
            int groups = (s.Batch + images - 1) / images;
            if (groups % 4 != 0 && (groups + 3) / 4 * 4 <= s.Batch) groups = (groups + 3) / 4 * 4;
            images = (s.Batch + groups - 1) / groups;
            return new Plan(images, s.OutHeight, (int)(perImage * images), s.GroupOutChannels * plane * images);
        }
        if (s.IsPointwise) return new Plan(1, s.OutHeight, 0, 0);
        long perRow = (long)s.ColRows * s.OutWidth;
        int rows = perRow == 0 ? Math.Max(1, s.OutHeight) : (int)Math.Clamp(PanelElements / perRow, 1, Math.Max(1, s.OutHeight));
        return new Plan(1, rows, s.ColRows * rows * s.OutWidth, 0);
    }

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
        var plan = MakePlan(s);
        int tasks = (s.Batch + plan.ImagesPerGroup - 1) / plan.ImagesPerGroup;
        fixed (T* x = input, w = weight, b = bias, y = output)
        {
            if (UseDirect<T>(s)) { DirectForward(s, (float*)x, (float*)w, bias.IsEmpty ? null : (float*)b, (float*)y); return; }
            if (UseDepthwise<T>(s)) { DepthwiseForwardDirect(s, (float*)x, (float*)w, bias.IsEmpty ? null : (float*)b, (float*)y); return; }
            var body = new ForwardBody<T> { S = s, P = plan, X = x, W = w, B = bias.IsEmpty ? null : b, Y = y };
            Run(tasks, ImageParallel(s) && tasks > 1, ref body);
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
        var plan = MakePlan(s);
        int tasks = (s.Batch + plan.ImagesPerGroup - 1) / plan.ImagesPerGroup;
        fixed (T* gy = gradOutput, w = weight, gx = gradInput)
        {
            if (UseDepthwise<T>(s)) { DepthwiseBackwardData(s, (float*)gy, (float*)w, (float*)gx); return; }
            if (DirectAdjoint<T>(s, out var adjoint))
            {
                // conv_transpose with stride 1 = the direct convolution of the output gradient with the flipped weight
                float[] flipped = ArrayPool<float>.Shared.Rent(s.WeightSize);
                try
                {
                    fixed (float* wf = flipped)
                    {
                        FlipWeight(s, (float*)w, wf);
                        DirectForward(adjoint, (float*)gy, wf, null, (float*)gx);
                    }
                }
                finally { ArrayPool<float>.Shared.Return(flipped); }
                return;
            }
            var body = new BackwardDataBody<T> { S = s, P = plan, GY = gy, W = w, GX = gx };
            Run(tasks, ImageParallel(s) && tasks > 1, ref body);
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
        if (UseDepthwise<T>(s) && s.Batch > 0)
        {
            fixed (T* x = input, gy = gradOutput, gw = gradWeight) DepthwiseBackwardWeight(s, (float*)x, (float*)gy, (float*)gw);
            return;
        }
        // the direct weight gradient measured faster with 16 channels on either side (16->16, 48->16, 16->32) and
        // 5-25 % slower at 32->32 and 64->32, whose im2col GEMMs are wider
        if (UseDirect<T>(s) && s.Batch > 0 && Math.Min(s.GroupInChannels, s.GroupOutChannels) <= 16)
        {
            fixed (T* x = input, gy = gradOutput, gw = gradWeight) DirectBackwardWeight(s, (float*)x, (float*)gy, (float*)gw);
            return;
        }
        var plan = MakePlan(s);
        // The batch is cut into chunks whose number depends on the shape only; chunk 0 accumulates into gradWeight,
        // chunk c into partial buffer c-1, and the partials are added in chunk order: the same sums for any thread count.
        int groups = (s.Batch + plan.ImagesPerGroup - 1) / plan.ImagesPerGroup;
        int chunks = Math.Max(1, Math.Min(Math.Min(groups, MaxWeightChunks), MaxPartialElements / size));
        T[]? partials = chunks > 1 ? ArrayPool<T>.Shared.Rent((chunks - 1) * size) : null;
        try
        {
            fixed (T* x = input, gy = gradOutput, gw = gradWeight, part = partials)
            {
                var body = new BackwardWeightBody<T> { S = s, P = plan, X = x, GY = gy, GW = gw, Partials = part, Chunks = chunks };
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
