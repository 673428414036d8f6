using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace DeepSharp.Kernels;

/// <summary>An activation applied in a kernel's epilogue, on the output while it is still in cache.</summary>
public enum FusedActivation
{
    /// <summary>No activation.</summary>
    None,
    /// <summary>max(0, x) (torch.nn.ReLU).</summary>
    Relu,
    /// <summary>min(max(0, x), 6) (torch.nn.ReLU6).</summary>
    Relu6,
    /// <summary>x · sigmoid(x) (torch.nn.SiLU).</summary>
    Silu,
}

/// <summary>
/// The weight of a 2-D convolution prepared once for inference: per group the (O/g, C/g·kH·kW) matrix packed into the
/// GEMM's panels (<see cref="GemmPackedA{T}"/>), or, for a depthwise convolution (one input and one output channel per
/// group), the plain weight that the direct depthwise kernel reads. Made by <see cref="Conv2d.PackWeight{T}"/>.
/// </summary>
public sealed partial class Conv2dPackedWeight<T> where T : unmanaged, INumber<T>
{
    internal readonly GemmPackedA<T>[]? Groups;
    internal readonly T[] Weight;

    /// <summary>Output channels (O).</summary>
    public int OutChannels { get; }
    /// <summary>Input channels per group (C/groups).</summary>
    public int GroupInChannels { get; }
    /// <summary>Kernel height.</summary>
    public int KernelH { get; }
    /// <summary>Kernel width.</summary>
    public int KernelW { get; }
    /// <summary>Number of groups.</summary>
    public int GroupCount { get; }
    /// <summary>Whether the direct depthwise kernel runs this weight (one input and one output channel per group).</summary>
    public bool IsDepthwise => GroupInChannels == 1 && OutChannels == GroupCount;

    internal Conv2dPackedWeight(int outChannels, int groupInChannels, int kh, int kw, int groups, ReadOnlySpan<T> weight)
    {
        OutChannels = outChannels; GroupInChannels = groupInChannels; KernelH = kh; KernelW = kw; GroupCount = groups;
        Weight = weight.Slice(0, outChannels * groupInChannels * kh * kw).ToArray();
        if (IsDepthwise) return;
        int og = outChannels / groups, k = groupInChannels * kh * kw;
        Groups = new GemmPackedA<T>[groups];
        for (int g = 0; g < groups; g++) Groups[g] = Gemm.PackA(false, og, k, Weight.AsSpan(g * og * k, og * k), k);
    }
}

// Inference convolution: prepacked weights, direct depthwise kernel, and a fused epilogue (bias, residual, activation)
// applied to each output panel right after the GEMM wrote it.
public static unsafe partial class Conv2d
{
    /// <summary>Upper bound, in elements, of an inference im2col panel (1 MiB of float): large enough that a batch-1 late stage is one wide GEMM.</summary>
    internal static int InferencePanelElements = 1 << 18;

    /// <summary>
    /// Packs a convolution weight (O, C/groups, kH, kW) once for <see cref="ForwardPacked{T}"/>. The values are copied.
    /// </summary>
    public static Conv2dPackedWeight<T> PackWeight<T>(int outChannels, int groupInChannels, int kernelH, int kernelW, int groups, ReadOnlySpan<T> weight)
        where T : unmanaged, INumber<T>
    {
        if (outChannels <= 0 || groupInChannels <= 0 || kernelH <= 0 || kernelW <= 0 || groups <= 0 || outChannels % groups != 0)
            throw new ArgumentException($"Conv2d.PackWeight: invalid geometry O={outChannels} C/g={groupInChannels} k={kernelH}x{kernelW} groups={groups}");
        if (weight.Length < (long)outChannels * groupInChannels * kernelH * kernelW)
            throw new ArgumentException($"Conv2d.PackWeight: weight span of length {weight.Length} is too small for ({outChannels}, {groupInChannels}, {kernelH}, {kernelW})", nameof(weight));
        if (typeof(T) != typeof(float) && typeof(T) != typeof(double))
            throw new NotSupportedException($"Conv2d.PackWeight: element type {typeof(T).Name} is not supported (float and double are)");
        return new Conv2dPackedWeight<T>(outChannels, groupInChannels, kernelH, kernelW, groups, weight);
    }

    /// <summary>
    /// output = act(conv2d(input, weight) + bias + residual) for inference, with the weight packed once by
    /// <see cref="PackWeight{T}"/>. <paramref name="bias"/> and <paramref name="residual"/> (the output's shape) may be
    /// empty. Depthwise convolutions run a direct kernel; the others im2col (none for 1×1 stride 1) and the prepacked GEMM.
    /// </summary>
    public static void ForwardPacked<T>(in ConvShape s, ReadOnlySpan<T> input, Conv2dPackedWeight<T> weight, ReadOnlySpan<T> bias,
        ReadOnlySpan<T> residual, FusedActivation activation, Span<T> output) where T : unmanaged, INumber<T>
    {
        ArgumentNullException.ThrowIfNull(weight);
        if (weight.OutChannels != s.OutChannels || weight.GroupInChannels != s.GroupInChannels || weight.KernelH != s.KernelH
            || weight.KernelW != s.KernelW || weight.GroupCount != s.Groups)
            throw new ArgumentException($"Conv2d.ForwardPacked: the packed weight ({weight.OutChannels}, {weight.GroupInChannels}, {weight.KernelH}, {weight.KernelW}) groups={weight.GroupCount} does not match {s}", nameof(weight));
        CheckSizes<T>(s, input.Length, weight.Weight.Length, output.Length, "Conv2d.ForwardPacked");
        if (!bias.IsEmpty && bias.Length < s.OutChannels) throw new ArgumentException($"Conv2d.ForwardPacked: bias of length {bias.Length} for {s.OutChannels} output channels", nameof(bias));
        if (!residual.IsEmpty && residual.Length < (long)s.Batch * s.OutImage)
            throw new ArgumentException($"Conv2d.ForwardPacked: residual of length {residual.Length} is too small for the output of {s}", nameof(residual));
        if (s.Batch == 0 || s.OutImage == 0) return;
        fixed (T* x = input, b = bias, r = residual, y = output, w = weight.Weight)
        {
            if (weight.IsDepthwise)
            {
                if (UseDepthwise<T>(s)) { DepthwiseFused(s, (float*)x, (float*)w, bias.IsEmpty ? null : (float*)b, residual.IsEmpty ? null : (float*)r, activation, (float*)y); return; }
                var body = new DepthwiseBody<T> { S = s, X = x, W = w, B = bias.IsEmpty ? null : b, R = residual.IsEmpty ? null : r, Y = y, Act = activation };
                int planes = s.Batch * s.OutChannels;
                Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref body);
                return;
            }
            if (UseWinograd<T>(s))
            {
                WinogradForward(s, (float*)x, ((Conv2dPackedWeight<float>)(object)weight).Winograd, bias.IsEmpty ? null : (float*)b,
                    residual.IsEmpty ? null : (float*)r, activation, (float*)y);
                return;
            }
            int rows;
            if (s.IsPointwise) rows = s.OutHeight;
            else
            {
                long perRow = (long)s.ColRows * s.OutWidth;
                rows = (int)Math.Clamp(InferencePanelElements / Math.Max(1, perRow), 1, Math.Max(1, s.OutHeight));
            }
            var packedBody = new PackedBody<T>
            {
                S = s, Packs = weight.Groups!, X = x, B = bias.IsEmpty ? null : b, R = residual.IsEmpty ? null : r, Y = y, Act = activation, PanelRows = rows,
                ParallelEpilogue = !ImageParallel(s) && KernelThreadPool.ThreadCount > 1,
            };
            Run(s.Batch, ImageParallel(s), ref packedBody);
        }
    }

    /// <summary>
    /// Direct depthwise convolution (groups = C = O, weight (C, 1, kH, kW)) with the fused epilogue:
    /// output = act(depthwise(input) + bias + residual). <paramref name="bias"/> and <paramref name="residual"/> may be empty.
    /// </summary>
    public static void DepthwiseForward<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias,
        ReadOnlySpan<T> residual, FusedActivation activation, Span<T> output) where T : unmanaged, INumber<T>
    {
        if (s.Groups != s.InChannels || s.Groups != s.OutChannels)
            throw new ArgumentException($"Conv2d.DepthwiseForward: needs groups = in = out channels, got {s}");
        CheckSizes<T>(s, input.Length, weight.Length, output.Length, "Conv2d.DepthwiseForward");
        if (!bias.IsEmpty && bias.Length < s.OutChannels) throw new ArgumentException($"Conv2d.DepthwiseForward: bias of length {bias.Length} for {s.OutChannels} output channels", nameof(bias));
        if (!residual.IsEmpty && residual.Length < (long)s.Batch * s.OutImage)
            throw new ArgumentException($"Conv2d.DepthwiseForward: residual of length {residual.Length} is too small for the output of {s}", nameof(residual));
        if (s.Batch == 0 || s.OutImage == 0) return;
        fixed (T* x = input, w = weight, b = bias, r = residual, y = output)
        {
            if (UseDepthwise<T>(s)) { DepthwiseFused(s, (float*)x, (float*)w, bias.IsEmpty ? null : (float*)b, residual.IsEmpty ? null : (float*)r, activation, (float*)y); return; }
            var body = new DepthwiseBody<T> { S = s, X = x, W = w, B = bias.IsEmpty ? null : b, R = residual.IsEmpty ? null : r, Y = y, Act = activation };
            int planes = s.Batch * s.OutChannels;
            Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref body);
        }
    }

    /// <summary>The float32 depthwise case of <see cref="ForwardPacked{T}"/> and <see cref="DepthwiseForward{T}"/>: the direct
    /// training kernel (padded planes, stride-2 columns phase-split) with the residual and activation applied per plane.</summary>
    static void DepthwiseFused(in ConvShape s, float* x, float* w, float* b, float* r, FusedActivation activation, float* y)
    {
        var body = new DepthwisePlaneBody { S = s, Source = x, W = w, Bias = b, Target = y, Residual = r, Act = activation };
        int planes = s.Batch * s.InChannels;
        Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref body);
    }

    /// <summary>row = act(row + bias + residual), in place (residual may be null).</summary>
    public static void ApplyEpilogue<T>(Span<T> row, T bias, ReadOnlySpan<T> residual, FusedActivation activation) where T : unmanaged, INumber<T>
    {
        if (typeof(T) == typeof(float) && activation != FusedActivation.Silu)
        {
            if (!residual.IsEmpty && residual.Length < row.Length) throw new ArgumentException($"ApplyEpilogue: residual of length {residual.Length} for a row of {row.Length}", nameof(residual));
            fixed (T* y = row, r = residual) EpilogueFloat((float*)y, row.Length, (float)(object)bias, residual.IsEmpty ? null : (float*)r, activation);
            return;
        }
        if (bias != T.Zero) TensorPrimitives.Add(row, bias, row);
        if (!residual.IsEmpty) TensorPrimitives.Add(row, residual.Slice(0, row.Length), row);
        switch (activation)
        {
            case FusedActivation.Relu: TensorPrimitives.Max(row, T.Zero, row); break;
            case FusedActivation.Relu6: TensorPrimitives.Max(row, T.Zero, row); TensorPrimitives.Min(row, T.CreateTruncating(6), row); break;
            case FusedActivation.Silu:
                if (typeof(T) == typeof(float)) Silu(MemoryMarshal.Cast<T, float>(row));
                else if (typeof(T) == typeof(double)) Silu(MemoryMarshal.Cast<T, double>(row));
                else throw new NotSupportedException($"SiLU epilogue: element type {typeof(T).Name} is not supported");
                break;
        }
    }

    /// <summary>y = act(y + bias + residual) in one pass, 8 floats at a time (residual may be null; not SiLU). The same
    /// operations as the TensorPrimitives passes of <see cref="ApplyEpilogue{T}"/>: the bias added, then the residual, then
    /// IEEE max/min (NaN propagates, +0 above −0).</summary>
    static void EpilogueFloat(float* y, int n, float bias, float* residual, FusedActivation activation)
    {
        if (bias == 0 && residual == null && activation == FusedActivation.None) return;
        bool addBias = bias != 0, clampLow = activation != FusedActivation.None, clampHigh = activation == FusedActivation.Relu6;
        var vb = Vector256.Create(bias); var zero = Vector256<float>.Zero; var six = Vector256.Create(6f);
        int i = 0;
        for (; i + 8 <= n; i += 8)
        {
            var v = Vector256.Load(y + i);
            if (addBias) v += vb;
            if (residual != null) v += Vector256.Load(residual + i);
            if (clampLow) v = Vector256.Max(v, zero);
            if (clampHigh) v = Vector256.Min(v, six);
            v.Store(y + i);
        }
        for (; i < n; i++)
        {
            float v = y[i];
            if (addBias) v += bias;
            if (residual != null) v += residual[i];
            if (clampLow) v = MathF.Max(v, 0);
            if (clampHigh) v = MathF.Min(v, 6);
            y[i] = v;
        }
    }

    static void Silu<TF>(Span<TF> row) where TF : unmanaged, IExponentialFunctions<TF>, INumber<TF>
    {
        const int chunk = 256;
        Span<TF> sig = stackalloc TF[chunk];
        for (int i = 0; i < row.Length; i += chunk)
        {
            var part = row.Slice(i, Math.Min(chunk, row.Length - i));
            var s = sig.Slice(0, part.Length);
            TensorPrimitives.Sigmoid<TF>(part, s);
            TensorPrimitives.Multiply<TF>(part, s, part);
        }
    }

    /// <summary>One image of <see cref="ForwardPacked{T}"/>: per group, panels of output rows through the prepacked GEMM, each followed by its epilogue.</summary>
    struct PackedBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public GemmPackedA<T>[] Packs;
        public T* X, B, R, Y;
        public FusedActivation Act;
        public int PanelRows;
        /// <summary>Whether the images run one after another on the calling thread (the epilogue may then use the pool).</summary>
        public bool ParallelEpilogue;

        public readonly void Invoke(int image)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            bool pointwise = s.IsPointwise;
            int panelSize = pointwise ? 0 : k * PanelRows * s.OutWidth;
            T[]? cols = panelSize == 0 ? null : ArrayPool<T>.Shared.Rent(panelSize);
            try
            {
                fixed (T* colPtr = cols)
                {
                    for (int g = 0; g < s.Groups; g++)
                    {
                        T* xg = X + (long)image * s.InImage + (long)g * cg * inPlane;
                        T* yg = Y + (long)image * s.OutImage + (long)g * og * plane;
                        for (int r0 = 0; r0 < s.OutHeight; r0 += PanelRows)
                        {
                            int r1 = Math.Min(s.OutHeight, r0 + PanelRows), n = (r1 - r0) * s.OutWidth;
                            // the GEMM's B: the input rows themselves (1×1 stride 1) or this panel's im2col columns
                            T* source = xg + r0 * s.OutWidth;
                            nint ldb = plane;
                            if (!pointwise)
                            {
                                Im2Col.UnfoldCore(xg, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW,
                                    s.StrideH, s.StrideW, s.DilationH, s.DilationW, s.OutWidth, r0, r1, colPtr, n);
                                source = colPtr; ldb = n;
                            }
                            GemmPacked.RunPrepackedA(Packs[g], n, source, ldb, T.Zero, yg + r0 * s.OutWidth, plane);
                            if (B == null && R == null && Act == FusedActivation.None) continue;
                            // one image on the calling thread (batch 1): the pool is free, so the epilogue's passes split by channel
                            long offset = (long)image * s.OutImage + (long)g * og * plane + r0 * s.OutWidth;
                            RunEpilogue(Y + offset, R == null ? null : R + offset, B == null ? null : B + g * og, Act, plane, n, og, ParallelEpilogue);
                        }
                    }
                }
            }
            finally { if (cols != null) ArrayPool<T>.Shared.Return(cols); }
        }
    }

    /// <summary>Outputs per parallel task of a batch-1 epilogue, roughly.</summary>
    const int EpilogueChunk = 16384;

    /// <summary>act(y + bias + residual) over <paramref name="channels"/> runs of <paramref name="count"/> outputs,
    /// <paramref name="plane"/> apart (residual in y's layout, bias per channel; either may be null), split by channel over
    /// the pool when <paramref name="parallel"/> and there is enough of it.</summary>
    static void RunEpilogue<T>(T* y, T* residual, T* bias, FusedActivation act, int plane, int count, int channels, bool parallel)
        where T : unmanaged, INumber<T>
    {
        var epilogue = new EpilogueBody<T> { Y = y, R = residual, B = bias, Act = act, Plane = plane, Count = count, Channels = channels };
        long total = (long)channels * count;
        int chunks = parallel && total >= 2 * EpilogueChunk ? (int)Math.Min(channels, total / EpilogueChunk) : 1;
        epilogue.PerChunk = (channels + chunks - 1) / chunks;
        if (chunks > 1) KernelThreadPool.ParallelFor(chunks, ref epilogue);
        else epilogue.Invoke(0);
    }

    /// <summary>The epilogue of channels [task · PerChunk, +PerChunk) of a panel: Count outputs per channel, Plane apart.</summary>
    struct EpilogueBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public T* Y, R, B;
        public FusedActivation Act;
        public int Plane, Count, Channels, PerChunk;

        public readonly void Invoke(int task)
        {
            int o1 = Math.Min(Channels, (task + 1) * PerChunk);
            for (int o = task * PerChunk; o < o1; o++)
                ApplyEpilogue(new Span<T>(Y + (long)o * Plane, Count), B == null ? T.Zero : B[o],
                    R == null ? default : new ReadOnlySpan<T>(R + (long)o * Plane, Count), Act);
        }
    }

    /// <summary>One (image, channel) plane of the direct depthwise convolution.</summary>
    struct DepthwiseBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public T* X, W, B, R, Y;
        public FusedActivation Act;

        public readonly void Invoke(int index)
        {
            ConvShape s = S;
            int c = index % s.OutChannels;
            int plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            T* x = X + (long)index * inPlane;
            T* y = Y + (long)index * plane;
            T* w = W + (long)c * s.KernelH * s.KernelW;
            new Span<T>(y, plane).Clear();
            for (int oh = 0; oh < s.OutHeight; oh++)
            {
                T* yRow = y + oh * s.OutWidth;
                for (int ki = 0; ki < s.KernelH; ki++)
                {
                    int ih = oh * s.StrideH - s.PadH + ki * s.DilationH;
                    if ((uint)ih >= (uint)s.InHeight) continue;
                    T* xRow = x + ih * s.InWidth;
                    for (int kj = 0; kj < s.KernelW; kj++)
                    {
                        T wv = w[ki * s.KernelW + kj];
                        int shift = kj * s.DilationW - s.PadW;
                        // output columns whose input column ow·stride + shift lies inside the row
                        int lo = shift >= 0 ? 0 : (-shift + s.StrideW - 1) / s.StrideW;
                        int hiExclusive = s.InWidth - 1 - shift < 0 ? 0 : Math.Min(s.OutWidth, (s.InWidth - 1 - shift) / s.StrideW + 1);
                        if (hiExclusive <= lo) continue;
                        if (s.StrideW == 1)
                        {
                            var dst = new Span<T>(yRow + lo, hiExclusive - lo);
                            TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(xRow + lo + shift, hiExclusive - lo), wv, dst, dst);
                        }
                        else
                            for (int ow = lo; ow < hiExclusive; ow++) yRow[ow] += wv * xRow[ow * s.StrideW + shift];
                    }
                }
            }
            if (B != null || R != null || Act != FusedActivation.None)
                ApplyEpilogue(new Span<T>(y, plane), B == null ? T.Zero : B[c], R == null ? default : new ReadOnlySpan<T>(R + (long)index * plane, plane), Act);
        }
    }
}
