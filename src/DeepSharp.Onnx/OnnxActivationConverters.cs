using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// Activations, softmax and identities. GELU has no ONNX op before opset 20, so it is written from its formula, as
/// torch.onnx does: exact 0.5·x·(1 + erf(x/√2)) with Erf, or the tanh approximation 0.5·x·(1 + tanh(√(2/π)(x + 0.044715x³))).
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    OnnxValue Unary(string opType, Module<Tensor, Tensor> layer, string path, OnnxValue x, params AttributeProto[] attributes) =>
        Out(graph.Node(opType, [x.Name], Key(path, opType.ToLowerInvariant()), attributes), layer, x);

    OnnxValue Clip(Hardtanh layer, string path, OnnxValue x)
    {
        var min = graph.Scalar(Key(path, "min"), (float)layer.MinVal);
        var max = graph.Scalar(Key(path, "max"), (float)layer.MaxVal);
        return Out(graph.Node("Clip", [x.Name, min, max], Key(path, "clip")), layer, x);
    }

    OnnxValue Silu(SiLU layer, string path, OnnxValue x)
    {
        var sigmoid = graph.Node("Sigmoid", [x.Name], Key(path, "sigmoid"));
        return Out(graph.Node("Mul", [x.Name, sigmoid], Key(path, "mul")), layer, x);
    }

    OnnxValue Gelu(GELU layer, string path, OnnxValue x) => Out(GeluNodes(path, x, layer.Approximate), layer, x);

    /// <summary>The GELU formula's nodes on <paramref name="x"/> (exact with Erf, or the tanh approximation); returns the output name.</summary>
    string GeluNodes(string path, OnnxValue x, string approximate)
    {
        string inner;
        if (approximate == "tanh")
        {
            var cube = graph.Node("Mul", [x.Name, graph.Node("Mul", [x.Name, x.Name], Key(path, "square"))], Key(path, "cube"));
            var poly = graph.Node("Add", [x.Name, graph.Node("Mul", [cube, graph.Scalar(Key(path, "c"), 0.044715f)], Key(path, "cubic"))], Key(path, "poly"));
            var scaled = graph.Node("Mul", [poly, graph.Scalar(Key(path, "sqrt_2_over_pi"), (float)Math.Sqrt(2 / Math.PI))], Key(path, "scaled"));
            inner = graph.Node("Tanh", [scaled], Key(path, "tanh"));
        }
        else
        {
            var scaled = graph.Node("Div", [x.Name, graph.Scalar(Key(path, "sqrt2"), (float)Math.Sqrt(2))], Key(path, "scaled"));
            inner = graph.Node("Erf", [scaled], Key(path, "erf"));
        }
        var onePlus = graph.Node("Add", [inner, graph.Scalar(Key(path, "one"), 1f)], Key(path, "one_plus"));
        var times = graph.Node("Mul", [x.Name, onePlus], Key(path, "times_x"));
        return graph.Node("Mul", [times, graph.Scalar(Key(path, "half"), 0.5f)], Key(path, "gelu"));
    }

    /// <summary>Dropout in eval mode and nn.Identity: an Identity node (ONNX Runtime removes it).</summary>
    OnnxValue Identity(Module<Tensor, Tensor> layer, string path, OnnxValue x) =>
        Out(graph.Node("Identity", [x.Name], Key(path, "identity")), layer, x);
}
