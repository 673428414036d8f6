using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

/// <summary>
/// The weight of a 3×3 stride-1 float32 convolution in the Winograd domain F(4×4, 3×3) (Lavin and Gray, "Fast Algorithms
/// for Convolutional Neural Networks", 2016): for each of the 6×6 transform positions ξν the (O, C) matrix
/// U_ξν = (G g Gᵀ)_ξν over all (o, c), packed once for the GEMM. Made lazily by <see cref="Conv2dPackedWeight{T}"/> on the
/// first inference forward that can use it.
/// </summary>
internal sealed class WinogradWeight
{
    internal const int Tile = 4, Alpha = 6, Positions = Alpha * Alpha;
    internal readonly GemmPackedA<float>[] U = new GemmPackedA<float>[Positions];
    internal readonly int OutChannels, InChannels;

    // G (6×3), Bᵀ (6×6), Aᵀ (4×6) of F(4×4, 3×3) with the interpolation points 0, ±1, ±2 and ∞
    internal static readonly float[,] G =
    {
        { 1f / 4, 0, 0 }, { -1f / 6, -1f / 6, -1f / 6 }, { -1f / 6, 1f / 6, -1f / 6 },
        { 1f / 24, 1f / 12, 1f / 6 }, { 1f / 24, -1f / 12, 1f / 6 }, { 0, 0, 1 },
    };
    internal static readonly float[,] BT =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };
    internal static readonly float[,] AT =
    {
        { 1, 1, 1, 1, 1, 0 }, { 0, 1, -1, 2, -2, 0 }, { 0, 1, 1, 4, 4, 0 }, { 0, 1, -1, 8, -8, 1 },
    };

    internal WinogradWeight(int outChannels, int inChannels, ReadOnlySpan<float> weight)
    {
        OutChannels = outChannels; InChannels = inChannels;
        var u = new float[Positions * outChannels * inChannels];
        Span<double> gg = stackalloc double[Alpha * 3];
        for (int o = 0; o < outChannels; o++)
            for (int c = 0; c < inChannels; c++)
            {
                var g = weight.Slice((o * inChannels + c) * 9, 9);
                // (G g) then (G g) Gᵀ, in double: the weight transform is done once
                for (int i = 0; i < Alpha; i++)
                    for (int j = 0; j < 3; j++)
                        gg[i * 3 + j] = G[i, 0] * (double)g[j] + G[i, 1] * (double)g[3 + j] + G[i, 2] * (double)g[6 + j];
                for (int i = 0; i < Alpha; i++)
                    for (int j = 0; j < Alpha; j++)
                        u[((i * Alpha + j) * outChannels + o) * inChannels + c] =
                            (float)(gg[i * 3] * G[j, 0] + gg[i * 3 + 1] * G[j, 1] + gg[i * 3 + 2] * G[j, 2]);
            }
        for (int p = 0; p < Positions; p++)
            U[p] = Gemm.PackA(false, outChannels, inChannels, u.AsSpan(p * outChannels * inChannels, outChannels * inChannels), inChannels);
    }
}

public sealed partial class Conv2dPackedWeight<T>
{
    WinogradWeight? winograd;

    /// <summary>The Winograd-domain weight, transformed on first use (3×3, one group, float32 only).</summary>
    internal WinogradWeight Winograd
    {
        get
        {
            var w = Volatile.Read(ref winograd);
            if (w != null) return w;
            w = new WinogradWeight(OutChannels, GroupInChannels, System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(Weight.AsSpan()));
            return Interlocked.CompareExchange(ref winograd, w, null) ?? w;
        }
    }
}

// Winograd F(4×4, 3×3) for the inference forward of 3×3 stride-1 convolutions: the input split into overlapping 6×6 tiles
// (4×4 outputs each) over the whole batch, each tile transformed (Bᵀ d B), then for each of the 36 transform positions one
// GEMM (O × C)·(C × tiles) with the prepacked U, then each output tile transformed back (Aᵀ m A). 36 multiplies per 16
// outputs per channel pair instead of 144: 4× fewer, paid for by the transforms and in float32 rounding (the transform
// constants reach 8 and 1/24: errors a few times the direct convolution's, well inside the 1e-4 relative of inference).
public static unsafe partial class Conv2d
{
    /// <summary>Whether <see cref="ForwardPacked{T}"/> may take the Winograd path (tests turn it off to compare).</summary>
    internal static bool WinogradEnabled = true;

    /// <summary>Tiles below which the Winograd path is not taken (its GEMMs would be too narrow).</summary>
    internal static int WinogradMinTiles = 16;

    static bool UseWinograd<T>(in ConvShape s) where T : unmanaged =>
        WinogradEnabled && typeof(T) == typeof(float) && Avx2.IsSupported && Fma.IsSupported
        && s.Groups == 1 && s.KernelH == 3 && s.KernelW == 3 && s.StrideH == 1 && s.StrideW == 1 && s.DilationH == 1 && s.DilationW == 1
        && s.InChannels >= 16 && s.OutChannels >= 16 && s.PadH <= 2 && s.PadW <= 2
        && (long)s.Batch * TilesOf(s.OutHeight) * TilesOf(s.OutWidth) >= WinogradMinTiles
        && (long)s.InChannels * (4L * TilesOf(s.OutHeight) + 2) * (4L * TilesOf(s.OutWidth) + 2) <= int.MaxValue / 2
        && (long)s.OutImage <= int.MaxValue / 2;

    static int TilesOf(int outSize) => (outSize + WinogradWeight.Tile - 1) / WinogradWeight.Tile;

    /// <summary>output = act(conv(input) + bias + residual) through F(4×4, 3×3); see <see cref="UseWinograd{T}"/>.</summary>
    static void WinogradForward(in ConvShape s, float* x, WinogradWeight w, float* bias, float* residual, FusedActivation act, float* y)
    {
        // a large batch runs in chunks of images, so the padded copy and the 32-bit tile offsets stay bounded
        int th = TilesOf(s.OutHeight), tw = TilesOf(s.OutWidth);
        long perImage = Math.Max((long)s.InChannels * (WinogradWeight.Tile * th + 2) * (WinogradWeight.Tile * tw + 2), (long)s.OutImage);
        int chunk = (int)Math.Clamp(WinogradChunkElements / Math.Max(1, perImage), 1, Math.Max(1, s.Batch));
        for (int n0 = 0; n0 < s.Batch; n0 += chunk)
        {
            int images = Math.Min(chunk, s.Batch - n0);
            WinogradChunk(s with { Batch = images }, x + (long)n0 * s.InImage, w, bias, residual == null ? null : residual + (long)n0 * s.OutImage,
                act, y + (long)n0 * s.OutImage);
        }
    }

    /// <summary>Elements (of the padded input or of the output) up to which a batch is one Winograd chunk.</summary>
    internal static long WinogradChunkElements = 1L << 26;

    static void WinogradChunk(in ConvShape s, float* x, WinogradWeight w, float* bias, float* residual, FusedActivation act, float* y)
    {
        int th = TilesOf(s.OutHeight), tw = TilesOf(s.OutWidth);
        // the input zero-padded so every 6×6 tile reads inside it: rows 4·th + 2, columns 4·tw + 2, the image at (padH, padW)
        int hp = WinogradWeight.Tile * th + 2, wp = WinogradWeight.Tile * tw + 2;
        long paddedImage = (long)s.InChannels * hp * wp;
        long paddedLength = s.Batch * paddedImage;
        if (paddedLength > int.MaxValue / 2 || (long)s.Batch * s.OutImage > int.MaxValue / 2)
            throw new ArgumentException($"Conv2d (Winograd): one image of {s} is too large");
        float[] padded = ArrayPool<float>.Shared.Rent((int)paddedLength + 8);
        try
        {
            fixed (float* p = padded)
            {
                var pad = new WinogradPadBody { S = s, X = x, P = p, Hp = hp, Wp = wp };
                int planes = s.Batch * s.InChannels;
                Run(planes, planes > 1 && KernelThreadPool.ThreadCount > 1, ref pad);
                int tiles = s.Batch * th * tw;
                int block = WinogradBlock(tiles, s.InChannels <= 128 && s.OutChannels <= 128 ? 64 : 32);
                int blocks = (tiles + block - 1) / block;
                var body = new WinogradBlockBody
                {
                    S = s, W = w, P = p, Hp = hp, Wp = wp, Th = th, Tw = tw, Tiles = tiles, Block = block, Bias = bias, Y = y,
                    Inner = blocks < WinogradInnerBlocks * KernelThreadPool.ThreadCount && KernelThreadPool.ThreadCount > 1,
                };
                if (body.Inner) for (int b = 0; b < blocks; b++) body.Invoke(b);
                else Run(blocks, blocks > 1 && KernelThreadPool.ThreadCount > 1, ref body);
            }
        }
        finally { ArrayPool<float>.Shared.Return(padded); }
        if (residual != null || act != FusedActivation.None)
        {
            int plane = s.OutHeight * s.OutWidth;
            RunEpilogue<float>(y, residual, null, act, plane, plane, s.Batch * s.OutChannels, KernelThreadPool.ThreadCount > 1);
        }
    }

    /// <summary>Blocks per thread below which a block's phases split over the pool instead of the blocks running side by side.</summary>
    internal static int WinogradInnerBlocks = 2;

    /// <summary>Tiles per block: the GEMMs take 32 tiles per panel, so the multiple of 32 up to <paramref name="largest"/>
    /// (or all the tiles, rounded up to 8, when fewer) that pads the tile count least; the larger on a tie.</summary>
    internal static int WinogradBlock(int tiles, int largest)
    {
        if (tiles <= largest) return (tiles + 7) & ~7;
        int best = 32; long bestPadded = long.MaxValue;
        for (int b = 32; b <= largest; b += 32)
        {
            long padded = (long)(tiles + b - 1) / b * b;
            if (padded <= bestPadded) { best = b; bestPadded = padded; }
        }
        return best;
    }

    struct WinogradPadBody : IParallelBody
    {
        public ConvShape S;
        public float* X, P;
        public int Hp, Wp;

        public readonly void Invoke(int plane)
        {
            var s = S;
            PadPlane(X + (long)plane * s.InHeight * s.InWidth, s.InHeight, s.InWidth, s.PadH, s.PadW, P + (long)plane * Hp * Wp, Hp, Wp);
        }
    }

    /// <summary>One block of tiles: input transform, the 36 GEMMs, output transform. With <see cref="Inner"/> each phase
    /// splits over the pool (few blocks); otherwise the blocks run in parallel and each phase on its own thread.</summary>
    struct WinogradBlockBody : IParallelBody
    {
        public ConvShape S;
        public WinogradWeight W;
        public float* P, Bias, Y;
        public int Hp, Wp, Th, Tw, Tiles, Block;
        public bool Inner;

        [SkipLocalsInit]
        public readonly void Invoke(int blockIndex)
        {
            var s = S;
            int c = s.InChannels, o = s.OutChannels, pb = Block;
            int t0 = blockIndex * pb, count = Math.Min(pb, Tiles - t0);
            float[] vArray = ArrayPool<float>.Shared.Rent(WinogradWeight.Positions * c * pb + 8);
            float[] mArray = ArrayPool<float>.Shared.Rent(WinogradWeight.Positions * o * pb + 8);
            try
            {
                fixed (float* v = vArray, m = mArray)
                {
                    // lane offsets of the block's tiles into the padded input (channel 0); tiles past the end repeat the last
                    int* baseOffset = stackalloc int[pb];
                    int* outBase = stackalloc int[pb];
                    for (int t = 0; t < pb; t++)
                    {
                        int tile = t0 + Math.Min(t, count - 1);
                        int n = tile / (Th * Tw), rest = tile % (Th * Tw), ty = rest / Tw, tx = rest % Tw;
                        baseOffset[t] = (int)((long)n * c * Hp * Wp + (long)WinogradWeight.Tile * ty * Wp + WinogradWeight.Tile * tx);
                        outBase[t] = t < count ? (int)((long)n * o * s.OutHeight * s.OutWidth + (long)WinogradWeight.Tile * ty * s.OutWidth + WinogradWeight.Tile * tx) : -1;
                    }
                    var input = new WinogradInputBody { P = P, V = v, Base = baseOffset, Channels = c, PlaneStride = Hp * Wp, Wp = Wp, Block = pb };
                    Run(c, Inner, ref input);
                    var gemm = new WinogradGemmBody { W = W, V = v, M = m, Block = pb };
                    Run(WinogradWeight.Positions, Inner, ref gemm);
                    var output = new WinogradOutputBody
                    {
                        M = m, Y = Y, Bias = Bias, OutBase = outBase, Channels = o, Block = pb, OutHeight = s.OutHeight, OutWidth = s.OutWidth, Th = Th, Tw = Tw, T0 = t0,
                    };
                    Run(o, Inner, ref output);
                }
            }
            finally
            {
                ArrayPool<float>.Shared.Return(vArray);
                ArrayPool<float>.Shared.Return(mArray);
            }
        }
    }

    /// <summary>V[ξν][c][t] = (Bᵀ d B)[ξ][ν] of tile t of channel c, eight tiles at a time (gathered from the padded input).</summary>
    struct WinogradInputBody : IParallelBody
    {
        public float* P, V;
        public int* Base;
        public int Channels, PlaneStride, Wp, Block;

        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public readonly void Invoke(int channel)
        {
            var d = stackalloc Vector256<float>[36];
            var t1 = stackalloc Vector256<float>[36];
            float* plane = P + (long)channel * PlaneStride;
            for (int t = 0; t < Block; t += 8)
            {
                var idx = Avx.LoadVector256(Base + t);
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++)
                        d[i * 6 + j] = Avx2.GatherVector256(plane + i * Wp + j, idx, 4);
                // t1 = Bᵀ d (rows), then V = t1 B (columns); Bᵀ's rows written out (0, ±1, ±2, ±4, ±5 only)
                for (int j = 0; j < 6; j++) InputRow(d, j, 6, t1, j, 6);
                for (int i = 0; i < 6; i++) InputRow(t1, i * 6, 1, d, i * 6, 1);
                for (int k = 0; k < 36; k++) Avx.Store(V + ((long)k * Channels + channel) * Block + t, d[k]);
            }
        }

        /// <summary>out[r·os] = (Bᵀ in)[r] for the six values in[off + e·stride], e = 0..5.</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void InputRow(Vector256<float>* src, int off, int stride, Vector256<float>* dst, int dOff, int dStride)
        {
            var a0 = src[off]; var a1 = src[off + stride]; var a2 = src[off + 2 * stride];
            var a3 = src[off + 3 * stride]; var a4 = src[off + 4 * stride]; var a5 = src[off + 5 * stride];
            var four = Vector256.Create(4f); var five = Vector256.Create(5f); var two = Vector256.Create(2f);
            // Bᵀ rows: (4, 0, -5, 0, 1, 0) (0, -4, -4, 1, 1, 0) (0, 4, -4, -1, 1, 0) (0, -2, -1, 2, 1, 0) (0, 2, -1, -2, 1, 0) (0, 4, 0, -5, 0, 1)
            var s14 = a4 - a2 * four;            // -4 a2 + a4
            var s23 = a3 - a1 * four;            // -4 a1 + a3
            var s4a = a4 - a2;                   // -a2 + a4
            var s3a = (a3 - a1) * two;           // 2 (a3 - a1)
            dst[dOff] = a0 * four - a2 * five + a4;
            dst[dOff + dStride] = s14 + s23;
            dst[dOff + 2 * dStride] = s14 - s23;
            dst[dOff + 3 * dStride] = s4a + s3a;
            dst[dOff + 4 * dStride] = s4a - s3a;
            dst[dOff + 5 * dStride] = a1 * four - a3 * five + a5;
        }
    }

    /// <summary>M[ξν] (O × block) = U[ξν] (O × C) · V[ξν] (C × block), one transform position per task.</summary>
    struct WinogradGemmBody : IParallelBody
    {
        public WinogradWeight W;
        public float* V, M;
        public int Block;

        public readonly void Invoke(int position)
        {
            var u = W.U[position];
            GemmPacked.RunPrepackedA(u, Block, V + (long)position * u.K * Block, Block, 0f, M + (long)position * u.M * Block, Block);
        }
    }

    /// <summary>y tile = Aᵀ m A + bias for each output channel, eight tiles at a time, the positions inside the output stored.</summary>
    struct WinogradOutputBody : IParallelBody
    {
        public float* M, Y, Bias;
        public int* OutBase;
        public int Channels, Block, OutHeight, OutWidth, Th, Tw, T0;

        [MethodImpl(MethodImplOptions.AggressiveOptimization), SkipLocalsInit]
        public readonly void Invoke(int channel)
        {
            var m = stackalloc Vector256<float>[36];
            var t1 = stackalloc Vector256<float>[24];
            var r = stackalloc float[16 * 8];
            var yy = stackalloc Vector256<float>[4];
            float b = Bias == null ? 0f : Bias[channel];
            long channelOffset = (long)channel * OutHeight * OutWidth;
            for (int t = 0; t < Block; t += 8)
            {
                for (int k = 0; k < 36; k++) m[k] = Avx.LoadVector256(M + ((long)k * Channels + channel) * Block + t);
                // t1 (4×6) = Aᵀ m, then y (4×4) = t1 A
                for (int j = 0; j < 6; j++) OutputRow(m, j, 6, t1, j, 6);
                var vb = Vector256.Create(b);
                for (int i = 0; i < 4; i++)
                {
                    OutputRow(t1, i * 6, 1, yy, 0, 1);
                    // row i of the eight tiles, tile after tile: r[i·32 + 4·lane + j] = y[i][j] of lane (a 4 × 8 transpose)
                    var a = yy[0] + vb; var bb = yy[1] + vb; var cc = yy[2] + vb; var dd = yy[3] + vb;
                    var ab0 = Avx.UnpackLow(a, bb); var ab1 = Avx.UnpackHigh(a, bb);
                    var cd0 = Avx.UnpackLow(cc, dd); var cd1 = Avx.UnpackHigh(cc, dd);
                    var u0 = Avx.UnpackLow(ab0.AsDouble(), cd0.AsDouble()).AsSingle(); var u1 = Avx.UnpackHigh(ab0.AsDouble(), cd0.AsDouble()).AsSingle();
                    var u2 = Avx.UnpackLow(ab1.AsDouble(), cd1.AsDouble()).AsSingle(); var u3 = Avx.UnpackHigh(ab1.AsDouble(), cd1.AsDouble()).AsSingle();
                    float* row = r + i * 32;
                    Avx.Store(row, Avx.Permute2x128(u0, u1, 0x20));
                    Avx.Store(row + 8, Avx.Permute2x128(u2, u3, 0x20));
                    Avx.Store(row + 16, Avx.Permute2x128(u0, u1, 0x31));
                    Avx.Store(row + 24, Avx.Permute2x128(u2, u3, 0x31));
                }
                for (int lane = 0; lane < 8; lane++)
                {
                    int ob = OutBase[t + lane];
                    if (ob < 0) continue;
                    int tile = T0 + t + lane, rest = tile % (Th * Tw), ty = rest / Tw, tx = rest % Tw;
                    int rows = Math.Min(4, OutHeight - 4 * ty), cols = Math.Min(4, OutWidth - 4 * tx);
                    float* dst = Y + ob + channelOffset;
                    float* src = r + 4 * lane;
                    if (cols == 4)
                        for (int i = 0; i < rows; i++) Vector128.Store(Vector128.Load(src + i * 32), dst + i * OutWidth);
                    else
                        for (int i = 0; i < rows; i++)
                            for (int jj = 0; jj < cols; jj++) dst[i * OutWidth + jj] = src[i * 32 + jj];
                }
            }
        }

        /// <summary>out[r·os] = (Aᵀ in)[r], r = 0..3, for the six values in[off + e·stride].</summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static void OutputRow(Vector256<float>* src, int off, int stride, Vector256<float>* dst, int dOff, int dStride)
        {
            var a0 = src[off]; var a1 = src[off + stride]; var a2 = src[off + 2 * stride];
            var a3 = src[off + 3 * stride]; var a4 = src[off + 4 * stride]; var a5 = src[off + 5 * stride];
            // Aᵀ rows: (1, 1, 1, 1, 1, 0) (0, 1, -1, 2, -2, 0) (0, 1, 1, 4, 4, 0) (0, 1, -1, 8, -8, 1)
            var p12 = a1 + a2; var m12 = a1 - a2; var p34 = a3 + a4; var m34 = a3 - a4;
            dst[dOff] = a0 + p12 + p34;
            dst[dOff + dStride] = m12 + m34 * Vector256.Create(2f);
            dst[dOff + 2 * dStride] = p12 + p34 * Vector256.Create(4f);
            dst[dOff + 3 * dStride] = m12 + m34 * Vector256.Create(8f) + a5;
        }
    }
}
