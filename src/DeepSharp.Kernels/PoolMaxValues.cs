using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// Max pooling without indices: what an inference forward (no gradient to route) needs. The float32 path pads each plane
// with -inf into a scratch plane (stride-2 columns split into their even and odd columns, as the depthwise convolution
// does), so every window tap of eight adjacent outputs is one contiguous load and a compare-select; the values equal
// MaxPool2d's (the same `v > max || IsNaN(v)` rule; the -inf padding is never taken, as outside positions are never
// candidates there).
public static unsafe partial class Pool
{
    [ThreadStatic] static float[]? maxScratch;

    /// <summary>
    /// Max pooling of every plane, values only (torch.nn.functional.max_pool2d without return_indices): the output equals
    /// <see cref="MaxPool2d{T}"/>'s. Padding reads as -inf; NaN wins.
    /// </summary>
    public static void MaxPool2dValues<T>(in PoolShape s, ReadOnlySpan<T> input, Span<T> output) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(s, input.Length, output.Length, "MaxPool2d");
        if (s.Planes == 0 || s.OutPlane == 0) return;
        int planesPerTask = Math.Max(1, OutputsPerTask / s.OutPlane);
        int tasks = (s.Planes + planesPerTask - 1) / planesPerTask;
        fixed (T* x = input, y = output)
        {
            var body = new MaxValuesBody<T> { S = s, X = x, Y = y, PlanesPerTask = planesPerTask, Vector = typeof(T) == typeof(float) && VectorPath(s) };
            if (tasks > 1) KernelThreadPool.ParallelFor(tasks, ref body);
            else body.Invoke(0);
        }
    }

    /// <summary>AVX2, stride 1 or 2 in each direction, at most 64 taps.</summary>
    static bool VectorPath(in PoolShape s) =>
        Avx2.IsSupported && s.StrideH is 1 or 2 && s.StrideW is 1 or 2 && s.KernelH * s.KernelW <= 64;

    struct MaxValuesBody<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public PoolShape S;
        public T* X, Y;
        public int PlanesPerTask;
        public bool Vector;

        public readonly void Invoke(int task)
        {
            var s = S;
            int p0 = task * PlanesPerTask, p1 = Math.Min(s.Planes, p0 + PlanesPerTask);
            for (int p = p0; p < p1; p++)
            {
                T* x = X + (long)p * s.InPlane, y = Y + (long)p * s.OutPlane;
                if (Vector) MaxValuesPlaneFloat(s, (float*)x, (float*)y);
                else MaxValuesPlane(s, x, y);
            }
        }
    }

    /// <summary>One plane, any geometry: <see cref="MaxPoolPlane{T}"/>'s window walk, its indices into a discarded scratch.</summary>
    static void MaxValuesPlane<T>(in PoolShape s, T* x, T* y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        long[] indices = ArrayPool<long>.Shared.Rent(s.OutPlane);
        try { MaxPoolPlane(s, new ReadOnlySpan<T>(x, s.InPlane), new Span<T>(y, s.OutPlane), indices.AsSpan(0, s.OutPlane)); }
        finally { ArrayPool<long>.Shared.Return(indices); }
    }

    /// <summary>One float plane through a -inf-padded scratch plane, eight outputs at a time.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void MaxValuesPlaneFloat(in PoolShape s, float* x, float* y)
    {
        // the padded plane covers every window (ceil mode's last window may reach past the right/bottom padding)
        int rows = Math.Max(s.InHeight + 2 * s.PadH, (s.OutHeight - 1) * s.StrideH + (s.KernelH - 1) * s.DilationH + 1);
        int pitch = Math.Max(s.InWidth + 2 * s.PadW, (s.OutWidth - 1) * s.StrideW + (s.KernelW - 1) * s.DilationW + 1);
        int half = s.StrideW == 2 ? Conv2d.PhaseHalf(pitch) : 0;
        int padded = rows * pitch, phased = rows * 2 * half;
        // slack: the split reads each row up to 2·half; the last vector of a row reads up to 7 floats past the plane
        int need = padded + 2 * half + phased + 16;
        var scratch = maxScratch;
        if (scratch == null || scratch.Length < need) maxScratch = scratch = new float[Math.Max(need, 1024)];
        int taps = s.KernelH * s.KernelW;
        int* offsets = stackalloc int[taps];
        fixed (float* p = scratch)
        {
            new Span<float>(p, need).Fill(float.NegativeInfinity);
            for (int r = 0; r < s.InHeight; r++)
                Buffer.MemoryCopy(x + (long)r * s.InWidth, p + (long)(r + s.PadH) * pitch + s.PadW, s.InWidth * 4L, s.InWidth * 4L);
            // stride-2 columns read the rows split into their even and odd columns, as the depthwise convolution does
            float* src = half == 0 ? p : p + padded + 2 * half;
            int rowPitch = half == 0 ? pitch : 2 * half;
            if (half != 0) Conv2d.SplitColumnPhases(p, rows, pitch, half, src);
            Conv2d.TapOffsets(offsets, s.KernelH, s.KernelW, s.DilationH, s.DilationW, pitch, half);
            var tailMask = Conv2d.TailMask(s.OutWidth);
            for (int oh = 0; oh < s.OutHeight; oh++)
            {
                float* row = src + (long)oh * s.StrideH * rowPitch;
                float* yRow = y + (long)oh * s.OutWidth;
                for (int c = 0; c < s.OutWidth; c += 8)
                {
                    float* q = row + c;
                    var m = Vector256.Create(float.NegativeInfinity);
                    for (int t = 0; t < taps; t++)
                    {
                        var v = Avx.LoadVector256(q + offsets[t]);
                        var take = Avx.Or(Avx.CompareGreaterThan(v, m), Avx.CompareUnordered(v, v));
                        m = Avx.BlendVariable(m, v, take);
                    }
                    if (c + 8 <= s.OutWidth) Avx.Store(yRow + c, m);
                    else Avx.MaskStore(yRow + c, tailMask, m);
                }
            }
        }
    }
}
