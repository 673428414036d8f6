using System.Reflection;
using Module = DeepSharp.NN.Module;
using DeepSharp.NN;
using DeepSharp.Text.Models;
using DeepSharp.Vision.Models;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx;

/// <summary>
/// Walks a module tree and writes its ONNX nodes (what torch.onnx.export learns by tracing, learnt here from the known
/// module types): containers and the zoo models by their structure, layers by <c>OnnxLayerConverters.cs</c> and
/// <c>OnnxActivationConverters.cs</c>. A module of any other type, or a subclass that overrides Forward outside
/// DeepSharp, fails with <see cref="NotSupportedException"/> naming its type and path.
/// </summary>
internal sealed partial class OnnxModuleWalker(OnnxGraphBuilder graph, bool dynamicBatch, int opset)
{
    static readonly Assembly[] knownAssemblies = [typeof(Module).Assembly, typeof(ResNet).Assembly, typeof(Gpt).Assembly];

    /// <summary>Writes the nodes of <paramref name="module"/> (at state-dict path <paramref name="path"/>) applied to <paramref name="x"/>.</summary>
    public OnnxValue Emit(Module module, string path, OnnxValue x)
    {
        RequireKnownForward(module, path);
        return module switch
        {
            Sequential sequential => Chain(sequential.Names.Zip(sequential, (n, m) => ((Module)m, n)), path, x),
            Mlp or LeNet5 or FashionCnn => Chain(module.NamedChildren().Select(c => (c.Module, c.Name)), path, x),
            ResNet resnet => ResNetModel(resnet, path, x),
            BasicBlock or Bottleneck => ResidualBlock(module, path, x),
            VGG vgg => Vgg(vgg, path, x),
            GoogLeNet googLeNet => GoogLeNetModel(googLeNet, path, x),
            BasicConv2d basicConv => BasicConv(basicConv, path, x),
            Inception inception => InceptionBlock(inception, path, x),
            MobileNetV2 mobileNet => MobileNet(mobileNet, path, x),
            InvertedResidual inverted => InvertedResidualBlock(inverted, path, x),
            VisionTransformer vit => VisionTransformerModel(vit, path, x),
            ViTEncoder vitEncoder => ViTEncoderModel(vitEncoder, path, x),
            ViTEncoderBlock vitBlock => ViTBlock(vitBlock, path, x),
            TransformerEncoder encoder => Encoder(encoder, path, x),
            TransformerEncoderLayer encoderLayer => EncoderLayer(encoderLayer, path, x),
            Gpt gpt => GptModel(gpt, path, x),
            LstmLanguageModel lstmModel => LstmLanguage(lstmModel, path, x),
            LSTM or GRU or RNN => Recurrent(module, path, x),
            GptBlock gptBlock => GptBlockModel(gptBlock, path, x),
            ModuleList list => Chain(list.Select((m, i) => (m, i.ToString())), path, x),   // reached only from the blocks of a known model
            LayerNorm layerNorm => LayerNormalization(layerNorm, path, x),
            LearnedPositionalEmbedding => throw Unsupported(module, path, "it adds positions to embeddings; only the GPT's use is mapped"),
            Embedding embedding => Out(graph.Node("Gather", [graph.Initializer(Key(path, "weight"), embedding.Weight), x.Name], Key(path, "gather"), Attr("axis", 0L)), embedding, x),
            NN.Linear linear => Linear(linear, path, x),
            Conv1d or Conv2d => Conv((ConvBase)module, path, x),
            ConvTranspose2d deconv => ConvTranspose(deconv, path, x),
            Upsample upsample => Resize(upsample, path, x),
            BatchNorm1d or BatchNorm2d => BatchNorm((BatchNormBase)module, path, x),
            MaxPool2d pool => MaxPool(pool, path, x),
            AvgPool2d pool => AvgPool(pool, path, x),
            AdaptiveAvgPool2d pool => AdaptiveAvgPool(pool, path, x),
            NN.Flatten flatten => Flatten(flatten, path, x),
            ReLU relu => Unary("Relu", relu, path, x),
            Hardtanh hardtanh => Clip(hardtanh, path, x),   // also ReLU6
            LeakyReLU leaky => Unary("LeakyRelu", leaky, path, x, Attr("alpha", (float)leaky.NegativeSlope)),
            ELU elu => Unary("Elu", elu, path, x, Attr("alpha", (float)elu.Alpha)),
            GELU gelu => Gelu(gelu, path, x),
            SiLU silu => Silu(silu, path, x),
            Sigmoid sigmoid => Unary("Sigmoid", sigmoid, path, x),
            Tanh tanh => Unary("Tanh", tanh, path, x),
            Softmax softmax => Unary("Softmax", softmax, path, x, Attr("axis", (long)softmax.Dim)),
            LogSoftmax logSoftmax => Unary("LogSoftmax", logSoftmax, path, x, Attr("axis", (long)logSoftmax.Dim)),
            Dropout or NN.Identity => Identity((Module<Tensor, Tensor>)module, path, x),   // eval mode: dropout is the identity
            _ => throw Unsupported(module, path, "it has no ONNX mapping"),
        };
    }

    OnnxValue Chain(IEnumerable<(Module Module, string Name)> children, string path, OnnxValue x)
    {
        foreach (var (child, name) in children) x = Emit(child, Key(path, name), x);
        return x;
    }

    /// <summary>torchvision's ResNet.forward: stem, (max pooling), four stages, global average pooling, flatten, fc.</summary>
    OnnxValue ResNetModel(ResNet resnet, string path, OnnxValue x)
    {
        string[] order = resnet.SmallInputStem
            ? ["conv1", "bn1", "relu", "layer1", "layer2", "layer3", "layer4", "avgpool"]
            : ["conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool"];
        x = Chain(order.Select(n => (resnet.GetSubmodule(n), n)), path, x);
        var flat = new OnnxValue(graph.Node("Flatten", [x.Name], Key(path, "flatten"), Attr("axis", 1L)), x.Sample.Flatten(1));
        return Emit(resnet.GetSubmodule("fc"), Key(path, "fc"), flat);
    }

    /// <summary>BasicBlock / Bottleneck: conv-bn-relu (×1 or ×2), conv-bn, plus the input or its downsample, then ReLU.</summary>
    OnnxValue ResidualBlock(Module block, string path, OnnxValue x)
    {
        var children = block.NamedChildren().ToDictionary(c => c.Name, c => c.Module);
        var identity = children.TryGetValue("downsample", out var downsample) ? Emit(downsample, Key(path, "downsample"), x) : x;
        string[] order = block is BasicBlock ? ["conv1", "bn1", "relu", "conv2", "bn2"] : ["conv1", "bn1", "relu", "conv2", "bn2", "relu", "conv3", "bn3"];
        var y = Chain(order.Select(n => (children[n], n)), path, x);
        var sum = new OnnxValue(graph.Node("Add", [y.Name, identity.Name], Key(path, "add")), y.Sample.Add(identity.Sample));
        return Emit(children["relu"], Key(path, "relu"), sum);
    }

    /// <summary>A subclass of a known type that brings its own Forward (or hooks) would be exported wrongly: refuse it.</summary>
    static void RequireKnownForward(Module module, string path)
    {
        var forward = module.GetType().GetMethod("Forward", BindingFlags.Instance | BindingFlags.Public, [typeof(Tensor)]);
        if (forward is not null && !knownAssemblies.Contains(forward.DeclaringType!.Assembly))
            throw Unsupported(module, path, $"its Forward is defined by {forward.DeclaringType!.FullName}, which the exporter does not know");
    }

    static NotSupportedException Unsupported(Module module, string path, string why) =>
        new($"ONNX export: module {module.GetType().Name} at '{(path.Length == 0 ? "<root>" : path)}' cannot be exported: {why}. " +
            "Supported: Sequential, Linear, Conv1d/Conv2d, ConvTranspose2d, Upsample, BatchNorm1d/2d, MaxPool2d, AvgPool2d, AdaptiveAvgPool2d, Flatten, " +
            "ReLU, ReLU6/Hardtanh, LeakyReLU, ELU, GELU, SiLU, Sigmoid, Tanh, Softmax, LogSoftmax, Dropout, Identity, " +
            "LayerNorm, Embedding, and the Mlp, LeNet5, FashionCnn, ResNet, VGG, GoogLeNet, MobileNetV2, VisionTransformer, " +
            "TransformerEncoder(Layer), Gpt and LstmLanguageModel models, and an LSTM, GRU or RNN exported on its own.");
}
