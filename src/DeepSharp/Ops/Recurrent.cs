using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using DeepSharp.Kernels;

namespace DeepSharp;

/// <summary>The cell of a recurrent layer (torch.nn.RNNBase mode: 'RNN_TANH', 'RNN_RELU', 'LSTM', 'GRU').</summary>
internal enum RecurrentCell { RnnTanh, RnnRelu, Lstm, Gru }

/// <summary>
/// One direction of one recurrent layer over a whole (packed) sequence as a single autograd op, the fused path behind
/// RNN/LSTM/GRU and their cells.
/// <para>
/// Layout: the input is "packed" time-major rows (N, I): step t owns rows [offset_t, offset_t + batchSizes[t]) and
/// batch sizes never grow with t, so a plain (T, B, I) tensor is the case batchSizes = [B, …, B]. Sequences of a
/// packed batch are sorted by decreasing length: at step t only the first batchSizes[t] rows of the state advance,
/// the rest keep their state, which is how h_n ends up holding each sequence's state at its last valid step (and, in
/// the reverse direction, a sequence starts from h0 at its own last step).
/// </para>
/// <para>
/// Forward: one GEMM projects every step's input (N, I)·W_ihᵀ; each step then does one (bs, H)·W_hhᵀ GEMM
/// accumulated into that step's gate rows, and one fused gate kernel (<see cref="RecurrentKernels"/>), saving the
/// activations, the previous states and (LSTM) the cells. Backward through time reuses those buffers: per step the fused
/// gate backward and one (bs, G·H)·W_hh GEMM for the gradient of the previous state; afterwards dX, dW_ih and dW_hh are
/// one GEMM each over all steps and the bias gradients column sums. The three results (output, h_n, c_n) are views of
/// one flat tensor that carries the node. Higher-order gradients (createGraph) re-run the composed reference
/// (<see cref="RecurrentReference"/>) and differentiate it.
/// </para>
/// <para>
/// LSTM with projections (torch.nn.LSTM proj_size = P &gt; 0, weight W_hr of shape (P, H)): the state carried between
/// steps and the output are h = (o·tanh(c))·W_hrᵀ of width P, so W_hh is (4H, P) and each step adds one (bs, H)·W_hrᵀ
/// GEMM after the gate kernel; the unprojected o·tanh(c) rows are saved. Backward routes the gradient of h through
/// W_hr ((bs, P)·W_hr) before the gate backward, saves it per step, and forms dW_hr as one GEMM over all steps.
/// </para>
/// PyTorch equivalent: the per-layer loop of aten/src/ATen/native/RNN.cpp (FullLayer / PackedLayer / ReversedPackedLayer).
/// </summary>
internal static class RecurrentOps
{
    internal static int GateCount(RecurrentCell cell) => cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };

    internal static string Name(RecurrentCell cell) => cell switch
    {
        RecurrentCell.Lstm => "LSTM", RecurrentCell.Gru => "GRU", RecurrentCell.RnnRelu => "RNN_RELU", _ => "RNN_TANH",
    };

    /// <summary>Start row of each step in packed data.</summary>
    internal static int[] Offsets(int[] batchSizes)
    {
        var offsets = new int[batchSizes.Length];
        for (int t = 1; t < batchSizes.Length; t++) offsets[t] = offsets[t - 1] + batchSizes[t - 1];
        return offsets;
    }

    /// <summary>
    /// Runs one direction of a layer. <paramref name="input"/> (N, I) packed rows, <paramref name="h0"/> (B, R) and for
    /// LSTM <paramref name="c0"/> (B, H) with B = batchSizes[0]; weights (G·H, I), (G·H, R), biases (G·H) or null, and for
    /// an LSTM with projections <paramref name="wHr"/> (R, H); R = H without projection. Returns output (N, R), h_n (B, R)
    /// and, for LSTM, c_n (B, H). Shapes are checked by the caller.
    /// </summary>
    internal static (Tensor Output, Tensor HN, Tensor? CN) Layer(RecurrentCell cell, Tensor input, int[] batchSizes, bool reverse,
        Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, Tensor? wHr = null)
    {
        bool lstm = cell == RecurrentCell.Lstm;
        if (wHr != null && !lstm) throw new ArgumentException($"{Name(cell)}: a projection weight is only supported for LSTM", nameof(wHr));
        int n = input.shape[0], batch = h0.shape[0], state = h0.shape[1];
        int hidden = wHr == null ? state : wHr.shape[1];
        var x = AdjointOp.Dense(input); var h0d = AdjointOp.Dense(h0); var c0d = c0 == null ? null : AdjointOp.Dense(c0);
        var wi = AdjointOp.Dense(wIh); var wh = AdjointOp.Dense(wHh);
        var bi = bIh == null ? null : AdjointOp.Dense(bIh); var bh = bHh == null ? null : AdjointOp.Dense(bHh);
        var wr = wHr == null ? null : AdjointOp.Dense(wHr);

        var ctx = new Context(cell, batchSizes, reverse, n, x.shape[1], hidden, state, batch, input.DType);
        var flat = Tensor.AllocUninit(input.DType, [n * state + batch * state + (lstm ? batch * hidden : 0)]);
        ctx.Allocate();
        if (input.DType == DType.Float32) Forward<float>(ctx, x, h0d, c0d, wi, wh, bi, bh, wr, flat);
        else Forward<double>(ctx, x, h0d, c0d, wi, wh, bi, bh, wr, flat);

        ctx.Flat = flat;
        ReadOnlySpan<Tensor?> inputs = [input, h0, c0, wIh, wHh, bIh, bHh, wHr];
        bool record = false;
        foreach (var t in inputs) record |= t is { RequiresGrad: true };
        if (Autograd.IsGradEnabled && record)
        {
            // the node's state is the context (with the operands the backward reads); the saved tensors are only
            // version-checked: the operands given, and for a plain RNN its own output (its backward reads it)
            ctx.Operands = new Operands(input, h0, c0, wIh, wHh, bIh, bHh, wHr, x, wi, wh, wr);
            var saved = new SavedOperands();
            int count = 0;
            foreach (var t in inputs) if (t != null) saved[count++] = t;
            if (!lstm && cell != RecurrentCell.Gru) saved[count++] = flat;
            Autograd.Record(flat, lstm ? "LstmBackward" : cell == RecurrentCell.Gru ? "GruBackward" : "RnnBackward", inputs, LayerBackward, ctx,
                ((ReadOnlySpan<Tensor>)saved)[..count]);
        }
        var output = FlatPart(flat, 0, n, state);
        var hN = FlatPart(flat, n * state, batch, state);
        var cN = lstm ? FlatPart(flat, (n + batch) * state, batch, hidden) : null;
        return (output, hN, cN);
    }

    /// <summary>
    /// flat[start .. start + rows·cols) viewed as (rows, cols): what <c>flat.Narrow(0, start, rows·cols).View(rows, cols)</c>
    /// gives, as one view with one node (its backward is those two views' backwards: the gradient reshaped, then placed in
    /// zeros of the flat shape).
    /// </summary>
    static Tensor FlatPart(Tensor flat, int start, int rows, int cols)
    {
        var shape = ShapeUtil.Interned(rows, cols);
        var part = flat.MakeView(shape, ShapeUtil.SharedContiguousStrides(shape), flat.offset + start);
        if (Autograd.ShouldRecord(flat))
            Autograd.Record(part, "ViewBackward", [flat],
                static (n, g) => [g.Reshape(g.NumEl).NarrowScatter(n.Input(0)!.shape, 0, (int)n.State!)], Autograd.BoxedDim(start));
        return part;
    }

    /// <summary>The tensors given to <see cref="Layer"/> and their dense forms, kept for the backward.</summary>
    sealed record Operands(Tensor Input, Tensor H0, Tensor? C0, Tensor WIh, Tensor WHh, Tensor? BIh, Tensor? BHh, Tensor? WHr,
        Tensor X, Tensor Wi, Tensor Wh, Tensor? Wr);

    /// <summary>Room for the up to nine saved tensors of a layer, on the stack.</summary>
    [InlineArray(9)]
    struct SavedOperands { Tensor element; }

    /// <summary>The backward of <see cref="Layer"/> (state: the context).</summary>
    static InputGrads LayerBackward(Node node, Tensor g)
    {
        var ctx = (Context)node.State!;
        var o = ctx.Operands!;
        if (Autograd.IsGradEnabled)   // createGraph: differentiate the composed ops instead
            return RecurrentReference.LayerGrad(ctx.Cell, o.Input, ctx.BatchSizes, ctx.Reverse, o.H0, o.C0, o.WIh, o.WHh, o.BIh, o.BHh, o.WHr, g);
        Span<bool> needs = stackalloc bool[8];
        for (int i = 0; i < 8; i++) needs[i] = node.Input(i) != null;
        var gd = AdjointOp.Dense(g);
        // the weights' and biases' gradients go straight into their Grad when the engine allows it
        var leaves = new LeafGrads(Autograd.LeafGrad(node.Input(3)), Autograd.LeafGrad(node.Input(4)), Autograd.LeafGrad(node.Input(5)),
            Autograd.LeafGrad(node.Input(6)), Autograd.LeafGrad(node.Input(7)));
        return o.Input.DType == DType.Float32
            ? Backward<float>(ctx, needs, o.X, o.Wi, o.Wh, o.Wr, gd, leaves)
            : Backward<double>(ctx, needs, o.X, o.Wi, o.Wh, o.Wr, gd, leaves);
    }

    /// <summary>The existing gradients (<see cref="Autograd.LeafGrad"/>) of W_ih, W_hh, b_ih, b_hh and W_hr to add into, or nulls.</summary>
    readonly record struct LeafGrads(Tensor? WIh, Tensor? WHh, Tensor? BIh, Tensor? BHh, Tensor? WHr);

    [ThreadStatic] static int[]? lastBatchSizes, lastOffsets;

    /// <summary>
    /// <see cref="Offsets"/> of <paramref name="batchSizes"/>, the same (read-only) array again while the batch sizes stay
    /// the same on this thread: every layer and step of a padded batch asks for the same ones. Compared by value, against
    /// a copy, so an array changed in between is never matched.
    /// </summary>
    static int[] SharedOffsets(int[] batchSizes)
    {
        if (lastBatchSizes != null && batchSizes.AsSpan().SequenceEqual(lastBatchSizes)) return lastOffsets!;
        var offsets = Offsets(batchSizes);
        lastBatchSizes = (int[])batchSizes.Clone();
        lastOffsets = offsets;
        return offsets;
    }

    /// <summary>Sizes and the buffers saved between forward and backward.</summary>
    sealed class Context(RecurrentCell cell, int[] batchSizes, bool reverse, int n, int inputSize, int hidden, int state, int batch, DType dtype)
    {
        public readonly RecurrentCell Cell = cell;
        public readonly int[] BatchSizes = batchSizes, Offsets = SharedOffsets(batchSizes);
        public readonly bool Reverse = reverse;
        /// <summary>H: hidden (cell) size; R: width of the carried state and output (the projection size P, else H).</summary>
        public readonly int N = n, I = inputSize, H = hidden, R = state, B = batch, G = GateCount(cell) * hidden;
        public readonly DType DType = dtype;
        /// <summary>Whether the LSTM projects its hidden state (R &lt; H, a W_hr weight).</summary>
        public bool Projected => R != H;
        /// <summary>
        /// The buffers saved for backward, one tensor (one storage, released with the step's scope) holding in turn: the gate
        /// activations (N, G), the state each step started from (N, R), for an LSTM the cell each step started from and the
        /// cell it produced (N, H each), with projections o·tanh(c) before W_hr (N, H), for a GRU h·W_hhᵀ + b_hh (N, G).
        /// </summary>
        Tensor buffers = null!;
        int hPrevAt, cPrevAt, cAt, hRawAt, ghAt;
        /// <summary>(N, G): gate activations after forward.</summary>
        public Span<T> Gates<T>() where T : unmanaged => buffers.Span<T>()[..(N * G)];
        /// <summary>(N, R): the state each step started from.</summary>
        public Span<T> HPrev<T>() where T : unmanaged => buffers.Span<T>().Slice(hPrevAt, N * R);
        /// <summary>LSTM (N, H): the cell each step started from.</summary>
        public Span<T> CPrev<T>() where T : unmanaged => buffers.Span<T>().Slice(cPrevAt, N * H);
        /// <summary>LSTM (N, H): the cell each step produced.</summary>
        public Span<T> C<T>() where T : unmanaged => buffers.Span<T>().Slice(cAt, N * H);
        /// <summary>LSTM with projections (N, H): o·tanh(c) of each step before W_hr; empty without.</summary>
        public Span<T> HRaw<T>() where T : unmanaged => Projected ? buffers.Span<T>().Slice(hRawAt, N * H) : default;
        /// <summary>GRU (N, G): h·W_hhᵀ + b_hh of each step.</summary>
        public Span<T> Gh<T>() where T : unmanaged => buffers.Span<T>().Slice(ghAt, N * G);
        /// <summary>The flat result (output rows, then h_n, then c_n); the RNN backward reads its outputs.</summary>
        public Tensor Flat = null!;
        /// <summary>The operands, set when the layer is recorded.</summary>
        public Operands? Operands;

        public int Steps => BatchSizes.Length;
        /// <summary>The time index processed at position <paramref name="s"/> of the forward order.</summary>
        public int TimeAt(int s) => Reverse ? Steps - 1 - s : s;

        public void Allocate()
        {
            long length = (long)N * G;
            hPrevAt = (int)length; length += (long)N * R;
            if (Cell == RecurrentCell.Lstm) { cPrevAt = (int)length; cAt = (int)(length + (long)N * H); length += 2L * N * H; }
            if (Projected) { hRawAt = (int)length; length += (long)N * H; }
            if (Cell == RecurrentCell.Gru) { ghAt = (int)length; length += (long)N * G; }
            buffers = Tensor.AllocUninit(DType, ShapeUtil.Interned(checked((int)length)));
        }
    }

    static void Forward<T>(Context ctx, Tensor x, Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, Tensor? wHr, Tensor flat)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int N = ctx.N, H = ctx.H, R = ctx.R, G = ctx.G, B = ctx.B;
        var gates = ctx.Gates<T>();
        var hPrev = ctx.HPrev<T>();
        using var wHhPacked = Kernels.Gemm.PackB<T>(true, R, G, wHh.Span<T>(), R);   // W_hhᵀ, packed once for all steps
        using var wHrPacked = wHr == null ? null : Kernels.Gemm.PackB<T>(true, H, R, wHr.Span<T>(), H);   // W_hrᵀ
        var hRaw = ctx.HRaw<T>();
        var all = flat.Span<T>();
        var y = all[..(N * R)];
        var h = all.Slice(N * R, B * R);
        var c = ctx.Cell == RecurrentCell.Lstm ? all.Slice((N + B) * R, B * H) : default;

        // Input projection for every step at once: (N, I)·W_ihᵀ (+ biases).
        Gemm<T>(false, true, N, G, ctx.I, x.Span<T>(), ctx.I, wIh.Span<T>(), ctx.I, T.Zero, gates, G);
        if (bIh != null || bHh != null)
        {
            var rented = (T[])ArrayCache.Rent(ctx.DType, G, clear: true);   // zeroed, as new T[G] was
            var bias = rented.AsSpan(0, G);
            if (bIh != null) bIh.Span<T>().CopyTo(bias);
            if (bHh != null && ctx.Cell != RecurrentCell.Gru) TensorPrimitives.Add(bias, bHh.Span<T>(), bias);
            for (int r = 0; r < N; r++) TensorPrimitives.Add(gates.Slice(r * G, G), bias, gates.Slice(r * G, G));
            ArrayCache.Return(ctx.DType, rented);
        }
        h0.Span<T>().CopyTo(h);
        if (c0 != null) c0.Span<T>().CopyTo(c);

        for (int s = 0; s < ctx.Steps; s++)
        {
            int t = ctx.TimeAt(s), bs = ctx.BatchSizes[t], row = ctx.Offsets[t];
            var gRows = gates.Slice(row * G, bs * G);
            var hp = hPrev.Slice(row * R, bs * R);
            var yRows = y.Slice(row * R, bs * R);
            h[..(bs * R)].CopyTo(hp);
            switch (ctx.Cell)
            {
                case RecurrentCell.Lstm:
                {
                    var cp = ctx.CPrev<T>().Slice(row * H, bs * H);
                    var cRows = ctx.C<T>().Slice(row * H, bs * H);
                    c[..(bs * H)].CopyTo(cp);
                    Kernels.Gemm.ComputePacked<T>(false, bs, T.One, hp, R, wHhPacked, T.One, gRows, G);
                    if (wHrPacked == null) RecurrentKernels.LstmForward<T>(gRows, cp, cRows, yRows, bs, H);
                    else
                    {
                        var rawRows = hRaw.Slice(row * H, bs * H);
                        RecurrentKernels.LstmForward<T>(gRows, cp, cRows, rawRows, bs, H);
                        Kernels.Gemm.ComputePacked<T>(false, bs, T.One, rawRows, H, wHrPacked, T.Zero, yRows, R);   // h = (o·tanh c)·W_hrᵀ
                    }
                    cRows.CopyTo(c);
                    break;
                }
                case RecurrentCell.Gru:
                {
                    var ghRows = ctx.Gh<T>().Slice(row * G, bs * G);
                    Kernels.Gemm.ComputePacked<T>(false, bs, T.One, hp, H, wHhPacked, T.Zero, ghRows, G);
                    if (bHh != null)
                    {
                        var b = bHh.Span<T>();
                        for (int r = 0; r < bs; r++) TensorPrimitives.Add(ghRows.Slice(r * G, G), b, ghRows.Slice(r * G, G));
                    }
                    RecurrentKernels.GruForward<T>(gRows, ghRows, hp, yRows, bs, H);
                    break;
                }
                default:
                    Kernels.Gemm.ComputePacked<T>(false, bs, T.One, hp, H, wHhPacked, T.One, gRows, G);
                    RecurrentKernels.RnnForward<T>(gRows, yRows, ctx.Cell == RecurrentCell.RnnRelu);
                    break;
            }
            yRows.CopyTo(h);
        }
    }

    /// <summary>Gradients for [input, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr] from the gradient of the flat result.</summary>
    static Tensor?[] Backward<T>(Context ctx, ReadOnlySpan<bool> needs, Tensor x, Tensor wIh, Tensor wHh, Tensor? wHr, Tensor g, LeafGrads leaves)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int N = ctx.N, H = ctx.H, R = ctx.R, G = ctx.G, B = ctx.B;
        bool lstm = ctx.Cell == RecurrentCell.Lstm, gru = ctx.Cell == RecurrentCell.Gru;
        var gAll = g.Span<T>();
        var dy = gAll[..(N * R)];
        var gates = ctx.Gates<T>();
        var hPrev = ctx.HPrev<T>();
        using var wHhPacked = Kernels.Gemm.PackB<T>(false, G, R, wHh.Span<T>(), R);   // W_hh, packed once for all steps
        using var wHrPacked = wHr == null ? null : Kernels.Gemm.PackB<T>(false, R, H, wHr.Span<T>(), H);   // W_hr
        // Scratch, one pooled array: the gate gradients (N, G) (a GRU's also of h·W_hhᵀ + b_hh), with projections the
        // gradient reaching each step's projected h (N, R), for dW_hr, and of o·tanh(c) (B, H); and the running dh (B, R)
        // and dc (B, H) unless they are wanted as the gradients of h0 and c0, which are then tensors of their own.
        bool dhWanted = needs[1], dcWanted = lstm && needs[2];
        long scratchLength = (long)N * G * (gru ? 2 : 1) + (wHr != null ? (long)N * R + (long)B * H : 0)
            + (dhWanted ? 0 : (long)B * R) + (!lstm || dcWanted ? 0 : (long)B * H);
        var scratch = System.Buffers.ArrayPool<T>.Shared.Rent(checked((int)Math.Max(scratchLength, 1)));
        try
        {
            int at = 0;
            static Span<T> Take(T[] array, ref int at, int length) { var part = array.AsSpan(at, length); at += length; return part; }
            var dGates = Take(scratch, ref at, N * G);
            var dGh = gru ? Take(scratch, ref at, N * G) : dGates;
            var dhOut = wHr == null ? default : Take(scratch, ref at, N * R);
            var dhRaw = wHr == null ? default : Take(scratch, ref at, B * H);
            var dhT = dhWanted ? Tensor.AllocUninit(ctx.DType, ShapeUtil.Interned(B, R)) : null;
            var dh = dhT != null ? dhT.Span<T>() : Take(scratch, ref at, B * R);
            gAll.Slice(N * R, B * R).CopyTo(dh);
            var dcT = dcWanted ? Tensor.AllocUninit(ctx.DType, ShapeUtil.Interned(B, H)) : null;
            var dc = !lstm ? default : dcT != null ? dcT.Span<T>() : Take(scratch, ref at, B * H);
            if (lstm) gAll.Slice((N + B) * R, B * H).CopyTo(dc);
            bool relu = ctx.Cell == RecurrentCell.RnnRelu;

            for (int s = ctx.Steps - 1; s >= 0; s--)
            {
                int t = ctx.TimeAt(s), bs = ctx.BatchSizes[t], row = ctx.Offsets[t];
                var dhRows = dh[..(bs * R)];
                TensorPrimitives.Add(dhRows, dy.Slice(row * R, bs * R), dhRows);
                var dgRows = dGates.Slice(row * G, bs * G);
                switch (ctx.Cell)
                {
                    case RecurrentCell.Lstm:
                    {
                        ReadOnlySpan<T> dhCell = dhRows;
                        if (wHrPacked != null)
                        {
                            dhRows.CopyTo(dhOut.Slice(row * R, bs * R));
                            Kernels.Gemm.ComputePacked<T>(false, bs, T.One, dhRows, R, wHrPacked, T.Zero, dhRaw, H);   // d(o·tanh c) = dh·W_hr
                            dhCell = dhRaw[..(bs * H)];
                        }
                        RecurrentKernels.LstmBackward<T>(gates.Slice(row * G, bs * G), ctx.CPrev<T>().Slice(row * H, bs * H),
                            ctx.C<T>().Slice(row * H, bs * H), dhCell, dc[..(bs * H)], dgRows, bs, H);
                        Kernels.Gemm.ComputePacked<T>(false, bs, T.One, dgRows, G, wHhPacked, T.Zero, dhRows, R);
                        break;
                    }
                    case RecurrentCell.Gru:
                    {
                        var dghRows = dGh.Slice(row * G, bs * G);
                        RecurrentKernels.GruBackward<T>(gates.Slice(row * G, bs * G), ctx.Gh<T>().Slice(row * G, bs * G),
                            hPrev.Slice(row * H, bs * H), dhRows, dgRows, dghRows, bs, H);
                        Kernels.Gemm.ComputePacked<T>(false, bs, T.One, dghRows, G, wHhPacked, T.One, dhRows, H);
                        break;
                    }
                    default:
                    {
                        // the step's output rows hold h = act(pre)
                        RecurrentKernels.RnnBackward<T>(ctx.Flat.Span<T>().Slice(row * H, bs * H), dhRows, dgRows, relu);
                        Kernels.Gemm.ComputePacked<T>(false, bs, T.One, dgRows, G, wHhPacked, T.Zero, dhRows, H);
                        break;
                    }
                }
            }

            return Gradients<T>(ctx, needs, x, wIh, dGates, dGh, hPrev, dhOut, dhT, dcT, leaves);
        }
        finally { System.Buffers.ArrayPool<T>.Shared.Return(scratch); }
    }

    /// <summary>
    /// The gradients once the backward pass through time has filled the gate gradients: dX, dW_ih, dW_hh and dW_hr one GEMM
    /// each over all steps, the biases column sums, dh0/dc0 the states left after the first step. A parameter whose existing
    /// gradient is in <paramref name="leaves"/> gets its gradient added into it (GEMM with beta 1, rows added in order: the
    /// same sums as a new gradient added to a zero Grad) and <see cref="Autograd.Accumulated"/> as its entry.
    /// </summary>
    static Tensor?[] Gradients<T>(Context ctx, ReadOnlySpan<bool> needs, Tensor x, Tensor wIh, ReadOnlySpan<T> dGates, ReadOnlySpan<T> dGh,
        ReadOnlySpan<T> hPrev, ReadOnlySpan<T> dhOut, Tensor? dhT, Tensor? dcT, LeafGrads leaves) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int N = ctx.N, H = ctx.H, R = ctx.R, G = ctx.G, I = ctx.I;
        bool gru = ctx.Cell == RecurrentCell.Gru;
        var grads = new Tensor?[8];
        if (needs[0])
        {
            var dx = Tensor.AllocUninit(ctx.DType, ShapeUtil.Interned(N, I));
            Gemm<T>(false, false, N, I, G, dGates, G, wIh.Span<T>(), I, T.Zero, dx.Span<T>(), I);
            grads[0] = dx;
        }
        if (needs[1]) grads[1] = dhT;
        if (needs[2]) grads[2] = dcT;
        if (needs[3]) grads[3] = WeightGrad<T>(G, I, N, dGates, G, x.Span<T>(), I, ctx.DType, leaves.WIh);
        if (needs[4]) grads[4] = WeightGrad<T>(G, R, N, dGh, G, hPrev, R, ctx.DType, leaves.WHh);
        if (needs[7]) grads[7] = WeightGrad<T>(R, H, N, dhOut, R, ctx.HRaw<T>(), H, ctx.DType, leaves.WHr);
        if (needs[5]) grads[5] = ColumnSums<T>(dGates, N, G, ctx.DType, leaves.BIh);
        if (needs[6])
            grads[6] = gru ? ColumnSums<T>(dGh, N, G, ctx.DType, leaves.BHh)
                : needs[5] && leaves.BIh == null && leaves.BHh == null ? grads[5]!.Clone() : ColumnSums<T>(dGates, N, G, ctx.DType, leaves.BHh);
        return grads;
    }

    /// <summary>aᵀ·b over the N rows of both, (rows, cols): a new tensor, or added into <paramref name="into"/> (a parameter's Grad).</summary>
    static Tensor WeightGrad<T>(int rows, int cols, int n, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb, DType dtype, Tensor? into)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (into != null)
        {
            Gemm<T>(true, false, rows, cols, n, a, lda, b, ldb, T.One, into.Span<T>(), cols);
            return Autograd.MarkAccumulated(into);
        }
        var dw = Tensor.AllocUninit(dtype, ShapeUtil.Interned(rows, cols));
        Gemm<T>(true, false, rows, cols, n, a, lda, b, ldb, T.Zero, dw.Span<T>(), cols);
        return dw;
    }

    /// <summary>The column sums of the (rows, cols) <paramref name="m"/>, rows added in order: into a new zeroed tensor, or into <paramref name="into"/> (a parameter's Grad).</summary>
    static Tensor ColumnSums<T>(ReadOnlySpan<T> m, int rows, int cols, DType dtype, Tensor? into) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var result = into ?? Tensor.Alloc(dtype, ShapeUtil.Interned(cols));
        Tensor.AddRows(m, rows, cols, result.Span<T>());
        return into != null ? Autograd.MarkAccumulated(into) : result;
    }

    /// <summary>C = op(A)·op(B) + beta·C on spans (Gemm.Sgemm / Dgemm by element type).</summary>
    internal static void Gemm<T>(bool transA, bool transB, int m, int n, int k, ReadOnlySpan<T> a, int lda, ReadOnlySpan<T> b, int ldb,
        T beta, Span<T> c, int ldc) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (typeof(T) == typeof(float))
            Kernels.Gemm.Sgemm(transA, transB, m, n, k, 1f, MemoryMarshal.Cast<T, float>(a), lda, MemoryMarshal.Cast<T, float>(b), ldb,
                float.CreateTruncating(beta), MemoryMarshal.Cast<T, float>(c), ldc);
        else
            Kernels.Gemm.Dgemm(transA, transB, m, n, k, 1.0, MemoryMarshal.Cast<T, double>(a), lda, MemoryMarshal.Cast<T, double>(b), ldb,
                double.CreateTruncating(beta), MemoryMarshal.Cast<T, double>(c), ldc);
    }
}
