using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace DeepSharp.Kernels;

/// <summary>
/// One operand of the fused attention kernel: a batch of row-major matrices inside one array. Element (n, r, c) is
/// <c>Data[Offsets[n] + r·RowStride + c]</c>; a row stride of 0 repeats one row (a broadcast mask).
/// </summary>
public unsafe struct AttentionOperand<T> where T : unmanaged
{
    public T* Data;
    public long* Offsets;
    public int RowStride;

    public readonly T* Matrix(int n) => Data + Offsets[n];
}

/// <summary>
/// The blocked ("flash") attention kernels behind the memory-lean path of scaled dot-product attention.
/// <para>
/// Forward, for each batch entry n and block of query rows: scores against one block of keys at a time,
/// S = scale·Q·Kᵀ + mask (causal entries −∞), an online softmax (running row max m and row sum l, the partial output
/// rescaled by e^(m_old − m_new) when the max grows) and O += P·V; at the end O /= l and the row's log-sum-exp
/// m + log l is kept for backward. Only a (blockQ × blockK) tile of scores exists at a time.
/// </para>
/// <para>
/// Backward, for each batch entry and key block, recomputes the tile's probabilities from the saved log-sum-exp,
/// P = e^(S − lse), and accumulates dV += Pᵈᵀ·dO, dP = dO·Vᵀ, dS = P∘(dP∘Z − D) with D = rowsum(dO∘O),
/// dQ += scale·dS·K and dK += scale·dSᵀ·Q (Z is the dropout keep mask scaled by 1/(1−p), Pᵈ = P∘Z).
/// </para>
/// Dropout draws no random numbers: entry (n, i, j) is kept when a 64-bit hash of (seed, n, i, j) is at least p, so
/// backward regenerates the same mask and results do not depend on the thread count. PyTorch equivalent: the fused CPU
/// flash-attention kernel behind torch.nn.functional.scaled_dot_product_attention (its mask and dropout streams differ).
/// </summary>
public static unsafe class AttentionKernel
{
    /// <summary>Query rows per tile.</summary>
    internal const int DefaultBlockQ = 64;
    /// <summary>Key rows per tile.</summary>
    internal const int DefaultBlockK = 128;

    /// <summary>Test hook: tile sizes used instead of the defaults (to exercise the online softmax on small inputs).</summary>
    internal static (int Q, int K)? BlockOverride;

    /// <summary>Query rows per tile in use (the test override, else <see cref="DefaultBlockQ"/>).</summary>
    public static int BlockQ => BlockOverride?.Q ?? DefaultBlockQ;
    /// <summary>Key rows per tile in use (the test override, else <see cref="DefaultBlockK"/>).</summary>
    public static int BlockK => BlockOverride?.K ?? DefaultBlockK;

    /// <summary>The dropout keep factor of entry <paramref name="index"/>: 0 (dropped) or 1/(1−p).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool Keep(ulong seed, ulong index, double p)
    {
        ulong z = seed ^ (index * 0xD1B54A32D192ED03UL);
        z += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (z >> 11) * (1.0 / (1UL << 53)) >= p;
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C on raw pointers (row-major, leading dimensions in elements).</summary>
    internal static void Gemm<T>(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (m == 0 || n == 0) return;
        int aLen = Length(transA ? k : m, transA ? m : k, lda), bLen = Length(transB ? n : k, transB ? k : n, ldb);
        int cLen = (m - 1) * ldc + n;
        if (typeof(T) == typeof(float))
            Kernels.Gemm.Sgemm(transA, transB, m, n, k, Unsafe.As<T, float>(ref alpha), new ReadOnlySpan<float>(a, aLen), lda,
                new ReadOnlySpan<float>(b, bLen), ldb, Unsafe.As<T, float>(ref beta), new Span<float>(c, cLen), ldc);
        else
            Kernels.Gemm.Dgemm(transA, transB, m, n, k, Unsafe.As<T, double>(ref alpha), new ReadOnlySpan<double>(a, aLen), lda,
                new ReadOnlySpan<double>(b, bLen), ldb, Unsafe.As<T, double>(ref beta), new Span<double>(c, cLen), ldc);
    }

    static int Length(int rows, int cols, int ld) => rows == 0 || cols == 0 ? 0 : (rows - 1) * ld + cols;

    /// <summary>Per-thread scratch space, grown on demand and kept for the thread's life.</summary>
    internal static class Scratch<T> where T : unmanaged
    {
        [ThreadStatic] static T[]? buffer;
        public static T[] Get(int length) => buffer is { } b && b.Length >= length ? b : buffer = new T[Math.Max(length, 1024)];
    }

    /// <summary>Shared description of one attention problem (N batch entries of (L, E)·(S, E)ᵀ·(S, Ev)).</summary>
    public struct Problem<T> where T : unmanaged
    {
        public AttentionOperand<T> Q, K, V, O, Mask;
        public bool HasMask;
        public T* Lse;                 // (N, L) log-sum-exp per query row
        public int L, S, E, Ev;
        public T Scale;
        public bool Causal;
        public int CausalOffset;       // key j is visible from query i when j ≤ i + CausalOffset
        public double DropoutP;
        public ulong Seed;
        public int BlockQ, BlockK;

        /// <summary>Number of leading keys row i may see (S when not causal).</summary>
        public readonly int VisibleKeys(int i) => Causal ? Math.Clamp(i + CausalOffset + 1, 0, S) : S;
    }

    /// <summary>dst (cols × rows, dense) = the transpose of the (rows × cols) block at src with row stride ld.</summary>
    internal static void Transpose<T>(T* src, int ld, int rows, int cols, T* dst) where T : unmanaged
    {
        for (int r = 0; r < rows; r++)
        {
            T* row = src + (long)r * ld;
            for (int c = 0; c < cols; c++) dst[c * rows + r] = row[c];
        }
    }

    /// <summary>
    /// Fills a (rows × cols) tile of scores: scale·Q[i0..]·K[j0..]ᵀ + mask, with causally hidden entries set to −∞.
    /// <paramref name="keysT"/> holds the key block transposed, (E × cols): a GEMM with both operands row-major runs
    /// about 2.5× faster on these small shapes than one reading Kᵀ through strides.
    /// </summary>
    static void Scores<T>(in Problem<T> p, int n, int i0, int rows, int cols, int j0, T* keysT, T* tile) where T : unmanaged, IFloatingPointIeee754<T>
    {
        Gemm(false, false, rows, cols, p.E, p.Scale, p.Q.Matrix(n) + (long)i0 * p.Q.RowStride, p.Q.RowStride, keysT, cols, T.Zero, tile, cols);
        if (p.HasMask)
        {
            T* mask = p.Mask.Matrix(n) + j0;
            for (int r = 0; r < rows; r++)
            {
                var row = new Span<T>(tile + r * cols, cols);
                TensorPrimitives.Add(row, new ReadOnlySpan<T>(mask + (long)(i0 + r) * p.Mask.RowStride, cols), row);
            }
        }
        if (p.Causal)
        {
            for (int r = 0; r < rows; r++)
            {
                int visible = Math.Clamp(p.VisibleKeys(i0 + r) - j0, 0, cols);
                if (visible < cols) new Span<T>(tile + r * cols + visible, cols - visible).Fill(T.NegativeInfinity);
            }
        }
    }

    /// <summary>Multiplies a tile by the dropout factors Z (0 or 1/(1−p)) of its entries, in place.</summary>
    static void ApplyDropout<T>(in Problem<T> p, int n, int i0, int rows, int j0, int cols, T* tile) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T keepScale = T.CreateChecked(1.0 / (1.0 - p.DropoutP));
        for (int r = 0; r < rows; r++)
        {
            ulong rowIndex = ((ulong)n * (ulong)p.L + (ulong)(i0 + r)) * (ulong)p.S + (ulong)j0;
            T* row = tile + r * cols;
            for (int c = 0; c < cols; c++)
                row[c] = Keep(p.Seed, rowIndex + (ulong)c, p.DropoutP) ? row[c] * keepScale : T.Zero;
        }
    }

    // ---- forward ----------------------------------------------------------------------------------------------

    struct ForwardBody<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Problem<T> P;
        public int QBlocks;

        public void Invoke(int index)
        {
            ref readonly var p = ref P;
            int n = index / QBlocks, i0 = index % QBlocks * p.BlockQ, rows = Math.Min(p.BlockQ, p.L - i0);
            int tileSize = p.BlockQ * p.BlockK;
            var scratch = Scratch<T>.Get(tileSize + p.BlockQ * p.Ev + 2 * p.BlockQ + p.BlockK * p.E);
            fixed (T* s = scratch)
            {
                T* tile = s, acc = s + tileSize, rowMax = acc + p.BlockQ * p.Ev, rowSum = rowMax + p.BlockQ, keysT = rowSum + p.BlockQ;
                new Span<T>(acc, rows * p.Ev).Clear();
                new Span<T>(rowMax, rows).Fill(T.NegativeInfinity);
                new Span<T>(rowSum, rows).Clear();
                int keyEnd = p.VisibleKeys(i0 + rows - 1);
                for (int j0 = 0; j0 < keyEnd; j0 += p.BlockK)
                {
                    int cols = Math.Min(p.BlockK, keyEnd - j0);
                    Transpose(p.K.Matrix(n) + (long)j0 * p.K.RowStride, p.K.RowStride, cols, p.E, keysT);
                    Scores(p, n, i0, rows, cols, j0, keysT, tile);
                    for (int r = 0; r < rows; r++)
                    {
                        var row = new Span<T>(tile + r * cols, cols);
                        T oldMax = rowMax[r], newMax = T.Max(oldMax, TensorPrimitives.Max<T>(row));
                        if (T.IsNegativeInfinity(newMax)) { row.Clear(); continue; }   // nothing visible yet
                        T rowTotal = SoftmaxExp.ExpShiftedSum(row, newMax);   // e^(s − m) in place, and its sum
                        T correction = T.Exp(oldMax - newMax);
                        rowSum[r] = rowSum[r] * correction + rowTotal;
                        rowMax[r] = newMax;
                        if (correction != T.One)
                        {
                            var accRow = new Span<T>(acc + r * p.Ev, p.Ev);
                            TensorPrimitives.Multiply(accRow, correction, accRow);
                        }
                    }
                    if (p.DropoutP > 0) ApplyDropout(p, n, i0, rows, j0, cols, tile);
                    Gemm(false, false, rows, p.Ev, cols, T.One, tile, cols, p.V.Matrix(n) + (long)j0 * p.V.RowStride, p.V.RowStride,
                        T.One, acc, p.Ev);
                }
                T* o = p.O.Matrix(n) + (long)i0 * p.O.RowStride;
                T* lse = p.Lse + (long)n * p.L + i0;
                for (int r = 0; r < rows; r++)
                {
                    // a row that sees no key gets 0/0 = NaN, as softmax over all −∞ does
                    TensorPrimitives.Divide(new ReadOnlySpan<T>(acc + r * p.Ev, p.Ev), rowSum[r], new Span<T>(o + (long)r * p.O.RowStride, p.Ev));
                    lse[r] = rowMax[r] + T.Log(rowSum[r]);
                }
            }
        }
    }

    /// <summary>Runs the forward pass over N batch entries, writing O and the per-row log-sum-exp.</summary>
    public static void Forward<T>(in Problem<T> problem, int batch) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batch == 0 || problem.L == 0) return;
        int qBlocks = (problem.L + problem.BlockQ - 1) / problem.BlockQ;
        var body = new ForwardBody<T> { P = problem, QBlocks = qBlocks };
        int tasks = batch * qBlocks;
        if (tasks == 1) body.Invoke(0);
        else KernelThreadPool.ParallelFor(tasks, ref body);
    }

    // ---- backward ---------------------------------------------------------------------------------------------

    struct BackwardBody<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
    {
        public Problem<T> P;
        public AttentionOperand<T> GradO, GradQ, GradK, GradV;   // gradients of Q, K, V are accumulated (start at zero)

        public void Invoke(int n)
        {
            ref readonly var p = ref P;
            int tileSize = p.BlockQ * p.BlockK;
            bool dropout = p.DropoutP > 0;
            var scratch = Scratch<T>.Get((dropout ? 3 : 2) * tileSize + p.L + p.BlockK * (p.E + p.Ev));
            fixed (T* s = scratch)
            {
                T* prob = s, gradScores = s + tileSize, delta = gradScores + tileSize, keysT = delta + p.L, valuesT = keysT + p.BlockK * p.E;
                T* dropped = valuesT + p.BlockK * p.Ev;
                T* o = p.O.Matrix(n), gO = GradO.Matrix(n), lse = p.Lse + (long)n * p.L;
                for (int i = 0; i < p.L; i++)
                    delta[i] = TensorPrimitives.Dot(new ReadOnlySpan<T>(gO + (long)i * GradO.RowStride, p.Ev), new ReadOnlySpan<T>(o + (long)i * p.O.RowStride, p.Ev));
                for (int j0 = 0; j0 < p.S; j0 += p.BlockK)
                {
                    int cols = Math.Min(p.BlockK, p.S - j0);
                    T* k = p.K.Matrix(n) + (long)j0 * p.K.RowStride, v = p.V.Matrix(n) + (long)j0 * p.V.RowStride;
                    T* gK = GradK.Matrix(n) + (long)j0 * GradK.RowStride, gV = GradV.Matrix(n) + (long)j0 * GradV.RowStride;
                    Transpose(k, p.K.RowStride, cols, p.E, keysT);
                    Transpose(v, p.V.RowStride, cols, p.Ev, valuesT);
                    // with a causal mask, rows above the first that sees key j0 contribute nothing
                    int iStart = p.Causal ? Math.Max(0, j0 - p.CausalOffset) : 0;
                    for (int i0 = iStart; i0 < p.L; i0 += p.BlockQ)
                    {
                        int rows = Math.Min(p.BlockQ, p.L - i0);
                        Scores(p, n, i0, rows, cols, j0, keysT, prob);
                        for (int r = 0; r < rows; r++)
                        {
                            SoftmaxExp.ExpShiftedSum(new Span<T>(prob + r * cols, cols), lse[i0 + r]);   // P = e^(S − lse), as forward
                        }
                        T* weights = prob;
                        if (dropout)
                        {
                            new ReadOnlySpan<T>(prob, rows * cols).CopyTo(new Span<T>(dropped, rows * cols));
                            ApplyDropout(p, n, i0, rows, j0, cols, dropped);
                            weights = dropped;
                        }
                        T* q = p.Q.Matrix(n) + (long)i0 * p.Q.RowStride, gOi = gO + (long)i0 * GradO.RowStride;
                        // dV_j += Pᵈᵀ·dO_i
                        Gemm(true, false, cols, p.Ev, rows, T.One, weights, cols, gOi, GradO.RowStride, T.One, gV, GradV.RowStride);
                        // dPᵈ = dO_i·V_jᵀ; dP = dPᵈ∘Z; dS = P∘(dP − D)
                        Gemm(false, false, rows, cols, p.Ev, T.One, gOi, GradO.RowStride, valuesT, cols, T.Zero, gradScores, cols);
                        if (dropout) ApplyDropout(p, n, i0, rows, j0, cols, gradScores);
                        for (int r = 0; r < rows; r++)
                        {
                            var gRow = new Span<T>(gradScores + r * cols, cols);
                            TensorPrimitives.Subtract(gRow, delta[i0 + r], gRow);
                            TensorPrimitives.Multiply(gRow, new ReadOnlySpan<T>(prob + r * cols, cols), gRow);
                        }
                        // dQ_i += scale·dS·K_j; dK_j += scale·dSᵀ·Q_i
                        Gemm(false, false, rows, p.E, cols, p.Scale, gradScores, cols, k, p.K.RowStride, T.One,
                            GradQ.Matrix(n) + (long)i0 * GradQ.RowStride, GradQ.RowStride);
                        Gemm(true, false, cols, p.E, rows, p.Scale, gradScores, cols, q, p.Q.RowStride, T.One, gK, GradK.RowStride);
                    }
                }
            }
        }
    }

    /// <summary>Runs the backward pass over N batch entries, accumulating into the (zeroed) gradients of Q, K and V.</summary>
    public static void Backward<T>(in Problem<T> problem, int batch, AttentionOperand<T> gradO,
        AttentionOperand<T> gradQ, AttentionOperand<T> gradK, AttentionOperand<T> gradV) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (batch == 0 || problem.L == 0 || problem.S == 0) return;
        var body = new BackwardBody<T> { P = problem, GradO = gradO, GradQ = gradQ, GradK = gradK, GradV = gradV };
        if (batch == 1) body.Invoke(0);
        else KernelThreadPool.ParallelFor(batch, ref body);
    }
}
