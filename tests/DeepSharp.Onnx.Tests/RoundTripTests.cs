using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using DeepSharp.Vision.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx.Tests;

/// <summary>DeepSharp → ONNX → DeepSharp gives the same module: the same outputs bit for bit, the same state-dict keys.</summary>
public sealed class RoundTripTests
{
    public static TheoryData<string> Models => ["mlp", "lenet", "fashioncnn", "resnet-basic", "resnet-bottleneck"];

    static (Module<Tensor, Tensor> Model, int[] Item) Build(string name) => name switch
    {
        "mlp" => (new Mlp(784, [64, 32], classes: 10, dropout: 0.2), [1, 28, 28]),
        "lenet" => (new LeNet5(), [1, 28, 28]),
        "fashioncnn" => (new FashionCnn(), [1, 28, 28]),
        "resnet-basic" => (new ResNet(ResNetBlock.Basic, [1, 1, 1, 1], numClasses: 7, baseChannels: 8, smallInputStem: true), [3, 16, 16]),
        _ => (new ResNet(ResNetBlock.Bottleneck, [1, 1, 1, 1], numClasses: 5, baseChannels: 4), [3, 64, 64]),
    };

    [Theory]
    [MemberData(nameof(Models))]
    public void ExportThenImportIsExact(string name)
    {
        var (model, item) = Build(name);
        OrtRunner.WarmBatchNorm(model, item);
        var imported = OnnxModel.Load(OnnxExport.ToBytes(model, Tensor.Randn([2, .. item])));
        Assert.Equal("DeepSharp", imported.ProducerName);
        var x = Tensor.Randn([3, .. item]);
        Tensor expected, actual;
        using (Autograd.NoGrad()) { expected = model.Call(x); actual = imported.Call(x); }
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
        // the same keys and values (num_batches_tracked has no ONNX counterpart)
        var original = model.StateDict().Where(p => !p.Key.EndsWith("num_batches_tracked")).ToDictionary();
        var state = imported.StateDict();
        Assert.Equal(original.Keys.Order(), state.Keys.Order());
        foreach (var (key, value) in original) Assert.Equal(value.ToArray<float>(), state[key].ToArray<float>());
        // so the original's weights load into the imported module
        imported.LoadStateDict(original);
    }

    /// <summary>
    /// Models whose export writes GELU by its formula, attention by MatMul/Softmax and masks as constants: the ViT and
    /// MobileNetV2 come back bit for bit; the GPT's causal attention (an additive −∞ mask before Softmax, where DeepSharp
    /// masks inside its attention) and tied head are computed by other kernels, so 1e-5 of the scale. Every state-dict
    /// key is kept, and the causal mask is no parameter.
    /// </summary>
    [Theory]
    [InlineData("gpt")]
    [InlineData("vit")]
    [InlineData("mobilenet")]
    public void ExportThenImportOfTheZoo(string name)
    {
        Module<Tensor, Tensor> model = name switch
        {
            "gpt" => new Text.Models.Gpt(new Text.Models.GptConfig(VocabSize: 30, ContextLength: 12, Layers: 2, Heads: 2, Width: 16)),
            "vit" => new VisionTransformer(imageSize: 8, patchSize: 4, numLayers: 1, numHeads: 2, hiddenDim: 8, mlpDim: 16, numClasses: 3),
            _ => new MobileNetV2(numClasses: 4, widthMult: 0.25),
        };
        model.Eval();
        Func<int[], Tensor> input = name == "gpt" ? shape => Tensor.RandInt(0, 30, [shape[0], 7]) : shape => Tensor.Randn([shape[0], 3, name == "vit" ? 8 : 32, name == "vit" ? 8 : 32]);
        var imported = OnnxModel.Load(OnnxExport.ToBytes(model, input([2])));
        var x = input([3]);
        Tensor expected, actual;
        using (Autograd.NoGrad()) { expected = model.Call(x); actual = imported.Call(x); }
        if (name == "gpt") OrtRunner.AssertClose(expected.ToArray<float>(), actual.ToArray<float>(), 1e-5, 1e-5);
        else Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());   // GELU's Erf formula and attention's MatMul/Softmax give the same bits
        var keys = model.StateDict().Keys.Where(k => !k.EndsWith("num_batches_tracked")).Order();
        Assert.Equal(keys, imported.StateDict().Keys.Order());
    }

    static ModelProto Graph(string opType, string nodeName, int opset, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = nodeName };
        node.Input.Add("input");
        node.Output.Add("output");
        node.Attribute.AddRange(attributes);
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        graph.Input.Add(new ValueInfoProto { Name = "input" });
        graph.Output.Add(new ValueInfoProto { Name = "output" });
        var proto = new ModelProto { IrVersion = 8, Graph = graph };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return proto;
    }

    static byte[] Bytes(ModelProto proto) => Google.Protobuf.MessageExtensions.ToByteArray(proto);

    [Fact]
    public void UnsupportedOpFailsAtLoadNamingOpNodeAndOpset()
    {
        var error = Assert.Throws<NotSupportedException>(() => OnnxModel.Load(Bytes(Graph("NonMaxSuppression", "nms_1", 16))));
        Assert.Contains("op NonMaxSuppression", error.Message);
        Assert.Contains("'nms_1'", error.Message);
        Assert.Contains("opset 16", error.Message);
    }

    [Fact]
    public void UnsupportedAttributeOrDomainFailsAtLoad()
    {
        var pad = Assert.Throws<NotSupportedException>(() => OnnxModel.Load(Bytes(Graph("Pad", "reflect_pad", 13, Attr("mode", "reflect")))));
        Assert.Contains("mode 'reflect'", pad.Message);
        var conv = Graph("Conv", "conv3d", 13, Attr("kernel_shape", 3L, 3L, 3L));
        Assert.Contains("3-D convolution", Assert.Throws<NotSupportedException>(() => OnnxModel.Load(Bytes(conv))).Message);
        var custom = Graph("Relu", "custom_relu", 13);
        custom.Graph.Node[0].Domain = "com.microsoft";
        Assert.Contains("com.microsoft", Assert.Throws<NotSupportedException>(() => OnnxModel.Load(Bytes(custom))).Message);
    }

    [Fact]
    public void MalformedFilesAreRefused()
    {
        Assert.Throws<InvalidDataException>(() => OnnxModel.Load(new byte[] { 0xff, 0xff, 0xff, 0x07 }));
        var dangling = Graph("Relu", "r", 13);
        dangling.Graph.Node[0].Input[0] = "nowhere";
        Assert.Contains("'nowhere'", Assert.Throws<InvalidDataException>(() => OnnxModel.Load(Bytes(dangling))).Message);
        Assert.Throws<NotSupportedException>(() => OnnxModel.Load(Bytes(Graph("Relu", "r", 40))));
    }
}
