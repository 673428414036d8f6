using DeepSharp.Kernels;

namespace DeepSharp;

// Matrix products: matmul with NumPy-style batching/broadcasting, mm, bmm; GEMM does the work.
public sealed partial class Tensor
{
    /// <summary>
    /// Matrix product with PyTorch's rules (torch.matmul): 1-D operands are promoted to matrices and the added
    /// dimension removed afterwards; leading (batch) dimensions broadcast.
    /// </summary>
    public Tensor MatMul(Tensor other)
    {
        if (Rank == 0 || other.Rank == 0)
            throw new ArgumentException($"MatMul: both arguments need at least 1 dimension, got shapes {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)}");
        if (Rank == 1 && other.Rank == 1)
        {
            if (shape[0] != other.shape[0]) throw new ArgumentException($"MatMul: shapes {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)} do not align ({shape[0]} vs {other.shape[0]})");
            return Unsqueeze(0).MatMul(other.Unsqueeze(1)).Reshape();
        }
        if (Rank == 1) return Unsqueeze(0).MatMul(other).Squeeze(-2);
        if (other.Rank == 1) return MatMul(other.Unsqueeze(1)).Squeeze(-1);
        int k = shape[^1];
        if (other.shape[^2] != k)
            throw new ArgumentException($"MatMul: shapes {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)} do not align ({k} vs {other.shape[^2]})");
        if (DType != other.DType)
            throw new ArgumentException($"MatMul: both operands must have the same dtype, got {DType.TorchName()} and {other.DType.TorchName()}");
        if (DType.IsReducedPrecision()) // float32 accumulation, one rounding of the output
            return ReducedFloat.Apply("MatMul", [this, other], t => t[0]!.MatMul(t[1]!));
        // (..., M, K) @ (K, N) with a foldable batch: one big GEMM.
        if (Rank > 2 && other.Rank == 2 && CanFoldBatch())
        {
            var outShape = ShapeUtil.Copy(shape); outShape[^1] = other.shape[1];
            return Reshape(-1, k).MatMul(other).Reshape(outShape);
        }
        var result = MatMulKernel(this, other);
        if (Autograd.ShouldRecord(this, other))
        {
            var self = this;
            Autograd.Record(result, "MatMulBackward", [this, other], g =>
                [self.RequiresGrad ? g.MatMul(other.MT).SumToShape(self.shape) : null,
                 other.RequiresGrad ? self.MT.MatMul(g).SumToShape(other.shape) : null], this, other);
        }
        return result;
    }

    bool CanFoldBatch()
    {
        // leading dims can merge with the row dim when rows are laid out uniformly
        int expected = strides[^2];
        for (int i = Rank - 2; i >= 0; i--)
        {
            if (shape[i] == 1) continue;
            if (strides[i] != expected) return false;
            expected *= shape[i];
        }
        return true;
    }

    /// <summary>Matrix product of two 2-D tensors (torch.mm).</summary>
    public Tensor Mm(Tensor other)
    {
        if (Rank != 2 || other.Rank != 2) throw new ArgumentException($"Mm: both arguments must be 2-D, got shapes {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)}");
        return MatMul(other);
    }

    /// <summary>Batched matrix product of two 3-D tensors (torch.bmm).</summary>
    public Tensor Bmm(Tensor other)
    {
        if (Rank != 3 || other.Rank != 3) throw new ArgumentException($"Bmm: both arguments must be 3-D, got shapes {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)}");
        if (shape[0] != other.shape[0]) throw new ArgumentException($"Bmm: batch sizes differ: {ShapeUtil.Format(shape)} and {ShapeUtil.Format(other.shape)}");
        return MatMul(other);
    }

    /// <summary>
    /// a·b with broadcast batch dims into a fresh contiguous tensor; with <paramref name="into"/> (contiguous, of the
    /// result's shape) the product is added to <paramref name="beta"/> times its contents instead.
    /// </summary>
    static Tensor MatMulKernel(Tensor a, Tensor b, Tensor? into = null, double beta = 0)
    {
        int m = a.shape[^2], k = a.shape[^1], n = b.shape[^1];
        // two matrices (the common case) need no batch bookkeeping: no broadcast shape or stride arrays are made
        bool matrices = a.Rank == 2 && b.Rank == 2;
        var batchA = a.shape.AsSpan(0, a.Rank - 2); var batchB = b.shape.AsSpan(0, b.Rank - 2);
        int[] batch = matrices ? [] : ShapeUtil.Broadcast(batchA, batchB, "MatMul");
        int[] outShape;
        if (matrices) outShape = [m, n];
        else { outShape = new int[batch.Length + 2]; batch.CopyTo(outShape, 0); outShape[^2] = m; outShape[^1] = n; }
        // with beta = 0 the GEMM writes every element (k = 0 included: it scales C by 0), so no zero fill is needed
        // unless C could hold NaN from an uninitialised array; Alloc only for the empty-k case
        var result = into ?? (k == 0 ? Alloc(a.DType, outShape) : AllocUninit(a.DType, outShape));
        int batchCount = ShapeUtil.Numel(batch);
        Tensor aa = Layout(a, out bool transA, out int lda) ? a : CopyToContiguous(a);
        if (!ReferenceEquals(aa, a)) Layout(aa, out transA, out lda);
        Tensor bb = Layout(b, out bool transB, out int ldb) ? b : CopyToContiguous(b);
        if (!ReferenceEquals(bb, b)) Layout(bb, out transB, out ldb);
        int[] aStr = matrices ? batch : ShapeUtil.BroadcastStrides(batchA, aa.strides.AsSpan(0, aa.Rank - 2), batch);
        int[] bStr = matrices ? batch : ShapeUtil.BroadcastStrides(batchB, bb.strides.AsSpan(0, bb.Rank - 2), batch);
        for (int bi = 0; bi < batchCount; bi++)
        {
            int ao = aa.offset, bo = bb.offset, rem = bi;
            for (int d = batch.Length - 1; d >= 0; d--) { int ix = rem % batch[d]; rem /= batch[d]; ao += ix * aStr[d]; bo += ix * bStr[d]; }
            int co = bi * m * n;
            int aLen = SpanLength(transA, m, k, lda), bLen = SpanLength(transB, k, n, ldb);
            if (a.DType == DType.Float32)
                Gemm.Sgemm(transA, transB, m, n, k, 1f, new ReadOnlySpan<float>(aa.Array<float>(), ao, aLen), lda,
                    new ReadOnlySpan<float>(bb.Array<float>(), bo, bLen), ldb, (float)beta, result.Array<float>().AsSpan(result.offset + co, m * n), n);
            else if (a.DType == DType.Float64)
                Gemm.Dgemm(transA, transB, m, n, k, 1.0, new ReadOnlySpan<double>(aa.Array<double>(), ao, aLen), lda,
                    new ReadOnlySpan<double>(bb.Array<double>(), bo, bLen), ldb, beta, result.Array<double>().AsSpan(result.offset + co, m * n), n);
            else if (a.DType == DType.Int64)
                Gemm.Reference(transA, transB, m, n, k, 1L, new ReadOnlySpan<long>(aa.Array<long>(), ao, aLen), lda,
                    new ReadOnlySpan<long>(bb.Array<long>(), bo, bLen), ldb, (long)beta, result.Array<long>().AsSpan(result.offset + co, m * n), n);
            else if (a.DType == DType.Int32)
                Gemm.Reference(transA, transB, m, n, k, 1, new ReadOnlySpan<int>(aa.Array<int>(), ao, aLen), lda,
                    new ReadOnlySpan<int>(bb.Array<int>(), bo, bLen), ldb, (int)beta, result.Array<int>().AsSpan(result.offset + co, m * n), n);
            else throw new NotSupportedException($"MatMul: dtype {a.DType.TorchName()} is not supported");
        }
        return result;
    }

    static int SpanLength(bool trans, int rows, int cols, int ld)
    {
        int r = trans ? cols : rows, c = trans ? rows : cols;
        return r == 0 || c == 0 ? 0 : (r - 1) * ld + c;
    }

    /// <summary>
    /// Describes t's matrices (last two dims) for GEMM: row-major with leading dimension ld, or transposed
    /// (column-major) with leading dimension ld. False when neither dim has a unit stride (a copy is needed).
    /// </summary>
    static bool Layout(Tensor t, out bool trans, out int ld)
    {
        int rows = t.shape[^2], cols = t.shape[^1], rs = t.strides[^2], cs = t.strides[^1];
        if ((cs == 1 || cols <= 1) && (rs >= cols || rows <= 1))
        {
            trans = false; ld = Math.Max(rows <= 1 ? cols : rs, Math.Max(cols, 1)); return true;
        }
        if ((rs == 1 || rows <= 1) && (cs >= rows || cols <= 1))
        {
            trans = true; ld = Math.Max(cols <= 1 ? rows : cs, Math.Max(rows, 1)); return true;
        }
        trans = false; ld = 0; return false;
    }
}
