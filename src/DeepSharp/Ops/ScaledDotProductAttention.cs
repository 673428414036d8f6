using System.Numerics;
using System.Runtime.InteropServices;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>
/// Scaled dot-product attention softmax(scale·Q·Kᵀ + mask)·V, both ways (the two paths of
/// torch.nn.functional.scaled_dot_product_attention):
/// <list type="bullet">
/// <item><see cref="Plain"/>: composed of differentiable ops (MatMul, Add, Softmax, Dropout, MatMul); materialises the
/// (L, S) weights per batch entry and returns them; supports broadcasting batch dims, masks that require grad and
/// higher-order gradients.</item>
/// <item><see cref="Lean"/>: one fused op over <see cref="AttentionKernel"/> (blocked, online softmax) that never holds more
/// than a tile of scores, saves only the per-row log-sum-exp for backward and recomputes the tiles there.</item>
/// </list>
/// Masks reaching this class are additive (0 or −∞, or any float); the public API in <c>F</c> converts boolean masks.
/// </summary>
internal static class ScaledDotProductAttentionOp
{
    /// <summary>Maps the op's sources to the (query, key, value) views the kernel reads, each (batch..., rows, features).</summary>
    internal delegate (Tensor Query, Tensor Key, Tensor Value) Selector(Tensor[] sources);

    /// <summary>An additive (L, S) mask: 0 where key j is visible from query i (j ≤ i + offset), −∞ elsewhere.</summary>
    internal static Tensor CausalMask(int l, int s, int offset, DType dtype)
    {
        var data = new double[l * s];
        for (int i = 0; i < l; i++)
            for (int j = Math.Max(0, i + offset + 1); j < s; j++) data[i * s + j] = double.NegativeInfinity;
        return Tensor.FromArray(data, l, s).To(dtype);
    }

    /// <summary>The dropout factors (0 or 1/(1−p)) the lean kernel uses for a given seed, as a (batch..., L, S) tensor.</summary>
    internal static Tensor DropoutFactors(int[] batch, int l, int s, double p, ulong seed, DType dtype)
    {
        int n = ShapeUtil.Numel(batch);
        var data = new double[(long)n * l * s];
        double keep = 1 / (1 - p);
        for (long e = 0; e < data.Length; e++) data[e] = AttentionKernel.Keep(seed, (ulong)e, p) ? keep : 0;
        return Tensor.FromArray(data, [.. batch, l, s]).To(dtype);
    }

    /// <summary>
    /// The plain path: weights = dropout(softmax(scale·q·kᵀ + mask + causal)), output = weights·v. Batch dims broadcast.
    /// <paramref name="dropoutFactors"/>, when given, replaces random dropout by a fixed multiplier.
    /// </summary>
    internal static (Tensor Output, Tensor Weights) Plain(Tensor q, Tensor k, Tensor v, Tensor? additiveMask, bool causal, int causalOffset,
        double scale, double dropoutP, Generator? generator, Tensor? dropoutFactors = null)
    {
        int l = q.shape[^2], s = k.shape[^2];
        var scores = q.MatMul(k.MT).Mul(scale);                                    // (..., L, S)
        if (additiveMask != null) scores = scores.Add(additiveMask);
        if (causal) scores = scores.Add(CausalMask(l, s, causalOffset, q.DType));
        var weights = scores.Softmax(-1);
        if (dropoutFactors != null) weights = weights.Mul(dropoutFactors);
        else if (dropoutP > 0) weights = NN.F.Dropout(weights, dropoutP, training: true, generator);
        return (weights.MatMul(v), weights);
    }

    /// <summary>
    /// The lean path as one recorded op. <paramref name="select"/> maps <paramref name="sources"/> (the op's inputs, e.g. one
    /// packed q|k|v projection) to query (batch..., L, E), key (batch..., S, E) and value (batch..., S, Ev) views with
    /// unit stride along features and equal batch dims; backward allocates one zeroed gradient per source shaped like it
    /// in memory and lets the kernel accumulate into the same views of it. The output (batch..., L, Ev) is laid out in
    /// memory in the dim order <paramref name="outputOrder"/> (null: contiguous).
    /// </summary>
    internal static Tensor Lean(Tensor[] sources, Selector select, Tensor? additiveMask, bool causal, int causalOffset,
        double scale, double dropoutP, ulong seed, int[]? outputOrder)
    {
        Tensor q, k, v;
        using (Autograd.NoGrad()) (q, k, v) = select(sources);
        int rank = q.Rank, l = q.shape[^2], s = k.shape[^2], e = q.shape[^1], ev = v.shape[^1];
        var batch = q.shape[..^2];
        if (k.Rank != rank || v.Rank != rank || !k.shape[..^2].SequenceEqual(batch) || !v.shape[..^2].SequenceEqual(batch)
            || k.shape[^1] != e || v.shape[^2] != s || !KernelReadable(q) || !KernelReadable(k) || !KernelReadable(v))
            throw new InvalidOperationException($"internal: lean attention needs matching (batch..., rows, features) views with unit feature stride, got {ShapeUtil.Format(q.shape)}, {ShapeUtil.Format(k.shape)}, {ShapeUtil.Format(v.shape)}");
        Tensor? mask = additiveMask == null ? null : MaskView(additiveMask, batch, l, s, q.DType);
        var output = AllocInOrder(q.DType, [.. batch, l, ev], outputOrder ?? Identity(rank), zero: false);
        var lse = Tensor.AllocUninit(q.DType, [ShapeUtil.Numel(batch), l]);
        if (q.DType == DType.Float32) RunForward<float>(q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        else RunForward<double>(q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);

        if (Autograd.ShouldRecord(sources))
        {
            Autograd.Record(output, "ScaledDotProductAttentionBackward", sources, g =>
            {
                if (Autograd.IsGradEnabled && (g.RequiresGrad || sources.Any(t => t.RequiresGrad)))
                    return DifferentiableBackward(sources, select, additiveMask, causal, causalOffset, scale, dropoutP, seed, g);
                var grads = sources.Select(t => AllocLike(t)).ToArray();
                Tensor gq, gk, gv;
                using (Autograd.NoGrad()) (gq, gk, gv) = select(grads);
                var go = KernelReadable(g) ? g : Tensor.CopyToContiguous(g);
                if (q.DType == DType.Float32) RunBackward<float>(q, k, v, mask, output, lse, go, gq, gk, gv, scale, causal, causalOffset, dropoutP, seed);
                else RunBackward<double>(q, k, v, mask, output, lse, go, gq, gk, gv, scale, causal, causalOffset, dropoutP, seed);
                return grads.Select((t, i) => sources[i].RequiresGrad ? t : null).ToArray();
            }, [.. sources, output]);
        }
        return output;
    }

    /// <summary>With createGraph: the same gradients through the plain path (same dropout mask), so they can be differentiated again.</summary>
    static Tensor?[] DifferentiableBackward(Tensor[] sources, Selector select, Tensor? additiveMask, bool causal, int causalOffset,
        double scale, double dropoutP, ulong seed, Tensor g)
    {
        var (q, k, v) = select(sources);
        var factors = dropoutP > 0 ? DropoutFactors(q.shape[..^2], q.shape[^2], k.shape[^2], dropoutP, seed, q.DType) : null;
        var (output, _) = Plain(q, k, v, additiveMask, causal, causalOffset, scale, 0, null, factors);
        var distinct = new List<Tensor>();
        foreach (var t in sources) if (t.RequiresGrad && !distinct.Any(d => ReferenceEquals(d, t))) distinct.Add(t);
        var grads = Autograd.Grad([output], distinct.ToArray(), [g], createGraph: true, allowUnused: true);
        var result = new Tensor?[sources.Length];
        for (int i = 0; i < distinct.Count; i++) result[Array.FindIndex(sources, t => ReferenceEquals(t, distinct[i]))] = grads[i];
        return result;
    }

    static bool UnitFeatureStride(Tensor t) => t.shape[^1] <= 1 || t.strides[^1] == 1;

    /// <summary>True when the kernel's GEMMs can read <paramref name="t"/> in place: unit stride along features and rows at least a row apart.</summary>
    internal static bool KernelReadable(Tensor t) => UnitFeatureStride(t) && (t.shape[^2] <= 1 || t.strides[^2] >= t.shape[^1]);

    static int[] Identity(int rank) => Enumerable.Range(0, rank).ToArray();

    /// <summary>The mask as a (batch..., L, S) view of dtype <paramref name="dtype"/> with unit stride along keys.</summary>
    static Tensor MaskView(Tensor mask, int[] batch, int l, int s, DType dtype)
    {
        var m = mask.To(dtype).Detach();
        if (m.Rank == 0 || (m.shape[^1] == 1 && s > 1))
        {
            // broadcast along keys: materialise that one dim (only over the mask's own extent)
            var shape = m.Rank == 0 ? new[] { 1, s } : [.. m.shape[..^1], s];
            m = Tensor.CopyToContiguous(m.Expand(shape));
        }
        return m.Expand([.. batch, l, s]);
    }

    /// <summary>A tensor of <paramref name="shape"/> whose memory holds the dims in <paramref name="order"/> (outermost first).</summary>
    static Tensor AllocInOrder(DType dtype, int[] shape, int[] order, bool zero)
    {
        var memShape = order.Select(d => shape[d]).ToArray();
        var t = zero ? Tensor.Alloc(dtype, memShape) : Tensor.AllocUninit(dtype, memShape);
        var inverse = new int[order.Length];
        for (int i = 0; i < order.Length; i++) inverse[order[i]] = i;
        return t.Permute(inverse);
    }

    /// <summary>A zeroed tensor with <paramref name="like"/>'s shape whose dims are laid out in the same order of strides.</summary>
    static Tensor AllocLike(Tensor like)
    {
        var order = Enumerable.Range(0, like.Rank).OrderByDescending(d => like.strides[d]).ThenBy(d => d).ToArray();
        return AllocInOrder(like.DType, like.shape, order, zero: true);
    }

    // ---- kernel plumbing ----------------------------------------------------------------------------------------

    /// <summary>
    /// Pins arrays for the duration of a kernel call, and lends the per-batch-entry offset arrays from the array cache
    /// (given back, unpinned, when the call ends).
    /// </summary>
    sealed class Pins : IDisposable
    {
        readonly List<GCHandle> handles = [];
        readonly List<long[]> rented = [];
        public unsafe T* Pin<T>(T[] array) where T : unmanaged
        {
            var h = GCHandle.Alloc(array, GCHandleType.Pinned);
            handles.Add(h);
            return (T*)h.AddrOfPinnedObject();
        }
        public long[] RentOffsets(int length)
        {
            var offsets = (long[])ArrayCache.Rent(DType.Int64, length, clear: false);
            rented.Add(offsets);
            return offsets;
        }
        public void Dispose()
        {
            foreach (var h in handles) h.Free();
            foreach (var a in rented) ArrayCache.Return(DType.Int64, a);
        }
    }

    /// <summary>Describes a (batch..., rows, cols) view as an operand: per-batch-entry offsets and the row stride.</summary>
    static unsafe AttentionOperand<T> Operand<T>(Pins pins, Tensor t, int batchRank, bool isMask = false) where T : unmanaged
    {
        int n = 1;
        for (int d = 0; d < batchRank; d++) n *= t.shape[d];
        var offsets = pins.RentOffsets(Math.Max(n, 1));
        for (int i = 0; i < n; i++)
        {
            long off = t.offset; int rem = i;
            for (int d = batchRank - 1; d >= 0; d--) { off += (long)(rem % t.shape[d]) * t.strides[d]; rem /= t.shape[d]; }
            offsets[i] = off;
        }
        return new AttentionOperand<T>
        {
            Data = pins.Pin(t.Array<T>()), Offsets = pins.Pin(offsets),
            // a single row: any stride works for the mask (never read past), the GEMMs want at least the row length
            RowStride = t.shape[batchRank] > 1 ? t.strides[batchRank] : isMask ? 0 : Math.Max(1, t.shape[batchRank + 1]),
        };
    }

    static unsafe AttentionKernel.Problem<T> Problem<T>(Pins pins, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse,
        double scale, bool causal, int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int br = q.Rank - 2;
        return new AttentionKernel.Problem<T>
        {
            Q = Operand<T>(pins, q, br), K = Operand<T>(pins, k, br), V = Operand<T>(pins, v, br), O = Operand<T>(pins, output, br),
            Mask = mask == null ? default : Operand<T>(pins, mask, br, isMask: true), HasMask = mask != null,
            Lse = pins.Pin(lse.Array<T>()) + lse.offset,
            L = q.shape[^2], S = k.shape[^2], E = q.shape[^1], Ev = v.shape[^1],
            Scale = T.CreateChecked(scale), Causal = causal, CausalOffset = causalOffset, DropoutP = dropoutP, Seed = seed,
            BlockQ = AttentionKernel.BlockQ, BlockK = AttentionKernel.BlockK,
        };
    }

    static void RunForward<T>(Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse, double scale, bool causal,
        int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = new Pins();
        var problem = Problem<T>(pins, q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        AttentionKernel.Forward(problem, lse.shape[0]);
    }

    static void RunBackward<T>(Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse, Tensor gradOutput,
        Tensor gradQ, Tensor gradK, Tensor gradV, double scale, bool causal, int causalOffset, double dropoutP, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = new Pins();
        var problem = Problem<T>(pins, q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        int br = q.Rank - 2;
        var go = gradOutput.DType == q.DType ? gradOutput : gradOutput.To(q.DType);
        AttentionKernel.Backward(problem, lse.shape[0], Operand<T>(pins, go, br),
            Operand<T>(pins, gradQ, br), Operand<T>(pins, gradK, br), Operand<T>(pins, gradV, br));
    }
}
