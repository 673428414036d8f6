namespace DeepSharp;

// Segment reductions over dim 0 with a 1-D index: row e of src goes to segment index[e] (message passing's
// "aggregate"). Sum and mean run on index_add (a row kernel); max/min on scatter_reduce with include_self=false
// over zeros, so empty segments are 0 as in torch_scatter / PyG; softmax is PyG's utils.softmax. All record.
public sealed partial class Tensor
{
    /// <summary>
    /// out[s] = Σ src[e] over the rows e with index[e] == s; out has <paramref name="numSegments"/> rows
    /// (torch_scatter.scatter(src, index, dim=0, dim_size=numSegments, reduce="sum")).
    /// </summary>
    public static Tensor SegmentSum(Tensor src, Tensor index, int numSegments)
    {
        CheckSegments(src, index, numSegments, "SegmentSum");
        return Zeros(SegmentShape(src, numSegments), src.DType).IndexAdd(0, index, src);
    }

    /// <summary>Mean of the rows of each segment; empty segments are 0 (torch_scatter.scatter(..., reduce="mean")).</summary>
    public static Tensor SegmentMean(Tensor src, Tensor index, int numSegments)
    {
        var sum = SegmentSum(src, index, numSegments);
        var counts = SegmentCounts(index, numSegments, src.DType).ClampMin(1);
        return sum.Div(counts.Reshape(CountShape(src, numSegments)));
    }

    /// <summary>
    /// Elementwise maximum of the rows of each segment; empty segments are 0; ties share the gradient evenly
    /// (torch_scatter.scatter(..., reduce="max") values; torch.scatter_reduce "amax" gradient).
    /// </summary>
    public static Tensor SegmentMax(Tensor src, Tensor index, int numSegments) => SegmentExtreme(src, index, numSegments, ScatterReduction.Amax, "SegmentMax");

    /// <summary>Elementwise minimum of the rows of each segment; empty segments are 0 (torch_scatter.scatter(..., reduce="min")).</summary>
    public static Tensor SegmentMin(Tensor src, Tensor index, int numSegments) => SegmentExtreme(src, index, numSegments, ScatterReduction.Amin, "SegmentMin");

    /// <summary>
    /// Softmax of src over the rows that share a segment, per column: exp(src[e] - max_s) / (Σ_s exp(...) + 1e-16)
    /// with the segment maximum detached (torch_geometric.utils.softmax(src, index, num_nodes)).
    /// </summary>
    public static Tensor SegmentSoftmax(Tensor src, Tensor index, int numSegments)
    {
        CheckSegments(src, index, numSegments, "SegmentSoftmax");
        var segMax = SegmentMax(src.Detach(), index, numSegments);
        var shifted = src.Sub(segMax.IndexSelect(0, index)).Exp();
        var denominator = SegmentSum(shifted, index, numSegments).Add(1e-16);
        return shifted.Div(denominator.IndexSelect(0, index));
    }

    /// <summary>How many rows each segment has, as a (numSegments,) tensor of <paramref name="dtype"/> (torch.bincount(index, minlength)).</summary>
    public static Tensor SegmentCounts(Tensor index, int numSegments, DType dtype = DType.Int64)
    {
        CheckSegmentIndex(index, numSegments, "SegmentCounts", null);
        var counts = new double[numSegments];
        var idx = IndexUtil.Values(index, "SegmentCounts", "index", out int start);
        for (int e = 0; e < index.NumEl; e++) counts[idx[start + e]]++;
        return FromArray(counts, numSegments).To(dtype);
    }

    static Tensor SegmentExtreme(Tensor src, Tensor index, int numSegments, ScatterReduction reduce, string op)
    {
        CheckSegments(src, index, numSegments, op);
        var expanded = index.Reshape(CountShape(src, src.shape[0])).Expand(src.shape);
        return Zeros(SegmentShape(src, numSegments), src.DType).ScatterReduce(0, expanded, src, reduce, includeSelf: false);
    }

    static int[] SegmentShape(Tensor src, int numSegments) => IndexUtil.With(src.shape, 0, numSegments);

    /// <summary>(n, 1, 1, ...) with src's rank: a per-row value broadcast over the other dims.</summary>
    static int[] CountShape(Tensor src, int n)
    {
        var s = Enumerable.Repeat(1, src.Rank).ToArray(); s[0] = n; return s;
    }

    static void CheckSegments(Tensor src, Tensor index, int numSegments, string op)
    {
        ArgumentNullException.ThrowIfNull(src); ArgumentNullException.ThrowIfNull(index);
        if (src.Rank == 0)
            throw new ArgumentException($"{op}: src must have at least one dimension (rows to reduce), got a 0-d tensor", nameof(src));
        if (index.Rank != 1 || index.shape[0] != src.shape[0])
            throw new ArgumentException($"{op}: index must be 1-D with one entry per row of src; got index {ShapeUtil.Format(index.shape)} and src {ShapeUtil.Format(src.shape)}", nameof(index));
        CheckSegmentIndex(index, numSegments, op, src);
    }

    static void CheckSegmentIndex(Tensor index, int numSegments, string op, Tensor? src)
    {
        if (numSegments < 0) throw new ArgumentException($"{op}: numSegments must be non-negative, got {numSegments}", nameof(numSegments));
        var idx = IndexUtil.Values(index, op, "index", out int start);
        for (int e = 0; e < index.NumEl; e++)
        {
            long v = idx[start + e];
            if ((ulong)v >= (ulong)numSegments)
                throw new ArgumentException($"{op}: index[{e}] = {v} is outside [0, {numSegments}) (index {ShapeUtil.Format(index.shape)}" +
                    (src == null ? ")" : $", src {ShapeUtil.Format(src.shape)})"), nameof(index));
        }
    }
}
