using System.Numerics;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DeepSharp.Kernels;

// Max pooling, the fast paths: planes split over the kernel thread pool; the common 2x2 window with stride 2 (no padding,
// no dilation, every window inside the input) has its own loop, vectorised for float with AVX2. Every path keeps
// ReferenceMaxPool2d's exact semantics: candidates compared in row-major order with `v > max || IsNaN(v)`, so the first
// maximum wins a tie and the last NaN wins over everything.
public static unsafe partial class Pool
{
    /// <summary>Outputs per parallel task, roughly; below twice this the loop runs on the calling thread.</summary>
    const int OutputsPerTask = 16384;

    /// <summary>
    /// Max pooling with indices (torch.nn.functional.max_pool2d(return_indices=True)). Padding reads as -inf; NaN wins,
    /// as in PyTorch. <paramref name="indices"/> gets, per output, the flat index ih*W+iw of the max within its plane.
    /// </summary>
    public static void MaxPool2d<T>(in PoolShape s, ReadOnlySpan<T> input, Span<T> output, Span<long> indices)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        Check(s, input.Length, output.Length, "MaxPool2d");
        if (indices.Length < (long)s.Planes * s.OutPlane) throw new ArgumentException($"MaxPool2d: indices span of length {indices.Length} is too small for {s}");
        if (s.Planes == 0 || s.OutPlane == 0) return;
        int planesPerTask = Math.Max(1, OutputsPerTask / s.OutPlane);
        int tasks = (s.Planes + planesPerTask - 1) / planesPerTask;
        fixed (T* x = input, y = output)
        fixed (long* ind = indices)
        {
            var body = new MaxPoolBody<T> { S = s, X = x, Y = y, Indices = ind, PlanesPerTask = planesPerTask };
            if (tasks > 1) KernelThreadPool.ParallelFor(tasks, ref body);
            else body.Invoke(0);
        }
    }

    struct MaxPoolBody<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public PoolShape S;
        public T* X, Y;
        public long* Indices;
        public int PlanesPerTask;

        public readonly void Invoke(int task)
        {
            var s = S;
            int p0 = task * PlanesPerTask, p1 = Math.Min(s.Planes, p0 + PlanesPerTask);
            bool twoByTwo = s.KernelH == 2 && s.KernelW == 2 && s.StrideH == 2 && s.StrideW == 2 && s.PadH == 0 && s.PadW == 0
                && s.DilationH == 1 && s.DilationW == 1 && 2 * s.OutHeight <= s.InHeight && 2 * s.OutWidth <= s.InWidth;
            for (int p = p0; p < p1; p++)
            {
                T* x = X + (long)p * s.InPlane;
                T* y = Y + (long)p * s.OutPlane;
                long* ind = Indices + (long)p * s.OutPlane;
                if (twoByTwo) MaxPool2x2Plane(s, x, y, ind, X + (long)s.Planes * s.InPlane);
                else MaxPoolPlane(s, new ReadOnlySpan<T>(x, s.InPlane), new Span<T>(y, s.OutPlane), new Span<long>(ind, s.OutPlane));
            }
        }
    }

    static void MaxPool2x2Plane<T>(in PoolShape s, T* x, T* y, long* ind, T* end) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int w = s.InWidth, ow = s.OutWidth;
        for (int oh = 0; oh < s.OutHeight; oh++)
        {
            int rowBase = 2 * oh * w;
            T* r0 = x + rowBase;
            T* r1 = r0 + w;
            T* yr = y + oh * ow;
            long* ir = ind + oh * ow;
            int j = 0;
            if (typeof(T) == typeof(float) && Avx2.IsSupported)
                j = MaxPool2x2RowAvx2((float*)r0, (float*)r1, (float*)yr, ir, ow, rowBase, w, (float*)end);
            for (; j < ow; j++)
            {
                // a b / c d, compared in row-major order as in the reference
                T m = r0[2 * j]; int at = 0;
                T v = r0[2 * j + 1]; if (v > m || T.IsNaN(v)) { m = v; at = 1; }
                v = r1[2 * j]; if (v > m || T.IsNaN(v)) { m = v; at = w; }
                v = r1[2 * j + 1]; if (v > m || T.IsNaN(v)) { m = v; at = w + 1; }
                yr[j] = m;
                ir[j] = rowBase + 2 * j + at;
            }
        }
    }

    /// <summary>
    /// One output row of a 2x2/2 max pooling, eight outputs at a time, the last 1-7 with masked stores, so no output takes
    /// the scalar path (whose data-dependent branches mispredict on real data). <paramref name="end"/> is the input's end.
    /// </summary>
    static int MaxPool2x2RowAvx2(float* r0, float* r1, float* y, long* ind, int outW, int rowBase, int width, float* end)
    {
        int j = 0;
        for (; j + 8 <= outW; j += 8)
        {
            Window2x2(r0 + 2 * j, r1 + 2 * j, width, out var m, out var at);
            m.Store(y + j);
            StoreIndices(ind + j, Vector256.Create(rowBase + 2 * j) + EvenLanes + at);
        }
        int rest = outW - j;
        if (rest > 0)
        {
            // the window loads read 16 floats from each row: past the row's end when that stays inside the input,
            // else from a copy on the stack; the surplus lanes are computed and not stored
            Vector256<float> m; Vector256<int> at;
            if (r1 + 2 * j + 16 <= end) Window2x2(r0 + 2 * j, r1 + 2 * j, width, out m, out at);
            else
            {
                float* top = stackalloc float[16], bottom = stackalloc float[16];
                for (int i = 0; i < 16; i++) { top[i] = i < 2 * rest ? r0[2 * j + i] : 0; bottom[i] = i < 2 * rest ? r1[2 * j + i] : 0; }
                Window2x2(top, bottom, width, out m, out at);
            }
            var keep = Vector256.LessThan(Vector256<int>.Indices, Vector256.Create(rest));
            Avx.MaskStore(y + j, keep.AsSingle(), m);
            var index = Vector256.Create(rowBase + 2 * j) + EvenLanes + at;
            Avx2.MaskStore(ind + j, Avx2.ConvertToVector256Int64(keep.GetLower()), Avx2.ConvertToVector256Int64(index.GetLower()));
            Avx2.MaskStore(ind + j + 4, Avx2.ConvertToVector256Int64(keep.GetUpper()), Avx2.ConvertToVector256Int64(index.GetUpper()));
        }
        return outW;
    }

    static Vector256<int> EvenLanes => Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);

    /// <summary>Max and offset (0, 1, width or width+1 from the window's top-left) of 8 adjacent 2x2 windows.</summary>
    static void Window2x2(float* top, float* bottom, int width, out Vector256<float> m, out Vector256<int> at)
    {
        // deinterleave 16 inputs of each row into the left (even) and right (odd) elements of 8 windows
        Deinterleave(top, out var a, out var b);
        Deinterleave(bottom, out var c, out var d);
        m = a; at = Vector256<int>.Zero;
        var take = Vector256.GreaterThan(b, m) | ~Vector256.Equals(b, b);
        m = Vector256.ConditionalSelect(take, b, m); at = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(1), at);
        take = Vector256.GreaterThan(c, m) | ~Vector256.Equals(c, c);
        m = Vector256.ConditionalSelect(take, c, m); at = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(width), at);
        take = Vector256.GreaterThan(d, m) | ~Vector256.Equals(d, d);
        m = Vector256.ConditionalSelect(take, d, m); at = Vector256.ConditionalSelect(take.AsInt32(), Vector256.Create(width + 1), at);
    }

    static void StoreIndices(long* dst, Vector256<int> index)
    {
        Avx2.ConvertToVector256Int64(index.GetLower()).Store(dst);
        Avx2.ConvertToVector256Int64(index.GetUpper()).Store(dst + 4);
    }

    internal static void Deinterleave(float* p, out Vector256<float> even, out Vector256<float> odd)
    {
        var lo = Avx.LoadVector256(p); var hi = Avx.LoadVector256(p + 8);
        // in-lane shuffles give [e0 e1 e4 e5 | e2 e3 e6 e7]; the 64-bit permute (0, 2, 1, 3) restores the order
        even = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b10_00_10_00).AsDouble(), 0b11_01_10_00).AsSingle();
        odd = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0b11_01_11_01).AsDouble(), 0b11_01_10_00).AsSingle();
    }
}
