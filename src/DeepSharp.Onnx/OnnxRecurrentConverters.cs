using DeepSharp.NN;
using DeepSharp.Text.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// LSTM as ONNX LSTM ops, one per layer (ONNX's LSTM has one layer). The gate order differs: PyTorch stacks the rows of
/// weight_ih/weight_hh/biases as input, forget, cell, output (i f g o); ONNX as input, output, forget, cell (i o f c), so
/// the blocks are reordered into new initializers W_lk, R_lk, B_lk ([directions, 4H, *], B = Wb then Rb). The sequence
/// runs time-major (Transpose from batch_first); each layer's Y (T, D, B, H) becomes (T, B, D·H).
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    static readonly int[] torchToOnnxGates = [0, 3, 1, 2];   // ONNX block j takes PyTorch block torchToOnnxGates[j]: i, o, f, g

    OnnxValue LstmLanguage(LstmLanguageModel model, string path, OnnxValue ids)
    {
        var x = Child(model, "embed", path, ids);                      // (B, T, E)
        var lstm = (LSTM)model.GetSubmodule("lstm");
        var y = Lstm(lstm, Key(path, "lstm"), x);                       // (B, T, H)
        return Child(model, "head", path, y) with { Sample = model.Call(ids.Sample) };
    }

    /// <summary>The output sequence of <paramref name="lstm"/> on <paramref name="x"/> (zero initial state).</summary>
    OnnxValue Lstm(LSTM lstm, string path, OnnxValue x)
    {
        if (lstm.ProjSize > 0) throw Unsupported(lstm, path, "LSTM with proj_size has no ONNX LSTM mapping");
        int h = lstm.HiddenSize, directions = lstm.Bidirectional ? 2 : 1;
        var sequence = lstm.BatchFirst ? graph.Node("Transpose", [x.Name], Key(path, "time_major"), Attr("perm", 1L, 0L, 2L)) : x.Name;   // (T, B, E)
        for (int layer = 0; layer < lstm.NumLayers; layer++)
        {
            string[] suffixes = directions == 2 ? [$"_l{layer}", $"_l{layer}_reverse"] : [$"_l{layer}"];
            Tensor Stack(string name) => Tensor.Stack(suffixes.Select(s => Reorder(lstm.GetParameter(name + s), h)).ToArray());
            var w = graph.Initializer(Key(path, $"W_l{layer}"), Stack("weight_ih"));
            var r = graph.Initializer(Key(path, $"R_l{layer}"), Stack("weight_hh"));
            var inputs = new List<string> { sequence, w, r };
            if (lstm.Bias)
            {
                var b = Tensor.Stack(suffixes.Select(s => Tensor.Cat([Reorder(lstm.GetParameter("bias_ih" + s), h), Reorder(lstm.GetParameter("bias_hh" + s), h)])).ToArray());
                inputs.Add(graph.Initializer(Key(path, $"B_l{layer}"), b));
            }
            var y = graph.Node("LSTM", [.. inputs], Key(path, $"Y_l{layer}"), Attr("hidden_size", (long)h),
                Attr("direction", directions == 2 ? "bidirectional" : "forward"));   // (T, D, B, H)
            var merged = graph.Node("Transpose", [y], Key(path, $"Y_l{layer}_t"), Attr("perm", 0L, 2L, 1L, 3L));   // (T, B, D, H)
            sequence = graph.Node("Reshape", [merged, graph.Int64s(Key(path, $"Y_l{layer}_shape"), 0, 0, -1)], Key(path, $"out_l{layer}"));   // (T, B, D·H)
        }
        var output = lstm.BatchFirst ? graph.Node("Transpose", [sequence], Key(path, "batch_major"), Attr("perm", 1L, 0L, 2L)) : sequence;
        return new(output, lstm.Call(x.Sample).Output);
    }

    /// <summary>The (4H, *) blocks of a PyTorch LSTM weight or bias in ONNX's gate order.</summary>
    static Tensor Reorder(Tensor torchGates, int h) =>
        Tensor.Cat(torchToOnnxGates.Select(g => torchGates.Detach().Narrow(0, g * h, h)).ToArray(), 0);
}
