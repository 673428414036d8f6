namespace DeepSharp.Onnx;

/// <summary>
/// ONNX LSTM (one layer, forward, reverse or bidirectional) unrolled over time with DeepSharp ops, so it trains:
/// gates = Xₜ·Wᵀ + Hₜ₋₁·Rᵀ + Wb + Rb in ONNX's order i, o, f, c; C = f⊙C + i⊙tanh(c̃); H = o⊙tanh(C). The default
/// activations only (sigmoid, tanh, tanh), no clip, no input_forget coupling, no peepholes and no sequence_lens.
/// </summary>
internal static partial class OnnxOps
{
    static OnnxKernel Lstm(OnnxNode node)
    {
        if (node.Has("activations") || node.Has("clip") || node.Int("input_forget", 0) != 0)
            throw node.Unsupported("custom activations, clip and input_forget (only the default LSTM cell)");
        if (node.HasInput(4) || node.HasInput(7)) throw node.Unsupported("sequence_lens and peephole inputs");
        var direction = node.String("direction", "forward");
        if (direction is not ("forward" or "reverse" or "bidirectional")) throw node.Unsupported($"direction '{direction}'");
        bool batchMajor = node.Int("layout", 0) != 0;
        int hidden = (int)node.Int("hidden_size", 0);
        for (int i = 0; i < 3; i++) if (!node.HasInput(i)) throw node.Unsupported($"input {i} is missing");
        return (x, _) =>
        {
            var input = batchMajor ? In(x, 0).Transpose(0, 1) : In(x, 0);   // (T, B, I)
            Tensor w = In(x, 1), r = In(x, 2);                               // (D, 4H, I), (D, 4H, H)
            int dirs = w.Shape[0], h = hidden > 0 ? hidden : r.Shape[2], batch = input.Shape[1];
            var ys = new Tensor[dirs];
            var lastH = new Tensor[dirs];
            var lastC = new Tensor[dirs];
            for (int d = 0; d < dirs; d++)
            {
                var bias = node.HasInput(3) ? In(x, 3).Select(0, d) : null;   // (8H)
                var gateBias = bias is null ? null : bias.Narrow(0, 0, 4 * h).Add(bias.Narrow(0, 4 * h, 4 * h));
                var hState = node.HasInput(5) ? In(x, 5).Select(0, d) : Tensor.Zeros([batch, h], input.DType);
                var cState = node.HasInput(6) ? In(x, 6).Select(0, d) : Tensor.Zeros([batch, h], input.DType);
                bool reverse = direction == "reverse" || d == 1;
                var projected = input.MatMul(w.Select(0, d).T);                 // (T, B, 4H) all input projections at once
                if (gateBias is not null) projected = projected.Add(gateBias);
                var rT = r.Select(0, d).T;
                var steps = new Tensor[input.Shape[0]];
                for (int s = 0; s < steps.Length; s++)
                {
                    int t = reverse ? steps.Length - 1 - s : s;
                    var gates = projected.Select(0, t).Add(hState.MatMul(rT));  // (B, 4H): i o f c
                    var i = gates.Narrow(1, 0, h).Sigmoid();
                    var o = gates.Narrow(1, h, h).Sigmoid();
                    var f = gates.Narrow(1, 2 * h, h).Sigmoid();
                    cState = f.Mul(cState).Add(i.Mul(gates.Narrow(1, 3 * h, h).Tanh()));
                    hState = o.Mul(cState.Tanh());
                    steps[t] = hState;
                }
                ys[d] = Tensor.Stack(steps);                                      // (T, B, H)
                lastH[d] = hState;
                lastC[d] = cState;
            }
            var y = Tensor.Stack(ys, 1);                                          // (T, D, B, H)
            Tensor State(Tensor[] last) => batchMajor ? Tensor.Stack(last, 1) : Tensor.Stack(last);   // (D, B, H) or layout 1's (B, D, H)
            return [batchMajor ? y.Permute(2, 0, 1, 3) : y, State(lastH), State(lastC)];
        };
    }
}
