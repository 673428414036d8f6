using System.Numerics;
using System.Runtime.CompilerServices;

namespace DeepSharp.Kernels;

/// <summary>
/// GEMM without packing, for small products and matrix-vector shapes (m == 1 or n == 1), where packing would
/// cost more than it saves. Two loop forms cover every transpose combination:
/// <list type="bullet">
/// <item>Axpy form: Out(r, s) = Σp X(r, p)·Y(p, s) with Y contiguous along s; X values are broadcast.</item>
/// <item>Dot form: Out(r, s) = Σp X(r, p)·Y(s, p) with X and Y contiguous along p; vector dot products.</item>
/// </list>
/// Work is split into chunks whose bounds depend only on the shape (never on the thread count), and each output
/// element is computed by one chunk in a fixed order, so results are bitwise reproducible.
/// </summary>
internal static unsafe class GemmSmall
{
    /// <summary>Below this many multiply-adds a call runs on the calling thread only.</summary>
    internal const long ParallelThreshold = 32 * 1024;

    /// <summary>Operands of one unpacked product.</summary>
    internal struct Problem<T> where T : unmanaged
    {
        public T* X, Y, Out;
        public nint XRow, XStep, LdY, OutRow, OutCol;
        public int Rows, Cols, K;
        public T Alpha, Beta;
        public bool Dot;
        public int RowChunk, ColChunk, ColChunks;
    }

    /// <summary>
    /// Axpy form: Out(r, s) = alpha Σp x[r*xRow + p*xStep]·y[p*ldy + s] + beta Out, Out(r, s) = out[r*outRow + s*outCol].
    /// </summary>
    public static void Axpy<T>(int rows, int cols, int k, T alpha, T* x, nint xRow, nint xStep, T* y, nint ldy,
        T beta, T* o, nint outRow, nint outCol) where T : unmanaged, INumber<T>
    {
        var problem = new Problem<T>
        {
            X = x, XRow = xRow, XStep = xStep, Y = y, LdY = ldy, Out = o, OutRow = outRow, OutCol = outCol,
            Rows = rows, Cols = cols, K = k, Alpha = alpha, Beta = beta, Dot = false,
        };
        Launch(ref problem, 8 * Vector<T>.Count);
    }

    /// <summary>
    /// Dot form: Out(r, s) = alpha Σp x[r*ldx + p]·y[s*ldy + p] + beta Out, Out(r, s) = out[r*outRow + s*outCol].
    /// </summary>
    public static void Dot<T>(int rows, int cols, int k, T alpha, T* x, nint ldx, T* y, nint ldy,
        T beta, T* o, nint outRow, nint outCol) where T : unmanaged, INumber<T>
    {
        var problem = new Problem<T>
        {
            X = x, XRow = ldx, XStep = 1, Y = y, LdY = ldy, Out = o, OutRow = outRow, OutCol = outCol,
            Rows = rows, Cols = cols, K = k, Alpha = alpha, Beta = beta, Dot = true,
        };
        Launch(ref problem, 4);
    }

    static void Launch<T>(ref Problem<T> problem, int colAlign) where T : unmanaged, INumber<T>
    {
        int rows = problem.Rows, cols = problem.Cols;
        long work = (long)rows * cols * problem.K;
        // Chunk bounds from the shape only: about 8 pieces along the longer output dimension.
        if (work < ParallelThreshold || KernelThreadPool.ThreadCount == 1)
        {
            problem.RowChunk = rows; problem.ColChunk = cols; problem.ColChunks = 1;
        }
        else if (rows >= 16)
        {
            problem.RowChunk = GemmPacked.RoundUp(GemmPacked.CeilDiv(rows, 8), 4);
            problem.ColChunk = cols; problem.ColChunks = 1;
        }
        else
        {
            problem.RowChunk = rows;
            problem.ColChunk = Math.Max(colAlign, GemmPacked.RoundUp(GemmPacked.CeilDiv(cols, 8), colAlign));
            problem.ColChunks = GemmPacked.CeilDiv(cols, problem.ColChunk);
        }
        int chunks = GemmPacked.CeilDiv(rows, problem.RowChunk) * problem.ColChunks;
        var body = new Body<T> { Problem = (Problem<T>*)Unsafe.AsPointer(ref problem) };
        KernelThreadPool.ParallelFor(chunks, ref body);
    }

    struct Body<T> : IParallelBody where T : unmanaged, INumber<T>
    {
        public Problem<T>* Problem;

        public void Invoke(int index)
        {
            ref var q = ref *Problem;
            int rowChunk = index / q.ColChunks, colChunk = index % q.ColChunks;
            int r0 = rowChunk * q.RowChunk, r1 = Math.Min(q.Rows, r0 + q.RowChunk);
            int s0 = colChunk * q.ColChunk, s1 = Math.Min(q.Cols, s0 + q.ColChunk);
            if (q.Dot) DotBlock(ref q, r0, r1, s0, s1);
            else AxpyBlock(ref q, r0, r1, s0, s1);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector<T> MulAdd<T>(Vector<T> a, Vector<T> b, Vector<T> c) where T : unmanaged, INumber<T>
    {
        if (System.Runtime.Intrinsics.X86.Fma.IsSupported || System.Runtime.Intrinsics.Arm.AdvSimd.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }
        return a * b + c;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreVector<T>(T* o, nint outCol, Vector<T> acc, T alpha, T beta) where T : unmanaged, INumber<T>
    {
        var result = new Vector<T>(alpha) * acc;
        if (outCol == 1)
        {
            if (beta != T.Zero) result += new Vector<T>(beta) * Unsafe.ReadUnaligned<Vector<T>>(o);
            Unsafe.WriteUnaligned(o, result);
        }
        else
        {
            for (int i = 0; i < Vector<T>.Count; i++) StoreScalar(o + i * outCol, result[i], T.One, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void StoreScalar<T>(T* o, T acc, T alpha, T beta) where T : unmanaged, INumber<T>
        => *o = beta == T.Zero ? alpha * acc : alpha * acc + beta * *o;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AxpyBlock<T>(ref Problem<T> q, int r0, int r1, int s0, int s1) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count, k = q.K;
        nint xRow = q.XRow, xStep = q.XStep, ldy = q.LdY, outRow = q.OutRow, outCol = q.OutCol;
        T alpha = q.Alpha, beta = q.Beta;
        int r = r0;
        for (; r + 4 <= r1; r += 4)
        {
            T* x0 = q.X + r * xRow, x1 = x0 + xRow, x2 = x1 + xRow, x3 = x2 + xRow;
            T* o = q.Out + r * outRow;
            int s = s0;
            for (; s + 2 * w <= s1; s += 2 * w)
            {
                Vector<T> c00 = default, c01 = default, c10 = default, c11 = default;
                Vector<T> c20 = default, c21 = default, c30 = default, c31 = default;
                T* y = q.Y + s;
                nint px = 0;
                for (int p = 0; p < k; p++, y += ldy, px += xStep)
                {
                    var y0 = Unsafe.ReadUnaligned<Vector<T>>(y);
                    var y1 = Unsafe.ReadUnaligned<Vector<T>>(y + w);
                    var a0 = new Vector<T>(x0[px]);
                    c00 = MulAdd(a0, y0, c00); c01 = MulAdd(a0, y1, c01);
                    var a1 = new Vector<T>(x1[px]);
                    c10 = MulAdd(a1, y0, c10); c11 = MulAdd(a1, y1, c11);
                    var a2 = new Vector<T>(x2[px]);
                    c20 = MulAdd(a2, y0, c20); c21 = MulAdd(a2, y1, c21);
                    var a3 = new Vector<T>(x3[px]);
                    c30 = MulAdd(a3, y0, c30); c31 = MulAdd(a3, y1, c31);
                }
                T* os = o + s * outCol;
                StoreVector(os, outCol, c00, alpha, beta); StoreVector(os + w * outCol, outCol, c01, alpha, beta);
                os += outRow;
                StoreVector(os, outCol, c10, alpha, beta); StoreVector(os + w * outCol, outCol, c11, alpha, beta);
                os += outRow;
                StoreVector(os, outCol, c20, alpha, beta); StoreVector(os + w * outCol, outCol, c21, alpha, beta);
                os += outRow;
                StoreVector(os, outCol, c30, alpha, beta); StoreVector(os + w * outCol, outCol, c31, alpha, beta);
            }
            // Remaining columns: one row at a time.
            for (int rr = r; rr < r + 4; rr++) AxpyRow(ref q, rr, s, s1);
        }
        for (; r < r1; r++) AxpyRow(ref q, r, s0, s1);
    }

    /// <summary>One output row, columns [s0, s1): eight vectors at a time, then four, then one, then scalars.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void AxpyRow<T>(ref Problem<T> q, int r, int s0, int s1) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count, k = q.K;
        nint xStep = q.XStep, ldy = q.LdY, outCol = q.OutCol;
        T alpha = q.Alpha, beta = q.Beta;
        T* x = q.X + r * q.XRow;
        T* o = q.Out + r * q.OutRow;
        int s = s0;
        for (; s + 8 * w <= s1; s += 8 * w)
        {
            Vector<T> c0 = default, c1 = default, c2 = default, c3 = default;
            Vector<T> c4 = default, c5 = default, c6 = default, c7 = default;
            T* y = q.Y + s;
            nint px = 0;
            for (int p = 0; p < k; p++, y += ldy, px += xStep)
            {
                var a = new Vector<T>(x[px]);
                c0 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y), c0);
                c1 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + w), c1);
                c2 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 2 * w), c2);
                c3 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 3 * w), c3);
                c4 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 4 * w), c4);
                c5 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 5 * w), c5);
                c6 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 6 * w), c6);
                c7 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 7 * w), c7);
            }
            T* os = o + s * outCol;
            StoreVector(os, outCol, c0, alpha, beta);
            StoreVector(os + w * outCol, outCol, c1, alpha, beta);
            StoreVector(os + 2 * w * outCol, outCol, c2, alpha, beta);
            StoreVector(os + 3 * w * outCol, outCol, c3, alpha, beta);
            StoreVector(os + 4 * w * outCol, outCol, c4, alpha, beta);
            StoreVector(os + 5 * w * outCol, outCol, c5, alpha, beta);
            StoreVector(os + 6 * w * outCol, outCol, c6, alpha, beta);
            StoreVector(os + 7 * w * outCol, outCol, c7, alpha, beta);
        }
        for (; s + 4 * w <= s1; s += 4 * w)
        {
            Vector<T> c0 = default, c1 = default, c2 = default, c3 = default;
            T* y = q.Y + s;
            nint px = 0;
            for (int p = 0; p < k; p++, y += ldy, px += xStep)
            {
                var a = new Vector<T>(x[px]);
                c0 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y), c0);
                c1 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + w), c1);
                c2 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 2 * w), c2);
                c3 = MulAdd(a, Unsafe.ReadUnaligned<Vector<T>>(y + 3 * w), c3);
            }
            T* os = o + s * outCol;
            StoreVector(os, outCol, c0, alpha, beta);
            StoreVector(os + w * outCol, outCol, c1, alpha, beta);
            StoreVector(os + 2 * w * outCol, outCol, c2, alpha, beta);
            StoreVector(os + 3 * w * outCol, outCol, c3, alpha, beta);
        }
        for (; s + w <= s1; s += w)
        {
            Vector<T> c0 = default;
            T* y = q.Y + s;
            nint px = 0;
            for (int p = 0; p < k; p++, y += ldy, px += xStep) c0 = MulAdd(new Vector<T>(x[px]), Unsafe.ReadUnaligned<Vector<T>>(y), c0);
            StoreVector(o + s * outCol, outCol, c0, alpha, beta);
        }
        for (; s < s1; s++)
        {
            T acc = T.Zero;
            T* y = q.Y + s;
            nint px = 0;
            for (int p = 0; p < k; p++, y += ldy, px += xStep) acc += x[px] * *y;
            StoreScalar(o + s * outCol, acc, alpha, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void DotBlock<T>(ref Problem<T> q, int r0, int r1, int s0, int s1) where T : unmanaged, INumber<T>
    {
        int r = r0;
        // two rows at a time: 8 independent accumulators, 6 loads per 8 FMAs (1x4 is latency-bound at 4 chains)
        for (; r + 2 <= r1; r += 2)
        {
            T* x = q.X + r * q.XRow;
            T* o = q.Out + r * q.OutRow;
            int s = s0;
            for (; s + 4 <= s1; s += 4)
                Dot2x4(x, x + q.XRow, q.Y + s * q.LdY, q.LdY, q.K, o + s * q.OutCol, o + q.OutRow + s * q.OutCol, q.OutCol, q.Alpha, q.Beta);
            for (; s < s1; s++)
            {
                StoreScalar(o + s * q.OutCol, Dot1(x, q.Y + s * q.LdY, q.K), q.Alpha, q.Beta);
                StoreScalar(o + q.OutRow + s * q.OutCol, Dot1(x + q.XRow, q.Y + s * q.LdY, q.K), q.Alpha, q.Beta);
            }
        }
        for (; r < r1; r++)
        {
            T* x = q.X + r * q.XRow;
            T* o = q.Out + r * q.OutRow;
            int s = s0;
            for (; s + 8 <= s1; s += 8) Dot1x8(x, q.Y + s * q.LdY, q.LdY, q.K, o + s * q.OutCol, q.OutCol, q.Alpha, q.Beta);
            for (; s + 4 <= s1; s += 4) Dot1x4(x, q.Y + s * q.LdY, q.LdY, q.K, o + s * q.OutCol, q.OutCol, q.Alpha, q.Beta);
            for (; s < s1; s++) StoreScalar(o + s * q.OutCol, Dot1(x, q.Y + s * q.LdY, q.K), q.Alpha, q.Beta);
        }
    }

    /// <summary>
    /// Eight dot products of x with rows y … y+7ldy; same summation order as <see cref="Dot1"/>. One row of x (a
    /// matrix-vector product) has no second row to reuse the loads of y, so eight independent accumulators are what
    /// keeps both FMA pipes busy (four chains of a 4-cycle FMA fill one); 9 loads per 8 FMAs.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot1x8<T>(T* x, T* y, nint ldy, int k, T* o, nint outCol, T alpha, T beta) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count;
        T* y0 = y, y1 = y + ldy, y2 = y1 + ldy, y3 = y2 + ldy, y4 = y3 + ldy, y5 = y4 + ldy, y6 = y5 + ldy, y7 = y6 + ldy;
        Vector<T> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        int p = 0;
        for (; p + w <= k; p += w)
        {
            var xv = Unsafe.ReadUnaligned<Vector<T>>(x + p);
            c0 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y0 + p), c0);
            c1 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y1 + p), c1);
            c2 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y2 + p), c2);
            c3 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y3 + p), c3);
            c4 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y4 + p), c4);
            c5 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y5 + p), c5);
            c6 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y6 + p), c6);
            c7 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y7 + p), c7);
        }
        T s0 = Vector.Sum(c0), s1 = Vector.Sum(c1), s2 = Vector.Sum(c2), s3 = Vector.Sum(c3);
        T s4 = Vector.Sum(c4), s5 = Vector.Sum(c5), s6 = Vector.Sum(c6), s7 = Vector.Sum(c7);
        for (; p < k; p++)
        {
            T xp = x[p];
            s0 += xp * y0[p]; s1 += xp * y1[p]; s2 += xp * y2[p]; s3 += xp * y3[p];
            s4 += xp * y4[p]; s5 += xp * y5[p]; s6 += xp * y6[p]; s7 += xp * y7[p];
        }
        StoreScalar(o, s0, alpha, beta); StoreScalar(o + outCol, s1, alpha, beta);
        StoreScalar(o + 2 * outCol, s2, alpha, beta); StoreScalar(o + 3 * outCol, s3, alpha, beta);
        StoreScalar(o + 4 * outCol, s4, alpha, beta); StoreScalar(o + 5 * outCol, s5, alpha, beta);
        StoreScalar(o + 6 * outCol, s6, alpha, beta); StoreScalar(o + 7 * outCol, s7, alpha, beta);
    }

    /// <summary>Four dot products of x with rows y, y+ldy, y+2ldy, y+3ldy; same summation order as <see cref="Dot1"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot1x4<T>(T* x, T* y, nint ldy, int k, T* o, nint outCol, T alpha, T beta) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count;
        T* y0 = y, y1 = y + ldy, y2 = y1 + ldy, y3 = y2 + ldy;
        Vector<T> c0 = default, c1 = default, c2 = default, c3 = default;
        int p = 0;
        for (; p + w <= k; p += w)
        {
            var xv = Unsafe.ReadUnaligned<Vector<T>>(x + p);
            c0 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y0 + p), c0);
            c1 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y1 + p), c1);
            c2 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y2 + p), c2);
            c3 = MulAdd(xv, Unsafe.ReadUnaligned<Vector<T>>(y3 + p), c3);
        }
        T s0 = Vector.Sum(c0), s1 = Vector.Sum(c1), s2 = Vector.Sum(c2), s3 = Vector.Sum(c3);
        for (; p < k; p++)
        {
            T xp = x[p];
            s0 += xp * y0[p]; s1 += xp * y1[p]; s2 += xp * y2[p]; s3 += xp * y3[p];
        }
        StoreScalar(o, s0, alpha, beta);
        StoreScalar(o + outCol, s1, alpha, beta);
        StoreScalar(o + 2 * outCol, s2, alpha, beta);
        StoreScalar(o + 3 * outCol, s3, alpha, beta);
    }

    /// <summary>
    /// Dot products of rows xa and xb with four rows of y each; every result is summed in the same order as
    /// <see cref="Dot1"/> (vector lanes over p, lane sum, scalar tail), so the blocking never changes a result.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Dot2x4<T>(T* xa, T* xb, T* y, nint ldy, int k, T* oa, T* ob, nint outCol, T alpha, T beta) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count;
        T* y0 = y, y1 = y + ldy, y2 = y1 + ldy, y3 = y2 + ldy;
        Vector<T> a0 = default, a1 = default, a2 = default, a3 = default, b0 = default, b1 = default, b2 = default, b3 = default;
        int p = 0;
        for (; p + w <= k; p += w)
        {
            var xav = Unsafe.ReadUnaligned<Vector<T>>(xa + p);
            var xbv = Unsafe.ReadUnaligned<Vector<T>>(xb + p);
            var v = Unsafe.ReadUnaligned<Vector<T>>(y0 + p); a0 = MulAdd(xav, v, a0); b0 = MulAdd(xbv, v, b0);
            v = Unsafe.ReadUnaligned<Vector<T>>(y1 + p); a1 = MulAdd(xav, v, a1); b1 = MulAdd(xbv, v, b1);
            v = Unsafe.ReadUnaligned<Vector<T>>(y2 + p); a2 = MulAdd(xav, v, a2); b2 = MulAdd(xbv, v, b2);
            v = Unsafe.ReadUnaligned<Vector<T>>(y3 + p); a3 = MulAdd(xav, v, a3); b3 = MulAdd(xbv, v, b3);
        }
        T sa0 = Vector.Sum(a0), sa1 = Vector.Sum(a1), sa2 = Vector.Sum(a2), sa3 = Vector.Sum(a3);
        T sb0 = Vector.Sum(b0), sb1 = Vector.Sum(b1), sb2 = Vector.Sum(b2), sb3 = Vector.Sum(b3);
        for (; p < k; p++)
        {
            T xap = xa[p], xbp = xb[p];
            sa0 += xap * y0[p]; sa1 += xap * y1[p]; sa2 += xap * y2[p]; sa3 += xap * y3[p];
            sb0 += xbp * y0[p]; sb1 += xbp * y1[p]; sb2 += xbp * y2[p]; sb3 += xbp * y3[p];
        }
        StoreScalar(oa, sa0, alpha, beta); StoreScalar(oa + outCol, sa1, alpha, beta);
        StoreScalar(oa + 2 * outCol, sa2, alpha, beta); StoreScalar(oa + 3 * outCol, sa3, alpha, beta);
        StoreScalar(ob, sb0, alpha, beta); StoreScalar(ob + outCol, sb1, alpha, beta);
        StoreScalar(ob + 2 * outCol, sb2, alpha, beta); StoreScalar(ob + 3 * outCol, sb3, alpha, beta);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static T Dot1<T>(T* x, T* y, int k) where T : unmanaged, INumber<T>
    {
        int w = Vector<T>.Count;
        Vector<T> c = default;
        int p = 0;
        for (; p + w <= k; p += w) c = MulAdd(Unsafe.ReadUnaligned<Vector<T>>(x + p), Unsafe.ReadUnaligned<Vector<T>>(y + p), c);
        T sum = Vector.Sum(c);
        for (; p < k; p++) sum += x[p] * y[p];
        return sum;
    }
}
