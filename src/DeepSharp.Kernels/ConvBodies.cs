using System.Buffers;
using System.Numerics;

namespace DeepSharp.Kernels;

// The parallel tasks of the convolution kernels: one group of images each (forward, input gradient) or one chunk of the
// batch (weight gradient). Each task rents its own column buffer (and output buffer for grouped images) for its duration.
public static unsafe partial class Conv2d
{
    /// <summary>Images [first, first+count) of one group, unfolded side by side into columns (k, count*plane) with row stride count*plane.</summary>
    static void UnfoldGroup<T>(in ConvShape s, T* input, int first, int count, int group, T* cols) where T : unmanaged, INumber<T>
    {
        int cg = s.GroupInChannels, plane = s.OutHeight * s.OutWidth;
        long ld = (long)count * plane;
        for (int i = 0; i < count; i++)
            Im2Col.UnfoldCore(input + (long)(first + i) * s.InImage + (long)group * cg * s.InHeight * s.InWidth, cg, s.InHeight, s.InWidth,
                s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW, s.DilationH, s.DilationW, s.OutWidth, 0, s.OutHeight,
                cols + (long)i * plane, ld);
    }

    /// <summary>Copies the output channels of one conv group for images [first, first+count) into rows (og, count*plane).</summary>
    static void GatherGroup<T>(in ConvShape s, T* images, int first, int count, int group, T* rows) where T : unmanaged, INumber<T>
    {
        int og = s.GroupOutChannels, plane = s.OutHeight * s.OutWidth;
        for (int o = 0; o < og; o++)
            for (int i = 0; i < count; i++)
                new ReadOnlySpan<T>(images + (long)(first + i) * s.OutImage + (long)(group * og + o) * plane, plane)
                    .CopyTo(new Span<T>(rows + ((long)o * count + i) * plane, plane));
    }

    /// <summary>One group of images of <see cref="Forward{T}"/>.</summary>
    struct ForwardBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public Plan P;
        public T* X, W, B, Y;

        public readonly void Invoke(int task)
        {
            ConvShape s = S; Plan p = P;
            int og = s.GroupOutChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            int first = task * p.ImagesPerGroup, count = Math.Min(p.ImagesPerGroup, s.Batch - first);
            T[]? cols = p.PanelSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.PanelSize);
            T[]? temp = p.TempSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.TempSize);
            try
            {
                fixed (T* colPtr = cols, tempPtr = temp)
                {
                    for (int g = 0; g < s.Groups; g++)
                    {
                        var wg = new ReadOnlySpan<T>(W + (long)g * og * k, og * k);
                        if (p.Grouped)
                        {
                            // (og, k) @ (k, count*plane) into (og, count*plane), then each image's rows into place
                            int n = count * plane;
                            UnfoldGroup(s, X, first, count, g, colPtr);
                            Gemm<T>(false, false, og, n, k, wg, k, new ReadOnlySpan<T>(colPtr, k * n), n, false, new Span<T>(tempPtr, og * n), n);
                            for (int o = 0; o < og; o++)
                                for (int i = 0; i < count; i++)
                                    new ReadOnlySpan<T>(tempPtr + ((long)o * count + i) * plane, plane)
                                        .CopyTo(new Span<T>(Y + (long)(first + i) * s.OutImage + (long)(g * og + o) * plane, plane));
                            continue;
                        }
                        var xg = new ReadOnlySpan<T>(X + (long)first * s.InImage + (long)g * s.GroupInChannels * inPlane, s.GroupInChannels * inPlane);
                        var yg = new Span<T>(Y + (long)first * s.OutImage + (long)g * og * plane, og * plane);
                        if (cols == null) { Gemm<T>(false, false, og, plane, k, wg, k, xg, plane, false, yg, plane); continue; }
                        for (int r0 = 0; r0 < s.OutHeight; r0 += p.PanelRows)
                        {
                            int r1 = Math.Min(s.OutHeight, r0 + p.PanelRows), n = (r1 - r0) * s.OutWidth;
                            fixed (T* xgp = xg)
                                Im2Col.UnfoldCore(xgp, s.GroupInChannels, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW,
                                    s.StrideH, s.StrideW, s.DilationH, s.DilationW, s.OutWidth, r0, r1, colPtr, n);
                            // (og, k) @ (k, n) into the output rows r0..r1 of every channel (row stride = plane)
                            Gemm<T>(false, false, og, n, k, wg, k, new ReadOnlySpan<T>(colPtr, k * n), n, false, yg.Slice(r0 * s.OutWidth), plane);
                        }
                    }
                }
            }
            finally
            {
                if (cols != null) ArrayPool<T>.Shared.Return(cols);
                if (temp != null) ArrayPool<T>.Shared.Return(temp);
            }
            if (B != null)
                for (int i = first; i < first + count; i++)
                    for (int o = 0; o < s.OutChannels; o++)
                    {
                        var row = new Span<T>(Y + (long)i * s.OutImage + (long)o * plane, plane);
                        System.Numerics.Tensors.TensorPrimitives.Add(row, B[o], row);
                    }
        }
    }

    /// <summary>One group of images of <see cref="BackwardData{T}"/>.</summary>
    struct BackwardDataBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public Plan P;
        public T* GY, W, GX;

        public readonly void Invoke(int task)
        {
            ConvShape s = S; Plan p = P;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            int first = task * p.ImagesPerGroup, count = Math.Min(p.ImagesPerGroup, s.Batch - first);
            T[]? cols = p.PanelSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.PanelSize);
            T[]? temp = p.TempSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.TempSize);
            try
            {
                if (cols != null) new Span<T>(GX + (long)first * s.InImage, count * s.InImage).Clear();
                fixed (T* colPtr = cols, tempPtr = temp)
                {
                    for (int g = 0; g < s.Groups; g++)
                    {
                        var wg = new ReadOnlySpan<T>(W + (long)g * og * k, og * k);
                        if (p.Grouped)
                        {
                            // W^T (k, og) @ gradient rows (og, count*plane) into columns (k, count*plane), folded image by image
                            int n = count * plane;
                            GatherGroup(s, GY, first, count, g, tempPtr);
                            Gemm<T>(true, false, k, n, og, wg, k, new ReadOnlySpan<T>(tempPtr, og * n), n, false, new Span<T>(colPtr, k * n), n);
                            for (int i = 0; i < count; i++)
                                Im2Col.FoldAddCore(colPtr + (long)i * plane, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW,
                                    s.StrideH, s.StrideW, s.DilationH, s.DilationW, s.OutWidth, 0, s.OutHeight,
                                    GX + (long)(first + i) * s.InImage + (long)g * cg * inPlane, n, colsAreScratch: true);
                            continue;
                        }
                        var gyg = new ReadOnlySpan<T>(GY + (long)first * s.OutImage + (long)g * og * plane, og * plane);
                        T* gxg = GX + (long)first * s.InImage + (long)g * cg * inPlane;
                        if (cols == null) { Gemm<T>(true, false, k, plane, og, wg, k, gyg, plane, false, new Span<T>(gxg, cg * inPlane), plane); continue; }
                        for (int r0 = 0; r0 < s.OutHeight; r0 += p.PanelRows)
                        {
                            int r1 = Math.Min(s.OutHeight, r0 + p.PanelRows), n = (r1 - r0) * s.OutWidth;
                            // (k, og) = W^T times (og, n) gradient panel
                            Gemm<T>(true, false, k, n, og, wg, k, gyg.Slice(r0 * s.OutWidth), plane, false, new Span<T>(colPtr, k * n), n);
                            Im2Col.FoldAddCore(colPtr, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW,
                                s.DilationH, s.DilationW, s.OutWidth, r0, r1, gxg, n, colsAreScratch: true);
                        }
                    }
                }
            }
            finally
            {
                if (cols != null) ArrayPool<T>.Shared.Return(cols);
                if (temp != null) ArrayPool<T>.Shared.Return(temp);
            }
        }
    }

    /// <summary>One chunk of the batch of <see cref="BackwardWeight{T}"/>, accumulated into its own buffer.</summary>
    struct BackwardWeightBody<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public ConvShape S;
        public Plan P;
        public T* X, GY, GW, Partials;
        public int Chunks;

        public readonly void Invoke(int chunk)
        {
            ConvShape s = S; Plan p = P;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, plane = s.OutHeight * s.OutWidth, inPlane = s.InHeight * s.InWidth;
            // chunks are cut at group boundaries: groups [g0, g1) of ImagesPerGroup images
            int groups = (s.Batch + p.ImagesPerGroup - 1) / p.ImagesPerGroup;
            int g0 = (int)((long)chunk * groups / Chunks), g1 = (int)((long)(chunk + 1) * groups / Chunks);
            T* gradWeight = chunk == 0 ? GW : Partials + (long)(chunk - 1) * s.WeightSize;
            new Span<T>(gradWeight, s.WeightSize).Clear();
            T[]? cols = p.PanelSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.PanelSize);
            T[]? temp = p.TempSize == 0 ? null : ArrayPool<T>.Shared.Rent(p.TempSize);
            try
            {
                fixed (T* colPtr = cols, tempPtr = temp)
                {
                    for (int imageGroup = g0; imageGroup < g1; imageGroup++)
                    {
                        int first = imageGroup * p.ImagesPerGroup, count = Math.Min(p.ImagesPerGroup, s.Batch - first);
                        for (int g = 0; g < s.Groups; g++)
                        {
                            var gwg = new Span<T>(gradWeight + (long)g * og * k, og * k);
                            if (p.Grouped)
                            {
                                // gradient rows (og, n) @ columns (k, n)^T accumulated into (og, k)
                                int n = count * plane;
                                UnfoldGroup(s, X, first, count, g, colPtr);
                                GatherGroup(s, GY, first, count, g, tempPtr);
                                Gemm<T>(false, true, og, k, n, new ReadOnlySpan<T>(tempPtr, og * n), n, new ReadOnlySpan<T>(colPtr, k * n), n, true, gwg, k);
                                continue;
                            }
                            for (int i = first; i < first + count; i++)
                            {
                                T* xg = X + (long)i * s.InImage + (long)g * cg * inPlane;
                                var gyg = new ReadOnlySpan<T>(GY + (long)i * s.OutImage + (long)g * og * plane, og * plane);
                                if (cols == null) { Gemm<T>(false, true, og, k, plane, gyg, plane, new ReadOnlySpan<T>(xg, cg * inPlane), plane, true, gwg, k); continue; }
                                for (int r0 = 0; r0 < s.OutHeight; r0 += p.PanelRows)
                                {
                                    int r1 = Math.Min(s.OutHeight, r0 + p.PanelRows), n = (r1 - r0) * s.OutWidth;
                                    Im2Col.UnfoldCore(xg, cg, s.InHeight, s.InWidth, s.KernelH, s.KernelW, s.PadH, s.PadW, s.StrideH, s.StrideW,
                                        s.DilationH, s.DilationW, s.OutWidth, r0, r1, colPtr, n);
                                    // (og, n) @ (k, n)^T accumulated into (og, k)
                                    Gemm<T>(false, true, og, k, n, gyg.Slice(r0 * s.OutWidth), plane, new ReadOnlySpan<T>(colPtr, k * n), n, true, gwg, k);
                                }
                            }
                        }
                    }
                }
            }
            finally
            {
                if (cols != null) ArrayPool<T>.Shared.Return(cols);
                if (temp != null) ArrayPool<T>.Shared.Return(temp);
            }
        }
    }
}
