using System.Numerics;

namespace DeepSharp;

/// <summary>
/// Rotary position embeddings as one fused op (behind <see cref="NN.F.ApplyRotaryEmbedding"/>): one pass over x instead
/// of the five of the composed form (narrow, negate, concatenate, two products and a sum), and one pass back.
/// <para>
/// With h = d/2, row t of x (..., T, D) becomes y[j] = x[j]·cos[t,j] − x[j+h]·sin[t,j] and
/// y[j+h] = x[j+h]·cos[t,j+h] + x[j]·sin[t,j+h] for j &lt; h; features d … D−1 pass through. The map is linear in x; its
/// adjoint (the backward) is y[j] = x[j]·cos[t,j] + x[j+h]·sin[t,j+h], y[j+h] = x[j+h]·cos[t,j+h] − x[j]·sin[t,j], and
/// the adjoint of the adjoint is the map again, so each is recorded as the other's backward and gradients of any order
/// work.
/// </para>
/// </summary>
internal static class RotaryOp
{
    /// <summary>The rotation of x (any strides) by tables (T, d) already in x's dtype and contiguous; a new contiguous tensor.</summary>
    internal static Tensor Apply(Tensor x, Tensor cos, Tensor sin, bool adjoint)
    {
        var output = Tensor.AllocUninit(x.DType, x.shape);
        if (x.DType == DType.Float32) Run<float>(x, cos, sin, output, adjoint);
        else Run<double>(x, cos, sin, output, adjoint);
        if (Autograd.ShouldRecord(x))
            Autograd.Record(output, adjoint ? "RotaryEmbeddingAdjointBackward" : "RotaryEmbeddingBackward", [x],
                g => [Apply(g, cos, sin, !adjoint)]);
        return output;
    }

    static void Run<T>(Tensor x, Tensor cos, Tensor sin, Tensor output, bool adjoint) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rank = x.Rank, dFull = x.shape[^1], d = cos.shape[1], half = d / 2;
        T[] src = x.Array<T>(), dst = output.Array<T>(), c = cos.Array<T>(), s = sin.Array<T>();
        int cOff = cos.offset, sOff = sin.offset;
        int rows = ShapeUtil.Numel(x.shape) / Math.Max(dFull, 1);
        if (dFull == 0) return;
        int featureStride = x.strides[^1];
        var index = new int[rank - 1];   // index of the current row over dims 0 … rank−2
        long rowOffset = x.offset;
        var gathered = featureStride == 1 ? null : new T[dFull];   // one row of a tensor strided along features
        for (int row = 0; row < rows; row++)
        {
            int pos = index[rank - 2];
            ReadOnlySpan<T> cr = c.AsSpan(cOff + pos * d, d), sr = s.AsSpan(sOff + pos * d, d);
            var y = dst.AsSpan(row * dFull, dFull);
            if (featureStride == 1) Rotate<T>(src.AsSpan((int)rowOffset, dFull), cr, sr, y, half, adjoint);
            else
            {
                for (int j = 0; j < dFull; j++) gathered![j] = src[rowOffset + (long)j * featureStride];
                Rotate<T>(gathered, cr, sr, y, half, adjoint);
            }
            // next row: odometer over the leading dims
            for (int dim = rank - 2; dim >= 0; dim--)
            {
                rowOffset += x.strides[dim];
                if (++index[dim] < x.shape[dim]) break;
                rowOffset -= (long)x.strides[dim] * x.shape[dim];
                index[dim] = 0;
            }
        }
    }

    static void Rotate<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> c, ReadOnlySpan<T> s, Span<T> y, int half, bool adjoint)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var x1 = x[..half]; var x2 = x.Slice(half, half);
        var c1 = c[..half]; var c2 = c.Slice(half, half);
        var s1 = s[..half]; var s2 = s.Slice(half, half);
        var y1 = y[..half]; var y2 = y.Slice(half, half);
        int j = 0;
        if (Vector.IsHardwareAccelerated && half >= Vector<T>.Count)
        {
            for (; j <= half - Vector<T>.Count; j += Vector<T>.Count)
            {
                var a = new Vector<T>(x1[j..]); var b = new Vector<T>(x2[j..]);
                var ca = new Vector<T>(c1[j..]); var cb = new Vector<T>(c2[j..]);
                if (!adjoint)
                {
                    (a * ca - b * new Vector<T>(s1[j..])).CopyTo(y1[j..]);
                    (b * cb + a * new Vector<T>(s2[j..])).CopyTo(y2[j..]);
                }
                else
                {
                    (a * ca + b * new Vector<T>(s2[j..])).CopyTo(y1[j..]);
                    (b * cb - a * new Vector<T>(s1[j..])).CopyTo(y2[j..]);
                }
            }
        }
        for (; j < half; j++)
        {
            T a = x1[j], b = x2[j];
            if (!adjoint) { y1[j] = a * c1[j] - b * s1[j]; y2[j] = b * c2[j] + a * s2[j]; }
            else { y1[j] = a * c1[j] + b * s2[j]; y2[j] = b * c2[j] - a * s1[j]; }
        }
        x[(2 * half)..].CopyTo(y[(2 * half)..]);
    }
}
