using DeepSharp.NN;
using DeepSharp.Vision.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// The convolutional zoo models whose forward is more than a chain of children: VGG (adaptive pooling to 7×7, flatten,
/// classifier), GoogLeNet (BasicConv2d, four-branch Inception blocks joined by Concat; the auxiliary heads only run in
/// training mode, so eval-mode export leaves them out) and MobileNetV2 (inverted residuals with an Add when stride 1 and
/// the widths match). Each follows the model's Forward line by line; the children are looked up by their state-dict names.
/// </summary>
internal sealed partial class OnnxModuleWalker
{
    OnnxValue Child(Module parent, string name, string path, OnnxValue x) => Emit(parent.GetSubmodule(name), Key(path, name), x);

    OnnxValue FlattenNode(string path, OnnxValue x) =>
        new(graph.Node("Flatten", [x.Name], Key(path, "flatten"), Attr("axis", 1L)), x.Sample.Flatten(1));

    OnnxValue Vgg(VGG vgg, string path, OnnxValue x)
    {
        x = Child(vgg, "features", path, x);                     // (N, 512, H/32, W/32)
        x = FlattenNode(path, Child(vgg, "avgpool", path, x));   // (N, 25088)
        return Child(vgg, "classifier", path, x);                // (N, classes)
    }

    OnnxValue GoogLeNetModel(GoogLeNet net, string path, OnnxValue x)
    {
        if (net.TransformInput) throw Unsupported(net, path, "transformInput re-normalisation is not mapped; export with transformInput: false");
        string[] order = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3", "inception4a",
            "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4", "inception5a", "inception5b", "avgpool"];
        x = Chain(order.Select(n => (net.GetSubmodule(n), n)), path, x);
        x = Child(net, "dropout", path, FlattenNode(path, x));   // (N, 1024)
        return Child(net, "fc", path, x);
    }

    /// <summary>BasicConv2d: conv, batch norm (eps 0.001), ReLU.</summary>
    OnnxValue BasicConv(BasicConv2d block, string path, OnnxValue x)
    {
        x = Child(block, "bn", path, Child(block, "conv", path, x));
        return new(graph.Node("Relu", [x.Name], Key(path, "relu")), x.Sample.Relu());
    }

    /// <summary>Inception: the four branches on the same input, concatenated along the channels.</summary>
    OnnxValue InceptionBlock(Inception block, string path, OnnxValue x)
    {
        var branches = new[] { "branch1", "branch2", "branch3", "branch4" }.Select(n => Child(block, n, path, x)).ToArray();
        var sample = Tensor.Cat(branches.Select(b => b.Sample).ToArray(), 1);
        return new(graph.Node("Concat", branches.Select(b => b.Name).ToArray(), Key(path, "concat"), Attr("axis", 1L)), sample);
    }

    OnnxValue MobileNet(MobileNetV2 net, string path, OnnxValue x)
    {
        x = Child(net, "features", path, x);   // (N, last_channel, H/32, W/32)
        x = new(graph.Node("GlobalAveragePool", [x.Name], Key(path, "avgpool")), F.AdaptiveAvgPool2d(x.Sample, 1));
        return Child(net, "classifier", path, FlattenNode(path, x));
    }

    OnnxValue InvertedResidualBlock(InvertedResidual block, string path, OnnxValue x)
    {
        var y = Child(block, "conv", path, x);
        return block.UseResConnect ? new(graph.Node("Add", [x.Name, y.Name], Key(path, "add")), x.Sample.Add(y.Sample)) : y;
    }

    /// <summary>LayerNorm over the trailing normalized_shape dims: LayerNormalization (opset 17+) with axis = −len(normalized_shape).</summary>
    OnnxValue LayerNormalization(LayerNorm norm, string path, OnnxValue x)
    {
        if (opset < 17) throw Unsupported(norm, path, "LayerNormalization needs opset 17 or later");
        int dims = norm.NormalizedShape.Count;
        var ones = Tensor.Ones([.. norm.NormalizedShape]);
        var scale = graph.Initializer(Key(path, "weight"), norm.Weight ?? ones);
        var bias = graph.Initializer(Key(path, "bias"), norm.Bias ?? Tensor.Zeros([.. norm.NormalizedShape]));
        var y = graph.Node("LayerNormalization", [x.Name, scale, bias], Key(path, "layernorm"), Attr("axis", (long)-dims), Attr("epsilon", (float)norm.Eps));
        return Out(y, norm, x);
    }
}
