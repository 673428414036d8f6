namespace DeepSharp;

/// <summary>
/// The recurrent cells and layers composed from plain differentiable ops (matmul, add, sigmoid, tanh, chunk, cat),
/// written to read like PyTorch's cell definitions (aten/src/ATen/native/RNN.cpp: SimpleCell, LSTMCell, GRUCell). It is the reference
/// the fused path (<see cref="RecurrentOps"/>) is tested against, the path modules take when their fused kernel is
/// switched off, and what higher-order gradients differentiate.
/// </summary>
internal static class RecurrentReference
{
    static Tensor Linear(Tensor x, Tensor w, Tensor? b)
    {
        var y = x.MatMul(w.T);
        return b == null ? y : y.Add(b);
    }

    /// <summary>h' = tanh(x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh) (or relu).</summary>
    internal static Tensor RnnCell(Tensor x, Tensor h, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, bool relu)
    {
        var pre = Linear(x, wIh, bIh).Add(Linear(h, wHh, bHh));
        return relu ? pre.Relu() : pre.Tanh();
    }

    /// <summary>Gates i, f, g, o from x·W_ihᵀ + b_ih + h·W_hhᵀ + b_hh; c' = f·c + i·g, h' = o·tanh(c').</summary>
    internal static (Tensor H, Tensor C) LstmCell(Tensor x, Tensor h, Tensor c, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh)
    {
        var gates = Linear(x, wIh, bIh).Add(Linear(h, wHh, bHh)).Chunk(4, -1);
        var i = gates[0].Sigmoid(); var f = gates[1].Sigmoid(); var g = gates[2].Tanh(); var o = gates[3].Sigmoid();
        var cNext = f * c + i * g;
        return (o * cNext.Tanh(), cNext);
    }

    /// <summary>r = σ(x_r + h_r), z = σ(x_z + h_z), n = tanh(x_n + r·h_n), h' = n + z·(h − n) (PyTorch's exact form).</summary>
    internal static Tensor GruCell(Tensor x, Tensor h, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh)
    {
        var gi = Linear(x, wIh, bIh).Chunk(3, -1);
        var gh = Linear(h, wHh, bHh).Chunk(3, -1);
        var r = (gi[0] + gh[0]).Sigmoid();
        var z = (gi[1] + gh[1]).Sigmoid();
        var n = (gi[2] + r * gh[2]).Tanh();
        return n + z * (h - n);
    }

    /// <summary>
    /// One direction of a layer over packed rows, step by step with the cells above: the same contract as
    /// <see cref="RecurrentOps.Layer"/>. Rows of the state past a step's batch size keep their value. With a projection
    /// weight <paramref name="wHr"/> (LSTM proj_size) each step's h is the LSTM cell's o·tanh(c) times W_hrᵀ.
    /// </summary>
    internal static (Tensor Output, Tensor HN, Tensor? CN) Layer(RecurrentCell cell, Tensor input, int[] batchSizes, bool reverse,
        Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, Tensor? wHr = null)
    {
        var offsets = RecurrentOps.Offsets(batchSizes);
        int steps = batchSizes.Length, batch = h0.shape[0];
        var h = h0; var c = c0;
        var outputs = new Tensor[steps];
        for (int s = 0; s < steps; s++)
        {
            int t = reverse ? steps - 1 - s : s, bs = batchSizes[t];
            var xt = input.Narrow(0, offsets[t], bs);
            var hIn = bs == batch ? h : h.Narrow(0, 0, bs);
            Tensor hOut;
            switch (cell)
            {
                case RecurrentCell.Lstm:
                {
                    var cIn = bs == batch ? c! : c!.Narrow(0, 0, bs);
                    (hOut, var cOut) = LstmCell(xt, hIn, cIn, wIh, wHh, bIh, bHh);
                    if (wHr != null) hOut = hOut.MatMul(wHr.T);
                    c = bs == batch ? cOut : Tensor.Cat([cOut, c!.Narrow(0, bs, batch - bs)]);
                    break;
                }
                case RecurrentCell.Gru: hOut = GruCell(xt, hIn, wIh, wHh, bIh, bHh); break;
                default: hOut = RnnCell(xt, hIn, wIh, wHh, bIh, bHh, cell == RecurrentCell.RnnRelu); break;
            }
            outputs[t] = hOut;
            h = bs == batch ? hOut : Tensor.Cat([hOut, h.Narrow(0, bs, batch - bs)]);
        }
        return (Tensor.Cat(outputs), h, c);
    }

    /// <summary>
    /// Gradients of the fused layer's flat result (output, h_n, c_n) for upstream <paramref name="g"/>, recorded
    /// (createGraph) by differentiating <see cref="Layer"/>: how the fused op supports higher-order gradients.
    /// Returns one entry per [input, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr].
    /// </summary>
    internal static Tensor?[] LayerGrad(RecurrentCell cell, Tensor input, int[] batchSizes, bool reverse,
        Tensor h0, Tensor? c0, Tensor wIh, Tensor wHh, Tensor? bIh, Tensor? bHh, Tensor? wHr, Tensor g)
    {
        Tensor?[] all = [input, h0, c0, wIh, wHh, bIh, bHh, wHr];
        var (y, hN, cN) = Layer(cell, input, batchSizes, reverse, h0, c0, wIh, wHh, bIh, bHh, wHr);
        var parts = new List<Tensor> { y.Reshape(-1), hN.Reshape(-1) };
        if (cN != null) parts.Add(cN.Reshape(-1));
        var flat = Tensor.Cat(parts);
        var wanted = all.Where(t => t is { RequiresGrad: true }).Select(t => t!).ToArray();
        var grads = Autograd.Grad([flat], wanted, [g], retainGraph: true, createGraph: true, allowUnused: true);
        var result = new Tensor?[all.Length];
        for (int i = 0, j = 0; i < all.Length; i++)
            if (all[i] is { RequiresGrad: true } t) result[i] = grads[j++] ?? Tensor.ZerosLike(t);
        return result;
    }
}
