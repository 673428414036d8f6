using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using DeepSharp.Text.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// LSTM, GRU and RNN as ONNX LSTM / GRU / RNN ops, one per layer (ONNX's recurrent ops have one layer). The gate orders
/// differ: PyTorch stacks the rows of weight_ih/weight_hh/biases as LSTM i f g o and GRU r z n; ONNX as LSTM i o f c and
/// GRU z r h, so the blocks are reordered into new initializers W_lk, R_lk, B_lk ([directions, G·H, *], B = Wb then Rb).
/// PyTorch's GRU adds b_hn inside the reset product, ONNX's linear_before_reset = 1. The sequence runs time-major
/// (Transpose from batch_first); each layer's Y (T, D, B, H) becomes (T, B, D·H). Exported alone (the root module), a
/// recurrent layer's ONNX output is its output sequence (the h_n / c_n of <c>gru(x)</c> are not graph outputs); for a
/// time-major layer (batch_first = false) the symbolic first axis of input and output is then the time axis.
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    static readonly int[] lstmOnnxFromTorch = [0, 3, 1, 2];   // ONNX block j takes PyTorch block [j]: i, o, f, g
    static readonly int[] gruOnnxFromTorch = [1, 0, 2];       // z, r, n

    OnnxValue LstmLanguage(LstmLanguageModel model, string path, OnnxValue ids)
    {
        var x = Child(model, "embed", path, ids);                      // (B, T, E)
        var lstm = (LSTM)model.GetSubmodule("lstm");
        var y = Recurrent(lstm, Key(path, "lstm"), x);                  // (B, T, H)
        return Child(model, "head", path, y) with { Sample = model.Call(ids.Sample) };
    }

    /// <summary>The output sequence of the LSTM, GRU or RNN <paramref name="layer"/> on <paramref name="x"/> (zero initial state).</summary>
    OnnxValue Recurrent(Module layer, string path, OnnxValue x)
    {
        (string Op, int[] Order, Tensor Sample, AttributeProto[] Attributes) spec = layer switch
        {
            LSTM lstm when lstm.ProjSize > 0 => throw Unsupported(lstm, path, "LSTM with proj_size has no ONNX LSTM mapping"),
            LSTM lstm => ("LSTM", lstmOnnxFromTorch, lstm.Call(x.Sample).Output, []),
            GRU gru => ("GRU", gruOnnxFromTorch, gru.Call(x.Sample).Output, [Attr("linear_before_reset", 1L)]),
            RNN rnn => ("RNN", [0], rnn.Call(x.Sample).Output,
                [Attr("activations", Enumerable.Repeat(rnn.Nonlinearity == RNNNonlinearity.ReLU ? "Relu" : "Tanh", rnn.Bidirectional ? 2 : 1).ToArray())]),
            _ => throw Unsupported(layer, path, "it has no ONNX mapping"),
        };
        var (op, order, sample, attributes) = spec;
        var (hidden, layers, bias, batchFirst, bidirectional) = layer switch
        {
            LSTM l => (l.HiddenSize, l.NumLayers, l.Bias, l.BatchFirst, l.Bidirectional),
            GRU g => (g.HiddenSize, g.NumLayers, g.Bias, g.BatchFirst, g.Bidirectional),
            RNN r => (r.HiddenSize, r.NumLayers, r.Bias, r.BatchFirst, r.Bidirectional),
            _ => throw new InvalidOperationException(),
        };
        if (x.Sample.Rank != 3) throw Unsupported(layer, path, $"only batched 3-D input is mapped, the sample has shape ({string.Join(", ", x.Sample.Shape)})");
        int directions = bidirectional ? 2 : 1;
        var sequence = batchFirst ? graph.Node("Transpose", [x.Name], Key(path, "time_major"), Attr("perm", 1L, 0L, 2L)) : x.Name;   // (T, B, E)
        for (int k = 0; k < layers; k++)
        {
            string[] suffixes = directions == 2 ? [$"_l{k}", $"_l{k}_reverse"] : [$"_l{k}"];
            Tensor Stack(string name) => Tensor.Stack(suffixes.Select(s => Reorder(layer.GetParameter(name + s), order, hidden)).ToArray());
            var w = graph.Initializer(Key(path, $"W_l{k}"), Stack("weight_ih"));
            var r = graph.Initializer(Key(path, $"R_l{k}"), Stack("weight_hh"));
            var inputs = new List<string> { sequence, w, r };
            if (bias)
            {
                var b = Tensor.Stack(suffixes.Select(s => Tensor.Cat([Reorder(layer.GetParameter("bias_ih" + s), order, hidden),
                    Reorder(layer.GetParameter("bias_hh" + s), order, hidden)])).ToArray());
                inputs.Add(graph.Initializer(Key(path, $"B_l{k}"), b));
            }
            var y = graph.Node(op, [.. inputs], Key(path, $"Y_l{k}"), [Attr("hidden_size", (long)hidden),
                Attr("direction", directions == 2 ? "bidirectional" : "forward"), .. attributes]);   // (T, D, B, H)
            var merged = graph.Node("Transpose", [y], Key(path, $"Y_l{k}_t"), Attr("perm", 0L, 2L, 1L, 3L));   // (T, B, D, H)
            sequence = graph.Node("Reshape", [merged, graph.Int64s(Key(path, $"Y_l{k}_shape"), 0, 0, -1)], Key(path, $"out_l{k}"));   // (T, B, D·H)
        }
        var output = batchFirst ? graph.Node("Transpose", [sequence], Key(path, "batch_major"), Attr("perm", 1L, 0L, 2L)) : sequence;
        return new(output, sample);
    }

    /// <summary>The (G·H, *) blocks of a PyTorch recurrent weight or bias in ONNX's gate order.</summary>
    static Tensor Reorder(Tensor torchGates, int[] onnxFromTorch, int h) =>
        Tensor.Cat(onnxFromTorch.Select(g => torchGates.Detach().Narrow(0, g * h, h)).ToArray(), 0);
}
