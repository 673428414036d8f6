using DeepSharp.NN;

namespace DeepSharp.Onnx;

/// <summary>
/// ONNX LSTM, GRU and RNN (one layer; forward, reverse or bidirectional; layout 0 or 1; optional initial states). Each
/// direction runs as DeepSharp's fused recurrent op, the kernel behind <see cref="LSTM"/>, <see cref="GRU"/> and
/// <see cref="RNN"/>, on the ONNX weights re-ordered to PyTorch's gate order with differentiable slices, so an imported
/// recurrent layer trains (gradients reach W, R and B) and a DeepSharp layer exported and imported again gives its own
/// output bit for bit. ONNX gate orders: LSTM i o f c (PyTorch i f g o), GRU z r h (PyTorch r z n), RNN one gate.
/// A GRU with linear_before_reset = 0 (the ONNX default; PyTorch always writes 1) applies the reset gate before the
/// recurrent product, which the fused kernel does not do, so it is unrolled over time with tensor ops.
/// Only the default activations (LSTM sigmoid/tanh/tanh, GRU sigmoid/tanh, RNN Tanh or Relu), no clip, no
/// input_forget coupling, no peepholes and no sequence_lens: anything else fails at load naming the node.
/// </summary>
internal static partial class OnnxOps
{
    /// <summary>PyTorch gate block k is ONNX gate block order[k].</summary>
    static readonly int[] lstmTorchFromOnnx = [0, 2, 3, 1], gruTorchFromOnnx = [1, 0, 2], rnnTorchFromOnnx = [0];

    static OnnxKernel Lstm(OnnxNode node) => Recurrent(node, RecurrentCell.Lstm, ["Sigmoid", "Tanh", "Tanh"]);

    static OnnxKernel Gru(OnnxNode node) => Recurrent(node, RecurrentCell.Gru, ["Sigmoid", "Tanh"]);

    static OnnxKernel Rnn(OnnxNode node)
    {
        var activations = node.Has("activations") ? ActivationNames(node) : ["Tanh"];
        if (activations.Distinct().Count() != 1 || activations[0] is not ("Tanh" or "Relu"))
            throw node.Unsupported($"activations [{string.Join(", ", activations)}] (Tanh or Relu, the same in both directions)");
        return Recurrent(node, activations[0] == "Relu" ? RecurrentCell.RnnRelu : RecurrentCell.RnnTanh, null);
    }

    static string[] ActivationNames(OnnxNode node) =>
        node.Proto.Attribute.First(a => a.Name == "activations").Strings.Select(s => s.ToStringUtf8()).ToArray();

    static OnnxKernel Recurrent(OnnxNode node, RecurrentCell cell, string[]? defaultActivations)
    {
        bool lstm = cell == RecurrentCell.Lstm;
        if (defaultActivations is not null && node.Has("activations"))
        {
            var given = ActivationNames(node);
            bool isDefault = given.Length % defaultActivations.Length == 0 &&
                given.Select((a, i) => a.Equals(defaultActivations[i % defaultActivations.Length], StringComparison.OrdinalIgnoreCase)).All(b => b);
            if (!isDefault) throw node.Unsupported($"activations [{string.Join(", ", given)}] (only the default [{string.Join(", ", defaultActivations)}])");
        }
        if (node.Has("clip")) throw node.Unsupported("clip (only the unclipped cell)");
        if (node.Int("input_forget", 0) != 0) throw node.Unsupported("input_forget (coupled input and forget gates)");
        if (node.HasInput(4)) throw node.Unsupported("sequence_lens (sequences of different lengths)");
        if (lstm && node.HasInput(7)) throw node.Unsupported("peephole input P");
        var direction = node.String("direction", "forward");
        if (direction is not ("forward" or "reverse" or "bidirectional")) throw node.Unsupported($"direction '{direction}'");
        for (int i = 0; i < 3; i++) if (!node.HasInput(i)) throw node.Unsupported($"input {i} is missing");
        bool batchMajor = node.Int("layout", 0) != 0;
        bool resetAfter = cell != RecurrentCell.Gru || node.Int("linear_before_reset", 0) != 0;
        int gates = cell switch { RecurrentCell.Lstm => 4, RecurrentCell.Gru => 3, _ => 1 };
        var order = cell switch { RecurrentCell.Lstm => lstmTorchFromOnnx, RecurrentCell.Gru => gruTorchFromOnnx, _ => rnnTorchFromOnnx };
        int hiddenAttribute = (int)node.Int("hidden_size", 0);
        bool hasBias = node.HasInput(3), hasH0 = node.HasInput(5), hasC0 = lstm && node.HasInput(6);
        string op = node.OpType;
        return (x, _) =>
        {
            Tensor w = In(x, 1), r = In(x, 2);                               // (D, G·H, I), (D, G·H, H)
            if (In(x, 0).Rank != 3 || w.Rank != 3 || r.Rank != 3)
                throw new ArgumentException($"{op}: X {Format(In(x, 0))}, W {Format(w)} and R {Format(r)} must all be 3-D");
            var input = batchMajor ? In(x, 0).Transpose(0, 1) : In(x, 0);   // (T, B, I)
            int dirs = w.Shape[0], h = hiddenAttribute > 0 ? hiddenAttribute : r.Shape[2];
            int steps = input.Shape[0], batch = input.Shape[1], inputSize = input.Shape[2];
            if (w.Shape[1] != gates * h || w.Shape[2] != inputSize || r.Shape[1] != gates * h || r.Shape[2] != h)
                throw new ArgumentException($"{op}: X {Format(input)} (time-major), W {Format(w)} and R {Format(r)} do not fit hidden_size {h} and {gates} gates");
            if (dirs != (direction == "bidirectional" ? 2 : 1))
                throw new ArgumentException($"{op}: W has {dirs} directions but direction is '{direction}'");
            var data = input.Reshape(steps * batch, inputSize);
            var batchSizes = Enumerable.Repeat(batch, steps).ToArray();
            var ys = new Tensor[dirs];
            var lastH = new Tensor[dirs];
            var lastC = new Tensor[dirs];
            for (int d = 0; d < dirs; d++)
            {
                Tensor? bIh = null, bHh = null;
                if (hasBias)
                {
                    var b = In(x, 3).Select(0, d);                           // (2·G·H): Wb then Rb
                    bIh = Torch(b.Narrow(0, 0, gates * h), order, h);
                    bHh = Torch(b.Narrow(0, gates * h, gates * h), order, h);
                }
                Tensor State(int i) => batchMajor ? In(x, i).Select(1, d) : In(x, i).Select(0, d);   // (B, H)
                var h0 = hasH0 ? State(5) : Tensor.Zeros([batch, h], input.DType);
                var c0 = lstm ? hasC0 ? State(6) : Tensor.Zeros([batch, h], input.DType) : null;
                bool reverse = direction == "reverse" || d == 1;
                Tensor y, hN;
                Tensor? cN = null;
                if (resetAfter)
                    (y, hN, cN) = RecurrentOps.Layer(cell, data, batchSizes, reverse, h0, c0,
                        Torch(w.Select(0, d), order, h), Torch(r.Select(0, d), order, h), bIh, bHh);
                else
                    (y, hN) = GruResetBefore(data.View(steps, batch, inputSize), reverse, h0, w.Select(0, d), r.Select(0, d),
                        hasBias ? In(x, 3).Select(0, d) : null, h);
                ys[d] = y.View(steps, batch, h);
                lastH[d] = hN;
                if (cN is not null) lastC[d] = cN;
            }
            var all = Tensor.Stack(ys, 1);                                    // (T, D, B, H)
            Tensor Last(Tensor[] last) => batchMajor ? Tensor.Stack(last, 1) : Tensor.Stack(last);   // (D, B, H) or layout 1's (B, D, H)
            var outputs = new List<Tensor> { batchMajor ? all.Permute(2, 0, 1, 3) : all, Last(lastH) };
            if (lstm) outputs.Add(Last(lastC));
            return [.. outputs];
        };
    }

    /// <summary>A (G·H, *) ONNX weight or (G·H) bias with its gate blocks in PyTorch's order (a copy made of slices, so differentiable).</summary>
    static Tensor Torch(Tensor onnxGates, int[] order, int h) =>
        order.Length == 1 ? onnxGates : Tensor.Cat(order.Select(g => onnxGates.Narrow(0, g * h, h)).ToArray(), 0);

    /// <summary>
    /// ONNX GRU with linear_before_reset = 0: z = σ(x·Wzᵀ + h·Rzᵀ + Wbz + Rbz), r likewise, n = tanh(x·Whᵀ + (r⊙h)·Rhᵀ + Wbh + Rbh),
    /// h' = (1 − z)⊙n + z⊙h, over x (T, B, I); returns the outputs (T·B, H) and the last state.
    /// </summary>
    static (Tensor Output, Tensor HN) GruResetBefore(Tensor x, bool reverse, Tensor h, Tensor w, Tensor r, Tensor? b, int hidden)
    {
        var projected = x.MatMul(w.T);                                             // (T, B, 3H): z r h
        if (b is not null) projected = projected.Add(b.Narrow(0, 0, 3 * hidden));
        Tensor rZr = r.Narrow(0, 0, 2 * hidden).T, rH = r.Narrow(0, 2 * hidden, hidden).T;
        Tensor? bZr = b?.Narrow(0, 3 * hidden, 2 * hidden), bH = b?.Narrow(0, 5 * hidden, hidden);
        var steps = new Tensor[x.Shape[0]];
        for (int s = 0; s < steps.Length; s++)
        {
            int t = reverse ? steps.Length - 1 - s : s;
            var xt = projected.Select(0, t);
            var zr = h.MatMul(rZr);
            if (bZr is not null) zr = zr.Add(bZr);
            zr = zr.Add(xt.Narrow(1, 0, 2 * hidden)).Sigmoid();
            Tensor z = zr.Narrow(1, 0, hidden), reset = zr.Narrow(1, hidden, hidden);
            var candidate = reset.Mul(h).MatMul(rH);
            if (bH is not null) candidate = candidate.Add(bH);
            var n = candidate.Add(xt.Narrow(1, 2 * hidden, hidden)).Tanh();
            h = n.Add(z.Mul(h.Sub(n)));                                             // (1 − z)⊙n + z⊙h
            steps[t] = h;
        }
        return (Tensor.Stack(steps).Reshape(x.Shape[0] * x.Shape[1], hidden), h);
    }

    static string Format(Tensor t) => $"({string.Join(", ", t.Shape)})";
}
