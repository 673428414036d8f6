using System.Numerics;
using DeepSharp.Kernels;

namespace DeepSharp;

// The lean attention op read straight from projections and written straight into merged heads: what multi-head attention
// runs when the query, key and value are chunks of contiguous (N, T, ·) projections (a packed q|k|v, or q plus packed k|v,
// or three). The kernel's operands are described from the projections' memory (no head view tensors), and the output is
// the (N, L, H·D) tensor the heads merge into (no permute, no reshape, nothing recorded for either), so one training step
// of a Transformer layer records one node for its attention where the per-head views recorded three and made a dozen
// tensors. Same kernel, same operands, same summation order as Lean over the heads views: the results are bitwise equal.
internal static partial class ScaledDotProductAttentionOp
{
    /// <summary>Where one of query, key and value lives: chunk <see cref="Index"/> of <see cref="Chunks"/> equal chunks of the last dim of source <see cref="Source"/>.</summary>
    internal readonly record struct HeadSlot(int Source, int Chunks, int Index);

    /// <summary>
    /// The query, key and value of multi-head attention as chunks of (N, T, ·) projections (or (T, N, ·) when not
    /// <see cref="BatchFirst"/>), each split into <see cref="NumHeads"/> heads.
    /// </summary>
    internal readonly record struct HeadLayout(int NumHeads, bool BatchFirst, HeadSlot Query, HeadSlot Key, HeadSlot Value)
    {
        /// <summary>The (N, H, T, D) head views of the sources (recorded when the sources require grad), as the plain path reads them.</summary>
        public (Tensor Query, Tensor Key, Tensor Value) Select(Tensor[] sources) =>
            (Heads(sources, Query), Heads(sources, Key), Heads(sources, Value));

        Tensor Heads(Tensor[] sources, HeadSlot slot) => NN.F.Heads(sources[slot.Source], slot.Chunks, slot.Index, NumHeads, BatchFirst);

        /// <summary>True when every source is a contiguous 3-D tensor, so the kernel can read the heads in place.</summary>
        public bool Applies(Tensor[] sources)
        {
            foreach (var t in sources) if (t.Rank != 3 || !t.IsContiguous) return false;
            return true;
        }

        /// <summary>Features per head of a slot.</summary>
        public int HeadDim(Tensor[] sources, HeadSlot slot) => sources[slot.Source].shape[2] / (slot.Chunks * NumHeads);

        /// <summary>Batch size N and sequence length T of a source.</summary>
        public (int N, int T) Sizes(Tensor source) => BatchFirst ? (source.shape[0], source.shape[1]) : (source.shape[1], source.shape[0]);
    }

    /// <summary>
    /// The lean path from projections to merged heads, as one recorded op: attention of the heads <paramref name="layout"/>
    /// describes, returned as (N, L, H·Dv) (or (L, N, H·Dv) when not batch-first), contiguous. Saved: the sources and the
    /// output; the backward writes one zeroed gradient per source through the same chunk layout.
    /// </summary>
    internal static Tensor LeanMerged(Tensor[] sources, HeadLayout layout, Tensor? additiveMask, bool causal, int causalOffset,
        double scale, double dropoutP, ulong seed)
    {
        var query = sources[layout.Query.Source];
        int h = layout.NumHeads;
        var (n, l) = layout.Sizes(query);
        var (nk, s) = layout.Sizes(sources[layout.Key.Source]);
        var (nv, sv) = layout.Sizes(sources[layout.Value.Source]);
        int e = layout.HeadDim(sources, layout.Query), ev = layout.HeadDim(sources, layout.Value);
        if (!layout.Applies(sources) || nk != n || nv != n || sv != s || layout.HeadDim(sources, layout.Key) != e)
            throw new InvalidOperationException($"internal: merged lean attention needs contiguous projections of one batch and key length, got {ShapeUtil.Format(query.shape)}, {ShapeUtil.Format(sources[layout.Key.Source].shape)}, {ShapeUtil.Format(sources[layout.Value.Source].shape)}");
        Span<int> batch = [n, h];
        Tensor? mask = additiveMask == null ? null : MaskView(additiveMask, batch, l, s, query.DType);
        var output = Tensor.AllocUninit(query.DType, layout.BatchFirst ? ShapeUtil.Interned([n, l, h * ev]) : ShapeUtil.Interned([l, n, h * ev]));
        var lse = Tensor.AllocUninit(query.DType, ShapeUtil.Interned(n * h, l));
        if (query.DType == DType.Float32) RunMergedForward<float>(sources, layout, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        else RunMergedForward<double>(sources, layout, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);

        if (Autograd.ShouldRecord(sources))
            RecordLean(output, sources, LeanMergedBackward, new MergedState(sources, layout, additiveMask, mask, lse, causal, causalOffset, scale, dropoutP, seed));
        return output;
    }

    /// <summary>What the merged op's backward needs besides its saved sources and output.</summary>
    sealed class MergedState(Tensor[] sources, HeadLayout layout, Tensor? additiveMask, Tensor? mask, Tensor lse, bool causal, int causalOffset,
        double scale, double dropoutP, ulong seed)
    {
        public readonly Tensor[] Sources = sources;
        public readonly HeadLayout Layout = layout;
        public readonly Tensor? AdditiveMask = additiveMask, Mask = mask;
        public readonly Tensor Lse = lse;
        public readonly bool Causal = causal;
        public readonly int CausalOffset = causalOffset;
        public readonly double Scale = scale, DropoutP = dropoutP;
        public readonly ulong Seed = seed;
    }

    /// <summary>The backward of <see cref="LeanMerged"/>: the kernel's, or the plain path's differentiated when recorded (createGraph).</summary>
    static InputGrads LeanMergedBackward(Node node, Tensor g)
    {
        var st = (MergedState)node.State!;
        var sources = st.Sources;
        var layout = st.Layout;
        var output = node.Saved(sources.Length);
        bool anySourceRequiresGrad = false;
        foreach (var t in sources) anySourceRequiresGrad |= t.RequiresGrad;
        if (Autograd.IsGradEnabled && (g.RequiresGrad || anySourceRequiresGrad))
        {
            // the gradient of the merged output is that of the heads (N, H, L, D) it was merged from
            var headsGrad = NN.F.Heads(g, 1, 0, layout.NumHeads, layout.BatchFirst);
            return DifferentiableBackward(sources, layout.Select, st.AdditiveMask, st.Causal, st.CausalOffset, st.Scale, st.DropoutP, st.Seed, headsGrad);
        }
        var dtype = output.DType;
        var go = g.DType == dtype ? g : g.To(dtype);
        if (!go.IsContiguous) go = Tensor.CopyToContiguous(go);
        // one zeroed gradient per source (the kernel accumulates the chunks' gradients into it); kept only where needed
        var g0 = Tensor.Alloc(dtype, sources[0].shape);
        var g1 = sources.Length > 1 ? Tensor.Alloc(dtype, sources[1].shape) : null;
        var g2 = sources.Length > 2 ? Tensor.Alloc(dtype, sources[2].shape) : null;
        if (dtype == DType.Float32) RunMergedBackward<float>(st, output, go, g0, g1, g2);
        else RunMergedBackward<double>(st, output, go, g0, g1, g2);
        return sources.Length switch
        {
            1 => InputGrads.Create([Needed(sources[0], g0)]),
            2 => InputGrads.Create([Needed(sources[0], g0), Needed(sources[1], g1)]),
            _ => InputGrads.Create([Needed(sources[0], g0), Needed(sources[1], g1), Needed(sources[2], g2)]),
        };
    }

    static Tensor? Needed(Tensor source, Tensor? grad) => source.RequiresGrad ? grad : null;

    /// <summary>
    /// A slot's heads as a kernel operand: (N·H) matrices of T rows × D features, entry b·H + h at chunk offset + b's and
    /// h's offsets, rows a projection row apart; what <see cref="Operand{T}"/> gives for the F.Heads view of the slot.
    /// </summary>
    static unsafe AttentionOperand<T> SlotOperand<T>(Pins pins, Tensor source, HeadSlot slot, int numHeads, bool batchFirst) where T : unmanaged
    {
        int d0 = source.shape[0], d1 = source.shape[1], width = source.shape[2];
        int headDim = width / (slot.Chunks * numHeads);
        int n = batchFirst ? d0 : d1, rows = batchFirst ? d1 : d0;
        long batchStride = batchFirst ? (long)d1 * width : width;
        int rowStride = batchFirst ? width : d1 * width;
        long start = source.offset + (long)slot.Index * numHeads * headDim;
        var offsets = pins.RentOffsets(Math.Max(n * numHeads, 1));
        for (int b = 0; b < n; b++)
            for (int hh = 0; hh < numHeads; hh++) offsets[b * numHeads + hh] = start + b * batchStride + (long)hh * headDim;
        return new AttentionOperand<T>
        {
            Data = pins.Pin(source.Array<T>()), Offsets = pins.Pin(offsets),
            RowStride = rows > 1 ? rowStride : Math.Max(1, headDim),
        };
    }

    static readonly HeadSlot Merged = new(0, 1, 0);

    static AttentionKernel.Problem<T> MergedProblem<T>(Pins pins, Tensor[] sources, HeadLayout layout, Tensor? mask, Tensor output, Tensor lse,
        double scale, bool causal, int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int h = layout.NumHeads;
        bool bf = layout.BatchFirst;
        return Problem(pins,
            SlotOperand<T>(pins, sources[layout.Query.Source], layout.Query, h, bf),
            SlotOperand<T>(pins, sources[layout.Key.Source], layout.Key, h, bf),
            SlotOperand<T>(pins, sources[layout.Value.Source], layout.Value, h, bf),
            SlotOperand<T>(pins, output, Merged, h, bf), mask, 2, lse,
            layout.Sizes(sources[layout.Query.Source]).T, layout.Sizes(sources[layout.Key.Source]).T,
            layout.HeadDim(sources, layout.Query), layout.HeadDim(sources, layout.Value), scale, causal, causalOffset, dropoutP, seed);
    }

    static void RunMergedForward<T>(Tensor[] sources, HeadLayout layout, Tensor? mask, Tensor output, Tensor lse, double scale, bool causal,
        int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = Pins.Rent();
        var problem = MergedProblem<T>(pins, sources, layout, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        AttentionKernel.Forward(problem, lse.shape[0]);
    }

    static void RunMergedBackward<T>(MergedState st, Tensor output, Tensor gradOutput, Tensor g0, Tensor? g1, Tensor? g2)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = Pins.Rent();
        var layout = st.Layout;
        int h = layout.NumHeads;
        bool bf = layout.BatchFirst;
        var problem = MergedProblem<T>(pins, st.Sources, layout, st.Mask, output, st.Lse, st.Scale, st.Causal, st.CausalOffset, st.DropoutP, st.Seed);
        Tensor GradOf(HeadSlot slot) => slot.Source switch { 0 => g0, 1 => g1!, _ => g2! };
        AttentionKernel.Backward(problem, st.Lse.shape[0], SlotOperand<T>(pins, gradOutput, Merged, h, bf),
            SlotOperand<T>(pins, GradOf(layout.Query), layout.Query, h, bf),
            SlotOperand<T>(pins, GradOf(layout.Key), layout.Key, h, bf),
            SlotOperand<T>(pins, GradOf(layout.Value), layout.Value, h, bf));
    }
}
