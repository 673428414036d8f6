using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// The weight gradient of the direct convolution (ConvDirect.cs): on the same zero-padded grid, gradWeight[o][tap] is the
// dot product of the output gradient of channel o (laid out on the grid's positions, zero at the padding positions) with
// the grid shifted by the tap's offset. A 4 × 4 tile of (channel, tap) pairs streams the positions 16 at a time into 16
// AVX-512 accumulators, each reduced at the end. The batch is cut into chunks of image groups by the shape only; chunk 0
// accumulates into gradWeight and chunk c into partial c − 1, added in chunk order: the same sums at any thread count.
public static unsafe partial class Conv2d
{
    /// <summary>gradWeight = Σ gradOutput ⊗ taps of the input, through the direct kernel (<see cref="UseDirect{T}"/> holds).</summary>
    static void DirectBackwardWeight(in ConvShape s, float* x, float* gy, float* gw)
    {
        int k = s.ColRows, size = s.WeightSize;
        int wp = s.InWidth + 2 * s.PadW, plane = (s.InHeight + 2 * s.PadH) * wp;
        int images = Math.Clamp(DirectPositions / plane, 1, Math.Min(s.Batch, MaxImagesPerGroup));
        int tasks = (s.Batch + images - 1) / images;
        int chunks = Math.Max(1, Math.Min(Math.Min(tasks, MaxWeightChunks), MaxPartialElements / size));
        long channelStride = (long)images * plane;
        float[]? partials = chunks > 1 ? ArrayPool<float>.Shared.Rent((chunks - 1) * size) : null;
        int[] offsets = ArrayPool<int>.Shared.Rent(k);
        try
        {
            fixed (float* part = partials)
            fixed (int* off = offsets)
            {
                for (int c = 0, p = 0; c < s.GroupInChannels; c++)
                    for (int ki = 0; ki < s.KernelH; ki++)
                        for (int kj = 0; kj < s.KernelW; kj++, p++)
                            off[p] = checked((int)(c * channelStride + ki * wp + kj));
                var body = new DirectWeightBody { S = s, X = x, GY = gy, GW = gw, Partials = part, Off = off, Chunks = chunks, Tasks = tasks,
                    Images = images, Plane = plane, GridWidth = wp, ChannelStride = channelStride };
                Run(chunks, chunks > 1 && KernelThreadPool.ThreadCount > 1, ref body);
                for (int c = 1; c < chunks; c++)
                {
                    var dst = new Span<float>(gw, size);
                    System.Numerics.Tensors.TensorPrimitives.Add(dst, new ReadOnlySpan<float>(part + (long)(c - 1) * size, size), dst);
                }
            }
        }
        finally
        {
            if (partials != null) ArrayPool<float>.Shared.Return(partials);
            ArrayPool<int>.Shared.Return(offsets);
        }
    }

    /// <summary>One chunk of image groups of <see cref="DirectBackwardWeight"/>.</summary>
    struct DirectWeightBody : IParallelBody
    {
        public ConvShape S;
        public float* X, GY, GW, Partials;
        public int* Off;
        public long ChannelStride;
        public int Chunks, Tasks, Images, Plane, GridWidth;

        public readonly void Invoke(int chunk)
        {
            ConvShape s = S;
            int og = s.GroupOutChannels, cg = s.GroupInChannels, k = s.ColRows, wp = GridWidth, outPlane = s.OutHeight * s.OutWidth;
            int og4 = (og + 3) / 4 * 4;
            float* gradWeight = chunk == 0 ? GW : Partials + (long)(chunk - 1) * s.WeightSize;
            new Span<float>(gradWeight, s.WeightSize).Clear();
            int t0 = (int)((long)chunk * Tasks / Chunks), t1 = (int)((long)(chunk + 1) * Tasks / Chunks);
            long gridSize = cg * ChannelStride + (s.KernelH - 1) * wp + s.KernelW + 32;
            int nMax = ((Images - 1) * Plane + (s.OutHeight - 1) * wp + s.OutWidth + 15) / 16 * 16;
            float[] gridArray = ArrayPool<float>.Shared.Rent((int)gridSize);
            float[] gradArray = ArrayPool<float>.Shared.Rent(og4 * nMax);
            int* tileOffsets = stackalloc int[4];
            float* sums = stackalloc float[16];
            try
            {
                fixed (float* grid = gridArray, gradGrid = gradArray)
                {
                    for (int task = t0; task < t1; task++)
                    {
                        int first = task * Images, count = Math.Min(Images, s.Batch - first);
                        int n = ((count - 1) * Plane + (s.OutHeight - 1) * wp + s.OutWidth + 15) / 16 * 16;
                        for (int g = 0; g < s.Groups; g++)
                        {
                            FillGrid(s, X, first, count, g, Plane, wp, ChannelStride, grid, gridSize);
                            // the output gradient on the grid's positions (row stride n), zero at the padding positions and rows past og
                            new Span<float>(gradGrid, og4 * n).Clear();
                            for (int o = 0; o < og; o++)
                                for (int i = 0; i < count; i++)
                                {
                                    float* src = GY + (long)(first + i) * s.OutImage + (long)(g * og + o) * outPlane;
                                    float* dst = gradGrid + (long)o * n + (long)i * Plane;
                                    for (int r = 0; r < s.OutHeight; r++)
                                        Buffer.MemoryCopy(src + (long)r * s.OutWidth, dst + (long)r * wp, s.OutWidth * 4L, s.OutWidth * 4L);
                                }
                            for (int o0 = 0; o0 < og; o0 += 4)
                                for (int p0 = 0; p0 < k; p0 += 4)
                                {
                                    // taps past k read a valid tap's run; their sums are dropped
                                    for (int q = 0; q < 4; q++) tileOffsets[q] = Off[Math.Min(p0 + q, k - 1)];
                                    Dot4x4(gradGrid + (long)o0 * n, n, grid, tileOffsets, n, sums);
                                    for (int a = 0; a < 4 && o0 + a < og; a++)
                                    {
                                        float* row = gradWeight + (long)(g * og + o0 + a) * k;
                                        for (int q = 0; q < 4 && p0 + q < k; q++) row[p0 + q] += sums[a * 4 + q];
                                    }
                                }
                        }
                    }
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(gridArray);
                ArrayPool<float>.Shared.Return(gradArray);
            }
        }
    }

    /// <summary>sums[a·4 + q] = Σ_{j &lt; n} g[a·ldg + j] · x[off[q] + j] for a, q &lt; 4 (n a multiple of 16), lanes reduced in a fixed order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot4x4(float* g, long ldg, float* x, int* off, int n, float* sums)
    {
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        float* x0 = x + off[0], x1 = x + off[1], x2 = x + off[2], x3 = x + off[3];
        float* g0 = g, g1 = g + ldg, g2 = g + 2 * ldg, g3 = g + 3 * ldg;
        for (int j = 0; j < n; j += 16)
        {
            var b0 = Vector512.Load(x0 + j); var b1 = Vector512.Load(x1 + j); var b2 = Vector512.Load(x2 + j); var b3 = Vector512.Load(x3 + j);
            var a = Vector512.Load(g0 + j);
            s00 = Avx512F.FusedMultiplyAdd(a, b0, s00); s01 = Avx512F.FusedMultiplyAdd(a, b1, s01); s02 = Avx512F.FusedMultiplyAdd(a, b2, s02); s03 = Avx512F.FusedMultiplyAdd(a, b3, s03);
            a = Vector512.Load(g1 + j);
            s10 = Avx512F.FusedMultiplyAdd(a, b0, s10); s11 = Avx512F.FusedMultiplyAdd(a, b1, s11); s12 = Avx512F.FusedMultiplyAdd(a, b2, s12); s13 = Avx512F.FusedMultiplyAdd(a, b3, s13);
            a = Vector512.Load(g2 + j);
            s20 = Avx512F.FusedMultiplyAdd(a, b0, s20); s21 = Avx512F.FusedMultiplyAdd(a, b1, s21); s22 = Avx512F.FusedMultiplyAdd(a, b2, s22); s23 = Avx512F.FusedMultiplyAdd(a, b3, s23);
            a = Vector512.Load(g3 + j);
            s30 = Avx512F.FusedMultiplyAdd(a, b0, s30); s31 = Avx512F.FusedMultiplyAdd(a, b1, s31); s32 = Avx512F.FusedMultiplyAdd(a, b2, s32); s33 = Avx512F.FusedMultiplyAdd(a, b3, s33);
        }
        sums[0] = Vector512.Sum(s00); sums[1] = Vector512.Sum(s01); sums[2] = Vector512.Sum(s02); sums[3] = Vector512.Sum(s03);
        sums[4] = Vector512.Sum(s10); sums[5] = Vector512.Sum(s11); sums[6] = Vector512.Sum(s12); sums[7] = Vector512.Sum(s13);
        sums[8] = Vector512.Sum(s20); sums[9] = Vector512.Sum(s21); sums[10] = Vector512.Sum(s22); sums[11] = Vector512.Sum(s23);
        sums[12] = Vector512.Sum(s30); sums[13] = Vector512.Sum(s31); sums[14] = Vector512.Sum(s32); sums[15] = Vector512.Sum(s33);
    }
}
