using System.Numerics;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>A binary elementwise operation written once for every numeric element type.</summary>
internal interface IBinaryFamily
{
    static abstract T Scalar<T>(T a, T b) where T : unmanaged, INumber<T>;
    static abstract void Vector<T>(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, INumber<T>;
    static abstract void VectorScalar<T>(ReadOnlySpan<T> a, T b, Span<T> dst) where T : unmanaged, INumber<T>;
    static abstract void ScalarVector<T>(T a, ReadOnlySpan<T> b, Span<T> dst) where T : unmanaged, INumber<T>;
}

/// <summary>A unary elementwise operation on floating-point element types.</summary>
internal interface IUnaryFamily
{
    static abstract void Apply<T>(ReadOnlySpan<T> x, Span<T> dst) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The broadcasting engine behind every binary and unary elementwise op.</summary>
internal static class Elementwise
{
    // Full: one value per output element, in output order. Scalar: one value for all. Row: a contiguous block repeated
    // over the leading output dimensions. Block: one value per trailing run of at least MinBlockLength output elements
    // (a per-channel (1, C, 1, 1) or per-sample-and-channel (N, C, 1, 1) operand against an (N, C, H, W) output), its
    // values laid out compactly, one per run; the run length travels in the row-length slot.
    enum Kind { Full, Scalar, Row, Block }

    /// <summary>The shortest run that is combined as a block; shorter runs materialize the operand instead.</summary>
    const int MinBlockLength = 8;

    /// <summary>
    /// Computes op(a, b) with NumPy broadcasting into a new contiguous tensor of the promoted dtype.
    /// No autograd recording happens here; the calling op records its own backward.
    /// </summary>
    public static Tensor Binary<TOp>(Tensor a, Tensor b, string opName) where TOp : IBinaryFamily
    {
        var dtype = DTypeExtensions.Promote(a.DType, b.DType);
        if (dtype == DType.Bool) dtype = DType.Int64;
        if (dtype.IsReducedPrecision())
        {
            // PyTorch's CPU kernels for 16-bit floats: compute in float32, round the result once (transient float32 buffers)
            return BinaryReduced<TOp>(dtype, a, b, opName);
        }
        if (a.DType != dtype) a = a.To(dtype);
        if (b.DType != dtype) b = b.To(dtype);
        var outShape = ShapeUtil.SameShape(a.shape, b.shape) ? a.shape : ShapeUtil.Broadcast(a.shape, b.shape, opName);
        var result = Tensor.AllocUninit(dtype, outShape);
        switch (dtype)
        {
            case DType.Float32: Run<float, TOp>(a, b, result); break;
            case DType.Float64: Run<double, TOp>(a, b, result); break;
            case DType.Int64: Run<long, TOp>(a, b, result); break;
            case DType.Int32: Run<int, TOp>(a, b, result); break;
            default: throw new NotSupportedException($"{opName}: dtype {dtype.TorchName()} is not supported");
        }
        return result;
    }

    /// <summary>
    /// op(a, scalar) into a new tensor: what <see cref="Binary{TOp}"/> computes with the 0-d tensor
    /// <c>Tensor.Scalar(scalar, a.DType)</c> as b (the same conversion of the value, the same kernel calls), without that
    /// tensor. Other dtypes (bool, 16-bit) take the tensor route.
    /// </summary>
    public static Tensor BinaryScalar<TOp>(Tensor a, double scalar, string opName) where TOp : IBinaryFamily
    {
        if (a.DType is not (DType.Float32 or DType.Float64 or DType.Int64 or DType.Int32))
            return Binary<TOp>(a, Tensor.Scalar(scalar, a.DType), opName);
        var result = Tensor.AllocUninit(a.DType, a.shape);
        RunScalar<TOp>(a, scalar, result);
        return result;
    }

    /// <summary>
    /// op(dst, scalar) written into <paramref name="dst"/>: what <see cref="BinaryInto{TOp}"/> does with
    /// <c>Tensor.Scalar(scalar, dst.DType)</c>, without that tensor.
    /// </summary>
    public static void BinaryScalarInto<TOp>(Tensor dst, double scalar, string opName) where TOp : IBinaryFamily
    {
        if (dst.DType is not (DType.Float32 or DType.Float64 or DType.Int64 or DType.Int32) || !dst.IsContiguous)
        {
            BinaryInto<TOp>(dst, Tensor.Scalar(scalar, dst.DType), opName);
            return;
        }
        RunScalar<TOp>(dst, scalar, dst);
    }

    /// <summary>The value as Tensor.Scalar stores it (Tensor.FillRaw's conversions), then <see cref="Run{T, TOp}"/>'s steps.</summary>
    static void RunScalar<TOp>(Tensor a, double scalar, Tensor result) where TOp : IBinaryFamily
    {
        switch (a.DType)
        {
            case DType.Float32: RunScalar<float, TOp>(a, (float)scalar, result); break;
            case DType.Float64: RunScalar<double, TOp>(a, scalar, result); break;
            case DType.Int64: RunScalar<long, TOp>(a, (long)scalar, result); break;
            default: RunScalar<int, TOp>(a, (int)scalar, result); break;
        }
    }

    static void RunScalar<T, TOp>(Tensor a, T value, Tensor result) where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        var d = result.Span<T>();
        if (d.Length == 0) return;
        T[]? tempA = null;
        var ka = Classify<T>(a, result.shape, out var sa, out int ra, ref tempA);
        if (ka == Kind.Block) ka = Unblock(a, result.shape, ref sa, ref tempA);
        try { Combine<T, TOp>(ka, sa, ra, Kind.Scalar, new ReadOnlySpan<T>(in value), 1, d); }
        finally
        {
            if (tempA != null) ArrayCache.Return(a.DType, tempA);
        }
    }

    // a method of its own, so that the closure is allocated only on this path (a lambda capturing a parameter is
    // allocated on entry to the method that declares it, whichever branch runs)
    static Tensor BinaryReduced<TOp>(DType dtype, Tensor a, Tensor b, string opName) where TOp : IBinaryFamily
        => ReducedFloat.Compute(dtype, t => Binary<TOp>(t[0]!, t[1]!, opName), a, b);

    /// <summary>Writes op(a, b) into <paramref name="dst"/> (which has the broadcast shape and a's dtype), in place.</summary>
    public static void BinaryInto<TOp>(Tensor dst, Tensor b, string opName) where TOp : IBinaryFamily
    {
        if (!ShapeUtil.SameShape(dst.shape, b.shape) && !ShapeUtil.SameShape(ShapeUtil.Broadcast(dst.shape, b.shape, opName), dst.shape))
            throw new ArgumentException($"{opName}: the in-place result of shape {ShapeUtil.Format(dst.shape)} cannot hold the broadcast with {ShapeUtil.Format(b.shape)}");
        if (dst.DType.IsReducedPrecision())
        {
            Tensor.CopyInto(Binary<TOp>(dst.Detach(), b.Detach(), opName).To(dst.DType), dst);
            return;
        }
        if (b.DType != dst.DType) b = b.To(dst.DType);
        if (dst.IsContiguous)
        {
            switch (dst.DType)
            {
                case DType.Float32: Run<float, TOp>(dst, b, dst); break;
                case DType.Float64: Run<double, TOp>(dst, b, dst); break;
                case DType.Int64: Run<long, TOp>(dst, b, dst); break;
                case DType.Int32: Run<int, TOp>(dst, b, dst); break;
                default: throw new NotSupportedException($"{opName}: dtype {dst.DType.TorchName()} is not supported in place");
            }
        }
        else
        {
            var tmp = Binary<TOp>(dst, b, opName);
            Tensor.CopyInto(tmp, dst);
        }
    }

    static void Run<T, TOp>(Tensor a, Tensor b, Tensor result) where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        var outShape = result.shape;
        var d = result.Span<T>();
        if (d.Length == 0) return;
        T[]? tempA = null, tempB = null;
        var ka = Classify<T>(a, outShape, out var sa, out int ra, ref tempA);
        var kb = Classify<T>(b, outShape, out var sb, out int rb, ref tempB);
        if (ka == Kind.Row && kb == Kind.Row) { sa = tempA = Materialize<T>(a, outShape); ka = Kind.Full; }
        // a block combines with a full operand that does not partly overlap the destination; otherwise it is materialized
        if (ka == Kind.Block && (kb != Kind.Full || PartlyOverlaps(sb, d))) ka = Unblock(a, outShape, ref sa, ref tempA);
        if (kb == Kind.Block && (ka != Kind.Full || PartlyOverlaps(sa, d))) kb = Unblock(b, outShape, ref sb, ref tempB);
        try
        {
            if (ka == Kind.Block) CombineBlocks<T, TOp>(true, sa, ra, sb, d);
            else if (kb == Kind.Block) CombineBlocks<T, TOp>(false, sb, rb, sa, d);
            else Combine<T, TOp>(ka, sa, ra, kb, sb, rb, d);
        }
        finally
        {
            if (tempA != null) ArrayCache.Return(a.DType, tempA);
            if (tempB != null) ArrayCache.Return(b.DType, tempB);
        }
    }

    static void Combine<T, TOp>(Kind ka, ReadOnlySpan<T> sa, int ra, Kind kb, ReadOnlySpan<T> sb, int rb, Span<T> d)
        where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        if (ka != Kind.Row && kb != Kind.Row && (ka == Kind.Full || kb == Kind.Full) && d.Length >= ParallelChunks.MinParallelLength
            && (ka != Kind.Full || !PartlyOverlaps(sa, d)) && (kb != Kind.Full || !PartlyOverlaps(sb, d)))
        {
            CombineChunked<T, TOp>(ka == Kind.Full, sa, kb == Kind.Full, sb, d);
            return;
        }
        if (ka == Kind.Full && kb == Kind.Full) { TOp.Vector<T>(sa, sb, d); return; }
        if (ka == Kind.Full && kb == Kind.Scalar) { TOp.VectorScalar(sa, sb[0], d); return; }
        if (ka == Kind.Scalar && kb == Kind.Full) { TOp.ScalarVector(sa[0], sb, d); return; }
        if (ka == Kind.Scalar && kb == Kind.Scalar) { d.Fill(TOp.Scalar(sa[0], sb[0])); return; }
        // one operand is a row repeated over the leading dimensions
        int len = ka == Kind.Row ? ra : rb;
        int rows = d.Length / len;
        for (int r = 0; r < rows; r++)
        {
            var dr = d.Slice(r * len, len);
            if (ka == Kind.Row)
            {
                if (kb == Kind.Full) TOp.Vector<T>(sa, sb.Slice(r * len, len), dr);
                else TOp.VectorScalar(sa, sb[0], dr);
            }
            else
            {
                if (ka == Kind.Full) TOp.Vector<T>(sa.Slice(r * len, len), sb, dr);
                else TOp.ScalarVector(sa[0], sb, dr);
            }
        }
    }

    /// <summary>
    /// True when <paramref name="source"/> and <paramref name="destination"/> share memory without starting at the same
    /// element (an in-place op on a shifted view of itself): such an op stays one serial pass, whose span check rejects it,
    /// instead of being split into chunks that would read elements an earlier chunk already wrote.
    /// </summary>
    static bool PartlyOverlaps<T>(ReadOnlySpan<T> source, Span<T> destination) =>
        source.Overlaps(destination, out int offset) && offset != 0;

    /// <summary>A long full-by-full or full-by-scalar op split into fixed chunks over the kernel thread pool (bitwise one pass).</summary>
    static unsafe void CombineChunked<T, TOp>(bool aFull, ReadOnlySpan<T> sa, bool bFull, ReadOnlySpan<T> sb, Span<T> d)
        where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        // a scalar operand is read once here, before any chunk writes (it may be an element of the destination: x.add_(x[0]))
        T aScalar = aFull ? default : sa[0], bScalar = bFull ? default : sb[0];
        fixed (T* ap = sa, bp = sb, dp = d)
        {
            var body = new BinaryChunk<T, TOp>(ap, aFull, aScalar, bp, bFull, bScalar, dp);
            ParallelChunks.For(d.Length, ref body);
        }
    }

    readonly unsafe struct BinaryChunk<T, TOp>(T* a, bool aFull, T aScalar, T* b, bool bFull, T bScalar, T* dst) : IChunkBody
        where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        public void Invoke(int start, int length)
        {
            var d = new Span<T>(dst + start, length);
            if (aFull && bFull) TOp.Vector<T>(new ReadOnlySpan<T>(a + start, length), new ReadOnlySpan<T>(b + start, length), d);
            else if (aFull) TOp.VectorScalar(new ReadOnlySpan<T>(a + start, length), bScalar, d);
            else TOp.ScalarVector(aScalar, new ReadOnlySpan<T>(b + start, length), d);
        }
    }

    static Kind Classify<T>(Tensor t, int[] outShape, out ReadOnlySpan<T> span, out int rowLength, ref T[]? temp) where T : unmanaged
    {
        int n = t.NumEl;
        rowLength = n;
        if (n == 1 || t.strides.All(s => s == 0)) { span = new ReadOnlySpan<T>(t.Array<T>(), t.offset, 1); return Kind.Scalar; }
        if (t.IsContiguous)
        {
            if (ShapeUtil.SameShape(t.shape, outShape)) { span = new ReadOnlySpan<T>(t.Array<T>(), t.offset, n); return Kind.Full; }
            // trailing-dims match: t (after dropping leading 1s) equals the last dims of the output
            int lead = 0;
            while (lead < t.Rank && t.shape[lead] == 1) lead++;
            int m = t.Rank - lead;
            bool row = m <= outShape.Length;
            for (int i = 0; row && i < m; i++) row = t.shape[lead + i] == outShape[outShape.Length - m + i];
            if (row) { span = new ReadOnlySpan<T>(t.Array<T>(), t.offset, n); return Kind.Row; }
        }
        if (!ShapeUtil.SameShape(t.shape, outShape))
        {
            // constant along the trailing output dimensions from `first` on: one value per run of their product
            int rank = outShape.Length;
            Span<int> strides = stackalloc int[2 * rank];
            Span<int> broadcast = strides[..rank], compact = strides[rank..];
            ShapeUtil.BroadcastStrides(t.shape, t.strides, outShape, broadcast);
            int first = rank, run = 1;
            while (first > 0 && (broadcast[first - 1] == 0 || outShape[first - 1] == 1)) run *= outShape[--first];
            if (first > 0 && run >= MinBlockLength)
            {
                ShapeUtil.ContiguousStrides(outShape.AsSpan(0, first), compact[..first]);
                var values = temp = (T[])ArrayCache.Rent(t.DType, ShapeUtil.Numel(outShape) / run, clear: false);
                StridedCopy.Copy(t.Array<T>(), t.offset, broadcast[..first], values, 0, compact[..first], outShape.AsSpan(0, first));
                span = new ReadOnlySpan<T>(values, 0, ShapeUtil.Numel(outShape) / run);
                rowLength = run;
                return Kind.Block;
            }
        }
        span = temp = Materialize<T>(t, outShape);
        return Kind.Full;
    }

    /// <summary>Replaces a block operand's compact values by the operand materialized to the output shape.</summary>
    static Kind Unblock<T>(Tensor t, int[] outShape, ref ReadOnlySpan<T> span, ref T[]? temp) where T : unmanaged
    {
        if (temp != null) ArrayCache.Return(t.DType, temp);
        span = temp = Materialize<T>(t, outShape);
        return Kind.Full;
    }

    /// <summary>
    /// op(block, full) (or op(full, block) when <paramref name="blockFirst"/> is false): each run of
    /// <paramref name="run"/> output elements combines one block value with the full operand's run. Long ops split
    /// whole runs over the kernel thread pool; every element is computed by the same kernel call whichever the split.
    /// </summary>
    static unsafe void CombineBlocks<T, TOp>(bool blockFirst, ReadOnlySpan<T> values, int run, ReadOnlySpan<T> full, Span<T> d)
        where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        fixed (T* vp = values, fp = full, dp = d)
        {
            int runs = d.Length / run;
            int perPart = Math.Max(1, ParallelChunks.ChunkLength / run);
            var body = new BlockRuns<T, TOp>(blockFirst, vp, fp, dp, run, runs, perPart);
            if (d.Length < ParallelChunks.MinParallelLength) body.Invoke(0, runs);
            else KernelThreadPool.ParallelFor((runs + perPart - 1) / perPart, ref body);
        }
    }

    readonly unsafe struct BlockRuns<T, TOp>(bool blockFirst, T* values, T* full, T* dst, int run, int runs, int perPart) : IParallelBody
        where T : unmanaged, INumber<T> where TOp : IBinaryFamily
    {
        public void Invoke(int part) => Invoke(part * perPart, Math.Min(perPart, runs - part * perPart));

        public void Invoke(int first, int count)
        {
            for (int r = first; r < first + count; r++)
            {
                var f = new ReadOnlySpan<T>(full + (long)r * run, run);
                var d = new Span<T>(dst + (long)r * run, run);
                if (blockFirst) TOp.ScalarVector(values[r], f, d);
                else TOp.VectorScalar(f, values[r], d);
            }
        }
    }

    static T[] Materialize<T>(Tensor t, int[] outShape) where T : unmanaged
    {
        var strides = ShapeUtil.BroadcastStrides(t.shape, t.strides, outShape);
        var dst = (T[])ArrayCache.Rent(t.DType, ShapeUtil.Numel(outShape), clear: false);
        StridedCopy.Copy(t.Array<T>(), t.offset, strides, dst, 0, ShapeUtil.ContiguousStrides(outShape), outShape);
        return dst;
    }

    static Tensor UnaryReduced<TOp>(Tensor src, string opName) where TOp : IUnaryFamily
        => ReducedFloat.Compute(src.DType, t => Unary<TOp>(t[0]!, opName), src);

    /// <summary>Applies a float-only unary op to a new contiguous tensor of the same shape.</summary>
    public static Tensor Unary<TOp>(Tensor x, string opName) where TOp : IUnaryFamily
    {
        var src = RequireFloat(x, opName).Contiguous();
        if (src.DType.IsReducedPrecision()) return UnaryReduced<TOp>(src, opName);
        var result = Tensor.AllocUninit(src.DType, src.shape);
        if (src.DType == DType.Float32) ApplyChunked<TOp, float>(src.Span<float>(), result.Span<float>());
        else ApplyChunked<TOp, double>(src.Span<double>(), result.Span<double>());
        return result;
    }

    /// <summary>Runs a unary family over the kernel thread pool in fixed chunks (serial below ParallelChunks' threshold); bitwise equal to one pass.</summary>
    internal static unsafe void ApplyChunked<TOp, T>(ReadOnlySpan<T> x, Span<T> dst) where TOp : IUnaryFamily where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (x.Length < ParallelChunks.MinParallelLength) { TOp.Apply(x, dst); return; }
        fixed (T* xp = x, dp = dst)
        {
            var body = new UnaryChunk<TOp, T>(xp, dp);
            ParallelChunks.For(x.Length, ref body);
        }
    }

    readonly unsafe struct UnaryChunk<TOp, T>(T* x, T* dst) : IChunkBody where TOp : IUnaryFamily where T : unmanaged, IFloatingPointIeee754<T>
    {
        public void Invoke(int start, int length) => TOp.Apply(new ReadOnlySpan<T>(x + start, length), new Span<T>(dst + start, length));
    }

    /// <summary>Integer and bool inputs of float-only ops are promoted to float32, as PyTorch does.</summary>
    public static Tensor RequireFloat(Tensor x, string opName) => x.IsFloatingPoint ? x : x.To(DType.Float32);
}
