using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// Direct ("implicit GEMM") float convolution for stride 1, dilation 1 and few output channels per group (the U-Net's 3×3
// convolutions at 16-64 channels; from 8 output channels per group), where im2col + packing + a 16- or 32-row GEMM spent as long moving the column matrix as
// multiplying. The input of a group of images is copied once into a zero-padded grid, channels outermost and the images of
// the group one after another: (C/g, images · (H + 2·padH) · (W + 2·padW)). On that grid the output position j (image i,
// row oh, column ow at j = i·plane + oh·Wp + ow) reads kernel tap (c, ki, kj) at j + c·channelStride + ki·Wp + kj, so every
// row of the implicit column matrix is a contiguous run of the grid at a fixed offset: the micro-kernel reads it straight
// from there (8 output channels × 32 positions, 16 AVX-512 accumulators, the taps in order) and no column matrix is made.
// Positions in the padding columns and rows of the grid are computed and dropped (7 % more work at 28×28, 29 % at 7×7).
// Each output element is one sum over the taps in a fixed order, whatever the thread count. The input gradient of such a
// convolution is the same kernel on the output gradient with the weight flipped and its channel axes swapped.
public static unsafe partial class Conv2d
{
    /// <summary>Whether the direct kernel may be used; tests and benchmarks turn it off to compare with im2col + GEMM.</summary>
    internal static bool DirectEnabled = true;

    /// <summary>Grid positions a task aims for (images of small planes are grouped up to it).</summary>
    const int DirectPositions = 2048;

    /// <summary>Output channels per group up to which the direct kernel replaces im2col + GEMM.</summary>
    const int DirectMaxOutChannels = 64;

    /// <summary>Output channels per group from which it does (below 8 most rows of the 8-row tile would be padding).</summary>
    const int DirectMinOutChannels = 8;

    /// <summary>Whether the direct kernel takes this convolution. Besides the shape conditions, at least a quarter of the
    /// padded grid's positions (which the kernel computes) must be outputs and at least a quarter must be real input: a
    /// 7 × 7 kernel over a 7 × 7 input (one output per 49 positions) or the input gradient of that layer (a 1 × 1 input
    /// padded by 6: one real value per 169) multiply mostly padding, where im2col + GEMM multiplies only real values.
    /// A DCGAN generator's first layer is both; with it on the direct kernel, a DCGAN step took 1.7× as long.</summary>
    static bool UseDirect<T>(in ConvShape s) where T : unmanaged =>
        DirectEnabled && typeof(T) == typeof(float) && Avx512F.IsSupported && s.StrideH == 1 && s.StrideW == 1
        && s.DilationH == 1 && s.DilationW == 1 && !s.IsPointwise && s.GroupOutChannels >= DirectMinOutChannels
        && s.GroupOutChannels <= DirectMaxOutChannels
        && s.PadH >= 0 && s.PadW >= 0 && s.OutHeight == s.InHeight + 2 * s.PadH - s.KernelH + 1
        && s.OutWidth == s.InWidth + 2 * s.PadW - s.KernelW + 1 && s.OutHeight > 0 && s.OutWidth > 0
        && 4L * s.OutHeight * s.OutWidth >= (long)(s.InHeight + 2 * s.PadH) * (s.InWidth + 2 * s.PadW)
        && 4L * s.InHeight * s.InWidth >= (long)(s.InHeight + 2 * s.PadH) * (s.InWidth + 2 * s.PadW);

    /// <summary>The input gradient of a stride-1 convolution as a direct convolution: (geometry, whether it applies).</summary>
    static bool DirectAdjoint<T>(in ConvShape s, out ConvShape adjoint) where T : unmanaged
    {
        adjoint = new ConvShape(s.Batch, s.OutChannels, s.OutHeight, s.OutWidth, s.InChannels, s.InHeight, s.InWidth, s.KernelH, s.KernelW,
            1, 1, s.KernelH - 1 - s.PadH, s.KernelW - 1 - s.PadW, 1, 1, s.Groups);
        // the adjoint's own conditions (stride 1, dilation 1, its padding kH - 1 - padH not negative, the sizes consistent) are
        // those of the convolution, except the channel counts: a 16 -> 1 convolution has a direct 1 -> 16 input gradient
        return s.StrideH == 1 && s.StrideW == 1 && s.DilationH == 1 && s.DilationW == 1 && UseDirect<T>(adjoint);
    }

    /// <summary>w (O, C/g, kH, kW) into the adjoint's weight (C, O/g, kH, kW): flipped in both spatial axes, channel axes swapped per group.</summary>
    static void FlipWeight(in ConvShape s, float* w, float* flipped)
    {
        int og = s.GroupOutChannels, cg = s.GroupInChannels, kh = s.KernelH, kw = s.KernelW, taps = kh * kw;
        for (int g = 0; g < s.Groups; g++)
            for (int o = 0; o < og; o++)
                for (int c = 0; c < cg; c++)
                {
                    float* src = w + ((long)(g * og + o) * cg + c) * taps;
                    float* dst = flipped + ((long)(g * cg + c) * og + o) * taps;
                    for (int t = 0; t < taps; t++) dst[taps - 1 - t] = src[t];
                }
    }

    /// <summary>y = conv(x, w) + b through the direct kernel (<see cref="UseDirect{T}"/> holds).</summary>
    static void DirectForward(in ConvShape s, float* x, float* w, float* b, float* y)
    {
        int og = s.GroupOutChannels, k = s.ColRows, tiles = (og + 7) / 8;
        int wp = s.InWidth + 2 * s.PadW, plane = (s.InHeight + 2 * s.PadH) * wp;
        int images = Math.Clamp(DirectPositions / plane, 1, Math.Min(s.Batch, MaxImagesPerGroup));
        int tasks = (s.Batch + images - 1) / images;
        long channelStride = (long)images * plane;
        // weights of each group in 8-row tiles, tap-major: [g][tile][tap][8], rows past og zero
        long packedPerGroup = (long)tiles * k * 8;
        float[] packed = ArrayPool<float>.Shared.Rent((int)(packedPerGroup * s.Groups));
        int[] offsets = ArrayPool<int>.Shared.Rent(k);
        try
        {
            fixed (float* wPacked = packed)
            fixed (int* off = offsets)
            {
                new Span<float>(wPacked, (int)(packedPerGroup * s.Groups)).Clear();
                for (int g = 0; g < s.Groups; g++)
                    for (int o = 0; o < og; o++)
                        for (int p = 0; p < k; p++)
                            wPacked[g * packedPerGroup + ((long)(o / 8) * k + p) * 8 + o % 8] = w[(long)(g * og + o) * k + p];
                for (int c = 0, p = 0; c < s.GroupInChannels; c++)
                    for (int ki = 0; ki < s.KernelH; ki++)
                        for (int kj = 0; kj < s.KernelW; kj++, p++)
                            off[p] = checked((int)(c * channelStride + ki * wp + kj));
                var body = new DirectBody { S = s, X = x, WPacked = wPacked, PackedPerGroup = packedPerGroup, Off = off, B = b, Y = y,
                    Images = images, Plane = plane, GridWidth = wp, ChannelStride = channelStride };
                Run(tasks, s.Batch > 1 && tasks > 1, ref body);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(packed);
            ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>One group of images of <see cref="DirectForward"/>.</summary>
    struct DirectBody : IParallelBody
    {
        public ConvShape S;
        public float* X, WPacked, B, Y;
        public int* Off;
        public long PackedPerGroup, ChannelStride;
        public int Images, Plane, GridWidth;

        public readonly void Invoke(int task)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, tiles = (og + 7) / 8, wp = GridWidth;
            int first = task * Images, count = Math.Min(Images, s.Batch - first);
            int outPlane = s.OutHeight * s.OutWidth;
            // positions up to the last output of the last image; reads run past them by at most the largest offset + 31
            int n = (count - 1) * Plane + (s.OutHeight - 1) * wp + s.OutWidth;
            int nTiles = (n + 31) / 32;
            long gridSize = cg * ChannelStride + (s.KernelH - 1) * wp + s.KernelW + 32;
            float[] gridArray = ArrayPool<float>.Shared.Rent((int)gridSize);
            float[] outArray = ArrayPool<float>.Shared.Rent(tiles * 8 * nTiles * 32);
            try
            {
                fixed (float* grid = gridArray, result = outArray)
                {
                    long ldr = (long)nTiles * 32;
                    for (int g = 0; g < s.Groups; g++)
                    {
                        FillGrid(s, X, first, count, g, Plane, wp, ChannelStride, grid, gridSize);
                        float* wg = WPacked + g * PackedPerGroup;
                        for (int jt = 0; jt < nTiles; jt++)
                            for (int t = 0; t < tiles; t++)
                                Tile8x32(wg + (long)t * k * 8, grid + jt * 32, Off, k, result + t * 8 * ldr + jt * 32, ldr);
                        // the valid positions of each image's rows into the output, plus the bias
                        for (int o = 0; o < og; o++)
                        {
                            float bias = B == null ? 0f : B[g * og + o];
                            float* row = result + o * ldr;
                            for (int i = 0; i < count; i++)
                            {
                                float* dst = Y + (long)(first + i) * s.OutImage + (long)(g * og + o) * outPlane;
                                for (int r = 0; r < s.OutHeight; r++)
                                {
                                    var from = new ReadOnlySpan<float>(row + (long)i * Plane + (long)r * wp, s.OutWidth);
                                    var to = new Span<float>(dst + (long)r * s.OutWidth, s.OutWidth);
                                    if (B == null) from.CopyTo(to);
                                    else System.Numerics.Tensors.TensorPrimitives.Add(from, bias, to);
                                }
                            }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(gridArray);
                ArrayPool<float>.Shared.Return(outArray);
            }
        }
    }

    /// <summary>Channels of group g of images [first, first + count) into the zero-padded grid (C/g, images · plane).</summary>
    static void FillGrid(in ConvShape s, float* x, int first, int count, int g, int plane, int wp, long channelStride, float* grid, long gridSize)
    {
        int cg = s.GroupInChannels, inPlane = s.InHeight * s.InWidth;
        new Span<float>(grid, (int)gridSize).Clear();
        for (int c = 0; c < cg; c++)
            for (int i = 0; i < count; i++)
            {
                float* src = x + (long)(first + i) * s.InImage + (long)(g * cg + c) * inPlane;
                float* dst = grid + c * channelStride + (long)i * plane + (long)s.PadH * wp + s.PadW;
                for (int r = 0; r < s.InHeight; r++)
                    Buffer.MemoryCopy(src + (long)r * s.InWidth, dst + (long)r * wp, s.InWidth * 4L, s.InWidth * 4L);
            }
    }

    /// <summary>
    /// C (8 × 32, row stride ldc) = Σ_p a[p][0..8) ⊗ x[off[p] .. off[p] + 32): the taps p in order, one fused multiply-add each.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Tile8x32(float* a, float* x, int* off, int k, float* c, long ldc)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < k; p++, a += 8)
        {
            float* b = x + off[p];
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
            var w = Vector512.Create(a[0]); c00 = Avx512F.FusedMultiplyAdd(w, b0, c00); c01 = Avx512F.FusedMultiplyAdd(w, b1, c01);
            w = Vector512.Create(a[1]); c10 = Avx512F.FusedMultiplyAdd(w, b0, c10); c11 = Avx512F.FusedMultiplyAdd(w, b1, c11);
            w = Vector512.Create(a[2]); c20 = Avx512F.FusedMultiplyAdd(w, b0, c20); c21 = Avx512F.FusedMultiplyAdd(w, b1, c21);
            w = Vector512.Create(a[3]); c30 = Avx512F.FusedMultiplyAdd(w, b0, c30); c31 = Avx512F.FusedMultiplyAdd(w, b1, c31);
            w = Vector512.Create(a[4]); c40 = Avx512F.FusedMultiplyAdd(w, b0, c40); c41 = Avx512F.FusedMultiplyAdd(w, b1, c41);
            w = Vector512.Create(a[5]); c50 = Avx512F.FusedMultiplyAdd(w, b0, c50); c51 = Avx512F.FusedMultiplyAdd(w, b1, c51);
            w = Vector512.Create(a[6]); c60 = Avx512F.FusedMultiplyAdd(w, b0, c60); c61 = Avx512F.FusedMultiplyAdd(w, b1, c61);
            w = Vector512.Create(a[7]); c70 = Avx512F.FusedMultiplyAdd(w, b0, c70); c71 = Avx512F.FusedMultiplyAdd(w, b1, c71);
        }
        c00.Store(c); c01.Store(c + 16); c += ldc;
        c10.Store(c); c11.Store(c + 16); c += ldc;
        c20.Store(c); c21.Store(c + 16); c += ldc;
        c30.Store(c); c31.Store(c + 16); c += ldc;
        c40.Store(c); c41.Store(c + 16); c += ldc;
        c50.Store(c); c51.Store(c + 16); c += ldc;
        c60.Store(c); c61.Store(c + 16); c += ldc;
        c70.Store(c); c71.Store(c + 16);
    }
}
