using DeepSharp.NN;
using DeepSharp.Onnx.Proto;
using Google.Protobuf;

namespace DeepSharp.Onnx;

/// <summary>
/// Writes DeepSharp models as ONNX files (torch.onnx.export): one graph of standard-domain ops, the parameters and
/// buffers as initializers named by their state-dict keys, a named input and output, and a symbolic batch axis.
/// The model is exported in eval mode (as torch.onnx.export's default training=TrainingMode.EVAL): dropout becomes the
/// identity and batch norm uses its running statistics. See docs/interop.md.
/// </summary>
public static class OnnxExport
{
    /// <summary>The lowest opset the exporter writes (Softmax over one axis, Clip with min/max inputs: opset 13).</summary>
    public const int MinOpset = 13;
    /// <summary>The highest opset the exporter writes.</summary>
    public const int MaxOpset = 21;

    /// <summary>
    /// Exports <paramref name="model"/> to the ONNX file <paramref name="path"/> (torch.onnx.export(model, args, f,
    /// opset_version, input_names, output_names, dynamic_axes)). <paramref name="sampleInput"/> fixes every dimension
    /// but the first, which is the symbolic "batch" when <paramref name="dynamicBatch"/> is true. The file is replaced
    /// atomically; <paramref name="metadata"/> goes into metadata_props. Throws <see cref="NotSupportedException"/> naming the
    /// first module that has no ONNX mapping.
    /// </summary>
    public static void Export(Module model, string path, Tensor sampleInput, int opset = 17, bool dynamicBatch = true,
        string inputName = "input", string outputName = "output", IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var proto = ToModelProto(model, sampleInput, opset, dynamicBatch, inputName, outputName);
        foreach (var (key, value) in metadata ?? new Dictionary<string, string>())
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });   // ModelProto.metadata_props
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temporary = full + ".tmp";
        using (var stream = File.Create(temporary)) proto.WriteTo(stream);
        File.Move(temporary, full, overwrite: true);
    }

    /// <summary>The ONNX file of <paramref name="model"/> as bytes (see <see cref="Export"/>).</summary>
    public static byte[] ToBytes(Module model, Tensor sampleInput, int opset = 17, bool dynamicBatch = true,
        string inputName = "input", string outputName = "output") =>
        ToModelProto(model, sampleInput, opset, dynamicBatch, inputName, outputName).ToByteArray();

    /// <summary>Exports the model to ONNX (torch.onnx.export); see <see cref="Export"/>.</summary>
    public static void ExportOnnx(this Module model, string path, Tensor sampleInput, int opset = 17, bool dynamicBatch = true) =>
        Export(model, path, sampleInput, opset, dynamicBatch);

    internal static ModelProto ToModelProto(Module model, Tensor sampleInput, int opset, bool dynamicBatch, string inputName, string outputName)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(sampleInput);
        if (opset < MinOpset || opset > MaxOpset)
            throw new ArgumentOutOfRangeException(nameof(opset), opset, $"ONNX export writes opsets {MinOpset} to {MaxOpset}");
        if (sampleInput.DType is not (DType.Float32 or DType.Int64))
            throw new ArgumentException($"ONNX export: the sample input must be float32 (or int64 token ids), got {sampleInput.DType.TorchName()}", nameof(sampleInput));
        if (sampleInput.Rank < 1 || (dynamicBatch && sampleInput.Rank < 2))
            throw new ArgumentException($"ONNX export: the sample input of shape ({string.Join(", ", sampleInput.Shape)}) needs a batch dimension", nameof(sampleInput));
        if (inputName == outputName) throw new ArgumentException($"ONNX export: input and output are both named '{inputName}'", nameof(outputName));

        var graph = new OnnxGraphBuilder();
        graph.Reserve(inputName);
        graph.Reserve(outputName);
        var modes = model.Modules().Select(m => (Module: m, m.IsTraining)).ToList();
        OnnxValue result;
        Tensor expected;
        try
        {
            model.Eval();
            using (Autograd.NoGrad())
            {
                result = new OnnxModuleWalker(graph, dynamicBatch, opset).Emit(model, "", new OnnxValue(inputName, sampleInput));
                expected = model switch
                {
                    Module<Tensor, Tensor> typed => typed.Call(sampleInput),
                    LSTM lstm => lstm.Call(sampleInput).Output,   // a recurrent layer on its own: its output sequence
                    GRU gru => gru.Call(sampleInput).Output,
                    RNN rnn => rnn.Call(sampleInput).Output,
                    _ => throw new NotSupportedException($"ONNX export: {model.GetType().Name} does not take one tensor to one tensor"),
                };
            }
        }
        finally
        {
            foreach (var (module, training) in modes) module.Train(training);   // pre-order: parents first, then children's own modes
        }
        CheckWalk(model, result.Sample, expected);
        graph.AddNode("Identity", [result.Name], outputName);
        return Assemble(graph, model, sampleInput, result.Sample, opset, dynamicBatch, inputName, outputName);
    }

    /// <summary>The walk reproduces the model's forward on the sample (a forward hook or an unknown override would not).</summary>
    static void CheckWalk(Module model, Tensor walked, Tensor expected)
    {
        // the same kernels on the same shapes: equal up to a threaded reduction's last bits, so allow 1e-6 of the scale
        bool same = walked.Shape.SequenceEqual(expected.Shape);
        if (same)
        {
            float[] a = walked.ToArray<float>(), b = expected.ToArray<float>();
            double scale = Math.Max(1.0, b.Length == 0 ? 0 : b.Max(v => Math.Abs((double)v)));
            for (int i = 0; i < a.Length && same; i++) same = Math.Abs((double)a[i] - b[i]) <= 1e-6 * scale;   // NaN fails too
        }
        if (!same)
            throw new NotSupportedException($"ONNX export: walking {model.GetType().Name}'s modules does not reproduce its forward on the sample " +
                "(a forward hook or a custom forward changes it); remove the hooks or export the modules the forward applies");
    }

    static ModelProto Assemble(OnnxGraphBuilder graph, Module model, Tensor input, Tensor output, int opset, bool dynamicBatch,
        string inputName, string outputName)
    {
        var g = new GraphProto { Name = model.GetType().Name };
        g.Node.AddRange(graph.Nodes);
        g.Initializer.AddRange(graph.Initializers);
        g.Input.Add(ValueInfo(inputName, input.Shape, dynamicBatch, input.DType));
        g.Output.Add(ValueInfo(outputName, output.Shape, dynamicBatch, output.DType));
        var proto = new ModelProto
        {
            IrVersion = IrVersion(opset),
            ProducerName = "DeepSharp",
            ProducerVersion = typeof(Module).Assembly.GetName().Version?.ToString() ?? "",
            DocString = $"{model.GetType().Name} exported by DeepSharp.Onnx",
            Graph = g,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = opset });
        return proto;
    }

    /// <summary>The IR version that introduced each opset range (the ONNX versioning table): 13-14 → 7, 15-17 → 8, 18-19 → 9, 20-21 → 10.</summary>
    static long IrVersion(int opset) => opset switch { <= 14 => 7, <= 17 => 8, <= 19 => 9, _ => 10 };

    static ValueInfoProto ValueInfo(string name, IReadOnlyList<int> shape, bool dynamicBatch, DType dtype)
    {
        var tensorShape = new TensorShapeProto();
        for (int i = 0; i < shape.Count; i++)
            tensorShape.Dim.Add(i == 0 && dynamicBatch ? new TensorShapeProto.Types.Dimension { DimParam = "batch" }
                : new TensorShapeProto.Types.Dimension { DimValue = shape[i] });
        var elemType = dtype == DType.Int64 ? TensorProto.Types.DataType.Int64 : TensorProto.Types.DataType.Float;
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)elemType, Shape = tensorShape } };
        return new ValueInfoProto { Name = name, Type = type };
    }
}
