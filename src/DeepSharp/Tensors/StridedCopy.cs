using System.Numerics;
using System.Runtime.CompilerServices;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>Copies between strided layouts; the one general data-movement primitive behind views.</summary>
internal static class StridedCopy
{
    /// <summary>Copies of at least this many elements split their rows over the kernel thread pool.</summary>
    internal const int ParallelElements = 1 << 16;

    /// <summary>
    /// Copies a strided n-d block of <paramref name="shape"/> from src to dst, each with its own offset and strides.
    /// Size-1 dimensions are dropped and neighbouring dimensions that both layouts lay out as one run are merged (a
    /// channel slice of a contiguous NCHW tensor copies as N runs of C·H·W, not N·C·H rows of W); the innermost
    /// remaining dimension is a tight loop (a block copy or fill where it can be). Large copies between distinct arrays
    /// split their rows over the <see cref="KernelThreadPool"/>; every element is written once whichever way it is split.
    /// </summary>
    public static void Copy<T>(T[] src, int srcOffset, ReadOnlySpan<int> srcStrides, T[] dst, int dstOffset, ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> shape)
    {
        int rank = shape.Length;
        int n = ShapeUtil.Numel(shape);
        if (n == 0) return;
        Span<int> dims = stackalloc int[3 * Math.Max(rank, 1)];
        Span<int> size = dims[..rank], ss = dims.Slice(rank, rank), ds = dims.Slice(2 * rank, rank);
        int r = 0;
        for (int k = 0; k < rank; k++)
        {
            if (shape[k] == 1) continue;
            if (r > 0 && ss[r - 1] == srcStrides[k] * shape[k] && ds[r - 1] == dstStrides[k] * shape[k])
            {
                size[r - 1] *= shape[k]; ss[r - 1] = srcStrides[k]; ds[r - 1] = dstStrides[k];
            }
            else { size[r] = shape[k]; ss[r] = srcStrides[k]; ds[r] = dstStrides[k]; r++; }
        }
        if (r == 0) { dst[dstOffset] = src[srcOffset]; return; }
        size = size[..r]; ss = ss[..r]; ds = ds[..r];
        int rows = n / size[r - 1];
        if (n >= ParallelElements && rows > 1 && r <= Dims.Length && KernelThreadPool.ThreadCount > 1 && !ReferenceEquals(src, dst))
        {
            var body = new RowsBody<T>(src, srcOffset, dst, dstOffset, size, ss, ds);
            ParallelChunks.Shares(rows, ref body);
            return;
        }
        Rows(src, srcOffset, dst, dstOffset, size, ss, ds, 0, rows);
    }

    // Copies rows [first, first + count) of the coalesced block (a row: the innermost dimension).
    static void Rows<T>(T[] src, int s, T[] dst, int d, ReadOnlySpan<int> size, ReadOnlySpan<int> ss, ReadOnlySpan<int> ds, int first, int count)
    {
        int rank = size.Length;
        int inner = size[rank - 1], si = ss[rank - 1], di = ds[rank - 1];
        Span<int> index = stackalloc int[rank];
        for (int k = rank - 2, rest = first; k >= 0; k--)
        {
            index[k] = rest % size[k]; rest /= size[k];
            s += index[k] * ss[k]; d += index[k] * ds[k];
        }
        for (int row = 0; row < count; row++)
        {
            if (si == 1 && di == 1) System.Array.Copy(src, s, dst, d, inner);
            else if (si == 0 && di == 1) System.Array.Fill(dst, src[s], d, inner);
            else for (int j = 0, a = s, b = d; j < inner; j++, a += si, b += di) dst[b] = src[a];
            for (int k = rank - 2; k >= 0; k--)
            {
                index[k]++; s += ss[k]; d += ds[k];
                if (index[k] < size[k]) break;
                s -= ss[k] * size[k]; d -= ds[k] * size[k]; index[k] = 0;
            }
        }
    }

    [InlineArray(Length)]
    struct Dims
    {
        public const int Length = 8;
        int element;
    }

    // Rows [first, first + count) of the coalesced block, for ParallelChunks.Shares.
    struct RowsBody<T> : IChunkBody
    {
        readonly T[] src, dst;
        readonly int srcOffset, dstOffset, rank;
        Dims size, ss, ds;

        public RowsBody(T[] src, int srcOffset, T[] dst, int dstOffset, ReadOnlySpan<int> size, ReadOnlySpan<int> ss, ReadOnlySpan<int> ds)
        {
            this.src = src; this.dst = dst; this.srcOffset = srcOffset; this.dstOffset = dstOffset;
            rank = size.Length;
            size.CopyTo(this.size); ss.CopyTo(this.ss); ds.CopyTo(this.ds);
        }

        public void Invoke(int first, int count) =>
            Rows(src, srcOffset, dst, dstOffset, ((ReadOnlySpan<int>)size)[..rank], ((ReadOnlySpan<int>)ss)[..rank], ((ReadOnlySpan<int>)ds)[..rank], first, count);
    }

    /// <summary>Strided copy that converts element types on the way.</summary>
    public static void Convert<TSrc, TDst>(TSrc[] src, int srcOffset, ReadOnlySpan<int> srcStrides, TDst[] dst, ReadOnlySpan<int> shape, Func<TSrc, TDst> convert)
    {
        int rank = shape.Length;
        int n = ShapeUtil.Numel(shape);
        if (n == 0) return;
        if (rank == 0) { dst[0] = convert(src[srcOffset]); return; }
        int inner = shape[rank - 1], si = srcStrides[rank - 1];
        Span<int> index = stackalloc int[rank];
        int s = srcOffset, d = 0;
        int rows = n / inner;
        for (int r = 0; r < rows; r++)
        {
            for (int j = 0, a = s; j < inner; j++, a += si) dst[d++] = convert(src[a]);
            for (int k = rank - 2; k >= 0; k--)
            {
                index[k]++; s += srcStrides[k];
                if (index[k] < shape[k]) break;
                s -= srcStrides[k] * shape[k]; index[k] = 0;
            }
        }
    }

    public static T Cast<T>(double v) where T : INumberBase<T> => T.CreateTruncating(v);
}

public sealed partial class Tensor
{
    /// <summary>A contiguous copy of <paramref name="t"/> (no graph recording).</summary>
    internal static Tensor CopyToContiguous(Tensor t)
    {
        var result = AllocUninit(t.DType, t.shape);
        switch (t.DType)
        {
            case DType.Float32: StridedCopy.Copy(t.Array<float>(), t.offset, t.strides, result.Array<float>(), 0, result.strides, t.shape); break;
            case DType.Float64: StridedCopy.Copy(t.Array<double>(), t.offset, t.strides, result.Array<double>(), 0, result.strides, t.shape); break;
            case DType.Int64: StridedCopy.Copy(t.Array<long>(), t.offset, t.strides, result.Array<long>(), 0, result.strides, t.shape); break;
            case DType.Int32: StridedCopy.Copy(t.Array<int>(), t.offset, t.strides, result.Array<int>(), 0, result.strides, t.shape); break;
            case DType.Bool: StridedCopy.Copy(t.Array<bool>(), t.offset, t.strides, result.Array<bool>(), 0, result.strides, t.shape); break;
            case DType.Float16: StridedCopy.Copy(t.Array<Half>(), t.offset, t.strides, result.Array<Half>(), 0, result.strides, t.shape); break;
            case DType.BFloat16: StridedCopy.Copy(t.Array<BFloat16>(), t.offset, t.strides, result.Array<BFloat16>(), 0, result.strides, t.shape); break;
        }
        return result;
    }

    /// <summary>Writes the values of <paramref name="src"/> (same shape, same dtype) into the possibly strided <paramref name="dst"/>.</summary>
    internal static void CopyInto(Tensor src, Tensor dst)
    {
        switch (dst.DType)
        {
            case DType.Float32: StridedCopy.Copy(src.Array<float>(), src.offset, src.strides, dst.Array<float>(), dst.offset, dst.strides, dst.shape); break;
            case DType.Float64: StridedCopy.Copy(src.Array<double>(), src.offset, src.strides, dst.Array<double>(), dst.offset, dst.strides, dst.shape); break;
            case DType.Int64: StridedCopy.Copy(src.Array<long>(), src.offset, src.strides, dst.Array<long>(), dst.offset, dst.strides, dst.shape); break;
            case DType.Int32: StridedCopy.Copy(src.Array<int>(), src.offset, src.strides, dst.Array<int>(), dst.offset, dst.strides, dst.shape); break;
            case DType.Bool: StridedCopy.Copy(src.Array<bool>(), src.offset, src.strides, dst.Array<bool>(), dst.offset, dst.strides, dst.shape); break;
            case DType.Float16: StridedCopy.Copy(src.Array<Half>(), src.offset, src.strides, dst.Array<Half>(), dst.offset, dst.strides, dst.shape); break;
            case DType.BFloat16: StridedCopy.Copy(src.Array<BFloat16>(), src.offset, src.strides, dst.Array<BFloat16>(), dst.offset, dst.strides, dst.shape); break;
        }
    }

    /// <summary>This tensor if it is contiguous, otherwise a contiguous copy (torch.Tensor.contiguous()).</summary>
    public Tensor Contiguous()
    {
        if (IsContiguous) return this;
        return Clone();
    }

    /// <summary>Converts to another dtype; returns this tensor when it already has it (torch.Tensor.to(dtype)).</summary>
    public Tensor To(DType dtype)
    {
        if (dtype == DType) return this;
        var result = DType.IsReducedPrecision() || dtype.IsReducedPrecision() ? ConvertReduced(dtype) : AllocUninit(dtype, shape);
        if (!DType.IsReducedPrecision() && !dtype.IsReducedPrecision())
        switch (DType)
        {
            case DType.Float32: ConvertFrom(Array<float>(), result, v => v, v => v != 0); break;
            case DType.Float64: ConvertFrom(Array<double>(), result, v => v, v => v != 0); break;
            case DType.Int64: ConvertFrom(Array<long>(), result, v => v, v => v != 0); break;
            case DType.Int32: ConvertFrom(Array<int>(), result, v => v, v => v != 0); break;
            case DType.Bool: ConvertFrom(Array<bool>(), result, v => v ? 1.0 : 0.0, v => v); break;
        }
        if (Autograd.ShouldRecord(this) && dtype.IsFloatingPoint())
        {
            var from = DType;
            Autograd.Record(result, "ToCopyBackward", [this], g => [g.To(from)]);
        }
        return result;
    }

    /// <summary>Conversions from and to the 16-bit dtypes: through float32 (exact when widening, one rounding when
    /// narrowing; float64 goes through float32 first, as PyTorch 1.13's CPU casts do).</summary>
    Tensor ConvertReduced(DType dtype)
    {
        if (DType.IsReducedPrecision())
        {
            var wide = ReducedFloat.Widen(this);
            return dtype == DType.Float32 ? wide : dtype.IsReducedPrecision() ? ReducedFloat.Narrow(wide, dtype) : wide.To(dtype);
        }
        return ReducedFloat.Narrow(DType == DType.Float32 ? this : To(DType.Float32), dtype);
    }

    void ConvertFrom<TSrc>(TSrc[] src, Tensor result, Func<TSrc, double> toDouble, Func<TSrc, bool> toBool)
    {
        switch (result.DType)
        {
            case DType.Float32: StridedCopy.Convert(src, offset, strides, result.Array<float>(), shape, v => (float)toDouble(v)); break;
            case DType.Float64: StridedCopy.Convert(src, offset, strides, result.Array<double>(), shape, v => toDouble(v)); break;
            case DType.Int64: StridedCopy.Convert(src, offset, strides, result.Array<long>(), shape, v => (long)toDouble(v)); break;
            case DType.Int32: StridedCopy.Convert(src, offset, strides, result.Array<int>(), shape, v => (int)toDouble(v)); break;
            case DType.Bool: StridedCopy.Convert(src, offset, strides, result.Array<bool>(), shape, toBool); break;
        }
    }

    /// <summary>Converts to float32 (torch.Tensor.float()).</summary>
    public Tensor Float() => To(DType.Float32);
    /// <summary>Converts to float64 (torch.Tensor.double()).</summary>
    public Tensor Double() => To(DType.Float64);
    /// <summary>Converts to int64 (torch.Tensor.long()).</summary>
    public Tensor Long() => To(DType.Int64);
    /// <summary>Converts to int32 (torch.Tensor.int()).</summary>
    public Tensor Int() => To(DType.Int32);
    /// <summary>Converts to bool (torch.Tensor.bool()).</summary>
    public Tensor Bool() => To(DType.Bool);
}
