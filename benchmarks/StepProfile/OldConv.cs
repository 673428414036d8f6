using System.Buffers;
using System.Numerics;
using System.Runtime.InteropServices;
using DeepSharp.Kernels;

// The im2col + GEMM convolution before batch parallelism, for A/B timing in the same process.
public static class OldConv
{
    /// <summary>Upper bound, in elements, of the im2col panel (larger only when one output row needs more); tests lower it.</summary>
    public static int PanelElements = 1 << 20;

    /// <summary>Output rows per im2col panel for this geometry.</summary>
    static int PanelRows(in ConvShape s)
    {
        long perRow = (long)s.ColRows * s.OutWidth;
        if (perRow == 0) return Math.Max(1, s.OutHeight);
        return (int)Math.Clamp(PanelElements / perRow, 1, Math.Max(1, s.OutHeight));
    }

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

    /// <summary>
    /// output = conv2d(input, weight) + bias (torch.nn.functional.conv2d). <paramref name="bias"/> may be empty.
    /// </summary>
    public static void Forward<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> weight, ReadOnlySpan<T> bias, Span<T> output)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, input.Length, weight.Length, output.Length, "Conv2d");
        if (!bias.IsEmpty && bias.Length < s.OutChannels) throw new ArgumentException($"Conv2d: bias of length {bias.Length} for {s.OutChannels} output channels");
        int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
        int panelRows = PanelRows(s);
        T[]? rented = s.IsPointwise ? null : ArrayPool<T>.Shared.Rent(k * panelRows * s.OutWidth);
        try
        {
            for (int n = 0; n < s.Batch; n++)
            {
                var x = input.Slice(n * s.InImage, s.InImage);
                var y = output.Slice(n * s.OutImage, s.OutImage);
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
                if (!bias.IsEmpty)
                    for (int o = 0; o < s.OutChannels; o++)
                    {
                        var row = y.Slice(o * plane, plane);
                        System.Numerics.Tensors.TensorPrimitives.Add(row, bias[o], row);
                    }
            }
        }
        finally { if (rented != null) ArrayPool<T>.Shared.Return(rented); }
    }

    /// <summary>
    /// gradInput = conv2d's input gradient for <paramref name="gradOutput"/> (the adjoint of <see cref="Forward{T}"/> in its
    /// input); this is also the forward of torch.nn.functional.conv_transpose2d. <paramref name="gradInput"/> is overwritten.
    /// </summary>
    public static void BackwardData<T>(in ConvShape s, ReadOnlySpan<T> gradOutput, ReadOnlySpan<T> weight, Span<T> gradInput)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, gradInput.Length, weight.Length, gradOutput.Length, "Conv2dBackwardData");
        int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
        int panelRows = PanelRows(s);
        T[]? rented = s.IsPointwise ? null : ArrayPool<T>.Shared.Rent(k * panelRows * s.OutWidth);
        try
        {
            for (int n = 0; n < s.Batch; n++)
            {
                var gy = gradOutput.Slice(n * s.OutImage, s.OutImage);
                var gx = gradInput.Slice(n * s.InImage, s.InImage);
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
        }
        finally { if (rented != null) ArrayPool<T>.Shared.Return(rented); }
    }

    /// <summary>
    /// gradWeight = sum over the batch of gradOutput · im2col(input)ᵀ (conv2d's weight gradient). <paramref name="gradWeight"/>
    /// is overwritten.
    /// </summary>
    public static void BackwardWeight<T>(in ConvShape s, ReadOnlySpan<T> input, ReadOnlySpan<T> gradOutput, Span<T> gradWeight)
        where T : unmanaged, INumber<T>
    {
        CheckSizes<T>(s, input.Length, gradWeight.Length, gradOutput.Length, "Conv2dBackwardWeight");
        int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
        int panelRows = PanelRows(s);
        gradWeight.Slice(0, s.WeightSize).Clear();
        T[]? rented = s.IsPointwise ? null : ArrayPool<T>.Shared.Rent(k * panelRows * s.OutWidth);
        try
        {
            for (int n = 0; n < s.Batch; n++)
            {
                var x = input.Slice(n * s.InImage, s.InImage);
                var gy = gradOutput.Slice(n * s.OutImage, s.OutImage);
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
            DeepSharp.Kernels.Gemm.Sgemm(transA, transB, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                accumulate ? 1f : 0f, MemoryMarshal.Cast<T, float>(c), ldc);
        else if (typeof(T) == typeof(double))
            DeepSharp.Kernels.Gemm.Dgemm(transA, transB, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                accumulate ? 1.0 : 0.0, MemoryMarshal.Cast<T, double>(c), ldc);
        else
            DeepSharp.Kernels.Gemm.Reference(transA, transB, m, n, k, T.One, a, lda, b, ldb, accumulate ? T.One : T.Zero, c, ldc);
    }

    static int Extent(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

}
