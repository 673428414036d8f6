using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using static DeepSharp.Onnx.OnnxGraphBuilder;

namespace DeepSharp.Onnx.Tests;

/// <summary>
/// GRU, LSTM and RNN layers and the upsampling layers (ConvTranspose2d, Upsample) exported to ONNX: run in ONNX Runtime at
/// batch sizes other than the sample's, imported back bit for bit; the ONNX GRU variant PyTorch never writes
/// (linear_before_reset = 0) against ONNX Runtime; and the resampling attributes the importer refuses at load.
/// </summary>
public sealed class RecurrentAndResampleTests
{
    public static TheoryData<string> RecurrentLayers =>
        ["gru", "gru-2layer-bidirectional", "gru-no-bias", "gru-time-major", "lstm-2layer-bidirectional", "lstm-time-major", "rnn-tanh-bidirectional", "rnn-relu-2layer"];

    static (Module Layer, Func<Tensor, Tensor> Forward) Recurrent(string name)
    {
        Module layer = name switch
        {
            "gru" => new GRU(5, 6, batchFirst: true),
            "gru-2layer-bidirectional" => new GRU(5, 6, numLayers: 2, batchFirst: true, bidirectional: true),
            "gru-no-bias" => new GRU(5, 4, bias: false, batchFirst: true),
            "gru-time-major" => new GRU(5, 6, numLayers: 2),
            "lstm-2layer-bidirectional" => new LSTM(5, 6, numLayers: 2, batchFirst: true, bidirectional: true),
            "lstm-time-major" => new LSTM(5, 6, bidirectional: true),
            "rnn-tanh-bidirectional" => new RNN(5, 6, batchFirst: true, bidirectional: true),
            _ => new RNN(5, 6, numLayers: 2, nonlinearity: RNNNonlinearity.ReLU, batchFirst: true),
        };
        Func<Tensor, Tensor> forward = layer switch
        {
            GRU gru => x => gru.Call(x).Output,
            LSTM lstm => x => lstm.Call(x).Output,
            _ => x => ((RNN)layer).Call(x).Output,
        };
        return (layer, forward);
    }

    /// <summary>
    /// Exported from a sample of batch 2 (sequence length 7), run in ONNX Runtime at batches 1, 3 and 5 (a time-major
    /// layer's symbolic first axis is the time axis, so there the lengths vary); then DeepSharp → ONNX → DeepSharp is
    /// exact: the importer runs the same fused recurrent kernel on the weights re-ordered back.
    /// </summary>
    [Theory]
    [MemberData(nameof(RecurrentLayers))]
    public void RecurrentLayerRunsInOnnxRuntimeAndRoundTripsExactly(string name)
    {
        var (layer, forward) = Recurrent(name);
        OrtRunner.ExportAndCompare(layer, forward, [7, 5], 2, [1, 3, 5], 1e-5, 1e-5, null, name);
        var imported = OnnxModel.Load(OnnxExport.ToBytes(layer, Tensor.Randn(2, 7, 5)));
        foreach (var shape in new[] { new[] { 3, 7, 5 }, [1, 7, 5] })
        {
            var x = Tensor.Randn(shape);
            Tensor expected, actual;
            using (Autograd.NoGrad()) { expected = forward(x); actual = imported.Call(x); }
            Assert.Equal(expected.Shape, actual.Shape);
            Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
        }
    }

    [Fact]
    public void ImportedGruTrains()
    {
        var gru = new GRU(3, 4, numLayers: 2, batchFirst: true, bidirectional: true);
        var imported = OnnxModel.Load(OnnxExport.ToBytes(gru, Tensor.Randn(2, 5, 3)));
        imported.Train();
        var parameters = imported.NamedParameters().ToList();
        Assert.Equal(6, parameters.Count);   // W, R, B of two layers
        imported.Call(Tensor.Randn(2, 5, 3)).Square().Sum().Backward();
        foreach (var (key, p) in parameters)
            Assert.True(p.Grad is { } g && g.Abs().Sum().Item<float>() > 0, $"{key} got no gradient");
    }

    /// <summary>A GRU node with linear_before_reset = 0 (the ONNX default, which PyTorch never writes) against ONNX Runtime.</summary>
    [Theory]
    [InlineData("forward", 0L)]
    [InlineData("bidirectional", 0L)]
    [InlineData("reverse", 1L)]
    public void GruNodeMatchesOnnxRuntime(string direction, long linearBeforeReset)
    {
        int dirs = direction == "bidirectional" ? 2 : 1, h = 4, i = 3;
        var graph = new GraphProto { Name = "gru" };
        void Init(string name, Tensor t)
        {
            var proto = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            proto.Dims.AddRange(t.Shape.Select(d => (long)d));
            proto.FloatData.AddRange(t.ToArray<float>());
            graph.Initializer.Add(proto);
        }
        Init("W", Tensor.Randn(dirs, 3 * h, i) * 0.5);
        Init("R", Tensor.Randn(dirs, 3 * h, h) * 0.5);
        Init("B", Tensor.Randn(dirs, 6 * h) * 0.5);
        var node = new NodeProto { OpType = "GRU", Name = "gru_node" };
        node.Input.AddRange(["input", "W", "R", "B"]);
        node.Output.Add("output");
        node.Attribute.AddRange([Attr("hidden_size", (long)h), Attr("direction", direction), Attr("linear_before_reset", linearBeforeReset)]);
        graph.Node.Add(node);
        graph.Input.Add(Value("input", -1, -1, i));
        graph.Output.Add(Value("output", -1, dirs, -1, h));
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 14 });
        var bytes = Google.Protobuf.MessageExtensions.ToByteArray(model);

        var x = Tensor.Randn(6, 3, i);   // (T, B, I)
        var (expected, shape) = OrtRunner.Run(bytes, x);
        Assert.Equal([6L, dirs, 3, h], shape);
        Tensor actual;
        using (Autograd.NoGrad()) actual = OnnxModel.Load(bytes).Call(x);
        OrtRunner.AssertClose(expected, actual.ToArray<float>(), 1e-5, 1e-5);
    }

    static ValueInfoProto Value(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims)
            shape.Dim.Add(d < 0 ? new TensorShapeProto.Types.Dimension { DimParam = $"{name}_{shape.Dim.Count}" } : new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = shape } } };
    }

    static Sequential Upsampling() => new(
        new ConvTranspose2d(3, 4, 3, stride: 2, padding: 1, outputPadding: 1),   // 5×6 → 10×12
        new ReLU(),
        new Upsample(scaleFactor: new Scale2(2, 2)),                            // nearest → 20×24
        new Conv2d(4, 4, 3, padding: 1),
        new Upsample(size: new Size2(13, 9), mode: UpsampleMode.Bilinear),      // half_pixel, sizes from Shape
        new ConvTranspose2d(4, 6, 3, padding: 2, groups: 2, bias: false, dilation: 2),
        new Upsample(scaleFactor: new Scale2(1.5, 2), mode: UpsampleMode.Bilinear, alignCorners: true),
        new Upsample(size: new Size2(11, 7)));                                   // nearest with sizes

    /// <summary>ConvTranspose2d and Upsample (nearest, bilinear, align_corners; scale factors and sizes) in ONNX Runtime at batches 1 and 3, and back.</summary>
    [Fact]
    public void UpsamplingLayersRunInOnnxRuntimeAndRoundTripExactly()
    {
        var model = Upsampling();
        OrtRunner.ExportAndCompare(model, [3, 5, 6], batches: [1, 3]);
        var bytes = OnnxExport.ToBytes(model, Tensor.Randn(2, 3, 5, 6));
        var ops = ModelProto.Parser.ParseFrom(bytes).Graph.Node.Select(n => n.OpType).ToList();
        Assert.Equal(2, ops.Count(o => o == "ConvTranspose"));
        Assert.Equal(4, ops.Count(o => o == "Resize"));
        var imported = OnnxModel.Load(bytes);
        var x = Tensor.Randn(3, 3, 5, 6);
        Tensor expected, actual;
        using (Autograd.NoGrad()) { expected = model.Call(x); actual = imported.Call(x); }
        Assert.Equal(expected.ToArray<float>(), actual.ToArray<float>());
        Assert.Equal(model.StateDict().Keys.Order(), imported.StateDict().Keys.Order());   // the scales are constants, not parameters
    }

    static byte[] OneNode(string opType, int opset, string[] inputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType.ToLowerInvariant()}_7" };
        node.Input.AddRange(inputs);
        node.Output.Add("output");
        node.Attribute.AddRange(attributes);
        var graph = new GraphProto { Name = "g" };
        graph.Node.Add(node);
        graph.Input.Add(new ValueInfoProto { Name = "input" });
        foreach (var extra in inputs.Skip(1).Where(n => n.Length > 0)) graph.Input.Add(new ValueInfoProto { Name = extra });
        graph.Output.Add(new ValueInfoProto { Name = "output" });
        var model = new ModelProto { IrVersion = 8, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }

    [Theory]
    [InlineData("Resize", 13, "mode 'cubic'")]
    [InlineData("ResizeHalfPixelNearest", 13, "coordinate_transformation_mode 'half_pixel'")]
    [InlineData("ResizeTfCrop", 13, "'tf_crop_and_resize'")]
    [InlineData("Upsample", 9, "mode 'linear'")]
    [InlineData("ConvTranspose", 13, "output_shape")]
    [InlineData("ConvTranspose3d", 13, "3-D transposed convolution")]
    [InlineData("GRU", 14, "clip")]
    [InlineData("RNN", 14, "activations [Sigmoid]")]
    public void UnsupportedResamplingAndRecurrentAttributesFailAtLoad(string test, int opset, string why)
    {
        byte[] bytes = test switch
        {
            "Resize" => OneNode("Resize", opset, ["input", "", "scales"], Attr("mode", "cubic")),
            "ResizeHalfPixelNearest" => OneNode("Resize", opset, ["input", "", "scales"], Attr("mode", "nearest")),
            "ResizeTfCrop" => OneNode("Resize", opset, ["input", "", "scales"], Attr("mode", "linear"), Attr("coordinate_transformation_mode", "tf_crop_and_resize")),
            "Upsample" => OneNode("Upsample", opset, ["input", "scales"], Attr("mode", "linear")),
            "ConvTranspose" => OneNode("ConvTranspose", opset, ["input", "w"], Attr("output_shape", 10L, 10L)),
            "ConvTranspose3d" => OneNode("ConvTranspose", opset, ["input", "w"], Attr("kernel_shape", 3L, 3L, 3L)),
            "GRU" => OneNode("GRU", opset, ["input", "w", "r"], Attr("clip", 5f)),
            _ => OneNode("RNN", opset, ["input", "w", "r"], Attr("activations", new[] { "Sigmoid" })),
        };
        var error = Assert.Throws<NotSupportedException>(() => OnnxModel.Load(bytes));
        string op = test.StartsWith("Resize") ? "Resize" : test.StartsWith("ConvTranspose") ? "ConvTranspose" : test;
        Assert.Contains($"op {op} (node '{op.ToLowerInvariant()}_7', opset {opset})", error.Message);
        Assert.Contains(why, error.Message);
    }
}
