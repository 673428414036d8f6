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
internal static partial class ScaledDotProductAttentionOp
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
        var batch = q.shape.AsSpan(0, rank - 2);
        if (k.Rank != rank || v.Rank != rank || !k.shape.AsSpan(0, rank - 2).SequenceEqual(batch) || !v.shape.AsSpan(0, rank - 2).SequenceEqual(batch)
            || k.shape[^1] != e || v.shape[^2] != s || !KernelReadable(q) || !KernelReadable(k) || !KernelReadable(v))
            throw new InvalidOperationException($"internal: lean attention needs matching (batch..., rows, features) views with unit feature stride, got {ShapeUtil.Format(q.shape)}, {ShapeUtil.Format(k.shape)}, {ShapeUtil.Format(v.shape)}");
        Tensor? mask = additiveMask == null ? null : MaskView(additiveMask, batch, l, s, q.DType);
        var outputShape = new int[rank];
        batch.CopyTo(outputShape); outputShape[^2] = l; outputShape[^1] = ev;
        Span<int> identity = stackalloc int[rank];
        for (int d = 0; d < rank; d++) identity[d] = d;
        var output = AllocInOrder(q.DType, outputShape, outputOrder ?? identity, zero: false);
        var lse = Tensor.AllocUninit(q.DType, [ShapeUtil.Numel(batch), l]);
        if (q.DType == DType.Float32) RunForward<float>(q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        else RunForward<double>(q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);

        if (Autograd.ShouldRecord(sources))
        {
            RecordLean(output, sources, LeanBackward,
                new LeanState(sources, select, additiveMask, causal, causalOffset, scale, dropoutP, seed, q, k, v, mask, output, lse));
        }
        return output;
    }

    /// <summary>What the lean op's backward needs: its arguments and the forward's views, output and log-sum-exp.</summary>
    sealed record LeanState(Tensor[] Sources, Selector Select, Tensor? AdditiveMask, bool Causal, int CausalOffset, double Scale,
        double DropoutP, ulong Seed, Tensor Q, Tensor K, Tensor V, Tensor? Mask, Tensor Output, Tensor Lse);

    /// <summary>The backward of <see cref="Lean"/>: the kernel's, or the plain path's differentiated when recorded (createGraph).</summary>
    static InputGrads LeanBackward(Node node, Tensor g)
    {
        var st = (LeanState)node.State!;
        var sources = st.Sources;
        bool anySourceRequiresGrad = false;
        foreach (var t in sources) anySourceRequiresGrad |= t.RequiresGrad;
        if (Autograd.IsGradEnabled && (g.RequiresGrad || anySourceRequiresGrad))
            return DifferentiableBackward(sources, st.Select, st.AdditiveMask, st.Causal, st.CausalOffset, st.Scale, st.DropoutP, st.Seed, g);
        var grads = new Tensor?[sources.Length];
        for (int i = 0; i < grads.Length; i++) grads[i] = AllocLike(sources[i]);
        Tensor gq, gk, gv;
        using (Autograd.NoGrad()) (gq, gk, gv) = st.Select(grads!);
        var go = KernelReadable(g) ? g : Tensor.CopyToContiguous(g);
        if (st.Q.DType == DType.Float32)
            RunBackward<float>(st.Q, st.K, st.V, st.Mask, st.Output, st.Lse, go, gq, gk, gv, st.Scale, st.Causal, st.CausalOffset, st.DropoutP, st.Seed);
        else
            RunBackward<double>(st.Q, st.K, st.V, st.Mask, st.Output, st.Lse, go, gq, gk, gv, st.Scale, st.Causal, st.CausalOffset, st.DropoutP, st.Seed);
        for (int i = 0; i < grads.Length; i++) if (!sources[i].RequiresGrad) grads[i] = null;
        return grads;
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

    /// <summary>The mask as a (batch..., L, S) view of dtype <paramref name="dtype"/> with unit stride along keys.</summary>
    static Tensor MaskView(Tensor mask, ReadOnlySpan<int> batch, int l, int s, DType dtype)
    {
        var m = mask.DType == dtype && !mask.RequiresGrad ? mask : mask.To(dtype).Detach();   // a constant mask is read as it is
        if (m.Rank == 0 || (m.shape[^1] == 1 && s > 1))
        {
            // broadcast along keys: materialise that one dim (only over the mask's own extent)
            var shape = m.Rank == 0 ? new[] { 1, s } : [.. m.shape[..^1], s];
            m = Tensor.CopyToContiguous(m.Expand(shape));
        }
        Span<int> full = batch.Length <= 14 ? stackalloc int[batch.Length + 2] : new int[batch.Length + 2];
        batch.CopyTo(full); full[^2] = l; full[^1] = s;
        return m.Expand(ShapeUtil.Interned(full));   // Expand keeps no array it is given
    }

    /// <summary>A tensor of <paramref name="shape"/> whose memory holds the dims in <paramref name="order"/> (outermost first).</summary>
    static Tensor AllocInOrder(DType dtype, int[] shape, ReadOnlySpan<int> order, bool zero)
    {
        Span<int> memShape = order.Length <= 16 ? stackalloc int[order.Length] : new int[order.Length];
        for (int i = 0; i < order.Length; i++) memShape[i] = shape[order[i]];
        var t = zero ? Tensor.Alloc(dtype, ShapeUtil.Interned(memShape)) : Tensor.AllocUninit(dtype, ShapeUtil.Interned(memShape));
        Span<int> inverse = order.Length <= 16 ? stackalloc int[order.Length] : new int[order.Length];
        for (int i = 0; i < order.Length; i++) inverse[order[i]] = i;
        return t.PermuteCore(inverse);
    }

    /// <summary>A zeroed tensor with <paramref name="like"/>'s shape whose dims are laid out in the same order of strides.</summary>
    static Tensor AllocLike(Tensor like)
    {
        // dims by decreasing stride, ties by increasing dim (a stable insertion sort: OrderByDescending(stride).ThenBy(dim))
        Span<int> order = stackalloc int[like.Rank];
        for (int d = 0; d < order.Length; d++)
        {
            int j = d;
            while (j > 0 && like.strides[order[j - 1]] < like.strides[d]) { order[j] = order[j - 1]; j--; }
            order[j] = d;
        }
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
        [ThreadStatic] static Pins? idle;

        /// <summary>The thread's idle instance (its lists keep their capacity), or a new one when it is in use.</summary>
        public static Pins Rent()
        {
            var pins = idle ?? new Pins();
            idle = null;
            return pins;
        }

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
            handles.Clear(); rented.Clear();
            idle = this;
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

    static AttentionKernel.Problem<T> Problem<T>(Pins pins, Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse,
        double scale, bool causal, int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int br = q.Rank - 2;
        return Problem(pins, Operand<T>(pins, q, br), Operand<T>(pins, k, br), Operand<T>(pins, v, br), Operand<T>(pins, output, br),
            mask, br, lse, q.shape[^2], k.shape[^2], q.shape[^1], v.shape[^1], scale, causal, causalOffset, dropoutP, seed);
    }

    /// <summary>The kernel's problem from its four operands (however they were described: views, or chunks of projections).</summary>
    static unsafe AttentionKernel.Problem<T> Problem<T>(Pins pins, AttentionOperand<T> q, AttentionOperand<T> k, AttentionOperand<T> v,
        AttentionOperand<T> output, Tensor? mask, int batchRank, Tensor lse, int l, int s, int e, int ev,
        double scale, bool causal, int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T> =>
        new()
        {
            Q = q, K = k, V = v, O = output,
            Mask = mask == null ? default : Operand<T>(pins, mask, batchRank, isMask: true), HasMask = mask != null,
            Lse = pins.Pin(lse.Array<T>()) + lse.offset,
            L = l, S = s, E = e, Ev = ev,
            Scale = T.CreateChecked(scale), Causal = causal, CausalOffset = causalOffset, DropoutP = dropoutP, Seed = seed,
            BlockQ = AttentionKernel.BlockQ, BlockK = AttentionKernel.BlockK,
        };

    /// <summary>Records a lean op's node: saved (version-checked) the sources and the output, as [.. sources, output] without building that array.</summary>
    static void RecordLean(Tensor output, Tensor[] sources, BackwardFunction backward, object state)
    {
        switch (sources.Length)
        {
            case 1: Autograd.Record(output, "ScaledDotProductAttentionBackward", sources, backward, state, sources[0], output); break;
            case 2: Autograd.Record(output, "ScaledDotProductAttentionBackward", sources, backward, state, sources[0], sources[1], output); break;
            case 3: Autograd.Record(output, "ScaledDotProductAttentionBackward", sources, backward, state, sources[0], sources[1], sources[2], output); break;
            default: Autograd.Record(output, "ScaledDotProductAttentionBackward", sources, backward, state, [.. sources, output]); break;
        }
    }

    static void RunForward<T>(Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse, double scale, bool causal,
        int causalOffset, double dropoutP, ulong seed) where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = Pins.Rent();
        var problem = Problem<T>(pins, q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        AttentionKernel.Forward(problem, lse.shape[0]);
    }

    static void RunBackward<T>(Tensor q, Tensor k, Tensor v, Tensor? mask, Tensor output, Tensor lse, Tensor gradOutput,
        Tensor gradQ, Tensor gradK, Tensor gradV, double scale, bool causal, int causalOffset, double dropoutP, ulong seed)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        using var pins = Pins.Rent();
        var problem = Problem<T>(pins, q, k, v, mask, output, lse, scale, causal, causalOffset, dropoutP, seed);
        int br = q.Rank - 2;
        var go = gradOutput.DType == q.DType ? gradOutput : gradOutput.To(q.DType);
        AttentionKernel.Backward(problem, lse.shape[0], Operand<T>(pins, go, br),
            Operand<T>(pins, gradQ, br), Operand<T>(pins, gradK, br), Operand<T>(pins, gradV, br));
    }
}
